"""Heart feature matrix of a night: per-night scaling, temporal context, time of night.

Two variants from one code path:

* ``live`` (causal): every feature of epoch ``k`` depends only on samples up to the end of
  epoch ``k``. Levels are scaled against the *night so far* (expanding mean and SD),
  context is a trailing mean.
* ``batch`` (two-sided): trailing windows are looked up a few epochs later so they centre
  on the epoch, levels are scaled against the whole night, context is a centred mean, and
  the epoch's position within the night is known.

Heart rate and HRV differ several-fold between people, so per-night scaling carries most
of the information that transfers across subjects. Time-of-night and clock-time features
were tried and dropped: on slpdb leave-one-subject-out they lowered kappa (0.405 without
them vs 0.365 with them, 200-tree model), as the recordings start at different points of
the night.

Live scaling (slpdb LOSO, rr, live kappa 0.366): whole-night statistics in the live model
(an oracle) give 0.401, so the cold start of the night-so-far statistics costs about 0.035
and the missing future the rest. Shrinking the expanding mean and SD toward population
priors of the training subjects with weight ``n / (n + n0)`` gave 0.32-0.38 for ``n0`` in
1-240 epochs (SD-only prior: 0.36-0.37), i.e. no reliable gain, as HR levels differ too much
between these patients; an elapsed-time column (0.333) and levels relative to a running
quantile floor (0.350) were worse. A decision delay (:mod:`dreamband.features.heart_lag`)
closes the gap only when long: 0.388 at 5 min, 0.376-0.390 at 10 min, 0.405 at 20 min
(mean over LightGBM seeds 7/11/23: 0.395 [0.387-0.405]; a 5-seed ensemble also 0.395),
0.408 [0.403-0.413] at 30 min (all before the fixed-lag ``hr_hp_sd`` below).
For REM, longer-context detrending (15-60 min), HR troughs over the past/next 30 min, VLF
z-scores, HF-peak instability and the ultradian (60-150 min) band-pass phase of HR and LF/HF
gave no reliable gain: single LOSO runs scatter REM F1 over 0.26-0.42, and a nested
selection among {this recipe, +ultradian phase, no raw columns, REM weight x1.5} (inner
LOSO on the training subjects) scored kappa 0.437, REM F1 0.374.
``hr_hp_sd``: the SD of the night-normalised high-passed 1-Hz HR over a centred 10 min
(after Walch 2019, :mod:`dreamband.features.heart_walch`; rr batch kappa 0.454 -> 0.467,
W F1 0.640 -> 0.654, REM F1 0.386 -> 0.396, 3 seeds; hr batch also gains). The live and
fixed-lag variants carry its causal version (:mod:`dreamband.features.heart_walch_causal`,
same column name) where it raised the 3-seed-mean LOSO kappa (rule fixed before scoring;
seeds 7/11/23, slpdb): rr lag 40 0.395 -> 0.415 (REM F1 0.265 -> 0.307), rr lag 60
0.408 -> 0.410 (REM F1 0.307 -> 0.326), hr live 0.330 -> 0.344, hr lag 40 0.364 -> 0.366,
hr lag 60 0.364 -> 0.370. Not rr live (lag 0): 0.361 -> 0.346, REM F1 0.210 -> 0.200, so
the causal rr model does without it (:func:`uses_causal_hp_sd`).
"""

from __future__ import annotations

import numpy as np

from dreamband.features.heart import BASE_FEATURES, base_features
from dreamband.features.heart_walch import hr_high_pass_sd
from dreamband.features.heart_walch_causal import causal_hr_high_pass_sd
from dreamband.heart.grid import HeartSeries

__all__ = ["feature_names", "heart_features", "night_scaled", "uses_causal_hp_sd"]

#: Epochs to look ahead in batch so a trailing window of the given length is centred.
_CENTRE = {
    "hr": 0, "hr_sd": 0, "coverage": 0, "hr_150": 2, "rmssd": 2, "pnn50": 2, "sdnn": 5,
    "vlf": 4, "lf": 4, "hf": 4, "lf_hf": 4, "hf_peak": 4, "hf_conc": 4,
}
#: Base features given a per-night z-score and temporal context.
_SCALED = ("hr", "hr_sd", "hr_150", "sdnn", "rmssd", "pnn50", "vlf", "lf", "hf", "lf_hf",
           "hf_conc")
_CONTEXT = ("hr", "hr_150", "sdnn", "rmssd", "lf", "hf", "lf_hf", "hf_conc", "hr_sd")
_RAW = ("lf_hf", "hf_peak", "hf_conc", "pnn50", "coverage")
_WIDE = 10  # epochs of context on each side (5 min)


def uses_causal_hp_sd(kind: str, lag: int = 0) -> bool:
    """Whether the live variant of ``kind`` with decision delay ``lag`` carries the causal
    ``hr_hp_sd`` (every fixed-lag variant and live HR; not live RR, where it lowered kappa)."""
    return lag > 0 or kind != "rr"


def feature_names(live: bool, lag: int = 0, kind: str = "rr") -> list[str]:
    """Column names of :func:`heart_features` for the live or batch variant of ``kind``
    (a fixed-lag live variant, ``lag > 0``, has the batch columns, its ``hr_hp_sd`` the
    fixed-lag one; live RR has no ``hr_hp_sd``)."""
    causal = live and lag <= 0
    names = [f"{k}_raw" for k in _RAW]
    names += [f"{k}_z" for k in _SCALED]
    names += [f"{k}_ctx" for k in _CONTEXT]
    names += ["hr_trend", "sdnn_trend"]
    if not causal:
        names += ["hr_fut"]
    if not live or uses_causal_hp_sd(kind, lag):
        names += ["hr_hp_sd"]
    return names


def _nan_cumsum(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    fin = np.isfinite(x)
    return np.cumsum(np.where(fin, x, 0.0), axis=0), np.cumsum(fin, axis=0)


def night_scaled(x: np.ndarray, live: bool, min_count: int = 10) -> np.ndarray:
    """Z-score each column against the night so far (``live``) or the whole night.

    Parameters
    ----------
    x : numpy.ndarray
        ``(n_epochs, n_features)``, NaN for missing values.
    live : bool
        Expanding statistics (epoch ``k`` scaled by epochs ``0..k``) or whole-night ones.
    min_count : int
        Fewest finite values before a live z-score is given (NaN before).

    Returns
    -------
    numpy.ndarray
        Same shape as ``x``.
    """
    x = np.asarray(x, dtype=float)
    if live:
        s1, n = _nan_cumsum(x)
        s2, _ = _nan_cumsum(x * x)
    else:
        fin = np.isfinite(x)
        s1 = np.where(fin, x, 0.0).sum(axis=0, keepdims=True)
        s2 = np.where(fin, x * x, 0.0).sum(axis=0, keepdims=True)
        n = fin.sum(axis=0, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        sd = np.sqrt(np.clip(s2 / n - mean * mean, 0, None))
        z = (x - mean) / np.where(sd > 1e-9, sd, np.nan)
    if live:
        z = np.where(n >= min_count, z, np.nan)
    return z


def _rolling_mean(x: np.ndarray, before: int, after: int) -> np.ndarray:
    """NaN-aware mean over epochs ``k - before .. k + after`` (clipped at the edges)."""
    n = x.shape[0]
    s, c = _nan_cumsum(x)
    s = np.concatenate([np.zeros((1, x.shape[1])), s])
    c = np.concatenate([np.zeros((1, x.shape[1])), c])
    k = np.arange(n)
    lo = np.clip(k - before, 0, n)
    hi = np.clip(k + after + 1, 0, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (s[hi] - s[lo]) / (c[hi] - c[lo])


def _shift_ahead(x: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Column ``j`` of epoch ``k`` taken from epoch ``min(k + steps[j], n - 1)``."""
    n = x.shape[0]
    rows = np.clip(np.arange(n)[:, None] + steps[None, :], 0, n - 1)
    return np.take_along_axis(x, rows, axis=0)


def heart_features(
    hs: HeartSeries,
    n_epochs: int,
    offset: float = 0.0,
    live: bool = False,
    lag: int = 0,
) -> tuple[np.ndarray, list[str]]:
    """Feature matrix of a night for the heart stager.

    Parameters
    ----------
    hs : HeartSeries
        Prepared heart signal.
    n_epochs : int
        Number of 30-s epochs to describe.
    offset : float
        Onset of epoch 0 in seconds from the recording start.
    live : bool
        Causal (past-only) variant instead of the two-sided batch variant.
    lag : int
        With ``live``: the decision delay in epochs. ``lag > 0`` gives the fixed-lag
        features of :func:`dreamband.features.heart_lag.lag_features` (plus the fixed-lag
        ``hr_hp_sd``) with the feature share of the delay
        (:func:`~dreamband.features.heart_lag.split_lag`: epoch ``k`` uses samples up to
        the end of epoch ``k + split_lag(lag)[0]``; the smoother takes the rest); ignored
        in batch.

    Returns
    -------
    X : numpy.ndarray
        ``(n_epochs, n_features)`` float matrix, NaN for missing values.
    names : list of str
        Column names (:func:`feature_names`).
    """
    if live and lag > 0:
        from dreamband.features.heart_lag import lag_features, split_lag

        ahead = split_lag(lag)[0]
        X = lag_features(hs, n_epochs, offset, ahead)
        if uses_causal_hp_sd(hs.kind, lag):
            X = np.column_stack([X, causal_hr_high_pass_sd(hs, n_epochs, offset, ahead)])
        return X, feature_names(True, lag, hs.kind)
    base = base_features(hs, n_epochs, offset)
    col = {k: i for i, k in enumerate(BASE_FEATURES)}
    if not live:
        steps = np.array([_CENTRE[k] for k in BASE_FEATURES])
        base = _shift_ahead(base, steps)
    raw = base[:, [col[k] for k in _RAW]]
    z = night_scaled(base[:, [col[k] for k in _SCALED]], live)
    zc = {k: z[:, i] for i, k in enumerate(_SCALED)}
    zctx = np.column_stack([zc[k] for k in _CONTEXT])
    ctx = _rolling_mean(zctx, _WIDE, 0 if live else _WIDE)
    past = _rolling_mean(zctx, _WIDE, 0)
    # Trend: level now minus the mean of the previous 10 epochs (5 min).
    prev = np.vstack([np.full((_WIDE + 1, zctx.shape[1]), np.nan), past[: -_WIDE - 1]])[:n_epochs]
    i_hr, i_sdnn = _CONTEXT.index("hr_150"), _CONTEXT.index("sdnn")
    cols = [raw, z, ctx,
            (zctx[:, i_hr] - prev[:, i_hr])[:, None],
            (zctx[:, i_sdnn] - prev[:, i_sdnn])[:, None]]
    if not live:
        fut = _rolling_mean(zctx[:, [i_hr]], 0, _WIDE)
        cols.append(fut - past[:, [i_hr]])
        cols.append(hr_high_pass_sd(hs, n_epochs, offset)[:, None])
    elif uses_causal_hp_sd(hs.kind):
        cols.append(causal_hr_high_pass_sd(hs, n_epochs, offset)[:, None])
    X = np.column_stack(cols)
    return X, feature_names(live, 0, hs.kind)
