"""Leave-one-subject-out evaluation of the heart stager on slpdb and sleep-accel.

Every figure here comes from models that never saw the evaluated subject: for each
subject, a classifier is trained on all other subjects' nights and applied to this
subject's nights (slpdb: slp01a/b and slp02a/b form one subject each).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dreamband.evaluation.bootstrap import pooled_intervals
from dreamband.evaluation.metrics import classification_report
from dreamband.staging.heart_data import NightFeatures, load_nights
from dreamband.staging.heart_model import CLASS_NAMES, N_TREES, STAY, fit_booster, smooth_night

__all__ = ["OutOfSubject", "evaluate_heart", "loso_predictions", "report_nights"]

logger = logging.getLogger(__name__)

_LABELS = (0, 1, 2)


@dataclass(frozen=True)
class OutOfSubject:
    """Out-of-subject predictions of one night.

    Attributes
    ----------
    record, subject : str
    y : numpy.ndarray
        Reference WearableStage codes (-1 = unscored).
    raw : numpy.ndarray
        Classifier probabilities ``(n_epochs, 3)``.
    smooth : numpy.ndarray
        HMM-smoothed probabilities; the predicted stage is their argmax.
    """

    record: str
    subject: str
    y: np.ndarray
    raw: np.ndarray
    smooth: np.ndarray

    @property
    def predicted(self) -> np.ndarray:
        """Predicted WearableStage codes."""
        return self.smooth.argmax(axis=1)


def loso_predictions(
    nights: Sequence[NightFeatures],
    live: bool,
    n_trees: int = N_TREES,
    threads: int = 1,
    stay: float = STAY,
    subjects: Sequence[str] | None = None,
    lag: int = 0,
    cycle: bool | None = None,
    seed: int | None = None,
) -> list[OutOfSubject]:
    """Leave-one-subject-out probabilities of every night.

    Parameters
    ----------
    nights : sequence of NightFeatures
        Labelled nights (:func:`~dreamband.staging.heart_data.load_nights`).
    live : bool
        Forward-only smoothing (causal) instead of forward-backward.
    n_trees, threads : int
        Classifier size and LightGBM threads.
    stay : float
        HMM self-transition probability.
    subjects : sequence of str, optional
        Evaluate only these held-out subjects (all by default; training always uses every
        other subject).
    lag : int
        With ``live``: decision delay in epochs; the smoother's share of it
        (:func:`~dreamband.features.heart_lag.split_lag`) goes to fixed-lag smoothing
        (:func:`~dreamband.staging.heart_model.fixed_lag_smooth`). The nights must carry
        features of the same delay (``load_nights(..., lag=lag)``).
    cycle : bool, optional
        Smooth with the cycle-aware HMM and the shipped sleep-cycle prior
        (:mod:`dreamband.staging.heart_cycle`; fixed-lag with ``lag > 0``) instead of the
        sticky HMM. Default: batch and fixed-lag live, not plain live (the recipe of
        :func:`~dreamband.staging.heart_train.uses_cycle_prior`).
    seed : int, optional
        LightGBM seed (default: that of
        :data:`~dreamband.staging.heart_model.LGB_PARAMS`), to measure the seed spread.

    Returns
    -------
    list of OutOfSubject
    """
    if cycle is None:
        cycle = not live or lag > 0
    prior = None
    if cycle:
        from dreamband.staging.heart_cycle import load_cycle_prior

        prior = load_cycle_prior()
    params = None if seed is None else {"seed": int(seed)}
    all_subjects = sorted({n.subject for n in nights})
    held = all_subjects if subjects is None else [s for s in all_subjects if s in set(subjects)]
    out = []
    for s in held:
        train = [n for n in nights if n.subject != s]
        X = np.vstack([n.X for n in train])
        y = np.concatenate([n.y for n in train])
        booster = fit_booster(X, y, n_trees=n_trees, threads=threads, params=params)
        for n in (n for n in nights if n.subject == s):
            raw = booster.predict(n.X, num_threads=threads)
            smooth = smooth_night(raw, live, stay, lag, prior)
            out.append(OutOfSubject(n.record, n.subject, n.y, raw, smooth))
        logger.debug("held-out subject %s done", s)
    return out


def report_nights(preds: Sequence[OutOfSubject], smoothed: bool = True) -> dict:
    """Pooled and per-record classification reports of out-of-subject predictions.

    Returns
    -------
    dict
        ``pooled`` (report over every epoch, with ``intervals``: 95 % subject-bootstrap
        intervals of its scores, :func:`~dreamband.evaluation.bootstrap.pooled_intervals`)
        and ``records`` (list of ``{"name", "subject", "report"}`` in the order of ``preds``).
    """
    def pred(p: OutOfSubject) -> np.ndarray:
        return p.predicted if smoothed else p.raw.argmax(axis=1)

    records = [
        {"name": p.record, "subject": p.subject,
         "report": classification_report(p.y, pred(p), _LABELS, CLASS_NAMES)}
        for p in preds
    ]
    ys = [p.y for p in preds]
    yps = [pred(p) for p in preds]
    pooled = classification_report(np.concatenate(ys), np.concatenate(yps), _LABELS, CLASS_NAMES)
    pooled["intervals"] = pooled_intervals(ys, yps, [p.subject for p in preds], _LABELS,
                                           CLASS_NAMES)
    return {"pooled": pooled, "records": records}


def evaluate_heart(
    dataset: str,
    data_dir: str | os.PathLike | None = None,
    live: bool = False,
    kind: str = "rr",
    n_trees: int = N_TREES,
    threads: int = 1,
    subjects: Sequence[str] | None = None,
    lag: int = 0,
) -> dict:
    """Leave-one-subject-out figures of the heart stager on a heart dataset.

    Parameters
    ----------
    dataset : {"slpdb", "sleep-accel"}
        ``slpdb``: our features from beat annotations. ``sleep-accel``: the Walch 2019
        study's own per-epoch features (not computed by our pipeline).
    data_dir : path, optional
        Data folder (default ``$DREAMBAND_DATA``).
    live : bool
        Causal features and forward-only smoothing (slpdb); for sleep-accel only the
        smoothing is causal, the study's features are centred windows.
    kind : {"rr", "hr"}
        slpdb input: beat-to-beat intervals, or a 1-Hz HR stream derived from them.
    n_trees, threads : int
        Classifier size and LightGBM threads.
    subjects : sequence of str, optional
        Held-out subjects to evaluate (default: all).
    lag : int
        With ``live`` (slpdb): decisions delayed by ``lag`` epochs — fixed-lag features and
        smoothing; epoch ``k`` uses samples up to the end of epoch ``k + lag``.

    Returns
    -------
    dict
        ``pooled`` (report over all evaluated epochs), ``records`` (list of ``{"name",
        "subject", "report"}``, one per record),
        ``unsmoothed`` (pooled report of the classifier alone), ``dataset``, ``live``,
        ``kind``, ``n_subjects``. Reports come from
        :func:`dreamband.evaluation.metrics.classification_report` with names W, NREM, REM.
    """
    nights = load_nights(dataset, data_dir, live=live, kind=kind, lag=lag)
    preds = loso_predictions(nights, live, n_trees=n_trees, threads=threads, subjects=subjects,
                             lag=lag)
    rep = report_nights(preds)
    rep["unsmoothed"] = report_nights(preds, smoothed=False)["pooled"]
    rep.update(dataset=dataset, live=bool(live), kind=kind, lag=int(lag) if live else 0,
               n_subjects=len({p.subject for p in preds}))
    return rep
