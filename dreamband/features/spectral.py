"""Spectral evidence per epoch: band powers, ratios, spectral edge and entropy, Hjorth.

All functions take ``(n_epochs, n_samples)`` arrays in µV and work on every epoch at once.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

__all__ = ["BANDS", "band_powers", "block_psd", "hjorth", "hjorth_from_psd", "welch_epochs"]

#: Frequency bands in Hz (lower edge inclusive, upper exclusive), after the AASM manual
#: and common practice (e.g. Vallat & Walker 2021).
BANDS: dict[str, tuple[float, float]] = {
    "sdelta": (0.5, 2.0),
    "fdelta": (2.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 12.0),
    "sigma": (12.0, 16.0),
    "beta": (16.0, 30.0),
}


#: Samples per piece in :func:`block_psd` (~400 kB of float32).
_PIECE_SAMPLES = 100_000


def welch_epochs(
    epochs: np.ndarray, fs: float, window_s: float = 4.0
) -> tuple[np.ndarray, np.ndarray]:
    """Welch power spectral density of every epoch (Hann window, 50 % overlap).

    Returns
    -------
    freqs : numpy.ndarray
        Frequencies in Hz.
    psd : numpy.ndarray
        ``(n_epochs, n_freqs)`` in µV²/Hz.
    """
    nper = min(round(window_s * fs), epochs.shape[-1])
    return signal.welch(epochs, fs=fs, nperseg=nper, noverlap=nper // 2, axis=-1)


def block_psd(
    epochs: np.ndarray, fs: float, block_s: float = 5.0
) -> tuple[np.ndarray, np.ndarray]:
    """Power spectral density of every epoch from non-overlapping Hann-windowed blocks.

    Bartlett's method with a Hann window: each epoch is cut into blocks of ``block_s``
    seconds (the epoch length must be a whole number of blocks, else
    :func:`welch_epochs` is used), whose periodograms are averaged. One real FFT over the
    whole night in ``float32``: several times cheaper than overlapping Welch segments.

    Returns
    -------
    freqs : numpy.ndarray
        Frequencies in Hz (resolution ``1 / block_s``).
    psd : numpy.ndarray
        ``(n_epochs, n_freqs)`` one-sided PSD in µV²/Hz up to ``0.45 fs`` (the usable
        band below the anti-alias roll-off).
    """
    import scipy.fft

    n_ep, n = epochs.shape
    m = round(block_s * fs)
    if m < 8 or n % m:
        return welch_epochs(epochs, fs)
    k = n // m
    # periodic Hann: a constant offset leaks into bins 0 and 1 only (< 0.5 Hz), so the
    # blocks need no mean removal
    win = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(m) / m)).astype(np.float32)
    freqs = np.fft.rfftfreq(m, 1 / fs)
    n_keep = int(np.searchsorted(freqs, 0.45 * fs, side="right"))
    power = np.empty((n_ep, n_keep))
    # a few hundred kB of epochs at a time: the temporaries stay in cache and reuse the
    # same memory instead of faulting in whole-night arrays
    step = max(1, _PIECE_SAMPLES // n)
    for e0 in range(0, n_ep, step):
        e1 = min(e0 + step, n_ep)
        blocks = epochs[e0:e1].reshape((e1 - e0) * k, m).astype(np.float32, copy=False)
        spec = scipy.fft.rfft(blocks * win, axis=1)[:, :n_keep]
        p = np.abs(spec)
        np.multiply(p, p, out=p)
        power[e0:e1] = p.reshape(e1 - e0, k, n_keep).sum(axis=1, dtype=np.float64)
    power *= 2.0 / (k * fs * float((win.astype(np.float64) ** 2).sum()))
    power[:, 0] /= 2.0  # one-sided spectrum: the DC bin is not doubled
    return freqs[:n_keep], power


def hjorth_from_psd(freqs: np.ndarray, psd: np.ndarray) -> dict[str, np.ndarray]:
    """Hjorth parameters from spectral moments (Parseval: var(x^(k)) = ∫ (2πf)^(2k) P df).

    Returns
    -------
    dict
        ``hj_activity`` (log10 µV²), ``hj_mobility`` (Hz), ``hj_complexity``.
    """
    df = freqs[1] - freqs[0]
    # bins 0 and 1 hold the leakage of a constant offset under the Hann window (a
    # headband's DC level, thousands of µV on some amplifiers): left out, the parameters
    # do not depend on it (they would read the offset as activity)
    psd, freqs = psd[:, 2:], freqs[2:]
    m0 = psd.sum(axis=1) * df + 1e-12
    f2 = freqs**2
    m2 = (psd * f2).sum(axis=1) * df + 1e-12
    m4 = (psd * f2**2).sum(axis=1) * df + 1e-12
    mob = np.sqrt(m2 / m0)
    return {
        "hj_activity": np.log10(m0),
        "hj_mobility": mob,
        "hj_complexity": np.sqrt(m4 / m2) / mob,
    }


def band_powers(freqs: np.ndarray, psd: np.ndarray, fs: float) -> dict[str, np.ndarray]:
    """Absolute (µV²) and relative band powers, ratios, spectral edge and entropy.

    Bands reaching above ``0.45 fs`` are cut there (a 50-Hz recording has beta 16-22.5 Hz).

    Returns
    -------
    dict of str to numpy.ndarray
        ``abs_<band>`` (log10 µV²), ``rel_<band>`` (fraction of 0.5-``top`` Hz power),
        ``total`` (log10 µV²), ``sef95`` (Hz), ``median_freq`` (Hz), ``entropy``
        (normalised spectral entropy, 0-1) and ratios ``delta_theta``, ``theta_alpha``,
        ``alpha_theta_delta``, ``sigma_rest`` (log10).
    """
    df = freqs[1] - freqs[0]
    top = min(30.0, 0.45 * fs)
    inband = (freqs >= 0.5) & (freqs < top)
    # every band's power in one matrix product (columns: the bands, then the total)
    masks = [(freqs >= lo) & (freqs < min(hi, top)) for lo, hi in BANDS.values()] + [inband]
    powers = psd @ (np.column_stack(masks) * df) + 1e-12
    total = powers[:, -1]
    out: dict[str, np.ndarray] = {}
    absp: dict[str, np.ndarray] = {}
    for j, name in enumerate(BANDS):
        absp[name] = powers[:, j]
        out[f"abs_{name}"] = np.log10(absp[name])
        out[f"rel_{name}"] = absp[name] / total
    out["total"] = np.log10(total)
    p = psd[:, inband]
    cum = np.cumsum(p, axis=1)
    cum /= np.maximum(cum[:, -1:], 1e-30)
    f_in = freqs[inband]
    out["sef95"] = f_in[np.argmax(cum >= 0.95, axis=1)]
    out["median_freq"] = f_in[np.argmax(cum >= 0.5, axis=1)]
    pn = p / (p.sum(axis=1, keepdims=True) + 1e-30)
    out["entropy"] = -(pn * np.log(pn + 1e-30)).sum(axis=1) / np.log(pn.shape[1])
    delta = absp["sdelta"] + absp["fdelta"]
    out["delta_theta"] = np.log10(delta / absp["theta"])
    out["theta_alpha"] = np.log10(absp["theta"] / absp["alpha"])
    out["alpha_theta_delta"] = np.log10(absp["alpha"] / (absp["theta"] + delta))
    out["sigma_rest"] = np.log10(absp["sigma"] / (absp["alpha"] + absp["theta"]))
    return out


def hjorth(epochs: np.ndarray, fs: float) -> dict[str, np.ndarray]:
    """Hjorth activity (log10 µV²), mobility (Hz) and complexity of every epoch."""
    x = epochs - epochs.mean(axis=1, keepdims=True)
    dx = np.diff(x, axis=1) * fs
    ddx = np.diff(dx, axis=1) * fs
    v0 = x.var(axis=1) + 1e-12
    v1 = dx.var(axis=1) + 1e-12
    v2 = ddx.var(axis=1) + 1e-12
    mob = np.sqrt(v1 / v0)
    comp = np.sqrt(v2 / v1) / mob
    return {
        "hj_activity": np.log10(v0),
        "hj_mobility": mob / (2 * np.pi),
        "hj_complexity": comp,
    }
