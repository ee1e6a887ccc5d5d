"""``dreamband train``: fit the LightGBM stager on a labelled EEG dataset.

The model is cross-validated subject-wise (leave one subject out) before the final fit
on all subjects; the scores go into the sidecar. DREAMS may be used to test this path,
but its licence forbids derivatives: a model trained on it is for local evaluation only
and is never written into the package's models folder.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from dreamband.core.stages import FIVE_CLASS
from dreamband.errors import InputFileError
from dreamband.features.eeg import WORK_FS, Evidence
from dreamband.paths import models_dir
from dreamband.staging.model_engine import (
    KIND,
    class_prior,
    fit_booster,
    predict_proba,
    smooth_probabilities,
)

__all__ = ["leave_one_subject_out", "train_eeg"]

logger = logging.getLogger(__name__)


def _training_matrix(recs, evs: list[Evidence]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from dreamband.evaluation.eeg_eval import align

    xs, ys, groups = [], [], []
    for rec, ev in zip(recs, evs, strict=True):
        rows, y = align(rec, ev.n_epochs)
        xs.append(ev.values[rows])
        ys.append(y)
        groups += [rec.subject] * y.size
    return np.vstack(xs), np.concatenate(ys), np.asarray(groups)


def leave_one_subject_out(recs, evs: list[Evidence]) -> list[np.ndarray]:
    """Stage probabilities of every recording by a model trained without its subject.

    Returns
    -------
    list of numpy.ndarray
        Per recording, ``(n_epochs, 5)`` smoothed probabilities (W, N1, N2, N3, REM) on the
        recording's whole epoch grid; the predicted stage is their argmax.
    """
    x, y, groups = _training_matrix(recs, evs)
    names = list(evs[0].names)
    out = []
    for rec, ev in zip(recs, evs, strict=True):
        train = groups != rec.subject
        booster = fit_booster(x[train], y[train], names)
        probs = predict_proba(booster, ev, names)
        post = smooth_probabilities(probs, class_prior(y[train]), ev.epoch_length, ev.causal)
        out.append(post)
    return out


def train_eeg(
    dataset: str,
    data: str | Path | None = None,
    out: str | Path | None = None,
    epoch_length: float = 30.0,
) -> Path:
    """Train the EEG stager on a dataset and save it with its sidecar.

    Parameters
    ----------
    dataset : {"dreams", "sleep-edf"}
    data : path, optional
        Data folder.
    out : path, optional
        Model file (``.txt``). Default: for ``sleep-edf``, the model engine's default model
        in the user model folder (:data:`dreamband.staging.model_engine.DEFAULT_MODEL`, used
        by ``--engine model`` without ``--model``); for ``dreams`` (local evaluation only),
        ``dreamband-dreams-stager.txt`` in the current folder.
    epoch_length : float
        Epoch length in seconds.

    Returns
    -------
    pathlib.Path
        The model file (its sidecar is beside it, ``.json``).

    Raises
    ------
    InputFileError
        If the dataset is missing, or a DREAMS model would be written into the package.
    """
    from dreamband.evaluation.eeg_datasets import iter_records
    from dreamband.evaluation.eeg_eval import LABELS, NAMES, align, record_evidence
    from dreamband.evaluation.metrics import classification_report
    from dreamband.staging.modelfile import save_model

    if out:
        out = Path(out)
    elif dataset == "sleep-edf":
        from dreamband.paths import user_models_dir
        from dreamband.staging.model_engine import DEFAULT_MODEL

        out = user_models_dir() / DEFAULT_MODEL
    else:
        out = Path.cwd() / f"dreamband-{dataset}-stager.txt"
    if dataset == "dreams" and out.resolve().parent == models_dir().resolve():
        raise InputFileError(
            out, "a model trained on DREAMS may not be shipped (licence: no derivatives)"
        )
    recs = list(iter_records(dataset, data, epoch_length))
    evs = [record_evidence(r) for r in recs]
    x, y, _ = _training_matrix(recs, evs)
    subjects = sorted({r.subject for r in recs})
    cv = None
    if len(subjects) >= 2:
        probs = leave_one_subject_out(recs, evs)
        yy, pp = [], []
        for rec, prob in zip(recs, probs, strict=True):
            rows, lab = align(rec, prob.shape[0])
            yy.append(lab)
            pp.append(prob[rows].argmax(axis=1))
        rep = classification_report(np.concatenate(yy), np.concatenate(pp), LABELS, NAMES)
        cv = {k: rep[k] for k in ("n", "accuracy", "kappa", "macro_f1", "f1")}
        cv["scheme"] = "leave-one-subject-out"
    names = list(evs[0].names)
    booster = fit_booster(x, y, names)
    roles = sorted({f"{k}={v}" for r in recs for k, v in _roles(r).items()})
    sidecar = {
        "kind": KIND,
        "name": f"{dataset}-lgbm",
        "features": names,
        "classes": [s.label for s in FIVE_CLASS],
        "epoch_length": float(epoch_length),
        "work_fs": WORK_FS,
        "channel_roles": roles,
        "training_dataset": dataset,
        "training_records": [r.name for r in recs],
        "training_epochs": int(((y >= 0) & (y <= 4)).sum()),
        "class_prior": class_prior(y).round(6).tolist(),
        "cv_scores": cv,
        "licence_note": (
            "trained on DREAMS (CC BY-NC-ND terms): local evaluation only, do not distribute"
            if dataset == "dreams"
            else "trained on Sleep-EDF (ODC-By 1.0)"
        ),
    }
    path = save_model(booster, out, sidecar)
    logger.info("trained on %d epochs of %d recordings -> %s", sidecar["training_epochs"],
                len(recs), path)
    return path


def _roles(rec) -> dict[str, str]:
    from dreamband.staging.api import select_inputs

    choice = select_inputs(rec.recording).choice
    return {k: v for k, v in vars(choice).items() if v}
