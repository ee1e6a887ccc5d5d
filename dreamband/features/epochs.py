"""Cutting a signal into epochs, and the checks every feature function shares."""

from __future__ import annotations

import numpy as np

__all__ = ["MIN_FS", "check_finite_signal", "check_signal", "to_epochs"]

#: Lowest EEG sampling rate the evidence needs (spindles up to 16 Hz, beta to 0.45 fs).
MIN_FS = 40.0


def check_signal(
    x: np.ndarray,
    fs: float,
    epoch_length: float,
    name: str = "EEG",
    dtype=np.float64,
    check_finite: bool = True,
) -> np.ndarray:
    """Validate one channel and return it as ``dtype`` (float64 by default; ``None``
    keeps a floating-point input's own type, converting others to float64).

    Raises
    ------
    ValueError
        Naming the channel when it is not 1-D, holds non-finite values, is sampled below
        :data:`MIN_FS` (only for EEG) or is shorter than one epoch.
    """
    x = np.asarray(x)
    if dtype is not None or not np.issubdtype(x.dtype, np.floating):
        x = np.asarray(x, dtype=dtype or np.float64)
    if x.ndim != 1:
        raise ValueError(f"{name}: signal must be 1-D; got shape {x.shape}")
    if not (np.isfinite(fs) and fs > 0):
        raise ValueError(f"{name}: fs must be a positive number of Hz; got {fs}")
    if name == "EEG" and fs < MIN_FS:
        raise ValueError(
            f"{name}: sampling rate {fs:g} Hz is too low for the sleep bands "
            f"(spindles need up to 16 Hz); need at least {MIN_FS:g} Hz"
        )
    if x.size < round(epoch_length * fs):
        raise ValueError(
            f"{name}: recording lasts {x.size / fs:.1f} s, shorter than one "
            f"{epoch_length:g}-s epoch"
        )
    if check_finite:
        check_finite_signal(x, name)
    return x


def check_finite_signal(
    x: np.ndarray, name: str = "EEG", summary: np.ndarray | None = None
) -> None:
    """Raise ``ValueError`` naming the first non-finite sample of ``x``.

    ``summary`` (e.g. a block-mean decimated copy, into which NaN and inf propagate) is
    summed instead of ``x`` when given: a cheaper pass that only falls back to ``x`` to
    name the sample.
    """
    if np.isfinite((x if summary is None else summary).sum()):
        return  # one cheap pass; NaN/inf propagate into the sum
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}: sample {i} is not finite ({x[i]})")
    if summary is not None and np.isfinite(np.asarray(x, dtype=np.float64).sum()):
        raise ValueError(f"{name}: values too large for float32 (max |x| {np.abs(x).max():g})")


def to_epochs(x: np.ndarray, fs: float, epoch_length: float) -> np.ndarray:
    """Reshape a signal into ``(n_epochs, samples_per_epoch)``; a trailing partial epoch is dropped.

    The epoch length times ``fs`` is rounded to whole samples.
    """
    n = round(epoch_length * fs)
    k = x.shape[-1] // n
    return x[..., : k * n].reshape(*x.shape[:-1], k, n)
