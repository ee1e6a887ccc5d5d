"""Epochs on a shared grid: chunking-invariant, gaps never invented, late samples dropped."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dreamband.live.epocher import EpochGrid, RegularEpocher


def stream(n_epochs: int = 4, fs: float = 10.0, origin: float = 100.0, lag: float = 0.0):
    n = int(n_epochs * 30 * fs)
    t = origin + lag + np.arange(n) / fs
    x = np.vstack([np.sin(t), np.cos(t)])
    return x, t


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 700), min_size=1, max_size=30))
def test_any_chunking_gives_the_same_epochs(cuts: list[int]) -> None:
    x, t = stream()
    edges = np.unique(np.clip(np.cumsum(cuts), 0, t.size))
    whole = RegularEpocher(EpochGrid(100.0), 10.0, 2)
    ref = whole.push(x, t) + whole.flush(220.5)
    ep = RegularEpocher(EpochGrid(100.0), 10.0, 2)
    got = []
    for a, b in zip(np.r_[0, edges], np.r_[edges, t.size]):
        got += ep.push(x[:, a:b], t[a:b])
    got += ep.flush(220.5)
    assert [e.index for e in got] == [e.index for e in ref] == [0, 1, 2, 3]
    for a, b in zip(got, ref):
        np.testing.assert_array_equal(a.data, b.data)


def test_epochs_of_two_participants_line_up_on_the_grid() -> None:
    grid = EpochGrid(100.0)
    xa, ta = stream(lag=0.0)
    xb, tb = stream(lag=12.3)  # joined 12.3 s later
    a = RegularEpocher(grid, 10.0, 2).push(xa, ta)
    b = RegularEpocher(grid, 10.0, 2).push(xb, tb)
    assert [e.start for e in a[:3]] == [100.0, 130.0, 160.0]
    assert b[0].start == 100.0 and b[0].missing == pytest.approx(12.3 / 30, abs=0.01)
    assert b[0].data is None  # 41 % missing: unscored, not invented
    assert b[1].start == 130.0 and b[1].missing == 0.0


def test_a_small_gap_is_bridged_and_reported_a_large_one_unscores() -> None:
    x, t = stream()
    keep = np.ones(t.size, bool)
    keep[50:80] = False  # 3 s of epoch 0 lost (10 %)
    keep[320:600] = False  # 28 s of epoch 1 lost
    ep = RegularEpocher(EpochGrid(100.0), 10.0, 2, max_missing=0.2)
    out = ep.push(x[:, keep], t[keep])
    assert out[0].missing == pytest.approx(0.1) and out[0].data is not None
    line = np.interp(np.arange(50, 80), [49, 80], [x[0, 49], x[0, 80]])
    np.testing.assert_allclose(out[0].data[0, 50:80], line)  # bridged linearly, flagged
    assert out[1].data is None and out[1].missing == pytest.approx(28 / 30)


def test_silent_band_is_flushed_as_unscored_and_late_samples_counted() -> None:
    x, t = stream(n_epochs=1)
    ep = RegularEpocher(EpochGrid(100.0), 10.0, 2)
    assert ep.push(x[:, :150], t[:150]) == []
    out = ep.flush(now=t[0] + 75.0)  # nothing more arrived for 75 s
    assert [e.index for e in out] == [0, 1]
    assert out[0].missing == pytest.approx(0.5) and out[1].data is None
    ep.push(x[:, 10:20], t[10:20])  # a delayed duplicate of epoch 0
    assert ep.late_samples == 10


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="fs must be a positive number"):
        RegularEpocher(EpochGrid(0.0), 0.0, 1)
    ep = RegularEpocher(EpochGrid(0.0), 10.0, 2)
    with pytest.raises(ValueError, match=r"expected samples of shape \(2, n\)"):
        ep.push(np.zeros((3, 5)), np.arange(5.0))
