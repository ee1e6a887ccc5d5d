"""Filters, resampling and quality flags of dreamband.signal."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dreamband.signal import (
    CausalFilter,
    bandpass_sos,
    epoch_quality,
    filter_causal,
    filter_zero_phase,
    highpass_sos,
    lowpass_sos,
    resample,
)

RNG = np.random.default_rng(0)
SIGNAL = RNG.standard_normal(3000) * 20 + 5.0


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=2999), max_size=8))
def test_causal_filter_in_any_chunks_equals_one_pass(cuts):
    sos = bandpass_sos(11.0, 16.0, 100.0)
    whole, _ = filter_causal(SIGNAL, sos)
    f = CausalFilter(sos)
    edges = [0, *sorted(set(cuts)), SIGNAL.size]
    parts = [f(SIGNAL[a:b]) for a, b in itertools.pairwise(edges) if b > a]
    np.testing.assert_allclose(np.concatenate(parts), whole, rtol=0, atol=1e-9)


def test_causal_filter_reset_starts_a_new_stream():
    sos = lowpass_sos(5.0, 100.0)
    f = CausalFilter(sos)
    first = f(SIGNAL[:500])
    f.reset()
    np.testing.assert_allclose(f(SIGNAL[:500]), first)


def test_zero_phase_bandpass_keeps_an_in_band_sine_without_delay():
    fs = 100.0
    t = np.arange(0, 20, 1 / fs)
    x = np.sin(2 * np.pi * 13 * t)
    y = filter_zero_phase(x, bandpass_sos(11.0, 16.0, fs))
    mid = slice(500, 1500)
    assert np.corrcoef(x[mid], y[mid])[0, 1] > 0.99


def test_bandpass_rejects_out_of_band_sine():
    fs = 100.0
    t = np.arange(0, 20, 1 / fs)
    y = filter_zero_phase(np.sin(2 * np.pi * 2 * t), bandpass_sos(11.0, 16.0, fs))
    assert np.abs(y[200:-200]).max() < 0.01


def test_filter_design_refuses_a_rate_too_low_for_the_band():
    with pytest.raises(ValueError, match="sampling rate above 32"):
        bandpass_sos(11.0, 16.0, 30.0)
    with pytest.raises(ValueError, match="0 < low < high"):
        bandpass_sos(16.0, 11.0, 100.0)
    with pytest.raises(ValueError, match="positive"):
        highpass_sos(0.0, 100.0)


def test_resample_changes_length_and_keeps_a_slow_sine():
    fs_in, fs_out = 256.0, 100.0
    t = np.arange(0, 10, 1 / fs_in)
    y = resample(np.sin(2 * np.pi * 1.0 * t), fs_in, fs_out)
    assert y.size == 1000
    t2 = np.arange(y.size) / fs_out
    np.testing.assert_allclose(y[100:-100], np.sin(2 * np.pi * t2)[100:-100], atol=0.02)
    assert resample(t, 100.0, 100.0) is not None
    with pytest.raises(ValueError, match="positive"):
        resample(t, 0.0, 100.0)


def test_quality_flags_flat_clipped_and_artefact_epochs():
    ep = RNG.standard_normal((10, 3000)) * 20
    ep[2] = 0.0  # flat
    ep[4] = np.clip(ep[4] * 10, -100, 100)  # saturated at +-100
    ep[6, 1000:1100] += 2000.0  # electrode pop
    q = epoch_quality(ep)
    assert np.flatnonzero(q.flat).tolist() == [2]
    assert np.flatnonzero(q.clipped).tolist() == [4]
    assert 6 in np.flatnonzero(q.artefact)
    assert not q.bad[[0, 1, 3, 5, 7, 8, 9]].any()


def test_block_mean_decimation_to_float32_reads_float64_without_a_copy():
    from dreamband.signal.resample import decimate_mean

    x = np.random.default_rng(4).normal(0, 50, 10_001)
    y = decimate_mean(x, 5, np.float32)
    assert y.dtype == np.float32 and y.size == 2000
    np.testing.assert_allclose(y, x[:10_000].reshape(-1, 5).mean(axis=1), rtol=1e-5, atol=1e-4)
    assert decimate_mean(x, 1, np.float32).dtype == np.float32


def test_mains_notches_remove_50_and_60_hz_and_leave_eeg_bands():
    from dreamband.signal.filters import mains_notch_sos, remove_mains

    fs = 256.0
    t = np.arange(round(60 * fs)) / fs
    eeg = 20 * np.sin(2 * np.pi * 10 * t) + 30 * np.sin(2 * np.pi * 1.0 * t)
    for f0 in (50.0, 60.0):
        y = remove_mains(eeg + 50 * np.sin(2 * np.pi * f0 * t), fs)
        late = slice(round(5 * fs), None)  # after the notches' start-up (a fraction of a s)
        residual = y[late] - eeg[late]
        assert np.sqrt(np.mean(residual**2)) < 0.05 * 50  # 35-µV RMS hum down to < 2.5 µV
    clean = remove_mains(eeg, fs)
    np.testing.assert_allclose(clean[round(5 * fs):], eeg[round(5 * fs):], atol=0.5)
    # at 100 Hz, 50 Hz is the Nyquist frequency: nothing to notch, the input comes back
    x = np.ones(1000)
    assert mains_notch_sos(100.0) is None and remove_mains(x, 100.0) is x
    assert mains_notch_sos(128.0).shape == (2, 6)  # 50 and 60 Hz both below 63 Hz


def test_sixty_hz_hum_does_not_leak_into_the_eeg_bands_of_a_headband():
    """A 256-Hz headband picking up 60-Hz mains: block-mean decimation to ~51 Hz would fold
    the hum to 9 Hz (alpha); the notches remove it first."""
    from dreamband.features.eeg import compute_evidence

    fs = 256.0
    rng = np.random.default_rng(5)
    n = round(300 * fs)
    spec = np.fft.rfft(rng.standard_normal(n)) / np.maximum(np.fft.rfftfreq(n, 1 / fs), 0.5)
    x = np.fft.irfft(spec, n)
    x *= 20 / x.std()
    hum = 50 * np.sin(2 * np.pi * 60 * np.arange(n) / fs)
    plain, noisy = compute_evidence(x, fs), compute_evidence(x + hum, fs)
    for name in ("abs_alpha", "rel_alpha", "abs_sigma", "abs_beta", "sp_count"):
        np.testing.assert_allclose(noisy[name], plain[name], rtol=0.05, atol=0.02,
                                   err_msg=name)
