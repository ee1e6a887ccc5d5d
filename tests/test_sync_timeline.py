"""Timeline: placement on one clock, common epoch grid, absence, hysteresis."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from dreamband.core.hypnogram import Hypnogram
from dreamband.sync.timeline import (
    ABSENT,
    NOT_REM,
    REM,
    Hysteresis,
    build_timeline,
    hysteresis,
)

W, N2, R, U = 0, 2, 4, -1


def _hyp(stages, start=None, epoch=30.0, probs=None):
    return Hypnogram(
        np.array(stages, dtype=np.int8), epoch_length=epoch, start_time=start, probabilities=probs
    )


def test_date_alignment_places_late_joiner_as_absent_not_as_not_rem():
    a = _hyp([W, N2, R, R], datetime(2024, 1, 1, 23, 0, 0))
    b = _hyp([R, R], datetime(2024, 1, 1, 23, 1, 0))
    tl = build_timeline({"a": a, "b": b}, align="date")
    assert tl.align == "date" and tl.origin == datetime(2024, 1, 1, 23, 0, 0)
    assert tl.states.tolist() == [[NOT_REM, NOT_REM, REM, REM], [ABSENT, ABSENT, REM, REM]]


def test_clock_alignment_overlaps_nights_from_different_dates():
    a = _hyp([R] * 4, datetime(1989, 4, 24, 23, 0, 0))
    b = _hyp([R] * 4, datetime(1989, 6, 5, 0, 1, 0))  # after midnight, another date
    tl = build_timeline({"a": a, "b": b}, align="clock")
    assert tl.align == "clock" and tl.origin.strftime("%H:%M") == "23:00"
    assert tl.n_epochs == 122 + 4  # 61 min (122 epochs) apart, plus b's 4 epochs
    assert tl.states[1, 122] == REM and tl.states[1, 121] == ABSENT
    auto = build_timeline({"a": a, "b": b})  # starts span > 24 h -> clock
    assert auto.align == "clock"


def test_offsets_shift_a_participant_later():
    a = _hyp([R, R, W, W])
    b = _hyp([R, R, W, W])
    tl = build_timeline({"a": a, "b": b}, offsets={"b": 60})
    assert tl.states[1].tolist() == [ABSENT, ABSENT, REM, REM, NOT_REM, NOT_REM]
    with pytest.raises(ValueError, match="unknown participant 'c'"):
        build_timeline({"a": a}, offsets={"c": 1})


def test_finer_epochs_snap_to_the_common_grid_by_midpoint():
    fine = _hyp([W, R, R, R, W, W], datetime(2024, 1, 1, 23), epoch=20.0)  # 0-120 s
    coarse = _hyp([W, W, W, W], datetime(2024, 1, 1, 23), epoch=30.0)
    tl = build_timeline({"f": fine, "c": coarse})
    assert tl.epoch_length == 30.0
    # 30-s midpoints 15, 45, 75, 105 fall in 20-s epochs 0, 2, 3, 5
    assert tl.states[0].tolist() == [NOT_REM, REM, REM, NOT_REM]


def test_unscored_epochs_are_absent():
    tl = build_timeline({"a": _hyp([R, U, R])})
    assert tl.states[0].tolist() == [REM, ABSENT, REM]


def test_mixed_known_and_unknown_start_times_is_an_error():
    with pytest.raises(ValueError, match="'b' has no start time"):
        build_timeline({"a": _hyp([R], datetime(2024, 1, 1)), "b": _hyp([R])})


def test_hysteresis_enters_at_p_on_leaves_below_p_off_and_nan_is_absent():
    p = np.array([[0.5, 0.7, 0.5, 0.45, 0.3, np.nan, 0.5, 0.65]])
    assert hysteresis(p, 0.6, 0.4)[0].tolist() == [0, 1, 1, 1, 0, ABSENT, 0, 1]
    live = Hysteresis(1, 0.6, 0.4)
    assert [int(live.step(p[:, j])[0]) for j in range(p.shape[1])] == hysteresis(p)[0].tolist()
    with pytest.raises(ValueError, match="p_off <= p_on"):
        Hysteresis(1, 0.3, 0.5)


def test_probabilities_drive_rem_state_and_confidence():
    probs = np.zeros((4, 5))
    probs[:, 4] = [0.2, 0.7, 0.5, 0.1]
    probs[:, 2] = 1 - probs[:, 4]
    tl = build_timeline({"a": _hyp([N2, R, N2, N2], probs=probs)}, use_probabilities=True)
    assert tl.states[0].tolist() == [NOT_REM, REM, REM, NOT_REM]
    assert tl.confidence[0].tolist() == [0.2, 0.7, 0.5, 0.1]
