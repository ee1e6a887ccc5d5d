"""Stage transition probabilities estimated from real expert hypnograms.

The shipped table ``dreamband/models/hmm_transitions_v1.json`` was estimated by
:func:`build_table` from the 33 Sleep-EDF (sleep-cassette) expert hypnograms
(ODC-By 1.0; Kemp et al. 2000), each cropped to its in-bed window (30 min before the
first to 30 min after the last sleep epoch). Rebuild it with::

    python -m dreamband.staging.transitions $DREAMBAND_DATA/sleep-edf
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np

from dreamband.core.hypnogram import Hypnogram
from dreamband.core.stages import FIVE_CLASS
from dreamband.errors import ModelError
from dreamband.paths import models_dir

__all__ = ["TABLE_NAME", "build_table", "count_transitions", "load_transitions"]

logger = logging.getLogger(__name__)

#: File name of the shipped table inside :func:`dreamband.paths.models_dir`.
TABLE_NAME = "hmm_transitions_v1.json"


def count_transitions(hypnograms: Iterable[Hypnogram]) -> tuple[np.ndarray, np.ndarray]:
    """Count stage-to-stage transitions and stage occupancy over scored epoch pairs.

    Returns
    -------
    counts : numpy.ndarray
        ``(5, 5)`` counts, rows = from (W, N1, N2, N3, REM), columns = to.
    occupancy : numpy.ndarray
        ``(5,)`` scored epochs per stage.
    """
    counts = np.zeros((5, 5))
    occ = np.zeros(5)
    for h in hypnograms:
        s = h.stages.astype(int)
        a, b = s[:-1], s[1:]
        ok = (a >= 0) & (b >= 0)
        np.add.at(counts, (a[ok], b[ok]), 1.0)
        occ += np.bincount(s[s >= 0], minlength=5)[:5]
    return counts, occ


def build_table(sleep_edf_dir: str | Path) -> dict:
    """Estimate the transition table from the Sleep-EDF hypnograms in a folder.

    Parameters
    ----------
    sleep_edf_dir : path
        Folder with ``SC*-Hypnogram.edf`` files.

    Returns
    -------
    dict
        JSON-ready table: ``transition_30s`` (rows sum to 1, add-one smoothing),
        ``occupancy`` (stage fractions), ``counts`` and ``provenance``.
    """
    from dreamband.io.sleepedf import read_sleepedf_hypnogram

    files = sorted(Path(sleep_edf_dir).glob("SC*-Hypnogram.edf"))
    if not files:
        raise FileNotFoundError(f"{sleep_edf_dir}: no SC*-Hypnogram.edf files")
    hyps = [read_sleepedf_hypnogram(f).crop_in_bed() for f in files]
    counts, occ = count_transitions(hyps)
    trans = (counts + 1.0) / (counts + 1.0).sum(axis=1, keepdims=True)
    return {
        "format_version": 1,
        "stages": [s.label for s in FIVE_CLASS],
        "epoch_length": 30.0,
        "transition_30s": np.round(trans, 6).tolist(),
        "occupancy": np.round(occ / occ.sum(), 6).tolist(),
        "counts": counts.astype(int).tolist(),
        "provenance": {
            "source": "Sleep-EDF Database Expanded, sleep-cassette expert hypnograms "
            "(PhysioNet, ODC-By 1.0); Kemp et al., IEEE TBME 2000;47(9):1185-1194",
            "files": [f.name for f in files],
            "window": "in-bed: 30 min before the first to 30 min after the last sleep epoch",
            "mapping": "R&K S3+S4 -> N3; '?' and movement time skipped",
            "smoothing": "add-one (Laplace) per row",
            "epochs": int(occ.sum()),
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }


@lru_cache(maxsize=8)
def _table(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read the transition table ({exc})") from None


def load_transitions(epoch_length: float = 30.0, path: str | Path | None = None) -> tuple[
    np.ndarray, np.ndarray
]:
    """Transition matrix and stage occupancy for an epoch length.

    For epochs other than 30 s the 30-s matrix is raised to the power
    ``epoch_length / 30`` (a Markov chain observed at a different step), clipped at a
    small floor and renormalised.

    Returns
    -------
    transition : numpy.ndarray
        ``(5, 5)``, rows = from, sum to 1.
    occupancy : numpy.ndarray
        ``(5,)`` stage fractions (used as the initial distribution).

    Raises
    ------
    ModelError
        If the table is missing or malformed.
    """
    p = Path(path) if path else models_dir() / TABLE_NAME
    table = _table(str(p))
    try:
        t = np.asarray(table["transition_30s"], dtype=float)
        occ = np.asarray(table["occupancy"], dtype=float)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{p}: malformed transition table ({exc})") from None
    if t.shape != (5, 5) or occ.shape != (5,):
        raise ModelError(f"{p}: transition table must be 5x5 with 5 occupancies")
    if abs(epoch_length - 30.0) > 1e-9:
        from scipy.linalg import fractional_matrix_power

        t = np.real(fractional_matrix_power(t, epoch_length / 30.0))
        t = np.clip(t, 1e-6, None)
        t /= t.sum(axis=1, keepdims=True)
    return t, occ / occ.sum()


def main(argv: list[str] | None = None) -> int:
    """Rebuild the shipped table: ``python -m dreamband.staging.transitions SLEEP_EDF_DIR``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m dreamband.staging.transitions SLEEP_EDF_DIR\n")
        return 2
    table = build_table(args[0])
    out = models_dir() / TABLE_NAME
    out.write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {out} from {len(table['provenance']['files'])} hypnograms\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
