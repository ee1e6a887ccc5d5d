"""Heart signal preparation: RR cleaning, HR cleaning, gridding (synthetic beat trains)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dreamband.heart.grid import GRID_FS, hold_on_grid, prepare_beats, prepare_hr
from dreamband.heart.rr import clean_hr, clean_rr, rr_from_beats


def sinus_train(n: int = 1200, seed: int = 0) -> np.ndarray:
    """Beat times of a sinus rhythm around 0.9 s with respiratory modulation."""
    rng = np.random.default_rng(seed)
    t, out = 0.0, []
    for _ in range(n):
        rr = 0.9 + 0.04 * np.sin(2 * np.pi * 0.25 * t) + rng.normal(0, 0.01)
        t += rr
        out.append(t)
    return np.array(out)


def with_ectopics(times: np.ndarray, where: list[int]) -> tuple[np.ndarray, list[int]]:
    """Insert a premature beat at 60 % of interval ``i`` for each i; returns new times and
    the indices (in the new RR array) of the two intervals around each ectopic beat."""
    times = list(times)
    bad: list[int] = []
    for shift, i in enumerate(sorted(where)):
        k = i + shift
        t_new = times[k] + 0.6 * (times[k + 1] - times[k])
        times.insert(k + 1, t_new)
        bad += [k, k + 1]
    return np.array(times), bad


def test_clean_rr_keeps_a_clean_sinus_rhythm():
    _, _, valid = rr_from_beats(sinus_train())
    assert valid.mean() > 0.99


def test_clean_rr_rejects_injected_ectopic_beats():
    times, bad = with_ectopics(sinus_train(), [100, 300, 301 + 40, 700, 1000])
    _, _, valid = rr_from_beats(times)
    assert not valid[bad].any()
    good = np.setdiff1d(np.arange(valid.size), bad)
    assert valid[good].mean() > 0.98


def test_beat_symbols_invalidate_both_intervals_around_an_ectopic():
    times = sinus_train(200)
    symbols = np.full(times.size, "N")
    symbols[50] = "V"
    _, _, valid = rr_from_beats(times, symbols)
    assert not valid[49] and not valid[50]
    assert valid[48] and valid[51]


def test_gap_longer_than_max_rr_is_never_bridged():
    times = sinus_train(400)
    gap = (times > 100) & (times < 130)
    times = times[~gap]
    _, rr, valid = rr_from_beats(times)
    spanning = np.flatnonzero(rr > 2.0)
    assert spanning.size == 1 and not valid[spanning[0]]
    # The grid is NaN inside the gap, finite on either side.
    grid = prepare_beats(times).on_grid()
    tau = np.arange(grid.size) / GRID_FS
    assert np.all(np.isnan(grid[(tau > 105) & (tau < 128)]))
    assert np.all(np.isfinite(grid[(tau > 20) & (tau < 95)]))


def test_out_of_range_intervals_are_rejected():
    rr = np.array([0.9, 0.9, 0.25, 0.9, 2.5, 0.9, 0.9])
    valid = clean_rr(rr)
    assert valid.tolist() == [True, True, False, True, False, True, True]


def test_clean_rr_rejects_bad_arguments():
    with pytest.raises(ValueError, match="min_rr"):
        clean_rr(np.ones(5), min_rr=2.0, max_rr=1.0)
    with pytest.raises(ValueError, match="symbols_ok"):
        clean_rr(np.ones(5), np.ones(4, dtype=bool))


@settings(max_examples=40, deadline=None)
@given(
    rr=st.lists(st.floats(0.2, 2.5), min_size=5, max_size=200),
    cut=st.integers(1, 200),
)
def test_clean_rr_is_causal_prefix_gives_same_flags(rr, cut):
    rr = np.array(rr)
    cut = min(cut, rr.size)
    np.testing.assert_array_equal(clean_rr(rr[:cut]), clean_rr(rr)[:cut])


def test_clean_hr_drops_spikes_and_implausible_values():
    hr = np.full(120, 60.0)
    hr[30] = 140.0  # spike
    hr[60] = 10.0  # implausible
    valid = clean_hr(hr)
    assert not valid[30] and not valid[60]
    assert valid.sum() == 118


def test_hold_on_grid_holds_last_valid_value_and_marks_stale_samples():
    t = np.array([0.5, 1.0, 1.5, 10.0])
    v = np.array([1.0, 2.0, 3.0, 4.0])
    valid = np.array([True, True, False, True])
    g = hold_on_grid(t, v, valid, fs=2.0, n=24, max_age=3.0)
    assert np.isnan(g[0])
    assert g[1] == 1.0 and g[2] == 2.0 and g[3] == 2.0  # 1.5 s sample is invalid
    assert np.isnan(g[10])  # 5 s after the last valid sample
    assert g[20] == 4.0


def test_prepare_hr_converts_bpm_to_intervals():
    t = np.arange(0, 600, 1.0)
    hs = prepare_hr(t, np.full(t.size, 75.0))
    assert hs.kind == "hr"
    grid = hs.on_grid()
    np.testing.assert_allclose(grid[np.isfinite(grid)], 0.8)
