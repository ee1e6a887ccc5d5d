"""Agreement of a replay's live stages with the expert scoring of a REAL recording.

Only for real recordings (slpdb heart beats, Sleep-EDF PSGs): a virtual sleeper's signals
are made from the very hypnogram they would be compared with, so for them no agreement is
ever computed. Stages are compared as wake / NREM / REM.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from dreamband.core.hypnogram import Hypnogram
from dreamband.evaluation.metrics import cohen_kappa

__all__ = ["heart_training_records", "live_vs_expert", "record_name"]

_WEARABLE = {"W": 0, "N1": 1, "N2": 1, "N3": 1, "NREM": 1, "REM": 2, "R": 2}


def heart_training_records(model_dir=None) -> frozenset[str]:
    """Records the heart models were trained on (from their sidecars in the user model
    folder): a replay's agreement on one of them is in-sample, not an accuracy figure."""
    import json
    from pathlib import Path

    from dreamband.paths import user_models_dir

    folder = user_models_dir() if model_dir is None else Path(model_dir)
    names: set[str] = set()
    for sidecar in folder.glob("heart_*.json"):
        try:
            names.update(json.loads(sidecar.read_text(encoding="utf-8"))
                         .get("training_records") or [])
        except (OSError, ValueError, TypeError):
            continue
    return frozenset(str(n) for n in names)


def record_name(spec: str) -> str:
    """Record name of a replay source spec: ``slpdb:slp03`` or ``.../slp03.hea`` -> slp03."""
    tail = spec.split(":", 1)[1] if spec.startswith(("slpdb:", "sleep-edf:")) else spec
    return tail.replace("\\", "/").rsplit("/", 1)[-1].split(".", 1)[0]


def live_vs_expert(stages: Mapping[int, str], truth: Hypnogram, night_offset_s: float,
                   truth_offset_s: float = 0.0, epoch_length: float = 30.0) -> dict | None:
    """Wake/NREM/REM agreement of live stages with an expert hypnogram.

    Parameters
    ----------
    stages : mapping of int to str
        Live stage per grid epoch (``"W"``, ``"N2"``, ``"NREM"``, ``"REM"``...; unscored
        epochs left out).
    truth : Hypnogram
        Expert scoring.
    night_offset_s : float
        Source time (s) at the start of grid epoch 0 (negative when the band started later).
    truth_offset_s : float
        Source time (s) of the expert hypnogram's first epoch.
    epoch_length : float
        Grid epoch length (s).

    Returns
    -------
    dict or None
        ``n``, ``accuracy``, ``kappa``; None when no epoch is scored by both.
    """
    ref = truth.to_wearable().stages.astype(int)
    t_ref, p_live = [], []
    for j, label in stages.items():
        code = _WEARABLE.get(str(label))
        if code is None:
            continue
        mid = night_offset_s + (j + 0.5) * epoch_length - truth_offset_s
        k = int(np.floor(mid / truth.epoch_length))
        if 0 <= k < ref.size and ref[k] >= 0:
            t_ref.append(ref[k])
            p_live.append(code)
    if not t_ref:
        return None
    t, p = np.asarray(t_ref), np.asarray(p_live)
    return {"n": int(t.size), "accuracy": float(np.mean(t == p)),
            "kappa": cohen_kappa(t, p, labels=[0, 1, 2])}
