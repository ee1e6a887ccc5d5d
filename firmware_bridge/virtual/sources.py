"""Signal sources for virtual bands: anything that gives samples by absolute index.

A source is a callable ``source(start, n) -> ndarray (n_channels, n)`` in physical units
(µV for EEG/ECG). Being indexed by sample number makes it deterministic: a band that
reconnects asks again from where its own counter is, whatever was lost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["ArraySource", "EcgLikeSource", "SignalSource", "SineSource"]

SignalSource = Callable[[int, int], np.ndarray]


class SineSource:
    """Sum of sines plus repeatable noise, per channel.

    Parameters
    ----------
    n_channels : int
        Rows to produce.
    fs : float
        Sampling rate (Hz).
    freqs : sequence of float
        Sine frequencies (Hz); channel ``c`` is phase-shifted by ``c`` radians.
    amplitude : float
        Amplitude of each sine (physical units).
    noise : float
        Standard deviation of the added noise (physical units).
    seed : int
        Seed of the noise table.
    """

    def __init__(self, n_channels: int, fs: float, freqs: Sequence[float] = (10.0, 1.5),
                 amplitude: float = 20.0, noise: float = 5.0, seed: int = 0) -> None:
        self.n_channels = int(n_channels)
        self.fs = float(fs)
        self.freqs = np.asarray(freqs, dtype=np.float64)
        self.amplitude = float(amplitude)
        rng = np.random.default_rng(seed)
        self._noise = rng.normal(0.0, noise, (self.n_channels, 8192))

    def __call__(self, start: int, n: int) -> np.ndarray:
        """Samples ``start`` .. ``start + n - 1``."""
        idx = np.arange(start, start + n)
        t = idx / self.fs
        phase = np.arange(self.n_channels)[:, None]
        out = np.zeros((self.n_channels, n))
        for f in self.freqs:
            out += self.amplitude * np.sin(2 * np.pi * f * t[None, :] + phase)
        return out + self._noise[:, idx % self._noise.shape[1]]


class EcgLikeSource:
    """A crude periodic QRS-like spike train (for plumbing only, not physiology)."""

    def __init__(self, fs: float, bpm: float = 60.0, amplitude_uv: float = 1000.0) -> None:
        self.fs = float(fs)
        self.period = 60.0 / bpm
        self.amplitude = float(amplitude_uv)

    def __call__(self, start: int, n: int) -> np.ndarray:
        """One channel of spikes every beat."""
        t = np.arange(start, start + n) / self.fs
        phase = (t % self.period) - self.period / 2
        return (self.amplitude * np.exp(-(phase / 0.02) ** 2))[None, :]


class ArraySource:
    """Play a recording ``(n_channels, n_samples)``; loops when ``loop`` else raises at the end.

    The data must already be at the band's rate (256 Hz Muse, 200 Hz Ganglion, 130 Hz Polar
    ECG) with the band's channel count and physical units (µV); resample before.
    """

    def __init__(self, data: np.ndarray, loop: bool = True) -> None:
        data = np.asarray(data, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] == 0:
            raise ValueError(f"data must be (n_channels, n_samples > 0), got {data.shape}")
        self.data = data
        self.loop = loop

    def __call__(self, start: int, n: int) -> np.ndarray:
        """Samples ``start`` .. ``start + n - 1`` of the recording."""
        idx = np.arange(start, start + n)
        if not self.loop and idx[-1] >= self.data.shape[1]:
            raise IndexError(f"recording has {self.data.shape[1]} samples; asked up to {idx[-1]}")
        return self.data[:, idx % self.data.shape[1]]
