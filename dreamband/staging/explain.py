"""Per-epoch explanation of the ``rules`` engine: the rule values and evidence behind a stage."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from dreamband.core.stages import FIVE_CLASS
from dreamband.features.eeg import Evidence
from dreamband.staging.rules import RULE_NAMES, RulesResult

__all__ = ["EXPLAIN_EVIDENCE", "LazyExplainTable", "explain_table"]

#: Evidence columns shown next to the rule values.
EXPLAIN_EVIDENCE: tuple[str, ...] = (
    "sw_fraction",
    "sp_count",
    "kc_count",
    "rel_alpha",
    "rel_theta",
    "rel_sigma",
    "emg",
    "rem_count",
)

# Which rule speaks for each stage, shown as the reason.
_REASON = {
    0: ("alpha", "high_freq"),
    1: ("theta", "low_amplitude"),
    2: ("n2_signs", "n2_context"),
    3: ("slow_waves",),
    4: ("eye_movements", "low_emg", "low_amplitude"),
}


def explain_table(
    ev: Evidence, res: RulesResult, epochs: np.ndarray | None = None
) -> dict[str, list]:
    """Columns of the ``--explain`` table, one row per epoch.

    Parameters
    ----------
    ev : Evidence
        Evidence of the night.
    res : RulesResult
        The rules' output on ``ev``.
    epochs : numpy.ndarray, optional
        The recording's epoch number of each row (when the epochs of a recording with
        gaps were staged joined); ``0, 1, ...`` by default.

    Returns
    -------
    dict of str to list
        ``epoch``, ``stage``, ``reason`` (the rule values that carried the stage),
        ``lik_<stage>`` (rule likelihoods before smoothing), every rule in
        :data:`RULE_NAMES` and the evidence in :data:`EXPLAIN_EVIDENCE`.
    """
    stages = res.probabilities.argmax(axis=1).tolist()
    rows = range(ev.n_epochs) if epochs is None else np.asarray(epochs, dtype=int).tolist()
    out: dict[str, list] = {"epoch": list(rows)}
    labels = [s.label for s in FIVE_CLASS]
    out["stage"] = [labels[s] for s in stages]
    # one format string per stage, filled from plain Python floats (no numpy scalars)
    cols = {s: [RULE_NAMES.index(r) for r in rules] for s, rules in _REASON.items()}
    fmt = {s: " ".join(f"{r}={{:.2f}}" for r in rules) for s, rules in _REASON.items()}
    pred = res.predicates.tolist()
    bad = np.asarray(ev.bad, dtype=bool).tolist()
    out["reason"] = [
        fmt[s].format(*[row[j] for j in cols[s]]) + (" bad signal" if b else "")
        for s, row, b in zip(stages, pred, bad, strict=True)
    ]
    for j, s in enumerate(FIVE_CLASS):
        out[f"lik_{s.label}"] = np.round(res.likelihoods[:, j], 4).tolist()
    for j, r in enumerate(RULE_NAMES):
        out[r] = np.round(res.predicates[:, j], 4).tolist()
    for name in EXPLAIN_EVIDENCE:
        out[name] = np.round(ev[name], 4).tolist()
    return out


class LazyExplainTable(Mapping):
    """:func:`explain_table` of ``ev`` and ``res``, built on first access only.

    Formatting a row per epoch costs about as much as the rules themselves, and only
    ``dreamband stage --explain`` reads it: :func:`dreamband.staging.api.stage` stores this
    read-only mapping in ``Hypnogram.meta["explain"]``. The table reflects ``ev`` and
    ``res`` as they are when first read (neither is modified by dreamband).

    Parameters
    ----------
    ev : Evidence
        Evidence of the night.
    res : RulesResult
        The rules' output on ``ev``.
    epochs : numpy.ndarray, optional
        The recording's epoch number of each row (see :func:`explain_table`).
    """

    def __init__(self, ev: Evidence, res: RulesResult, epochs: np.ndarray | None = None) -> None:
        self._ev = ev
        self._res = res
        self._epochs = epochs
        self._table: dict[str, list] | None = None

    def _get(self) -> dict[str, list]:
        # two threads reading at once may both build it: the same table either way
        if self._table is None:
            self._table = explain_table(self._ev, self._res, self._epochs)
        return self._table

    def __getitem__(self, key: str) -> list:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __repr__(self) -> str:
        state = "built" if self._table is not None else "not built yet"
        return f"<LazyExplainTable ({state})>"
