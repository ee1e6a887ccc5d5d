"""Stage converters: every dataset coding maps to SleepStage, and round-trips where it should."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dreamband.core.stages import (
    FIVE_CLASS,
    THREE_CLASS,
    SleepStage,
    WearableStage,
    from_dreams,
    from_rk,
    from_slpdb,
    parse_stage,
    stages_from_ints,
    to_wearable,
)

stage_st = st.sampled_from(list(SleepStage))


@given(stage_st)
def test_label_parses_back_to_the_same_stage(stage):
    assert parse_stage(stage.label) is stage
    assert parse_stage(stage.label.lower()) is stage


@given(stage_st)
def test_int_value_round_trips(stage):
    assert SleepStage(int(stage)) is stage
    assert stages_from_ints([int(stage)]).tolist() == [int(stage)]


@given(stage_st)
def test_to_wearable_preserves_wake_rem_and_unscored(stage):
    w = to_wearable(stage)
    if stage in (SleepStage.N1, SleepStage.N2, SleepStage.N3):
        assert w is WearableStage.NREM
    else:
        assert w.name == stage.name


@given(st.lists(stage_st, max_size=50))
def test_collapsing_to_wearable_twice_changes_nothing(stages):
    from dreamband.core import Hypnogram

    hyp = Hypnogram(np.array([int(s) for s in stages], dtype=np.int8))
    once = hyp.to_wearable()
    assert once.to_wearable() is once
    assert once.stages.tolist() == [int(to_wearable(s)) for s in stages]


@given(
    st.sampled_from(["W", "1", "2", "3", "4", "R"]),
    st.lists(st.sampled_from(["HA", "OA", "X", "A", "LA"]), max_size=3),
    st.booleans(),
)
def test_slpdb_first_token_is_the_stage(code, events, nul):
    aux = " ".join([code, *events]) + ("\x00" if nul else "")
    expected = {"W": 0, "1": 1, "2": 2, "3": 3, "4": 3, "R": 4}[code]
    assert from_slpdb(aux) == expected


def test_rk_labels_merge_s3_s4_and_unscore_movement():
    assert from_rk("Sleep stage 3") is from_rk("Sleep stage 4") is SleepStage.N3
    assert from_rk("Movement time") is SleepStage.UNSCORED
    assert from_rk("Sleep stage ?") is SleepStage.UNSCORED
    assert from_rk("Sleep stage R") is SleepStage.REM
    with pytest.raises(ValueError, match="Sleep stage 5"):
        from_rk("Sleep stage 5")


@given(st.integers(-3, 5))
def test_dreams_codes_match_the_published_key(code):
    expected = {5: 0, 4: 4, 3: 1, 2: 2, 1: 3, 0: 3}.get(code, -1)
    assert from_dreams(code) == expected


def test_bad_codes_raise_value_errors_naming_the_value():
    with pytest.raises(ValueError, match="'S5'"):
        parse_stage("S5")
    with pytest.raises(ValueError, match="7"):
        from_dreams(7)
    with pytest.raises(ValueError, match="'Z'"):
        from_slpdb("Z HA")
    with pytest.raises(ValueError, match="9"):
        stages_from_ints([0, 9])
    with pytest.raises(ValueError, match="integers"):
        stages_from_ints(np.array([0.5]))


def test_probability_column_orders():
    assert [s.label for s in FIVE_CLASS] == ["W", "N1", "N2", "N3", "REM"]
    assert [s.label for s in THREE_CLASS] == ["W", "NREM", "REM"]
