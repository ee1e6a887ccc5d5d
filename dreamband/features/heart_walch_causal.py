"""Causal and fixed-lag version of the Walch-style HR variability column ``hr_hp_sd``.

The batch column (:mod:`dreamband.features.heart_walch`) needs the whole night: a centred
Gaussian low-pass, a whole-night 90th percentile and a centred SD window. Here every value
of epoch ``k`` uses only samples up to the end of epoch ``k + ahead`` (``ahead = 0``: live):

* 1-Hz HR at ``j + 0.5`` s: the last valid sample at or before it (sample-and-hold, at most
  10 s old; the batch column interpolates, which looks one sample ahead);
* causal high-pass: HR minus a NaN-aware two-pole low-pass (two cascaded exponential
  smoothers, time constant 110 s each, whose half-power frequency matches the batch
  Gaussian's, ~1/1075 s), written as a recursive filter so the night can be processed in
  chunks with carried state and give the same numbers;
* SD of the high-passed HR over 600 s centred on the epoch as far as the horizon allows
  (trailing, ending at the epoch end, for ``ahead = 0``; centred from ``ahead >= 10``);
* divided by the 90th percentile of |high-passed HR| over the night up to the horizon,
  read from a histogram of 0.05-bpm bins (the same integer counts whole-night and
  incremental); NaN until 10 min of filtered HR exist (no early scale from a few minutes).

:class:`CausalHpSd` computes the live (``ahead = 0``) column incrementally with bounded
memory for :class:`dreamband.live.heart.HeartLiveStager`.

slpdb leave-one-subject-out, mean kappa over LightGBM seeds 7/11/23 without -> with this
column (adoption rule fixed before scoring: the 3-seed-mean kappa must rise; this recipe
was the only one scored for adoption): rr lag 40 (20 min; 20 epochs of feature look-ahead)
0.395 -> 0.415, REM F1 0.265 -> 0.307; rr lag 60 0.408 -> 0.410, REM F1 0.307 -> 0.326;
hr live 0.330 -> 0.344; hr lag 40 0.364 -> 0.366; hr lag 60 0.364 -> 0.370; all adopted.
rr live 0.361 -> 0.346 (REM F1 0.210 -> 0.200): not adopted
(:func:`dreamband.features.heart_context.uses_causal_hp_sd`). Exploratory, after the
decision, rr live only: the two-sided batch column as an oracle gives 0.366 (REM F1 0.253),
the causal filter and trailing window with a whole-night scale 0.348, a 300-s trailing
window 0.356, so it is the trailing window, not the night-so-far scale, that the causal RR
model cannot use. Cost: ~4 ms for a 6.5-h night.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from dreamband.heart.grid import HeartSeries

__all__ = ["CausalHpSd", "causal_hr_high_pass_sd"]

_TAU = 110.0        # s, time constant of each of the two cascaded smoothers
_WINDOW = 600       # s, SD window
_MIN_N = _WINDOW // 4   # fewest finite values in the SD window
_MIN_SCALE_N = 600  # s of filtered HR before a night-so-far scale is given
_MAX_GAP = 10.0     # s, longest hold of the 1-Hz HR
_BIN = 0.05         # bpm, histogram bin of |high-passed HR|
_N_BINS = 600       # 0-30 bpm; larger values count in the last bin
_Q = 0.9

_BETA = float(np.exp(-1.0 / _TAU))
_B = np.array([(1.0 - _BETA) ** 2])
_A = np.array([1.0, -2.0 * _BETA, _BETA * _BETA])


def _grid_count(end: float) -> int:
    """Number of 1-Hz grid points ``j + 0.5 <= end``."""
    return max(int(np.floor(end + 0.5)), 0)


def _hold_hr(t: np.ndarray, hr: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """HR (bpm) at ``j + 0.5``, ``lo <= j < hi``: last sample at or before, NaN if > 10 s old."""
    grid = np.arange(lo, hi) + 0.5
    out = np.full(grid.size, np.nan)
    if t.size == 0 or grid.size == 0:
        return out
    idx = np.searchsorted(t, grid, side="right") - 1
    ok = idx >= 0
    i = np.maximum(idx, 0)
    ok &= (grid - t[i]) <= _MAX_GAP
    out[ok] = hr[i[ok]]
    return out


def _valid_hr(hs: HeartSeries) -> tuple[np.ndarray, np.ndarray]:
    t = hs.t[hs.valid]
    with np.errstate(divide="ignore", invalid="ignore"):
        return t, 60.0 / hs.rr[hs.valid]


def _high_pass(x: np.ndarray, zx: np.ndarray, zf: np.ndarray):
    """Causal high-pass of ``x`` (NaN = missing) with carried filter states."""
    fin = np.isfinite(x)
    lx, zx = lfilter(_B, _A, np.where(fin, x, 0.0), zi=zx)
    lf, zf = lfilter(_B, _A, fin.astype(float), zi=zf)
    with np.errstate(invalid="ignore", divide="ignore"):
        hp = np.where(fin & (lf > 0), x - lx / lf, np.nan)
    return hp, zx, zf


def _bins(hp: np.ndarray) -> np.ndarray:
    """Histogram bin of ``|hp|`` (-1 for NaN)."""
    fin = np.isfinite(hp)
    b = np.minimum((np.abs(np.where(fin, hp, 0.0)) / _BIN).astype(np.int64), _N_BINS - 1)
    return np.where(fin, b, -1)


def _scale_from_counts(cum: np.ndarray) -> np.ndarray:
    """90th percentile (upper bin edge) from cumulative bin counts ``(..., n_bins)``."""
    total = cum[..., -1]
    b = np.argmax(cum >= _Q * total[..., None], axis=-1)
    return np.where(total >= _MIN_SCALE_N, (b + 1) * _BIN, np.nan)


def _window_sd(c1, c2, cn, lo, hi) -> np.ndarray:
    n = cn[hi] - cn[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        m = (c1[hi] - c1[lo]) / n
        var = (c2[hi] - c2[lo]) / n - m * m
    return np.where(n >= _MIN_N, np.sqrt(np.clip(var, 0, None)), np.nan)


def _bounds(offset: float, k: np.ndarray, m_k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SD window ``[lo, hi)`` of epochs ``k``: centred (as the batch column), cut at ``m_k``."""
    at = np.maximum((offset + 30.0 * (k + 0.5)).astype(np.int64), 0)
    hi = np.minimum(at + _WINDOW // 2, m_k)
    return np.maximum(hi - _WINDOW, 0), np.maximum(hi, 0)


def causal_hr_high_pass_sd(
    hs: HeartSeries, n_epochs: int, offset: float = 0.0, ahead: int = 0
) -> np.ndarray:
    """``hr_hp_sd`` of every epoch from samples up to the end of epoch ``k + ahead``.

    Parameters
    ----------
    hs : HeartSeries
        Prepared heart signal (beats or HR samples).
    n_epochs : int
        Number of 30-s epochs.
    offset : float
        Onset of epoch 0 in seconds from the recording start.
    ahead : int
        Epochs of look-ahead (``0``: causal); the horizon stops at the last epoch.

    Returns
    -------
    numpy.ndarray
        ``(n_epochs,)``, NaN where the window or the night so far holds too little signal.
    """
    out = np.full(n_epochs, np.nan)
    if n_epochs <= 0:
        return out
    k = np.arange(n_epochs)
    horizon = np.minimum(k + max(int(ahead), 0), n_epochs - 1)
    m_k = np.maximum(np.floor(offset + 30.0 * (horizon + 1.0) + 0.5).astype(np.int64), 0)
    m = int(m_k.max())
    if m == 0:
        return out
    t, hr = _valid_hr(hs)
    hp, _, _ = _high_pass(_hold_hr(t, hr, 0, m), np.zeros(2), np.zeros(2))
    fin = np.isfinite(hp)
    h0 = np.where(fin, hp, 0.0)
    c1 = np.concatenate([[0.0], np.cumsum(h0)])
    c2 = np.concatenate([[0.0], np.cumsum(h0 * h0)])
    cn = np.concatenate([[0], np.cumsum(fin)])
    lo, hi = _bounds(offset, k, m_k)
    sd = _window_sd(c1, c2, cn, lo, hi)
    # Night-so-far histograms at each distinct horizon.
    edges = np.unique(m_k)
    b = _bins(hp)
    seg = np.searchsorted(edges, np.arange(m), side="right")
    use = b >= 0
    counts = np.bincount(seg[use] * _N_BINS + b[use], minlength=edges.size * _N_BINS)
    counts = counts[: edges.size * _N_BINS].reshape(edges.size, _N_BINS).astype(np.int32)
    hist = np.cumsum(np.cumsum(counts, axis=1, dtype=np.int32), axis=0, dtype=np.int32)
    scale = _scale_from_counts(hist)
    out = sd / scale[np.searchsorted(edges, m_k)]
    return out


class CausalHpSd:
    """Incremental causal ``hr_hp_sd`` (``ahead = 0``), epoch by epoch, bounded memory.

    Feed it the epochs in order with the valid samples received so far (at least the last
    10 s before the epoch's first new grid point); the values equal
    :func:`causal_hr_high_pass_sd` of the whole night.

    Parameters
    ----------
    origin : float
        Onset of epoch 0 on the samples' clock (s).
    """

    def __init__(self, origin: float = 0.0) -> None:
        self.origin = float(origin)
        self._m = 0
        self._zx = np.zeros(2)
        self._zf = np.zeros(2)
        self._c = np.zeros((1, 3))  # cumulative sums (h, h^2, n) at grid points _m - len + 1 .. _m
        self._hist = np.zeros(_N_BINS, dtype=np.int64)

    def step(self, k: int, t: np.ndarray, hr: np.ndarray) -> float:
        """Value of epoch ``k`` from valid samples ``t`` (s, increasing) and ``hr`` (bpm)."""
        end = self.origin + 30.0 * (k + 1)
        m = _grid_count(end)
        if m > self._m:
            hp, self._zx, self._zf = _high_pass(_hold_hr(t, hr, self._m, m), self._zx, self._zf)
            fin = np.isfinite(hp)
            h0 = np.where(fin, hp, 0.0)
            c1 = np.cumsum(np.concatenate([[self._c[-1, 0]], h0]))[1:]
            c2 = np.cumsum(np.concatenate([[self._c[-1, 1]], h0 * h0]))[1:]
            cn = self._c[-1, 2] + np.cumsum(fin)
            self._c = np.vstack([self._c, np.column_stack([c1, c2, cn])])[-(_WINDOW + 1):]
            b = _bins(hp)
            self._hist += np.bincount(b[b >= 0], minlength=_N_BINS)
            self._m = m
        lo, hi = _bounds(self.origin, np.array([k]), np.array([self._m]))
        base = self._m - (self._c.shape[0] - 1)  # grid index of row 0 of the cumulative sums
        if lo[0] < base:  # window reaches before the kept sums (only at the very start)
            lo = np.array([base])
        c = self._c
        sd = _window_sd(c[:, 0], c[:, 1], c[:, 2], lo - base, hi - base)[0]
        scale = _scale_from_counts(np.cumsum(self._hist))
        return float(sd / scale)
