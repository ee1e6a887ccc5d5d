"""Evaluate the EEG engines on a labelled dataset: per recording and pooled.

The ``rules`` engine needs no training, so every recording is staged as it is. The
``model`` engine is evaluated subject-wise (leave one subject out: train on the others,
stage the held-out subject), unless a model file trained elsewhere is given.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from dreamband.core.stages import FIVE_CLASS
from dreamband.evaluation.bootstrap import pooled_intervals
from dreamband.evaluation.eeg_datasets import LabelledRecord, iter_records
from dreamband.evaluation.metrics import classification_report, pair_auroc
from dreamband.features.eeg import Evidence

__all__ = ["LABELS", "NAMES", "align", "evaluate_eeg", "record_evidence"]

logger = logging.getLogger(__name__)

LABELS = [s.value for s in FIVE_CLASS]
NAMES = [s.label for s in FIVE_CLASS]


def record_evidence(rec: LabelledRecord, causal: bool = False) -> Evidence:
    """Evidence of a labelled recording (channels picked automatically)."""
    from dreamband.staging.api import evidence_for, select_inputs

    return evidence_for(select_inputs(rec.recording), rec.epoch_length, causal)


def align(rec: LabelledRecord, n_pred: int) -> tuple[slice, np.ndarray]:
    """Rows of the recording's epochs that carry labels, and those labels (same length)."""
    k0 = round(rec.offset / rec.epoch_length)
    n = max(0, min(rec.labels.size, n_pred - k0))
    return slice(k0, k0 + n), rec.labels[:n]


def _report(y: np.ndarray, p: np.ndarray, prob: np.ndarray) -> dict:
    """Classification report plus ``n2_n3_auroc``: how well the probabilities tell the
    experts' N3 epochs from their N2 ones (:func:`pair_auroc`; NaN without both)."""
    rep = classification_report(y, p, LABELS, NAMES)
    rep["n2_n3_auroc"] = pair_auroc(y, prob, LABELS[NAMES.index("N3")], LABELS[NAMES.index("N2")])
    return rep


def evaluate_eeg(
    dataset: str,
    engine: str = "rules",
    epoch_length: float = 30.0,
    data: str | Path | None = None,
    causal: bool = False,
    model: str | Path | None = None,
    lag: int = 0,
    skip_first: int = 0,
) -> dict:
    """Stage every recording of a dataset and compare with the experts.

    Parameters
    ----------
    dataset : {"dreams", "sleep-edf"}
    engine : {"rules", "model"}
    epoch_length : float
        30, or 20 for DREAMS.
    data : path, optional
        Data folder.
    causal : bool
        Evaluate the live path (past-only evidence, forward-only smoothing).
    model : path, optional
        A model file trained elsewhere (``engine="model"``); without it the model engine
        is cross-validated leave-one-subject-out.
    lag : int
        Live rules only: fixed-lag smoothing over ``lag`` epochs.
    skip_first : int
        Leave the first epochs of every recording out of the scores (e.g. the warm-up of
        a live engine's night-so-far statistics); 0 scores everything.

    Returns
    -------
    dict
        ``dataset``, ``engine``, ``epoch_length``, ``causal``, ``validation``,
        ``records`` (list of ``{name, subject, report}``) and ``pooled`` (report over all
        epochs), reports as from :func:`classification_report` with ``n2_n3_auroc`` added
        (:func:`~dreamband.evaluation.metrics.pair_auroc` of N3 against N2); the pooled
        report also holds ``intervals``, 95 % subject-bootstrap intervals of its scores
        (:func:`~dreamband.evaluation.bootstrap.pooled_intervals`; None below 2 subjects).
    """
    recs = list(iter_records(dataset, data, epoch_length))
    evs = [record_evidence(r, causal) for r in recs]
    probs: list[np.ndarray] = []
    validation = "none (rules need no training)"
    if engine == "rules":
        from dreamband.staging.rules import stage_rules

        probs = [stage_rules(ev, lag=lag).probabilities for ev in evs]
    elif engine == "model" and model is not None:
        from dreamband.staging.model_engine import predict_model

        probs = [predict_model(ev, model)[0] for ev in evs]
        validation = f"external model {model}"
    elif engine == "model":
        from dreamband.staging.train import leave_one_subject_out

        probs = leave_one_subject_out(recs, evs)
        validation = "leave-one-subject-out"
    else:
        raise ValueError(f"engine must be one of rules, model; got {engine!r}")
    records = []
    ys, ps, pps = [], [], []
    for rec, prob in zip(recs, probs, strict=True):
        rows, y = align(rec, prob.shape[0])
        prob = prob[rows]
        p = prob.argmax(axis=1)
        y = np.where(np.arange(y.size) < skip_first, -1, y)
        ys.append(y)
        ps.append(p)
        pps.append(prob)
        records.append({"name": rec.name, "subject": rec.subject, "report": _report(y, p, prob)})
    pooled = _report(np.concatenate(ys), np.concatenate(ps), np.vstack(pps))
    pooled["intervals"] = pooled_intervals(ys, ps, [r.subject for r in recs], LABELS, NAMES)
    return {
        "dataset": dataset,
        "engine": engine,
        "epoch_length": float(epoch_length),
        "causal": bool(causal),
        "lag": int(lag) if causal else 0,
        "skip_first": int(skip_first),
        "validation": validation,
        "records": records,
        "pooled": pooled,
    }
