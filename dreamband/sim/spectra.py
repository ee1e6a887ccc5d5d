"""Stage-dependent background noise by windowed overlap-add of spectrally shaped blocks.

Pure numpy: each block of ``2 * hop`` samples is synthesised in the frequency domain from
Gaussian coefficients times a fixed amplitude spectrum per component (aperiodic 1/f
background, delta, theta, alpha, sigma, beta, EMG), then multiplied by a sine window. Sine
windows overlapping by half are power-complementary (``w[n]**2 + w[n + hop]**2 == 1``), so
the summed noise keeps a constant variance and stage changes fade over one hop.

Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["COMPONENTS", "SpectralBasis", "sine_window"]

#: Background components in the order their coefficients are drawn.
COMPONENTS: tuple[str, ...] = ("aperiodic", "delta", "theta", "alpha", "sigma", "beta", "emg")

_HIGHPASS_HZ = 0.3  # like the 0.3-Hz high-pass of PSG amplifiers


def sine_window(n_block: int) -> np.ndarray:
    """Power-complementary sine window of ``n_block`` samples (``n_block`` even).

    Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.
    """
    n = np.arange(n_block)
    return np.sin(np.pi * (n + 0.5) / n_block)


def _gauss(f: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((f - centre) / width) ** 2)


@dataclass(frozen=True)
class _Band:
    lo: int  # first rfft bin with non-negligible amplitude
    hi: int  # one past the last
    amp: np.ndarray  # amplitude per bin in [lo, hi), scaled for unit output variance
    amp32: np.ndarray  # amp / sqrt(2) in float32, for complex64 coefficients


class SpectralBasis:
    """Unit-variance amplitude spectra of the background components for one block length.

    Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.

    Parameters
    ----------
    n_block : int
        Block length in samples (even).
    fs : float
        Sampling rate in Hz.
    alpha_hz : float
        Individual alpha peak frequency in Hz.
    sigma_hz : float
        Individual centre of the sigma (spindle) band in Hz.
    """

    def __init__(self, n_block: int, fs: float, alpha_hz: float = 10.0,
                 sigma_hz: float = 13.0) -> None:
        self.n_block = int(n_block)
        self.fs = float(fs)
        self.n_freq = self.n_block // 2 + 1
        self.freqs = np.fft.rfftfreq(self.n_block, 1.0 / self.fs)
        self.alpha_hz = alpha_hz
        self.sigma_hz = sigma_hz
        f = self.freqs
        nyq = self.fs / 2
        hp = (f / _HIGHPASS_HZ) ** 4 / (1.0 + (f / _HIGHPASS_HZ) ** 4)
        lowpass = 1.0 / (1.0 + (f / (0.45 * self.fs)) ** 16)  # anti-alias roll-off
        emg_lo = min(20.0, 0.2 * self.fs)
        emg = (1.0 / (1.0 + (emg_lo / np.maximum(f, 1e-9)) ** 8)) * lowpass
        psd = {
            "delta": _gauss(f, 0.9, 0.45) * hp,
            "theta": _gauss(f, 6.0, 1.2),
            "alpha": _gauss(f, alpha_hz, 0.7),
            "sigma": _gauss(f, sigma_hz, 1.0),
            "beta": _gauss(f, min(21.0, 0.4 * nyq), min(5.0, 0.1 * nyq)) * lowpass,
            "emg": emg,
        }
        self._bands = {name: self._band(p) for name, p in psd.items()}
        self._hp_lowpass = hp * lowpass
        self._aperiodic_cache: dict[float, _Band] = {}

    def _band(self, psd: np.ndarray) -> _Band:
        psd = np.asarray(psd, dtype=float).copy()
        psd[0] = 0.0
        if self.n_block % 2 == 0:
            psd[-1] = 0.0
        keep = np.flatnonzero(psd > 1e-6 * psd.max())
        lo, hi = int(keep[0]), int(keep[-1]) + 1
        amp = np.sqrt(psd[lo:hi])
        # irfft of A*Z (E|Z|^2 = 1) has variance 2 * sum(A^2) / n^2: scale to 1.
        amp *= self.n_block / np.sqrt(2.0 * np.sum(amp**2))
        return _Band(lo, hi, amp, (amp / np.sqrt(2.0)).astype(np.float32))

    def band(self, name: str, exponent: float = 2.0) -> _Band:
        """Bins and unit-variance amplitudes of one component (``exponent``: aperiodic only)."""
        if name != "aperiodic":
            return self._bands[name]
        key = round(float(exponent), 4)
        if key not in self._aperiodic_cache:
            psd = self._hp_lowpass / (self.freqs**2 + 1.0) ** (key / 2.0)
            self._aperiodic_cache[key] = self._band(psd)
        return self._aperiodic_cache[key]

    def coefficients(self, rng: np.random.Generator, name: str,
                     exponent: float = 2.0) -> np.ndarray:
        """Draw unit-variance complex coefficients of one component on its own bins."""
        b = self.band(name, exponent)
        # float32 draws viewed as complex64: real and imaginary parts interleaved (fast).
        z = rng.standard_normal(2 * (b.hi - b.lo), dtype=np.float32).view(np.complex64)
        return z * b.amp32

    def add_into(self, spectrum: np.ndarray, name: str, coef: np.ndarray, gain: float,
                 exponent: float = 2.0) -> None:
        """Add ``gain * coef`` of component ``name`` into a full rfft ``spectrum`` in place."""
        if gain == 0.0:
            return
        b = self.band(name, exponent)
        spectrum[b.lo:b.hi] += gain * coef

    def to_time(self, spectrum: np.ndarray) -> np.ndarray:
        """Inverse real FFT of a block spectrum (``n_block`` samples)."""
        return np.fft.irfft(spectrum, n=self.n_block)
