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
    n_ep = ends.size
    grid = hs.on_grid(float(ends[-1])) if n_ep else np.empty(0)
    # Grid index of each epoch end (the last sample at or before it), windows of _SPEC_N.
    last = np.floor(ends * GRID_FS + 1e-9).astype(np.int64)
    padded = np.concatenate([np.full(_SPEC_N, np.nan), grid, np.full(1, np.nan)])
    last_p = np.clip(last, -1, grid.size) + _SPEC_N  # index into padded
    idx = last_p[:, None] - np.arange(_SPEC_N - 1, -1, -1)[None, :]
    x = padded[idx] * 1000.0  # ms
    finite = np.isfinite(x)
    cover = finite.mean(axis=1)
    ok = cover >= _MIN_COVER
    names = ("vlf", "lf", "hf", "lf_hf", "hf_peak", "hf_conc")
    out = {k: np.full(n_ep, np.nan) for k in names}
    if not ok.any():
        return out
    x = x[ok]
    fin = finite[ok]
    # nanmean written out (same sums, bitwise equal; a third of the cost).
    mean = np.where(fin, x, 0.0).sum(axis=1, keepdims=True) / fin.sum(axis=1, keepdims=True)
    x = np.where(fin, x - mean, 0.0)  # gaps contribute zero after mean removal
    # Remove a linear trend over the window (fit on valid samples).
    tt = np.where(fin, np.linspace(-1, 1, _SPEC_N)[None, :], 0.0)
    sxx = np.maximum((tt * tt).sum(axis=1, keepdims=True), 1e-12)
    slope = (x * tt).sum(axis=1, keepdims=True) / sxx
    x = x - slope * tt
    win = np.hanning(_SPEC_N)
    spec = np.abs(np.fft.rfft(x * win, axis=1)) ** 2
    spec /= (win**2).sum() * GRID_FS * fin.mean(axis=1, keepdims=True)
    f = np.fft.rfftfreq(_SPEC_N, 1 / GRID_FS)
    df = f[1] - f[0]

    def band(lo: float, hi: float) -> np.ndarray:
        sel = (f >= lo) & (f < hi)
        return spec[:, sel].sum(axis=1) * df

    vlf, lf, hf = band(0.01, 0.04), band(0.04, 0.15), band(0.15, 0.4)
    eps = 1e-3
    out["vlf"][ok] = np.log(vlf + eps)
    out["lf"][ok] = np.log(lf + eps)
    out["hf"][ok] = np.log(hf + eps)
    out["lf_hf"][ok] = np.log(lf + eps) - np.log(hf + eps)
    hsel = np.flatnonzero((f >= 0.15) & (f < 0.4))
    peak = hsel[np.argmax(spec[:, hsel], axis=1)]
    out["hf_peak"][ok] = f[peak]
    near = np.abs(f[None, :] - f[peak][:, None]) <= 0.02
    out["hf_conc"][ok] = (spec * near).sum(axis=1) * df / (hf + eps)
    return out


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
