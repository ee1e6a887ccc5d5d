"""Per-epoch signal quality flags: flat line, clipping, artefact."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

__all__ = ["QualityFlags", "epoch_extremes", "epoch_quality", "expanding_median_mad"]


@dataclass(frozen=True)
class QualityFlags:
    """Boolean flags, one per epoch.

    Attributes
    ----------
    flat : numpy.ndarray
        The epoch has (almost) no variation: standard deviation below ``flat_uv`` µV.
    clipped : numpy.ndarray
        At least ``clip_fraction`` of the samples sit at the epoch's extreme value
        (the amplifier's rail), i.e. the signal is saturated.
    artefact : numpy.ndarray
        Peak-to-peak amplitude above ``artefact_uv`` µV, or power more than 6 robust
        standard deviations above the night's median (movement, electrode pop).
    """

    flat: np.ndarray
    clipped: np.ndarray
    artefact: np.ndarray

    @property
    def bad(self) -> np.ndarray:
        """Any flag raised."""
        return self.flat | self.clipped | self.artefact


def epoch_quality(
    epochs: np.ndarray,
    flat_uv: float = 0.5,
    clip_fraction: float = 0.01,
    artefact_uv: float = 1000.0,
    variance: np.ndarray | None = None,
    causal: bool = False,
    extremes: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> QualityFlags:
    """Flag flat, clipped and artefact epochs (vectorised over the night).

    Parameters
    ----------
    epochs : numpy.ndarray
        ``(n_epochs, n_samples)`` signal in µV.
    flat_uv : float
        Standard deviation under which an epoch is flat (µV).
    clip_fraction : float
        Fraction of samples at the epoch's maximum absolute value that marks clipping.
    artefact_uv : float
        Peak-to-peak amplitude above which an epoch is an artefact (µV).
    variance : numpy.ndarray, optional
        Per-epoch variance (µV²) when already known (e.g. from the spectrum); saves a pass.
    causal : bool
        Live: judge each epoch's power against the epochs up to it (not the whole night).
    extremes : tuple of numpy.ndarray, optional
        :func:`epoch_extremes` of ``epochs`` when already known (e.g. computed in another
        thread); saves the passes over the samples.

    Returns
    -------
    QualityFlags
    """
    x = np.asarray(epochs)
    if x.ndim != 2:
        raise ValueError(f"epochs must be 2-D (n_epochs, n_samples); got shape {x.shape}")
    var = x.var(axis=1, dtype=np.float64) if variance is None else np.asarray(variance)
    flat = var < flat_uv**2
    hi, lo, at_hi, at_lo = epoch_extremes(x) if extremes is None else extremes
    need = clip_fraction * x.shape[1]
    clipped = ((at_hi >= need) | (at_lo >= need)) & ~flat
    ptp = hi.astype(np.float64) - lo
    logp = np.log(var + 1e-12)
    if causal and not np.isnan(logp).any():
        med, dev = expanding_median_mad(logp)
        mad = 1.4826 * dev
    elif causal:
        med = np.array([np.median(logp[: i + 1]) for i in range(logp.size)])
        mad = np.array(
            [1.4826 * np.median(np.abs(logp[: i + 1] - med[i])) for i in range(logp.size)]
        )
    else:
        med = np.median(logp)
        mad = 1.4826 * np.median(np.abs(logp - med))
    artefact = (ptp > artefact_uv) | ((logp - med) / (mad + 1e-9) > 6.0)
    return QualityFlags(flat=flat, clipped=clipped, artefact=artefact & ~flat)


def epoch_extremes(
    epochs: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Top and bottom value of each epoch and how many samples sit exactly at each.

    The passes over the samples behind :func:`epoch_quality`'s clipping and amplitude
    flags (a saturated amplifier holds a run of samples at its rail).

    Parameters
    ----------
    epochs : numpy.ndarray
        ``(n_epochs, n_samples)`` signal.

    Returns
    -------
    hi, lo : numpy.ndarray
        Maximum and minimum per epoch (the input's type).
    at_hi, at_lo : numpy.ndarray
        Number of samples equal to ``hi`` / ``lo`` per epoch.
    """
    x = np.asarray(epochs)
    hi = x.max(axis=1)
    lo = x.min(axis=1)
    return hi, lo, _count_equal(x, hi), _count_equal(x, lo)


def _count_equal(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Samples of each row of ``x`` equal to that row's ``v``: the same counts as
    ``np.count_nonzero(x == v[:, None], axis=1)``, from the positions of the (few) equal
    samples rather than a per-row sum over the whole boolean array."""
    hits = np.flatnonzero(x == v[:, None])
    return np.bincount(hits // x.shape[1], minlength=x.shape[0])


def expanding_median_mad(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and median absolute deviation of every prefix of a 1-D array.

    Entry ``i`` equals ``m = numpy.median(values[: i + 1])`` and
    ``numpy.median(numpy.abs(values[: i + 1] - m))`` bit for bit: one sweep keeps the
    values so far sorted (binary insertion) and reads the same order statistics, averaged
    as numpy does (``(a + b) / 2`` for an even count). The deviations from ``m`` are two
    increasing runs (below and above ``m``), so their middle one is found by a binary
    search over how many come from each run, with no pass over the prefix.

    Parameters
    ----------
    values : numpy.ndarray
        1-D float64 without NaN.

    Returns
    -------
    median, mad : numpy.ndarray
        Per prefix; ``mad`` without the 1.4826 factor.
    """
    sorted_: list[float] = []
    med: list[float] = []
    mad: list[float] = []
    for i, x in enumerate(np.asarray(values, dtype=np.float64).tolist()):
        bisect.insort(sorted_, x)
        half = (i + 1) // 2
        odd = (i + 1) % 2
        # numpy's mean of the middle one(s): a sum from +0.0 (so -0.0 reads +0.0), / count
        m = sorted_[half] + 0.0 if odd else (sorted_[half - 1] + sorted_[half] + 0.0) / 2
        med.append(m)
        p = bisect.bisect_left(sorted_, m)  # values below m: indexes < p

        def below(t: int, s=sorted_, m=m, p=p) -> float:  # t-th smallest deviation below
            return abs(s[p - 1 - t] - m)  # as numpy: abs of the difference

        def above(t: int, s=sorted_, m=m, p=p) -> float:  # t-th smallest deviation above
            return abs(s[p + t] - m)  # (abs: a tie gives +0.0, as numpy's)

        n_above = i + 1 - p
        hi_dev = _kth_of_two(below, p, above, n_above, half)
        if odd:
            mad.append(hi_dev)
        else:
            mad.append((_kth_of_two(below, p, above, n_above, half - 1) + hi_dev) / 2)
    return np.array(med, dtype=np.float64), np.array(mad, dtype=np.float64)


def _kth_of_two(a_at, na: int, b_at, nb: int, k: int) -> float:
    """The ``k``-th smallest (from 0) of two increasing sequences of lengths ``na`` and
    ``nb`` read through ``a_at(t)`` / ``b_at(t)``: a binary search over how many of the
    ``k + 1`` smallest come from the first one."""
    lo, hi = max(0, k + 1 - nb), min(k + 1, na)
    while lo < hi:
        i = (lo + hi) // 2
        if a_at(i) < b_at(k - i):  # the first sequence's next one is smaller: take more
            lo = i + 1
        else:
            hi = i
    j = k + 1 - lo
    if lo == 0:
        return b_at(j - 1)
    if j == 0:
        return a_at(lo - 1)
    return max(a_at(lo - 1), b_at(j - 1))
