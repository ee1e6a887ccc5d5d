"""Fixed-lag heart features: the batch recipe restricted to samples up to ``lag`` epochs later.

A live session that can wait ``lag`` epochs before deciding on an epoch sees its near future.
The features of epoch ``k`` here depend only on samples up to the end of epoch ``k + lag``
(or the end of the recording, whichever comes first), so they are computable ``lag`` epochs
late in a live session. They span the whole family with one parameter:

* ``lag = 0`` is causal (same information as the live variant);
* trailing windows are centred as far as the lag allows (``min(centre, lag)`` epochs ahead);
* levels are z-scored against the night up to epoch ``k + lag`` (expanding statistics);
* context means reach ``min(10, lag - shift)`` epochs ahead, the HR outlook likewise;
* once ``lag`` covers the rest of the night this is the batch recipe (the whole-night
  statistics then come from the unshifted windows, a few edge epochs differ).

The stager shares a decision delay between this look-ahead and fixed-lag smoothing of the
classifier output (:func:`split_lag`): with ``f`` epochs here and ``s`` in the smoother,
epoch ``k`` is final at the end of epoch ``k + f + s``.

Where the live-lag gap comes from (session 4, slpdb LOSO, rr, 3 seeds, diagnostics only):
with 40 epochs of delay, batch features under a 20-epoch cycle-aware fixed-lag smoother
score kappa 0.464 (batch 0.467), and these fixed-lag features with whole-night z-score
statistics 0.463 (with the fixed-lag ones 0.416; whole-night mean with night-so-far SD
0.403, the reverse 0.387; the two-sided ``hr_hp_sd`` instead of the fixed-lag one 0.399).
So nearly all of the gap is the night-so-far scaling, in every part of the night (first
hour 0.472 vs 0.437, second 0.593 vs 0.476, later 0.419 vs 0.386), and feature look-ahead
is worth more than smoothing look-ahead once the smoother has ~10 epochs: hence the 50 + 10
split of 60 epochs (:data:`SMOOTHING_SHARE`, chosen by nested selection).

Column names are those of the batch variant (:func:`dreamband.features.heart_context.feature_names`
with ``live=False``) without ``hr_hp_sd``; :func:`~dreamband.features.heart_context.heart_features`
appends its fixed-lag version (:mod:`dreamband.features.heart_walch_causal`, same look-ahead),
which lifted slpdb LOSO rr kappa at 20 min 0.395 -> 0.415 and at 30 min 0.408 -> 0.410
(3-seed means; REM F1 0.265 -> 0.307 and 0.307 -> 0.326).
"""

from __future__ import annotations

import numpy as np

from dreamband.features.heart import BASE_FEATURES, base_features
from dreamband.features.heart_context import (
    _CENTRE,
    _CONTEXT,
    _RAW,
    _SCALED,
    _WIDE,
    _nan_cumsum,
    _rolling_mean,
    _shift_ahead,
)
from dreamband.heart.grid import HeartSeries

__all__ = ["SMOOTHING_SHARE", "lag_features", "split_lag"]

_MIN_COUNT = 10  # fewest finite values before a z-score is given (as in the live variant)


def _expanding_stats(x: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and SD of each column over epochs ``0..at[k]`` (NaN-aware), per row ``k``."""
    s1, n = _nan_cumsum(x)
    s2, _ = _nan_cumsum(x * x)
    s1, s2, n = s1[at], s2[at], n[at]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        sd = np.sqrt(np.clip(s2 / n - mean * mean, 0, None))
    sd = np.where((sd > 1e-9) & (n >= _MIN_COUNT), sd, np.nan)
    return mean, sd


#: Smoother shares of the delays whose split was chosen by nested selection (all other
#: delays are split evenly): 60 epochs = 50 of feature look-ahead + 10 of smoothing.
SMOOTHING_SHARE: dict[int, int] = {60: 10}


def split_lag(delay: int) -> tuple[int, int]:
    """Share a decision delay between feature look-ahead and fixed-lag smoothing.

    With features looking ``f`` epochs ahead and the smoother ``s`` epochs of classifier
    output ahead, epoch ``k`` needs samples up to the end of epoch ``k + f + s``. Half the
    delay goes to each (slpdb LOSO, rr, 40 epochs: kappa 0.405 for 20/20, 0.385 for 40/0 or
    0/40, 0.411 for 30/10; an a-priori even split, not tuned), except for the delays of
    :data:`SMOOTHING_SHARE`: 60 epochs go 50 to the features and 10 to the smoother.

    That split was chosen by nested selection (session 4, slpdb, rr, cycle-aware fixed-lag
    smoother): candidates ``f`` = 30 (even), 45, 50 fixed beforehand; in each outer
    leave-one-subject-out fold the ``f`` with the highest pooled kappa of an inner LOSO on
    the 13 training subjects was used (it picked 50 in 23, 45 in 17, 30 in 2 of the 42
    fold-seeds). Outer kappa of that procedure 0.429 [0.418-0.436] (LightGBM seeds
    7/11/23; W F1 0.655, REM F1 0.307) against 0.414 [0.409-0.422] for the even split; the
    same rule on all 14 subjects (seed 7) picks 50 (LOSO kappa 0.422 / 0.431 / 0.433 for
    ``f`` = 30 / 45 / 50). Why it helps: the live-lag gap is almost all in the night-so-far
    z-scores (the fixed-lag features with whole-night statistics score 0.463, as batch),
    and smoothing beyond 10-20 epochs adds little (batch features with a 20-epoch
    fixed-lag smoother: 0.464 vs 0.467 forward-backward). At 40 epochs the even split
    stays: ``f`` = 30 and 35 scored lower on the outer folds (0.409, 0.401 vs 0.416). The
    split, chosen on RR, also serves HR input: hr lag 60 kappa 0.370 -> 0.386 [0.385-0.387]
    (W F1 0.622 -> 0.638, REM F1 0.213 -> 0.242; 3 seeds, cycle-aware smoother).

    Parameters
    ----------
    delay : int
        Decision delay in epochs (``>= 0``).

    Returns
    -------
    features, smoothing : int
        Look-ahead of the features and of the smoother, summing to ``delay``.
    """
    if delay < 0:
        raise ValueError(f"lag must be >= 0 epochs; got {delay}")
    delay = int(delay)
    smoothing = SMOOTHING_SHARE.get(delay, delay - delay // 2)
    return delay - smoothing, smoothing


def lag_features(
    hs: HeartSeries, n_epochs: int, offset: float = 0.0, lag: int = 10
) -> np.ndarray:
    """Feature matrix of a night with decisions delayed by ``lag`` epochs.

    Parameters
    ----------
    hs : HeartSeries
        Prepared heart signal.
    n_epochs : int
        Number of 30-s epochs.
    offset : float
        Onset of epoch 0 in seconds from the recording start.
    lag : int
        Epochs of look-ahead (``lag >= 0``).

    Returns
    -------
    numpy.ndarray
        ``(n_epochs, n_features)`` in the batch column order, NaN for missing values.

    Raises
    ------
    ValueError
        If ``lag`` is negative.
    """
    if lag < 0:
        raise ValueError(f"lag must be >= 0 epochs; got {lag}")
    lag = int(lag)
    unshifted = base_features(hs, n_epochs, offset)
    col = {k: i for i, k in enumerate(BASE_FEATURES)}
    centre = {k: min(_CENTRE[k], lag) for k in BASE_FEATURES}
    base = _shift_ahead(unshifted, np.array([centre[k] for k in BASE_FEATURES]))
    at = np.clip(np.arange(n_epochs) + lag, 0, max(n_epochs - 1, 0))
    scaled_cols = [col[k] for k in _SCALED]
    x = base[:, scaled_cols]
    mean, sd = _expanding_stats(unshifted[:, scaled_cols], at)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (x - mean) / sd
        zi = {k: i for i, k in enumerate(_SCALED)}
        ci = [zi[k] for k in _CONTEXT]
        xc, mc, sc = x[:, ci], mean[:, ci], sd[:, ci]
        ctx = np.column_stack([
            _rolling_mean(xc[:, [j]], _WIDE, max(0, min(_WIDE, lag - centre[k])))[:, 0]
            for j, k in enumerate(_CONTEXT)
        ])
        ctx = (ctx - mc) / sc
        past = _rolling_mean(xc, _WIDE, 0)
        prev = np.vstack([np.full((_WIDE + 1, len(ci)), np.nan), past[: -_WIDE - 1]])[:n_epochs]
        i_hr, i_sdnn = _CONTEXT.index("hr_150"), _CONTEXT.index("sdnn")
        ahead = max(0, min(_WIDE, lag - centre["hr_150"]))
        fut = _rolling_mean(xc[:, [i_hr]], 0, ahead)[:, 0]
        cols = [
            base[:, [col[k] for k in _RAW]], z, ctx,
            ((xc[:, i_hr] - prev[:, i_hr]) / sc[:, i_hr])[:, None],
            ((xc[:, i_sdnn] - prev[:, i_sdnn]) / sc[:, i_sdnn])[:, None],
            ((fut - past[:, i_hr]) / sc[:, i_hr])[:, None],
        ]
    return np.column_stack(cols)
