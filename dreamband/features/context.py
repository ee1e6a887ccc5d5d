"""Context from neighbouring epochs and per-night adaptive scaling.

The same functions serve batch and live use: ``causal=False`` looks at both sides of an
epoch and at the whole night; ``causal=True`` looks only at past epochs and at the night
so far, which is what a live stream knows at the end of each epoch.
"""

from __future__ import annotations

import numpy as np

__all__ = ["context_mean", "robust_scale"]


def context_mean(values: np.ndarray, half_width: int, causal: bool) -> np.ndarray:
    """Mean of each column over neighbouring epochs.

    Parameters
    ----------
    values : numpy.ndarray
        ``(n_epochs, n_features)``.
    half_width : int
        Epochs on each side (batch: ``2 * half_width + 1`` epochs centred on the epoch;
        live: the epoch and the ``2 * half_width`` before it).
    causal : bool
        Past-only window when True.

    Returns
    -------
    numpy.ndarray
        Same shape; the window shrinks at the edges of the night.
    """
    v = np.asarray(values, dtype=np.float64)
    n = v.shape[0]
    c = np.concatenate([np.zeros((1, *v.shape[1:])), np.cumsum(v, axis=0)])
    idx = np.arange(n)
    if causal:
        lo = np.maximum(idx - 2 * half_width, 0)
        hi = idx + 1
    else:
        lo = np.maximum(idx - half_width, 0)
        hi = np.minimum(idx + half_width + 1, n)
    width = (hi - lo).reshape((-1,) + (1,) * (v.ndim - 1))
    return (c[hi] - c[lo]) / width


def robust_scale(values: np.ndarray, causal: bool, warmup: int = 0) -> np.ndarray:
    """Robust z-scores per column: (x - median) / (IQR / 1.349).

    Batch uses the whole night's median and interquartile range; live uses only the
    epochs seen so far (strictly past and present), and shrinks the early z-scores towards
    0 ("no evidence") by ``i / (i + warmup)`` while those statistics are still unreliable.
    Scaling per night makes the evidence
    independent of a montage's amplitude (a Muse at AF7/TP9 reads several times smaller than C3-M2).

    Returns
    -------
    numpy.ndarray
        Same shape as ``values``.
    """
    v = np.asarray(values, dtype=np.float64)
    if not causal:
        q1, med, q3 = np.percentile(v, [25, 50, 75], axis=0)
        scale = (q3 - q1) / 1.349
        return (v - med) / np.where(scale > 1e-9, scale, 1.0)
    n = v.shape[0]
    out = np.empty_like(v)
    for i in range(n):  # live: one update per epoch, as a stream would do
        past = v[: i + 1]
        q1, med, q3 = np.percentile(past, [25, 50, 75], axis=0)
        scale = (q3 - q1) / 1.349
        shrink = i / (i + warmup) if warmup else 1.0
        out[i] = (v[i] - med) / np.where(scale > 1e-9, scale, 1.0) * shrink
    return out
