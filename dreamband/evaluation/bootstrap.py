"""Confidence intervals of pooled staging scores by resampling subjects.

A pooled kappa over a few subjects says little about how it would move with other
subjects: epochs of one night are not independent draws, so an interval from resampling
epochs would be far too narrow. Here the unit of resampling is the subject (the
*cluster bootstrap*): each replicate draws as many subjects as there are, with
replacement, pools every epoch of the drawn subjects' nights and recomputes the scores.
The percentile interval of the replicates is reported. With five subjects (the DREAMS
excerpts) the intervals are wide, and that is the honest answer.

Each subject's nights are reduced once to a confusion matrix (plus a column for
predictions outside the stage list), so a replicate costs a weighted sum of small
matrices; 2,000 replicates over 16 nights take milliseconds. Two stagers scored on the
same epochs are compared with the *same* replicates (:func:`paired_difference`), which
makes the interval of their difference much narrower than the two intervals suggest;
:func:`paired_mean_difference` does the same for paired errors (e.g. two forecasters).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dreamband.evaluation.metrics import confusion_matrix

__all__ = [
    "DEFAULT_REPLICATES",
    "Interval",
    "confusions_from_records",
    "paired_difference",
    "paired_mean_difference",
    "paired_ratio_difference",
    "pooled_intervals",
    "score_intervals",
    "subject_confusions",
]

#: Bootstrap replicates drawn by default.
DEFAULT_REPLICATES = 2000


@dataclass(frozen=True)
class Interval:
    """A score on all subjects and its percentile bootstrap interval."""

    estimate: float
    low: float
    high: float

    def as_list(self) -> list[float]:
        """``[low, high]`` (for JSON)."""
        return [self.low, self.high]


def subject_confusions(
    y_true: Sequence[np.ndarray],
    y_pred: Sequence[np.ndarray],
    subjects: Sequence[str],
    labels: Sequence[int],
) -> tuple[list[str], np.ndarray]:
    """One extended confusion matrix per subject, summed over the subject's nights.

    Parameters
    ----------
    y_true, y_pred : sequence of numpy.ndarray
        Reference and predicted codes, one array per night (reference < 0 is unscored).
    subjects : sequence of str
        Subject of each night (nights of one subject are resampled together).
    labels : sequence of int
        Stage codes in row/column order.

    Returns
    -------
    names : list of str
        Distinct subjects, in order of first appearance.
    cms : numpy.ndarray
        ``(n_subjects, K, K + 1)``: rows = reference, columns = prediction; the last
        column counts predictions outside ``labels`` (they lower recall and accuracy, as in
        :func:`dreamband.evaluation.metrics.classification_report`).
    """
    if not (len(y_true) == len(y_pred) == len(subjects)):
        raise ValueError(f"one reference, prediction and subject per night; got {len(y_true)}, "
                         f"{len(y_pred)} and {len(subjects)}")
    names = list(dict.fromkeys(subjects))
    k = len(labels)
    cms = np.zeros((len(names), k, k + 1), dtype=np.int64)
    for y, p, s in zip(y_true, y_pred, subjects, strict=True):
        i = names.index(s)
        cms[i, :, :k] += confusion_matrix(y, p, labels)
        y = np.asarray(y).astype(int).ravel()
        p = np.asarray(p).astype(int).ravel()
        outside = ~np.isin(p, labels) & (y >= 0)
        for j, lab in enumerate(labels):
            cms[i, j, k] += int(np.count_nonzero(outside & (y == lab)))
    return names, cms


def _scores(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy, kappa, per-stage F1 and macro-F1 of stacked extended confusion matrices
    ``(..., K, K + 1)``, each the same as ``classification_report`` gives."""
    k = cm.shape[-2]
    n = cm.sum(axis=(-2, -1)).astype(float)
    tp = np.diagonal(cm[..., :k], axis1=-2, axis2=-1).astype(float)
    support = cm.sum(axis=-1).astype(float)  # every reference epoch of the stage
    predicted = cm[..., :k].sum(axis=-2).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = tp.sum(axis=-1) / n
        # chance agreement from the in-list counts, as classification_report computes it
        pe = (cm[..., :k].sum(axis=-1) * predicted).sum(axis=-1) / (n * n)
        kappa = np.where(pe >= 1.0, np.where(acc >= 1.0, 1.0, 0.0), (acc - pe) / (1.0 - pe))
        denom = support + predicted
        f1 = np.where(denom > 0, 2 * tp / denom, np.nan)
        present = support > 0
        macro = np.where(present, np.nan_to_num(f1), 0.0).sum(axis=-1) / present.sum(axis=-1)
    return {"accuracy": acc, "kappa": kappa, "macro_f1": macro, "f1": f1}


def _draws(n_subjects: int, replicates: int, seed: int) -> np.ndarray:
    """``(replicates, n_subjects)`` counts: how often each subject is drawn per replicate."""
    if n_subjects < 2:
        raise ValueError(f"a subject bootstrap needs at least 2 subjects; got {n_subjects}")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n_subjects, size=(replicates, n_subjects))
    counts = np.zeros((replicates, n_subjects), dtype=np.int64)
    np.add.at(counts, (np.arange(replicates)[:, None], picks), 1)
    return counts


def _interval(estimate: float, reps: np.ndarray, level: float) -> Interval:
    reps = reps[np.isfinite(reps)]
    if reps.size == 0 or not np.isfinite(estimate):
        return Interval(float(estimate), float("nan"), float("nan"))
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(reps, [a, 1.0 - a])
    return Interval(float(estimate), float(lo), float(hi))


def score_intervals(
    cms: np.ndarray,
    names: Sequence[str],
    replicates: int = DEFAULT_REPLICATES,
    level: float = 0.95,
    seed: int = 0,
) -> dict:
    """Pooled scores with subject-bootstrap intervals.

    Parameters
    ----------
    cms : numpy.ndarray
        Per-subject extended confusion matrices from :func:`subject_confusions`.
    names : sequence of str
        Stage names in label order.
    replicates : int
        Bootstrap replicates.
    level : float
        Coverage of the interval (0.95: the 2.5th to 97.5th percentile).
    seed : int
        Seed of the draws (fixed: the same call gives the same interval).

    Returns
    -------
    dict
        ``accuracy``, ``kappa``, ``macro_f1`` (each :class:`Interval`), ``f1`` (name ->
        :class:`Interval`), ``n_subjects``, ``replicates``, ``level``.
    """
    counts = _draws(cms.shape[0], replicates, seed)
    point = _scores(cms.sum(axis=0))
    reps = _scores(np.tensordot(counts, cms, axes=(1, 0)))
    out: dict = {key: _interval(float(point[key]), reps[key], level)
                 for key in ("accuracy", "kappa", "macro_f1")}
    out["f1"] = {name: _interval(float(point["f1"][j]), reps["f1"][:, j], level)
                 for j, name in enumerate(names)}
    out.update(n_subjects=int(cms.shape[0]), replicates=int(replicates), level=float(level))
    return out


def paired_difference(
    cms_a: np.ndarray,
    cms_b: np.ndarray,
    score: str = "kappa",
    stage: int | None = None,
    replicates: int = DEFAULT_REPLICATES,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Score of stager A minus stager B on the same subjects, with a paired interval.

    Parameters
    ----------
    cms_a, cms_b : numpy.ndarray
        Per-subject extended confusion matrices of the two stagers, subjects in the same
        order (:func:`subject_confusions` on the same references and subjects).
    score : {"kappa", "accuracy", "macro_f1", "f1"}
        Which score.
    stage : int, optional
        Column (label position) of the stage for ``score="f1"``.
    replicates, level, seed
        As in :func:`score_intervals`.

    Returns
    -------
    Interval
        The difference on all subjects and its interval; an interval that excludes 0 says
        the difference holds across resampled subject sets.
    """
    if cms_a.shape != cms_b.shape:
        raise ValueError(f"the two stagers' confusion matrices differ in shape: {cms_a.shape} "
                         f"vs {cms_b.shape}")
    if score == "f1" and stage is None:
        raise ValueError("score='f1' needs the stage's label position")
    counts = _draws(cms_a.shape[0], replicates, seed)

    def pick(cm: np.ndarray) -> np.ndarray:
        s = _scores(cm)[score]
        return s[..., stage] if score == "f1" else s

    point = float(pick(cms_a.sum(axis=0)) - pick(cms_b.sum(axis=0)))
    reps = (pick(np.tensordot(counts, cms_a, axes=(1, 0)))
            - pick(np.tensordot(counts, cms_b, axes=(1, 0))))
    return _interval(point, reps, level)


def pooled_intervals(
    y_true: Sequence[np.ndarray],
    y_pred: Sequence[np.ndarray],
    subjects: Sequence[str],
    labels: Sequence[int],
    names: Sequence[str],
    replicates: int = DEFAULT_REPLICATES,
    level: float = 0.95,
) -> dict | None:
    """JSON-ready subject-bootstrap intervals of a pooled report, or None below 2 subjects.

    Returns
    -------
    dict or None
        ``kappa``, ``accuracy``, ``macro_f1`` (``[low, high]``), ``f1`` (name -> ``[low,
        high]``), ``n_subjects``, ``replicates``, ``level``, ``method``.
    """
    ids, cms = subject_confusions(y_true, y_pred, subjects, labels)
    if len(ids) < 2:
        return None
    out = score_intervals(cms, names, replicates=replicates, level=level)
    return {
        **{key: out[key].as_list() for key in ("kappa", "accuracy", "macro_f1")},
        "f1": {name: iv.as_list() for name, iv in out["f1"].items()},
        "n_subjects": out["n_subjects"],
        "replicates": out["replicates"],
        "level": out["level"],
        "method": "percentile bootstrap over subjects (each subject's nights drawn together)",
    }


def confusions_from_records(records: Sequence[dict]) -> tuple[list[str], np.ndarray]:
    """Per-subject extended confusion matrices from an evaluation's per-record reports.

    Parameters
    ----------
    records : sequence of dict
        ``{"subject", "report"}`` items as ``evaluate_eeg`` / ``evaluate_heart`` return
        them (``report["confusion"]`` rows = reference).

    Returns
    -------
    names, cms
        As from :func:`subject_confusions`.

    Raises
    ------
    ValueError
        If a record holds predictions outside its stage list (its confusion matrix does not
        say which reference stage they belong to: use :func:`subject_confusions`).
    """
    names = list(dict.fromkeys(r["subject"] for r in records))
    cms = None
    for r in records:
        cm = np.asarray(r["report"]["confusion"], dtype=np.int64)
        if int(cm.sum()) != int(r["report"]["n"]):
            raise ValueError(f"record {r.get('name', r['subject'])!r} has predictions outside "
                             "the stage list; build the matrices with subject_confusions")
        if cms is None:
            k = cm.shape[0]
            cms = np.zeros((len(names), k, k + 1), dtype=np.int64)
        cms[names.index(r["subject"]), :, :-1] += cm
    if cms is None:
        raise ValueError("no records")
    return names, cms


def paired_mean_difference(
    a: np.ndarray,
    b: np.ndarray,
    subjects: Sequence[str] | np.ndarray,
    replicates: int = DEFAULT_REPLICATES,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Mean of ``a`` minus mean of ``b`` over paired items (e.g. the absolute errors of two
    forecasters at the same moments), with a subject-bootstrap interval.

    Parameters
    ----------
    a, b : numpy.ndarray
        Paired values, one per item.
    subjects : sequence of str
        Subject of each item (items of one subject are resampled together).
    replicates, level, seed
        As in :func:`score_intervals`.

    Returns
    -------
    Interval
        The difference of the pooled means and its interval.
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    subjects = np.asarray(subjects).ravel()
    if not (a.size == b.size == subjects.size):
        raise ValueError(f"one value of each and one subject per item; got {a.size}, {b.size} "
                         f"and {subjects.size}")
    ids, idx = np.unique(subjects, return_inverse=True)
    sums = np.bincount(idx, weights=a - b, minlength=ids.size)
    counts = np.bincount(idx, minlength=ids.size).astype(float)
    draws = _draws(ids.size, replicates, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        reps = (draws @ sums) / (draws @ counts)
    return _interval(float(sums.sum() / counts.sum()), reps, level)


def paired_ratio_difference(
    num_a: np.ndarray,
    den_a: np.ndarray,
    num_b: np.ndarray,
    den_b: np.ndarray,
    replicates: int = DEFAULT_REPLICATES,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[Interval, Interval, Interval]:
    """Two pooled ratios over the same subjects and their difference, with intervals.

    A pooled ratio is a sum over subjects of numerators over the sum of denominators: an
    event F1 pooled over nights is ``2 x matched / (detected + reference)``. Both ratios
    are recomputed on the same resampled subject sets.

    Parameters
    ----------
    num_a, den_a, num_b, den_b : numpy.ndarray
        One value per subject, subjects in the same order.
    replicates, level, seed
        As in :func:`score_intervals`.

    Returns
    -------
    tuple of Interval
        Ratio A, ratio B, and A minus B.
    """
    arrs = [np.asarray(v, dtype=float).ravel() for v in (num_a, den_a, num_b, den_b)]
    if len({a.size for a in arrs}) != 1:
        raise ValueError(f"one value per subject in each array; got sizes "
                         f"{[a.size for a in arrs]}")
    na, da, nb, db = arrs
    draws = _draws(na.size, replicates, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        ra, rb = (draws @ na) / (draws @ da), (draws @ nb) / (draws @ db)
        pa, pb = na.sum() / da.sum(), nb.sum() / db.sum()
    return (_interval(float(pa), ra, level), _interval(float(pb), rb, level),
            _interval(float(pa - pb), ra - rb, level))
