"""Honest evaluation of the REM forecaster: past-only predictions, subject-wise refits.

At every epoch from sleep onset on that has a next REM onset in the same night, the forecaster
sees the night up to and including that epoch and predicts the next REM onset (conditional
median). The baseline predicts the last REM onset (or sleep onset, before the first REM) plus
90 minutes. Both use the same REM-period rules (:func:`dreamband.sync.forecast.night_periods`).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from dreamband.sync.forecast import ForecastModel, NightTracker, fit, night_periods

__all__ = ["BASELINE_CYCLE_S", "ForecastScore", "evaluate_nights", "leave_one_subject_out"]

logger = logging.getLogger(__name__)

#: Fixed cycle of the baseline, seconds.
BASELINE_CYCLE_S = 90 * 60.0
_HOUR_BINS = (0, 1, 2, 3, 4, 5, 6, 7)


@dataclass
class ForecastScore:
    """Absolute errors (minutes) of the model and the baseline, with where they were made
    and on whose night (``subject``: for intervals that resample subjects)."""

    err_model: np.ndarray
    err_base: np.ndarray
    hours: np.ndarray
    cycle: np.ndarray
    subject: np.ndarray

    @classmethod
    def empty(cls) -> ForecastScore:
        """A score with no predictions."""
        z = np.zeros(0)
        return cls(z, z, z, z.astype(int), z.astype(str))

    def __add__(self, other: ForecastScore) -> ForecastScore:
        return ForecastScore(*(np.concatenate([a, b]) for a, b in (
            (self.err_model, other.err_model), (self.err_base, other.err_base),
            (self.hours, other.hours), (self.cycle, other.cycle),
            (self.subject, other.subject))))

    @property
    def n(self) -> int:
        """Number of predictions scored."""
        return int(self.err_model.size)

    def summary(self) -> dict:
        """``{"mae_min", "baseline_mae_min", "n", "by_hour", "by_cycle"}`` (rounded), plus
        ``difference_min`` (model minus baseline MAE with its 95 % subject-bootstrap
        interval, :func:`dreamband.evaluation.bootstrap.paired_mean_difference`) when the
        predictions come from two subjects or more."""
        def block(mask: np.ndarray) -> dict:
            if not mask.any():
                return {"mae_min": None, "baseline_mae_min": None, "n": 0}
            return {"mae_min": round(float(self.err_model[mask].mean()), 2),
                    "baseline_mae_min": round(float(self.err_base[mask].mean()), 2),
                    "n": int(mask.sum())}

        out = block(np.ones(self.n, dtype=bool))
        by_hour = {}
        for lo, hi in itertools.pairwise(_HOUR_BINS):
            by_hour[f"{lo}-{hi}h"] = block((self.hours >= lo) & (self.hours < hi))
        by_hour[f">={_HOUR_BINS[-1]}h"] = block(self.hours >= _HOUR_BINS[-1])
        out["by_hour"] = by_hour
        out["by_cycle"] = {f"after_{c}_rem": block(self.cycle == c)
                           for c in range(int(self.cycle.max(initial=-1)) + 1)}
        n_subjects = np.unique(self.subject).size
        if n_subjects >= 2:
            from dreamband.evaluation.bootstrap import paired_mean_difference

            d = paired_mean_difference(self.err_model, self.err_base, self.subject)
            out["difference_min"] = {"estimate": round(d.estimate, 2),
                                     "ci95": [round(d.low, 2), round(d.high, 2)],
                                     "n_subjects": int(n_subjects)}
        return out


def evaluate_nights(
    nights: Sequence[np.ndarray], model: ForecastModel, epoch_length: float = 30.0,
    subject: str = "",
) -> ForecastScore:
    """Score past-only next-REM-onset predictions of ``model`` and the baseline on nights.

    Parameters
    ----------
    nights : sequence of numpy.ndarray
        Night codes per epoch (-1 unscored, 0 wake, 1 NREM, 2 REM), each from the recording
        start so the forecaster sees exactly what it would have seen live.
    model : ForecastModel
        The forecaster (fit it without these nights for an honest score).
    epoch_length : float
        Seconds per epoch.
    subject : str
        Subject the nights belong to (recorded with each prediction).

    Returns
    -------
    ForecastScore
    """
    score = ForecastScore.empty()
    for codes in nights:
        found = night_periods(codes, epoch_length, model.merge_gap_s, model.reset_wake_s)
        if found is None or not found[2]:
            continue
        onset, _, periods = found
        starts = np.array([p[0] for p in periods])
        tracker = NightTracker(epoch_length, model.merge_gap_s, model.reset_wake_s)
        e_m, e_b, hrs, cyc = [], [], [], []
        for t, code in enumerate(codes[: starts[-1]]):
            tracker.update(code)
            if t < onset:
                continue
            ref = tracker.reference()
            if ref is None or tracker.sleep_onset != onset:
                logger.debug("tracker night start differs from the main bout at epoch %d", t)
                continue
            truth = starts[np.searchsorted(starts, t, side="right")] * epoch_length
            cycle, r, _ = ref
            e_m.append(abs(model.predict_next_onset(tracker) - truth) / 60.0)
            e_b.append(abs(r + BASELINE_CYCLE_S - truth) / 60.0)
            hrs.append((tracker.now - onset * epoch_length) / 3600.0)
            cyc.append(cycle)
        score = score + ForecastScore(np.array(e_m), np.array(e_b), np.array(hrs),
                                      np.array(cyc, dtype=int), np.full(len(e_m), subject))
    return score


def leave_one_subject_out(
    nights: Sequence[np.ndarray], subjects: Sequence[str], epoch_length: float = 30.0,
    fitter: Callable[..., ForecastModel] = fit,
) -> ForecastScore:
    """Refit without each subject (all their nights) and score on that subject's nights.

    Raises
    ------
    ValueError
        If fewer than two subjects are given or the lengths differ.
    """
    if len(nights) != len(subjects):
        raise ValueError(f"{len(nights)} nights but {len(subjects)} subject labels")
    uniq = sorted(set(subjects))
    if len(uniq) < 2:
        raise ValueError("leave-one-subject-out needs nights of at least two subjects")
    score = ForecastScore.empty()
    for s in uniq:
        train = [n for n, u in zip(nights, subjects) if u != s]
        test = [n for n, u in zip(nights, subjects) if u == s]
        model = fitter(train, epoch_length=epoch_length)
        score = score + evaluate_nights(test, model, epoch_length, subject=s)
    return score
