"""Causal / fixed-lag hr_hp_sd: no look-ahead, chunked == whole night, and the live stagers."""

from __future__ import annotations

import numpy as np
import pytest
from test_heart_features import varied_night
from test_heart_walch import beats, night

from dreamband.features.heart_context import feature_names, heart_features, uses_causal_hp_sd
from dreamband.features.heart_walch_causal import CausalHpSd, causal_hr_high_pass_sd
from dreamband.heart.grid import beats_to_hr, prepare_beats, prepare_hr


@pytest.mark.parametrize(("ahead", "cut"), [(0, 60), (20, 90), (30, 41)])
def test_epoch_k_needs_only_samples_up_to_epoch_k_plus_ahead(ahead, cut):
    times = varied_night(8000)
    n = int(times[-1] // 30)
    full = causal_hr_high_pass_sd(prepare_beats(times), n, 0.0, ahead)
    seen = cut + ahead
    part = causal_hr_high_pass_sd(prepare_beats(times[times <= 30.0 * seen]), seen, 0.0, ahead)
    np.testing.assert_array_equal(part[:cut], full[:cut])
    assert np.isfinite(full[40:]).all()
    if ahead:  # the provisional tail of a prefix differs from its final value
        assert not np.allclose(part[cut:], full[cut:seen], equal_nan=True)


def test_incremental_equals_whole_night_with_an_offset_and_a_gap():
    times = varied_night(8000)
    times = np.concatenate([times[times < 2000], times[times > 2400]])  # 400-s gap
    hs = prepare_beats(times)
    offset = 7.0
    n = int((times[-1] - offset) // 30)
    full = causal_hr_high_pass_sd(hs, n, offset)
    inc = CausalHpSd(offset)
    t, hr = hs.t[hs.valid], 60.0 / hs.rr[hs.valid]
    got = []
    for k in range(n):
        keep = (t > offset + 30.0 * k - 60.0) & (t <= offset + 30.0 * (k + 1))  # bounded past
        got.append(inc.step(k, t[keep], hr[keep]))
    np.testing.assert_array_equal(got, full)
    assert np.isnan(full[:19]).all()  # no scale before 10 min of filtered HR
    assert np.isnan(full).any() and np.isfinite(full[-50:]).all()


def test_swings_read_higher_and_the_hr_scale_cancels():
    rr = night()
    n = int(np.sum(rr) // 30)
    sd = causal_hr_high_pass_sd(prepare_beats(beats(rr)), n)
    calm, onset, swing = sd[40:170], sd[190:200], sd[200:]
    # Swings starting read far above the calm night so far; later the night's scale adapts.
    assert np.nanmin(onset) > 3 * np.nanmax(calm)
    assert np.nanmedian(swing) > 1.2 * np.nanmedian(calm)
    slow = causal_hr_high_pass_sd(prepare_beats(beats(rr * 1.25)), int(np.sum(rr * 1.25) // 30))
    np.testing.assert_allclose(np.nanmedian(slow[200:n]), np.nanmedian(swing), rtol=0.1)


def test_the_column_goes_to_the_adopted_live_variants_only():
    assert not uses_causal_hp_sd("rr", 0)
    assert uses_causal_hp_sd("hr", 0) and uses_causal_hp_sd("rr", 40)
    assert "hr_hp_sd" not in feature_names(True, 0, "rr")
    assert feature_names(True, 0, "hr")[-1] == "hr_hp_sd"
    t, hr = beats_to_hr(varied_night())
    hs = prepare_hr(t, hr)
    X, names = heart_features(hs, int(t[-1] // 30), live=True)
    assert names == feature_names(True, 0, "hr")
    np.testing.assert_array_equal(X[:, -1], causal_hr_high_pass_sd(hs, X.shape[0]))


@pytest.mark.usefixtures("heart_models")
def test_live_hr_stager_rows_equal_the_whole_night_causal_features():
    from dreamband.live.heart import HeartLiveStager

    t, hr = beats_to_hr(varied_night(6000))
    t, hr = t[10:], hr[10:]  # the stream starts a little after epoch 0
    n = int(t[-1] // 30)
    X, names = heart_features(prepare_hr(t, hr), n, live=True)
    st = HeartLiveStager("hr")
    rows = []
    for k in range(n):
        sel = (t > 30.0 * k) & (t <= 30.0 * (k + 1))
        st.add(t[sel], hr[sel])
        rows.append(st.features(k))
    assert names[-1] == "hr_hp_sd" and np.isfinite(X[-50:, -1]).all()
    rows = np.array(rows)
    np.testing.assert_array_equal(rows[:, -1], X[:, -1])  # carried state: the same numbers
    # the trailing-window columns come from shifted sample times: equal to rounding
    np.testing.assert_allclose(rows, X, rtol=1e-6, atol=1e-9)
