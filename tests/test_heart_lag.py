"""Fixed-lag live variant: features and smoothing of epoch k use data up to epoch k + lag."""

from __future__ import annotations

import numpy as np
import pytest
from test_heart_features import varied_night

from dreamband.core.beats import BeatSeries
from dreamband.features.heart_context import feature_names, heart_features
from dreamband.features.heart_lag import lag_features, split_lag
from dreamband.heart.grid import prepare_beats
from dreamband.staging.heart import stage_heart
from dreamband.staging.heart_model import fixed_lag_smooth, hmm_smooth
from dreamband.staging.heart_train import LAGS


@pytest.mark.parametrize(("lag", "cut"), [(1, 30), (10, 40), (20, 77)])
def test_lag_features_of_epoch_k_need_only_samples_up_to_epoch_k_plus_lag(lag, cut):
    times = varied_night()
    n_full = int(times[-1] // 30)
    full = lag_features(prepare_beats(times), n_full, lag=lag)
    seen = cut + lag  # epochs whose samples have arrived
    part = lag_features(prepare_beats(times[times <= 30.0 * seen]), seen, lag=lag)
    np.testing.assert_array_equal(part[:cut], full[:cut])
    # The provisional tail differs: its look-ahead was cut short.
    assert not np.allclose(part[cut:], full[cut:seen], equal_nan=True)


def test_lag_beyond_the_night_is_the_batch_recipe():
    times = varied_night()
    n = int(times[-1] // 30)
    hs = prepare_beats(times)
    batch, names = heart_features(hs, n, live=False)
    far, far_names = heart_features(hs, n, live=True, lag=10 * n)
    # Same columns as batch; the last, hr_hp_sd, is the fixed-lag (causal-filter) version.
    assert far_names == names == feature_names(live=True, lag=5)
    assert names[-1] == "hr_hp_sd"
    raw = [i for i, k in enumerate(names) if k.endswith("_raw")]
    np.testing.assert_array_equal(far[:, raw], batch[:, raw])
    # Scaled columns differ only by the whole-night statistics taken on unshifted windows.
    z = names.index("hr_150_z")
    ok = np.isfinite(far[:, z]) & np.isfinite(batch[:, z])
    assert np.corrcoef(far[ok, z], batch[ok, z])[0, 1] > 0.99


def test_lag_zero_carries_no_future_and_negative_lag_is_refused():
    times = varied_night()
    n = int(times[-1] // 30)
    full = lag_features(prepare_beats(times), n, lag=0)
    part = lag_features(prepare_beats(times[times <= 30.0 * 50]), 50, lag=0)
    np.testing.assert_array_equal(part, full[:50])
    with pytest.raises(ValueError, match="lag"):
        lag_features(prepare_beats(times), n, lag=-1)


def test_split_lag_shares_the_whole_delay():
    assert split_lag(0) == (0, 0)
    assert split_lag(40) == (20, 20)
    assert split_lag(7) == (3, 4)
    assert split_lag(60) == (50, 10)  # chosen by nested selection (SMOOTHING_SHARE)
    for delay in (0, 1, 7, 40, 60, 61):
        assert sum(split_lag(delay)) == delay
    with pytest.raises(ValueError, match="lag"):
        split_lag(-2)


def test_fixed_lag_smoothing_spans_forward_to_forward_backward():
    rng = np.random.default_rng(3)
    p = rng.dirichlet([1, 1, 1], size=80)
    np.testing.assert_allclose(fixed_lag_smooth(p, 0), hmm_smooth(p, live=True), atol=1e-12)
    np.testing.assert_allclose(fixed_lag_smooth(p, 500), hmm_smooth(p, live=False), atol=1e-12)
    lagged = fixed_lag_smooth(p, 7)
    np.testing.assert_allclose(fixed_lag_smooth(p[:37], 7)[:30], lagged[:30], atol=1e-12)
    assert not np.allclose(lagged, fixed_lag_smooth(p, 0))
    np.testing.assert_allclose(lagged.sum(axis=1), 1.0)


@pytest.mark.parametrize("lag", LAGS)
def test_fixed_lag_staging_of_a_prefix_is_final_except_for_the_last_lag_epochs(
    heart_models, lag
):
    times = varied_night(6000)
    full = stage_heart(BeatSeries(times=times), live=True, lag=lag)
    seen = 60 + lag
    part = stage_heart(BeatSeries(times=times[times <= 30.0 * seen]), live=True, lag=lag,
                       n_epochs=seen)
    np.testing.assert_array_equal(part.stages[:60], full.stages[:60])
    np.testing.assert_allclose(part.probabilities[:60], full.probabilities[:60], atol=1e-12)
    np.testing.assert_array_equal(full.stages, full.probabilities.argmax(axis=1))
    assert full.meta["lag"] == lag
