"""Resampling by a rational factor with an anti-aliasing polyphase filter."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy import signal

__all__ = ["decimate_mean", "resample"]

#: Output samples per piece in :func:`decimate_mean` when a 1-D signal takes more than
#: two strided passes (``factor > 2``): the running sums of a piece (64 kB of float32)
#: stay in cache from one pass to the next instead of streaming a whole-night array
#: through memory once per pass. Blocks are independent, so the values are unchanged.
_PIECE_OUT = 16384


def resample(x: np.ndarray, fs_in: float, fs_out: float, axis: int = -1) -> np.ndarray:
    """Resample ``x`` from ``fs_in`` to ``fs_out`` Hz (``scipy.signal.resample_poly``).

    Parameters
    ----------
    x : numpy.ndarray
        Signal(s), resampled along ``axis``.
    fs_in, fs_out : float
        Sampling rates in Hz. Their ratio is approximated by a fraction with a
        denominator of at most 1000.

    Returns
    -------
    numpy.ndarray
        The resampled signal (``x`` itself, as float64, when the rates are equal).

    Raises
    ------
    ValueError
        If a rate is not positive.
    """
    if not (fs_in > 0 and fs_out > 0):
        raise ValueError(f"sampling rates must be positive; got {fs_in} -> {fs_out} Hz")
    x = np.asarray(x, dtype=np.float64)
    if abs(fs_in - fs_out) < 1e-9 * fs_in:
        return x
    frac = Fraction(fs_out / fs_in).limit_denominator(1000)
    return signal.resample_poly(x, frac.numerator, frac.denominator, axis=axis)


def decimate_mean(
    x: np.ndarray, factor: int, dtype=None, out: np.ndarray | None = None
) -> np.ndarray:
    """Downsample by an integer factor, averaging each block of ``factor`` samples.

    The block mean is a boxcar anti-alias filter (zeros at multiples of the new rate): far
    cheaper than :func:`resample` but with weaker stop-band rejection, which is enough
    before the narrow band-pass filters of the detectors. A trailing partial block is
    dropped. Causal: each output depends only on its own block.

    ``dtype`` (e.g. ``numpy.float32``) sets the output type; the conversion happens in the
    same pass as the sums (no full-rate copy). ``out`` (optional, with ``factor > 1``)
    receives the result: an array of the output's shape, e.g. a slice of a larger one
    (blocks are independent, so parts of a signal can be decimated separately).
    """
    x = np.asarray(x)
    if factor <= 1:
        return x if dtype is None else x.astype(dtype, copy=False)
    k = x.shape[-1] // factor
    end = k * factor
    # sums in the input's precision, rounded once into the output (an output-only cast
    # is much cheaper than casting the inputs)
    if out is None:
        out = np.empty((*x.shape[:-1], k), dtype=x.dtype if dtype is None else dtype)
    elif out.shape != (*x.shape[:-1], k):
        raise ValueError(f"out must have shape {(*x.shape[:-1], k)}; got {out.shape}")
    if factor > 2 and x.ndim == 1 and k > _PIECE_OUT:
        for a in range(0, k, _PIECE_OUT):
            b = min(a + _PIECE_OUT, k)
            decimate_mean(x[a * factor : b * factor], factor, out=out[a:b])
        return out
    np.add(x[..., 0:end:factor], x[..., 1:end:factor], out=out, casting="same_kind")
    for i in range(2, factor):  # strided sums: one pass over the data in all
        np.add(out, x[..., i:end:factor], out=out, casting="same_kind")
    out *= np.asarray(1.0 / factor, dtype=out.dtype)
    return out
