"""Heart epoch features: known values on synthetic beats, and live (chunked) == one pass."""

from __future__ import annotations

import numpy as np
import pytest

from dreamband.features.heart import BASE_FEATURES, base_features
from dreamband.features.heart_context import feature_names, heart_features, night_scaled
from dreamband.heart.grid import GRID_FS, beats_to_hr, prepare_beats, prepare_hr

COL = {k: i for i, k in enumerate(BASE_FEATURES)}


def beats_from_rr(rr: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(rr)])


def varied_night(n_beats: int = 4000, seed: int = 1) -> np.ndarray:
    """Beat times whose rate, variability and breathing rate drift over the night."""
    rng = np.random.default_rng(seed)
    t, out = 0.0, [0.0]
    for i in range(n_beats):
        level = 0.85 + 0.1 * np.sin(2 * np.pi * i / 1500)
        resp = 0.2 + 0.1 * np.sin(2 * np.pi * i / 2300)
        rr = level + 0.04 * np.sin(2 * np.pi * resp * t) + rng.normal(0, 0.015)
        if rng.random() < 0.003:
            rr *= 0.6  # occasional ectopic
        t += rr
        out.append(t)
    return np.array(out)


SPECTRAL = ("vlf", "lf", "hf", "lf_hf", "hf_peak", "hf_conc")


def reference_spectral(hs, ends: np.ndarray) -> np.ndarray:
    """The spectral features written plainly (all windows at once, masks by np.where); the
    blocked, in-place version in base_features must give bitwise the same numbers."""
    n_win = 512
    grid = hs.on_grid(float(ends[-1]))
    last = np.floor(ends * GRID_FS + 1e-9).astype(np.int64)
    padded = np.concatenate([np.full(n_win, np.nan), grid, np.full(1, np.nan)])
    last_p = np.clip(last, -1, grid.size) + n_win
    x = padded[last_p[:, None] - np.arange(n_win - 1, -1, -1)[None, :]] * 1000.0
    finite = np.isfinite(x)
    ok = finite.mean(axis=1) >= 0.5
    out = np.full((ends.size, len(SPECTRAL)), np.nan)
    x, fin = x[ok], finite[ok]
    mean = np.where(fin, x, 0.0).sum(axis=1, keepdims=True) / fin.sum(axis=1, keepdims=True)
    x = np.where(fin, x - mean, 0.0)
    tt = np.where(fin, np.linspace(-1, 1, n_win)[None, :], 0.0)
    sxx = np.maximum((tt * tt).sum(axis=1, keepdims=True), 1e-12)
    x = x - (x * tt).sum(axis=1, keepdims=True) / sxx * tt
    win = np.hanning(n_win)
    spec = np.abs(np.fft.rfft(x * win, axis=1)) ** 2
    spec /= (win**2).sum() * GRID_FS * fin.mean(axis=1, keepdims=True)
    f = np.fft.rfftfreq(n_win, 1 / GRID_FS)
    df = f[1] - f[0]
    vlf, lf, hf = (spec[:, (f >= lo) & (f < hi)].sum(axis=1) * df
                   for lo, hi in ((0.01, 0.04), (0.04, 0.15), (0.15, 0.4)))
    hsel = np.flatnonzero((f >= 0.15) & (f < 0.4))
    peak = hsel[np.argmax(spec[:, hsel], axis=1)]
    near = np.abs(f[None, :] - f[peak][:, None]) <= 0.02
    conc = (spec * near).sum(axis=1) * df / (hf + 1e-3)
    out[ok] = np.column_stack([np.log(vlf + 1e-3), np.log(lf + 1e-3), np.log(hf + 1e-3),
                               np.log(lf + 1e-3) - np.log(hf + 1e-3), f[peak], conc])
    return out


@pytest.mark.parametrize("kind", ["rr", "hr"])
@pytest.mark.parametrize("offset", [0.0, 7.3])
def test_spectral_features_are_bitwise_the_plain_computation(kind, offset):
    times = varied_night(9000, seed=3)  # ~2 h: several blocks of windows
    times = times[(times < 1500) | (times > 1700)]  # a gap: windows partly or too empty
    times = times[(times < 4000) | (times > 4060)]
    hs = prepare_beats(times) if kind == "rr" else prepare_hr(*beats_to_hr(times))
    n = int((times[-1] - offset) // 30)
    ends = offset + 30.0 * (np.arange(n) + 1.0)
    got = base_features(hs, n, offset)[:, [COL[k] for k in SPECTRAL]]
    ref = reference_spectral(hs, ends)
    assert np.isnan(ref[:, 0]).sum() >= 4 and np.isfinite(ref[:, 0]).sum() > 200
    np.testing.assert_array_equal(got, ref)


def test_time_domain_features_match_hand_computed_values():
    rr = np.tile([0.8, 0.9], 400)  # successive differences of exactly 100 ms
    hs = prepare_beats(beats_from_rr(rr))
    f = base_features(hs, n_epochs=20)
    e = 15  # well inside the night, all windows full
    assert f[e, COL["rmssd"]] == pytest.approx(100.0, rel=1e-6)
    assert f[e, COL["pnn50"]] == pytest.approx(1.0)
    assert f[e, COL["sdnn"]] == pytest.approx(50.0, rel=0.02)
    assert f[e, COL["hr"]] == pytest.approx(np.mean([60 / 0.8, 60 / 0.9]), rel=0.01)
    assert f[e, COL["coverage"]] == pytest.approx(1.0, abs=0.05)


def test_hf_peak_recovers_the_breathing_frequency():
    t, out = 0.0, [0.0]
    while t < 1800:
        t += 0.9 + 0.05 * np.sin(2 * np.pi * 0.3 * t)
        out.append(t)
    f = base_features(prepare_beats(np.array(out)), n_epochs=50)
    assert np.nanmedian(f[10:, COL["hf_peak"]]) == pytest.approx(0.3, abs=0.01)
    assert np.nanmedian(f[10:, COL["lf_hf"]]) < -2  # power sits in HF


def test_epochs_inside_a_gap_have_no_heart_rate():
    times = varied_night()
    times = times[(times < 600) | (times > 900)]
    f = base_features(prepare_beats(times), n_epochs=40)
    assert np.all(np.isnan(f[21:29, COL["hr"]]))
    assert np.all(np.isfinite(f[2:19, COL["hr"]]))


@pytest.mark.parametrize("cut_epochs", [25, 61, 97])
def test_live_features_of_a_prefix_equal_the_one_pass_result(cut_epochs):
    times = varied_night()
    n_full = int(times[-1] // 30)
    full, names = heart_features(prepare_beats(times), n_full, live=True)
    end = 30.0 * cut_epochs
    part, _ = heart_features(prepare_beats(times[times <= end]), cut_epochs, live=True)
    assert names == feature_names(live=True)
    np.testing.assert_array_equal(part, full[:cut_epochs])


def test_live_hr_features_of_a_prefix_equal_the_one_pass_result():
    t = np.arange(0, 3600, 1.0)
    hr = 62 + 5 * np.sin(2 * np.pi * t / 1200) + 2 * np.sin(2 * np.pi * 0.05 * t)
    full, _ = heart_features(prepare_hr(t, hr), 120, live=True)
    part, _ = heart_features(prepare_hr(t[t <= 1500], hr[t <= 1500]), 50, live=True)
    np.testing.assert_array_equal(part, full[:50])


def test_batch_features_use_the_future_and_differ_from_live():
    times = varied_night()
    n = int(times[-1] // 30)
    live, _ = heart_features(prepare_beats(times), n, live=True)
    batch, names = heart_features(prepare_beats(times), n, live=False)
    assert batch.shape == (n, len(names)) and "hr_fut" in names
    cut = n // 2
    short, _ = heart_features(prepare_beats(times[times <= 30 * cut]), cut, live=False)
    assert not np.allclose(short, batch[:cut], equal_nan=True)
    assert live.shape[1] == len(feature_names(live=True))


def test_night_scaled_whole_night_is_zero_mean_unit_sd():
    rng = np.random.default_rng(0)
    x = rng.normal(5, 3, size=(300, 2))
    x[10, 0] = np.nan
    z = night_scaled(x, live=False)
    np.testing.assert_allclose(np.nanmean(z, axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(np.nanstd(z, axis=0), 1, atol=1e-12)
    zl = night_scaled(x, live=True, min_count=10)
    assert np.all(np.isnan(zl[:9]))
    # The live value of the last epoch uses the whole night so far, i.e. the whole night.
    np.testing.assert_allclose(zl[-1], z[-1])
