"""Minutes-scale HR variability (Walch 2019 style): where HR fluctuates, scale, gaps."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from dreamband.features.heart_walch import _gaussian_low_pass, hr_high_pass_sd
from dreamband.heart.grid import prepare_beats, prepare_hr


def beats(rr: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(rr)])


def night(seconds: float = 3 * 3600.0, seed: int = 3, calm_until: float = 1.5 * 3600) -> np.ndarray:
    """RR intervals: steady with small noise, then minute-scale HR swings (60-s period)."""
    rng = np.random.default_rng(seed)
    t, out = 0.0, []
    while t < seconds:
        swing = 0.12 * np.sin(2 * np.pi * t / 60.0) if t > calm_until else 0.0
        rr = 1.0 + swing + rng.normal(0, 0.005)
        out.append(rr)
        t += rr
    return np.array(out)


def test_swinging_heart_rate_reads_higher_than_steady():
    rr = night()
    n = int(np.sum(rr) // 30)
    sd = hr_high_pass_sd(prepare_beats(beats(rr)), n)
    assert sd.shape == (n,)
    centre = 30.0 * (np.arange(n) + 0.5)
    steady = sd[(centre > 1200) & (centre < 1.5 * 3600 - 600)]
    swing = sd[(centre > 1.5 * 3600 + 600) & (centre < 3 * 3600 - 600)]
    assert np.all(np.isfinite(steady)) and np.all(np.isfinite(swing))
    assert np.median(swing) > 3 * np.median(steady)


def test_night_normalisation_removes_the_heart_rate_scale():
    rr = night()
    t = beats(rr)[1:]
    n = int(t[-1] // 30)
    hr = 60.0 / rr
    a = hr_high_pass_sd(prepare_hr(t, hr), n)
    b = hr_high_pass_sd(prepare_hr(t, 1.25 * hr), n)  # same swings, 25 % faster heart
    assert np.isfinite(a).mean() > 0.9
    np.testing.assert_allclose(a, b, rtol=1e-9, equal_nan=True)


def test_long_gap_gives_missing_values_and_empty_input_is_all_missing():
    rr = night(seconds=2 * 3600.0, calm_until=0.0)
    t = beats(rr)
    keep = (t < 1800) | (t > 1800 + 1500)  # 25 min without beats
    n = int(t[-1] // 30)
    sd = hr_high_pass_sd(prepare_beats(t[keep]), n)
    centre = 30.0 * (np.arange(n) + 0.5)
    assert np.all(np.isnan(sd[(centre > 1800 + 400) & (centre < 1800 + 1100)]))
    assert np.all(np.isfinite(sd[(centre > 1800 + 1500 + 400) & (centre < t[-1] - 400)]))
    assert np.all(np.isnan(hr_high_pass_sd(prepare_beats(t[:1]), 20)))


def test_fft_low_pass_equals_scipy_gaussian():
    x = np.cumsum(np.random.default_rng(0).normal(size=5000))
    np.testing.assert_allclose(_gaussian_low_pass(x, 142.5), gaussian_filter1d(x, 142.5),
                               atol=1e-9)
    short = x[:100]
    np.testing.assert_allclose(_gaussian_low_pass(short, 142.5),
                               gaussian_filter1d(short, 142.5), atol=1e-9)
