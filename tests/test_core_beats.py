"""BeatSeries: validation and RR properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dreamband.core import BeatSeries


@given(st.lists(st.floats(0.3, 2.0), min_size=1, max_size=100), st.floats(0, 1000))
def test_rr_reproduces_the_intervals(rr, t0):
    times = t0 + np.concatenate([[0.0], np.cumsum(rr)])
    b = BeatSeries(times)
    np.testing.assert_allclose(b.rr, rr, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(b.rr_times, times[1:])
    assert b.duration == pytest.approx(sum(rr))
    assert len(b) == len(rr) + 1


def test_validation_names_the_bad_beat():
    with pytest.raises(ValueError, match="strictly increasing; beat 2"):
        BeatSeries(np.array([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="not finite"):
        BeatSeries(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="1-D"):
        BeatSeries(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="2 beat symbols for 3"):
        BeatSeries(np.array([0.0, 1.0, 2.0]), symbols=np.array(["N", "N"]))


def test_short_series_have_zero_duration():
    assert BeatSeries(np.array([5.0])).duration == 0.0
    assert BeatSeries(np.array([])).rr.size == 0
