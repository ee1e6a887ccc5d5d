"""BeatSeries: validation and RR properties; beats from intervals with their closing times."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dreamband.core import BeatSeries
from dreamband.core.beats import beats_from_intervals


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


@given(st.lists(st.tuples(st.floats(0.3, 2.0), st.booleans(), st.floats(-4e-7, 4e-7)),
                min_size=1, max_size=80), st.floats(-1, 1000))
def test_beats_from_intervals_keeps_every_interval_and_spans_no_gap(rows, t0):
    """Intervals with their closing beats, some rows lost, times rounded: the beats are
    exactly those the kept intervals touch, so every kept interval is an interval of the
    result and a lost stretch is a gap, not an interval."""
    rr = np.array([r for r, _, _ in rows])
    beats = t0 + np.concatenate([[0.0], np.cumsum(rr)])
    keep = np.array([k for _, k, _ in rows])
    if not keep.any():
        keep[0] = True
    noise = np.array([e for _, _, e in rows])
    closes, kept_rr = beats[1:][keep] + noise[keep], rr[keep]
    got = beats_from_intervals(closes, kept_rr)
    touched = np.unique(np.concatenate([np.flatnonzero(keep), np.flatnonzero(keep) + 1]))
    np.testing.assert_allclose(got, beats[touched], atol=1e-6)
    pos = np.searchsorted(got, closes - 1e-6)
    np.testing.assert_allclose(np.diff(got)[pos - 1], kept_rr, atol=2e-6)


def test_beats_from_intervals_of_nothing():
    assert beats_from_intervals(np.array([]), np.array([])).size == 0
