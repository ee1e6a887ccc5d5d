"""Per-epoch heart evidence on trailing windows (causal), vectorised over a night.

Every value of epoch ``k`` uses only samples up to the end of that epoch, so the same
numbers come out whether a night is processed in one pass or epoch by epoch as beats
arrive. The two-sided (batch) variant is built from these in
:mod:`dreamband.features.heart_context` by looking them up a few epochs later.

Windows end at the epoch end ``e_k = offset + 30 (k + 1)``:

=================  =======  =================================================================
name               window   meaning
=================  =======  =================================================================
``hr``             30 s     mean heart rate (bpm) of the valid intervals
``hr_sd``          30 s     standard deviation of instantaneous HR (bpm)
``hr_150``         150 s    mean heart rate (bpm)
``sdnn``           300 s    SD of valid RR intervals (ms)
``rmssd``          120 s    root mean square of successive differences (ms); beats only
``pnn50``          120 s    fraction of successive differences > 50 ms; beats only
``lf``, ``hf``     256 s    log power of the gridded RR in 0.04-0.15 / 0.15-0.4 Hz (log ms²)
``vlf``            256 s    log power in 0.01-0.04 Hz
``lf_hf``          256 s    ``lf - hf`` (log LF/HF ratio)
``hf_peak``        256 s    frequency of the largest HF peak (Hz): respiration-rate proxy
``hf_conc``        256 s    share of HF power within ±0.02 Hz of that peak (RSA regularity)
``coverage``       30 s     fraction of the epoch covered by valid intervals
=================  =======  =================================================================

Tried and dropped (no gain in slpdb leave-one-subject-out kappa or REM F1): short-term
DFA alpha1 over the last 256 beats, clock time, time since recording start, position in
the night, median/IQR or percentile-rank instead of mean/SD scaling, 10-min instead of
5-min context, breathing-rate variability across epochs. Session 2, apnoea-related
evidence (batch, z-scored and 5-min context like the others): share of rejected (ectopic or
artefact) intervals over 5 min (kappa / REM F1 0.438 / 0.326 vs 0.453 / 0.378, seed 7);
cyclic variation of heart rate (largest autocorrelation of HR at 25-120 s lags, VLF peak
concentration and 0.008-0.04 Hz power over 5 min: 0.421 / 0.260); all of them 0.398 /
0.235 (3 seeds). Apnoea severity differs between these patients and the trees latch on it.
Session 4, respiration from the heart (batch, one variant fixed before scoring): breaths
as upward zero crossings of the 0.1-0.5 Hz band-passed RR series (4-Hz linear grid,
zero-phase, intervals of 1.5-12 s without gaps), their coefficient of variation over a
centred 120 s, night-z-scored (``resp_cv_z``). Higher in REM than NREM in 11 of the 13
nights with REM, yet slpdb LOSO (3 seeds) kappa 0.467 -> 0.462, W F1 0.654 -> 0.653,
REM F1 0.396 -> 0.387 [0.374-0.402]: not adopted, so no causal twin either.
Session 5, heart-rate fragmentation (Costa et al. 2017; batch, one variant fixed before
scoring): successive differences of valid RR intervals split by sign (negative, zero,
positive; a rejected interval breaks a run) into segments; over the beats of the trailing
5 min, ``pip`` = share of increments whose sign differs from the previous one's, ``ials`` =
segments per increment, ``pss`` = share of increments in segments shorter than 3, ``pas`` =
share in alternation segments (at least 4 successive length-1 segments); NaN below 50
increments; centred (5 epochs ahead), night-z-scored, plus their centred 5-min context
(8 columns). slpdb LOSO, 3 seeds: kappa 0.467 -> 0.448 [0.444-0.457], W F1 0.654 ->
0.658, REM F1 0.396 -> 0.292 [0.285-0.303] (seed 7 0.444 / 0.654 / 0.285). Not adopted:
the trees separate subjects (apnoea, ectopy) rather than REM with them.

References: Task Force of the ESC and NASPE, Heart rate variability: standards of
measurement, Circulation 1996;93:1043-1065 (time/frequency measures and bands). Costa MD,
Davis RB, Goldberger AL. Heart rate fragmentation: a new approach to the analysis of
cardiac interbeat interval dynamics. Front Physiol 2017;8:255.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dreamband.heart.grid import GRID_FS, HeartSeries

__all__ = ["BASE_FEATURES", "BEAT_ONLY", "EPOCH", "base_features"]

EPOCH = 30.0
BASE_FEATURES: tuple[str, ...] = (
    "hr", "hr_sd", "hr_150", "sdnn", "rmssd", "pnn50",
    "vlf", "lf", "hf", "lf_hf", "hf_peak", "hf_conc", "coverage",
)
#: Features that need beat-to-beat intervals (NaN for 1-Hz HR input).
BEAT_ONLY: frozenset[str] = frozenset({"rmssd", "pnn50"})

_SPEC_N = 512  # 256 s at 2 Hz
_MIN_COVER = 0.5
# Per-window constants of _spectral: trend regressor (and its normal-equation denominator
# for a window without gaps), Hann window and its power scale, frequencies and bands, and
# for each bin the bins within 0.02 Hz of it (HF peak concentration).
_TREND = np.linspace(-1, 1, _SPEC_N)
_TREND2 = _TREND * _TREND
_HANN = np.hanning(_SPEC_N)
_HANN_SCALE = (_HANN**2).sum() * GRID_FS
_SXX_FULL = max(float(_TREND2.sum()), 1e-12)
_FREQ = np.fft.rfftfreq(_SPEC_N, 1 / GRID_FS)
_DF = _FREQ[1] - _FREQ[0]
_VLF = (_FREQ >= 0.01) & (_FREQ < 0.04)
_LF = (_FREQ >= 0.04) & (_FREQ < 0.15)
_HF = (_FREQ >= 0.15) & (_FREQ < 0.4)
_HF_BINS = np.flatnonzero(_HF)
_NEAR = np.abs(_FREQ[None, :] - _FREQ[:, None]) <= 0.02
_BLOCK = 64  # windows per block in _spectral


def _window_sums(t: np.ndarray, cums: list[np.ndarray], ends: np.ndarray, width: float):
    """Sums over (end - width, end] of per-sample quantities given their cumulative sums."""
    hi = np.searchsorted(t, ends, side="right")
    lo = np.searchsorted(t, ends - width, side="right")
    return [c[hi] - c[lo] for c in cums]


def _cum(x: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(x)])


def _time_domain(hs: HeartSeries, ends: np.ndarray) -> dict[str, np.ndarray]:
    v = hs.valid
    rr = np.where(v, hs.rr, 0.0)
    hr = np.where(v, 60.0 / np.where(v, hs.rr, 1.0), 0.0)
    n = v.astype(float)
    out: dict[str, np.ndarray] = {}
    c_n, c_hr, c_hr2, c_rr, c_rr2 = (
        _cum(n), _cum(hr), _cum(hr * hr), _cum(rr), _cum(rr * rr),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        cnt, s_hr, s_hr2, s_rr = _window_sums(hs.t, [c_n, c_hr, c_hr2, c_rr], ends, EPOCH)
        out["hr"] = np.where(cnt > 0, s_hr / cnt, np.nan)
        var = s_hr2 / cnt - (s_hr / cnt) ** 2
        out["hr_sd"] = np.where(cnt > 1, np.sqrt(np.clip(var, 0, None)), np.nan)
        cover = np.clip(s_rr / EPOCH, 0, 1) if hs.kind == "rr" else np.clip(cnt / EPOCH, 0, 1)
        out["coverage"] = cover
        cnt, s_hr = _window_sums(hs.t, [c_n, c_hr], ends, 150.0)
        out["hr_150"] = np.where(cnt > 0, s_hr / cnt, np.nan)
        cnt, s1, s2 = _window_sums(hs.t, [c_n, c_rr, c_rr2], ends, 300.0)
        var = s2 / cnt - (s1 / cnt) ** 2
        out["sdnn"] = np.where(cnt > 2, 1000 * np.sqrt(np.clip(var, 0, None)), np.nan)
        if hs.kind == "rr":
            pair = v[1:] & v[:-1]
            d = np.where(pair, np.diff(np.where(v, hs.rr, 0.0)), 0.0)
            tp = hs.t[1:]
            c_p, c_d2, c_50 = _cum(pair.astype(float)), _cum(d * d), _cum(np.abs(d) > 0.05)
            cnt, s_d2, s_50 = _window_sums(tp, [c_p, c_d2, c_50], ends, 120.0)
            out["rmssd"] = np.where(cnt > 2, 1000 * np.sqrt(s_d2 / cnt), np.nan)
            out["pnn50"] = np.where(cnt > 2, s_50 / cnt, np.nan)
        else:
            out["rmssd"] = np.full(ends.size, np.nan)
            out["pnn50"] = np.full(ends.size, np.nan)
    return out


def _spectral(hs: HeartSeries, ends: np.ndarray) -> dict[str, np.ndarray]:
    """Spectral HRV of the :data:`_SPEC_N` grid samples up to each epoch end.

    Parameters
    ----------
    hs : HeartSeries
        Prepared heart signal.
    ends : numpy.ndarray
        Epoch ends in seconds from the recording start.

    Returns
    -------
    dict
        ``vlf``, ``lf``, ``hf``, ``lf_hf``, ``hf_peak``, ``hf_conc`` per epoch; NaN where
        less than half of the window holds signal.
    """
    n_ep = ends.size
    grid = hs.on_grid(float(ends[-1])) if n_ep else np.empty(0)
    # Grid index of each epoch end (the last sample at or before it), windows of _SPEC_N.
    last = np.floor(ends * GRID_FS + 1e-9).astype(np.int64)
    padded = np.concatenate([np.full(_SPEC_N, np.nan), grid * 1000.0, np.full(1, np.nan)])  # ms
    last_p = np.clip(last, -1, grid.size) + _SPEC_N  # index into padded
    first_p = last_p - (_SPEC_N - 1)
    # Finite samples per window from a running count (exact integers).
    n_fin = np.concatenate([[0], np.cumsum(np.isfinite(padded))])
    count = n_fin[last_p + 1] - n_fin[first_p]
    ok = count / _SPEC_N >= _MIN_COVER
    names = ("vlf", "lf", "hf", "lf_hf", "hf_peak", "hf_conc")
    out = {k: np.full(n_ep, np.nan) for k in names}
    if not ok.any():
        return out
    # Windows in blocks of _BLOCK rows: the arrays of a block stay in cache and malloc
    # reuses their memory (one pass over all windows at once spends more than a third of
    # its time in page faults of fresh multi-megabyte arrays). Rows are independent, so
    # the blocks change nothing.
    # The windows without gaps come first so that most blocks skip the gap masking.
    windows = sliding_window_view(padded, _SPEC_N)
    order = np.argsort(count[ok] < _SPEC_N, kind="stable")
    first_ok, cnt = first_p[ok][order], count[ok][order]
    blocks = [_window_bands(windows[first_ok[i:i + _BLOCK]], cnt[i:i + _BLOCK])
              for i in range(0, first_ok.size, _BLOCK)]
    rows = np.flatnonzero(ok)[order]
    vlf, lf, hf, peak, near_sum = (np.concatenate(v) for v in zip(*blocks, strict=True))
    eps = 1e-3
    out["vlf"][rows] = np.log(vlf + eps)
    out["lf"][rows] = np.log(lf + eps)
    out["hf"][rows] = np.log(hf + eps)
    out["lf_hf"][rows] = np.log(lf + eps) - np.log(hf + eps)
    out["hf_peak"][rows] = _FREQ[peak]
    out["hf_conc"][rows] = near_sum * _DF / (hf + eps)
    return out


def _window_bands(x: np.ndarray, cnt: np.ndarray) -> tuple[np.ndarray, ...]:
    """Band powers of a block of RR windows.

    Parameters
    ----------
    x : numpy.ndarray
        ``(n, _SPEC_N)`` windows in ms, NaN in gaps; a fresh array, overwritten.
    cnt : numpy.ndarray
        ``(n,)`` number of valid (finite) samples of each window.

    Returns
    -------
    tuple of numpy.ndarray
        VLF, LF and HF power (ms²), bin of the HF peak, and the power sum (before ``* df``)
        within 0.02 Hz of that peak, each ``(n,)``.
    """
    # Worked on in place; gap samples are reset to zero after each step, so every row sum
    # sees the same numbers in the same order as a masked (np.where) formulation and the
    # results are bitwise those of it. A block without gaps skips the resets (no-ops).
    cnt = cnt[:, None]
    part = cnt[:, 0] < _SPEC_N  # windows with gaps
    gap = ~np.isfinite(x) if part.any() else None
    if gap is not None:
        x[gap] = 0.0
    x -= x.sum(axis=1, keepdims=True) / cnt  # mean of the valid samples
    if gap is not None:
        x[gap] = 0.0  # gaps contribute zero after mean removal
    # Remove a linear trend over the window (fit on valid samples; windows without gaps
    # share one normal-equation denominator).
    sxx = np.full(x.shape[0], _SXX_FULL)
    if gap is not None:
        sxx[part] = np.maximum(np.where(gap[part], 0.0, _TREND2).sum(axis=1), 1e-12)
    buf = np.multiply(x, _TREND)
    slope = buf.sum(axis=1, keepdims=True) / sxx[:, None]
    x -= np.multiply(slope, _TREND, out=buf)
    if gap is not None:
        x[gap] = 0.0
    x *= _HANN
    spec = np.abs(np.fft.rfft(x, axis=1))
    np.square(spec, out=spec)
    spec /= _HANN_SCALE * (cnt / _SPEC_N)
    vlf, lf, hf = (spec[:, sel].sum(axis=1) * _DF for sel in (_VLF, _LF, _HF))
    peak = _HF_BINS[np.argmax(spec[:, _HF_BINS], axis=1)]
    return vlf, lf, hf, peak, (spec * _NEAR[peak]).sum(axis=1)


def base_features(hs: HeartSeries, n_epochs: int, offset: float = 0.0) -> np.ndarray:
    """Trailing-window heart features of every epoch.

    Parameters
    ----------
    hs : HeartSeries
        Prepared heart signal (:func:`dreamband.heart.grid.prepare_beats` or
        :func:`~dreamband.heart.grid.prepare_hr`).
    n_epochs : int
        Number of 30-s epochs.
    offset : float
        Onset of the first epoch in seconds from the recording start.

    Returns
    -------
    numpy.ndarray
        ``(n_epochs, len(BASE_FEATURES))`` in the column order of :data:`BASE_FEATURES`;
        NaN where a window holds too little valid signal.
    """
    ends = offset + EPOCH * (np.arange(n_epochs) + 1.0)
    feats = _time_domain(hs, ends)
    feats.update(_spectral(hs, ends))
    # An epoch whose own 30 s is mostly gap gets no HR level.
    poor = feats["coverage"] < _MIN_COVER
    feats["hr"] = np.where(poor, np.nan, feats["hr"])
    feats["hr_sd"] = np.where(poor, np.nan, feats["hr_sd"])
    return np.column_stack([feats[k] for k in BASE_FEATURES])
