"""Signal sources for virtual bands: anything that gives samples by absolute index.

A source is a callable ``source(start, n) -> ndarray (n_channels, n)`` in physical units
(µV for EEG/ECG). Being indexed by sample number makes it deterministic: a band that
reconnects asks again from where its own counter is, whatever was lost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["ArraySource", "BeatSource", "ChunkedSource", "EcgLikeSource", "SignalSource",
           "SineSource"]

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


class ChunkedSource:
    """Serve a long signal rendered lazily in blocks: ``render(start, stop)`` -> samples.

    Parameters
    ----------
    render : callable
        ``render(start, stop) -> ndarray (n_channels, stop - start)``: samples ``start`` ..
        ``stop - 1`` of the signal, with ``0 <= start < stop <= n_samples``.
    n_channels : int
        Rows ``render`` returns.
    n_samples : int
        Length of the signal; samples past the end (or before the start) are zeros, so a
        band may run on a little after its recording ends without inventing signal.
    block : int
        Samples rendered per call (one block is cached).
    offset : int
        Signal sample served as the band's sample 0 (to start a replay mid-recording).
    """

    def __init__(self, render: Callable[[int, int], np.ndarray], n_channels: int,
                 n_samples: int, block: int = 7680, offset: int = 0) -> None:
        if n_channels < 1 or n_samples < 1 or block < 1:
            raise ValueError(f"need n_channels, n_samples and block >= 1; got {n_channels}, "
                             f"{n_samples}, {block}")
        self.render = render
        self.n_channels = int(n_channels)
        self.n_samples = int(n_samples)
        self.block = int(block)
        self.offset = int(offset)
        self._b0 = -1
        self._cache = np.zeros((self.n_channels, 0))

    def _load(self, b: int) -> np.ndarray:
        if b != self._b0:
            lo = b * self.block
            hi = min(self.n_samples, lo + self.block)
            out = np.zeros((self.n_channels, self.block))
            if 0 <= lo < hi:
                out[:, :hi - lo] = np.asarray(self.render(lo, hi), dtype=np.float64)
            self._b0, self._cache = b, out
        return self._cache

    def __call__(self, start: int, n: int) -> np.ndarray:
        """Samples ``start`` .. ``start + n - 1`` of the band (``offset`` added)."""
        a = start + self.offset
        out = np.empty((self.n_channels, n))
        done = 0
        while done < n:
            i = a + done
            if i < 0:
                take = min(n - done, -i)
                out[:, done:done + take] = 0.0
            else:
                b, r = divmod(i, self.block)
                take = min(n - done, self.block - r)
                out[:, done:done + take] = self._load(b)[:, r:r + take]
            done += take
        return out


class BeatSource:
    """Heart beats for a heart-rate band: R-peak times on the band's clock (s since power-on).

    A Heart Rate Service band fed by a :class:`BeatSource` sends, once a second, the RR
    intervals of the beats that fell in that second (rounded to 1/1024 s, as the protocol
    carries them) instead of its built-in rhythm. Intervals longer than the protocol's
    maximum (65535/1024 s, a pause in the beat annotations) are not sent.

    Parameters
    ----------
    beat_times : array_like
        Strictly increasing beat times (s); negative times are dropped.
    """

    def __init__(self, beat_times: Sequence[float] | np.ndarray) -> None:
        t = np.asarray(beat_times, dtype=np.float64)
        if t.ndim != 1 or (t.size > 1 and np.any(np.diff(t) <= 0)) or not np.all(np.isfinite(t)):
            raise ValueError("beat_times must be a 1-D, finite, strictly increasing array")
        self.beat_times = t[t >= 0]

    def __call__(self, start: int, n: int) -> np.ndarray:
        """Not a sampled signal: one row of zeros (the emitter reads :attr:`beat_times`)."""
        return np.zeros((1, n))
