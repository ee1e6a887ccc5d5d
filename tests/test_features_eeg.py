"""EEG evidence and detectors on synthetic signals with known content (plumbing, no accuracy)."""

from __future__ import annotations

import numpy as np
import pytest

from dreamband.features.context import context_mean, robust_scale
from dreamband.features.detectors import (
    AMPLITUDE_BAND,
    AMPLITUDE_REFERENCE_UV,
    amplitude_factor,
    eye_movements,
    slow_waves,
    spindles,
)
from dreamband.features.eeg import compute_evidence

FS = 100.0
RNG = np.random.default_rng(1)


def _noise(seconds: float, sd: float = 5.0) -> np.ndarray:
    """Background EEG-like noise: a 1/f amplitude spectrum (like real EEG), ``sd`` µV."""
    n = round(seconds * FS)
    spec = np.fft.rfft(RNG.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / FS)
    spec /= np.maximum(f, 0.5)
    x = np.fft.irfft(spec, n)
    return x / x.std() * sd


def test_a_13_hz_burst_is_one_spindle_in_its_epoch():
    x = _noise(300)
    t = np.arange(round(1.0 * FS)) / FS
    burst = 40 * np.sin(2 * np.pi * 13 * t) * np.hanning(t.size)
    start = round(75 * FS)  # epoch 2 of 30-s epochs
    x[start : start + t.size] += burst
    out = spindles(x, FS, 30.0, causal=False)
    assert out["sp_count"][2] == 1
    assert out["sp_count"].sum() == 1
    assert out["sp_fraction"][2] > 0.01


def test_a_1_hz_100_uv_wave_train_fills_the_epoch_with_slow_waves():
    x = _noise(300)
    t = np.arange(round(30 * FS)) / FS
    x[round(60 * FS) : round(90 * FS)] += 50 * np.sin(2 * np.pi * 1.0 * t)  # 100 µV p-p
    out = slow_waves(x, FS, 30.0, causal=False)
    assert out["sw_fraction"][2] > 0.8
    assert out["sw_fraction"][[0, 1, 4, 5]].max() == 0.0
    small = _noise(300)
    small[round(60 * FS) : round(90 * FS)] += 20 * np.sin(2 * np.pi * 1.0 * t)  # 40 µV p-p
    assert slow_waves(small, FS, 30.0, causal=False)["sw_fraction"].max() == 0.0


def test_amplitude_factor_keeps_psg_like_nights_absolute_and_follows_far_ones():
    ref, b = AMPLITUDE_REFERENCE_UV, AMPLITUDE_BAND
    assert amplitude_factor(np.full(40, ref)) == (1.0, 1.0)
    assert amplitude_factor(np.full(40, ref * 1.3))[0] == 1.0  # inside the band
    f, s = amplitude_factor(np.full(40, ref * 0.4))  # a headband reading 2.5x smaller
    assert s == pytest.approx(0.4) and f == pytest.approx(0.4 * b)
    f, s = amplitude_factor(np.full(40, ref * 3.0))
    assert f == pytest.approx(3.0 / b)
    # the 75th percentile of the epochs' largest waves sets the scale
    night = np.r_[np.full(30, 10.0), np.full(10, ref * 0.5)]
    assert amplitude_factor(night)[1] == pytest.approx(np.percentile(night, 75) / ref)
    assert amplitude_factor(np.zeros(40)) == (1.0, 0.0)  # no wave at all: nothing to adapt
    assert amplitude_factor(np.zeros(0))[0] == 1.0


def _slow_wave_night(gain: float) -> np.ndarray:
    """20 min of 1/f background with 150-µV 1-Hz waves filling every other epoch, x gain."""
    x = _noise(1200)
    t = np.arange(round(30 * FS)) / FS
    for k in range(0, 40, 2):
        x[round(30 * k * FS) : round(30 * (k + 1) * FS)] += 75 * np.sin(2 * np.pi * t)
    return x * gain


def test_batch_slow_waves_follow_a_recording_far_smaller_than_a_psg():
    nominal = slow_waves(_slow_wave_night(1.0), FS, 30.0, causal=False, threshold_uv=65.0,
                         adapt=True)
    assert float(nominal["threshold_uv"]) == 65.0  # PSG-like: the absolute threshold
    assert nominal["sw_fraction"][::2].min() > 0.8
    small = _slow_wave_night(0.35)  # ~52 µV waves: below 65 µV, far below a PSG's night
    fixed = slow_waves(small, FS, 30.0, causal=False, threshold_uv=65.0)
    assert fixed["sw_fraction"].max() == 0.0
    adapted = slow_waves(small, FS, 30.0, causal=False, threshold_uv=65.0, adapt=True)
    assert float(adapted["threshold_uv"]) < 40.0
    np.testing.assert_array_equal(adapted["sw_fraction"] > 0.5, nominal["sw_fraction"] > 0.5)
    # live (causal) detection keeps the absolute threshold: the night so far is no reference
    live = slow_waves(small, FS, 30.0, causal=True, threshold_uv=65.0, adapt=True)
    assert float(live["threshold_uv"]) == 65.0


def test_an_isolated_large_wave_counts_as_a_k_complex_not_as_slow_wave_sleep():
    x = _noise(120)
    t = np.arange(round(1.0 * FS)) / FS
    x[round(45 * FS) : round(46 * FS)] += -60 * np.sin(2 * np.pi * 1.0 * t)  # 120 µV p-p
    out = slow_waves(x, FS, 30.0, causal=False)
    assert out["kc_count"][1] == 1
    assert out["sw_fraction"][1] < 0.2


def test_alpha_sine_raises_relative_alpha_power():
    t = np.arange(round(300 * FS)) / FS
    x = _noise(300)
    x[: round(90 * FS)] += 30 * np.sin(2 * np.pi * 10 * t[: round(90 * FS)])
    ev = compute_evidence(x, FS)
    assert ev["rel_alpha"][:3].min() > 0.7
    assert ev["rel_alpha"][4:].max() < 0.3
    assert ev["z_rel_alpha"][:3].min() > ev["z_rel_alpha"][4:].max()


def test_conjugate_eye_movements_are_detected_from_a_loc_roc_pair():
    fs = 256.0
    n = round(60 * fs)
    loc = RNG.standard_normal(n) * 3
    times = [5.0, 12.0, 20.5, 33.0, 47.0]
    for t0 in times:
        i = round(t0 * fs)
        step = 80 * (1 - np.exp(-np.arange(round(0.6 * fs)) / (0.05 * fs)))
        loc[i : i + step.size] += step * np.hanning(step.size) * 2
    roc = -loc + RNG.standard_normal(n) * 3
    _, found = eye_movements(loc, fs, 30.0, causal=False, roc=roc)
    assert found.size == len(times)
    np.testing.assert_allclose(found, times, atol=0.5)
    # the same deflection on both channels (not conjugate, e.g. an EEG artefact) is refused
    _, same = eye_movements(loc, fs, 30.0, causal=False, roc=loc.copy())
    assert same.size == 0


def test_evidence_has_one_row_per_whole_epoch_and_the_same_columns_live_and_batch():
    x = _noise(30 * 20 + 7)
    batch = compute_evidence(x, FS)
    live = compute_evidence(x, FS, causal=True)
    assert batch.values.shape[0] == 20
    assert batch.names == live.names
    assert np.isfinite(batch.values).all() and np.isfinite(live.values).all()
    assert compute_evidence(x, FS, epoch_length=20.0).n_epochs == 30


def test_live_evidence_of_an_epoch_does_not_depend_on_the_future():
    x = _noise(30 * 12)
    changed = x.copy()
    changed[round(30 * 8 * FS) :] += 80 * np.sin(np.arange(round(30 * 4 * FS)) / FS * 2 * np.pi)
    a = compute_evidence(x, FS, causal=True)
    b = compute_evidence(changed, FS, causal=True)
    np.testing.assert_allclose(a.values[:8], b.values[:8], atol=1e-9)
    c = compute_evidence(x, FS, causal=False)
    d = compute_evidence(changed, FS, causal=False)
    assert not np.allclose(c.values[:8], d.values[:8])  # batch looks both ways


def test_context_and_scaling_past_only_when_causal():
    v = np.arange(10.0)[:, None]
    np.testing.assert_allclose(context_mean(v, 1, causal=False)[5, 0], 5.0)
    # live: the past half of the batch window (the epoch and the one before it)
    np.testing.assert_allclose(context_mean(v, 1, causal=True)[5, 0], 4.5)  # mean of 4, 5
    z = robust_scale(v, causal=True)
    np.testing.assert_allclose(z[:3, 0], robust_scale(v[:3], causal=True)[:, 0])


@pytest.mark.parametrize(
    ("signal", "fs", "message"),
    [
        (np.zeros(100), 100.0, "shorter than one 30-s epoch"),
        (np.zeros(3000), 30.0, "too low for the sleep bands"),
        (np.full(6000, np.nan), 100.0, "not finite"),
        (np.zeros((2, 3000)), 100.0, "must be 1-D"),
    ],
)
def test_bad_signals_raise_clear_errors(signal, fs, message):
    with pytest.raises(ValueError, match=message):
        compute_evidence(signal, fs)


def test_a_dc_offset_changes_no_evidence_and_flags_no_epoch():
    """Amplifiers without a high-pass (OpenBCI boards) deliver EEG on a DC level of
    thousands of µV: the Hjorth activity used to read it as power, which shrank the
    night's spread of log-power and flagged ordinary epochs as artefacts."""
    x = _noise(600, sd=20.0)
    t = np.arange(x.size) / FS
    x[round(300 * FS):] += 40 * np.sin(2 * np.pi * t[round(300 * FS):])
    plain = compute_evidence(x, FS)
    offset = compute_evidence(x + 2500.0, FS)
    assert not offset.bad.any() and not plain.bad.any()
    for name in ("hj_activity", "hj_mobility", "hj_complexity", "total", "sw_fraction"):
        np.testing.assert_allclose(offset[name], plain[name], rtol=1e-3, atol=1e-3,
                                   err_msg=name)
