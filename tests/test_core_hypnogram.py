"""Hypnogram: validation, statistics against independent counts, slicing and the in-bed crop."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dreamband.core import Hypnogram, SleepStage

codes = st.lists(st.sampled_from([-1, 0, 1, 2, 3, 4]), min_size=0, max_size=200)


@given(codes, st.sampled_from([20.0, 30.0]))
def test_minutes_per_stage_matches_a_counter(stages, epoch):
    hyp = Hypnogram(np.array(stages, dtype=np.int8), epoch_length=epoch)
    counts = Counter(stages)
    minutes = hyp.minutes_per_stage()
    for stage in SleepStage:
        assert minutes[stage.label] == pytest.approx(counts.get(int(stage), 0) * epoch / 60)
    assert sum(minutes.values()) == pytest.approx(hyp.duration / 60)


@given(codes, st.integers(0, 250), st.integers(0, 250))
def test_slice_moves_offset_and_start_time(stages, a, b):
    start = datetime(2020, 1, 1, 22, 0, 0)
    hyp = Hypnogram(np.array(stages, dtype=np.int8), start_time=start, offset=12.0)
    part = hyp.slice_epochs(a, b)
    lo = min(a, hyp.n_epochs)
    assert part.stages.tolist() == stages[a:b]
    assert part.offset == 12.0 + lo * 30
    assert part.start_time == start + timedelta(seconds=lo * 30)


@given(st.lists(st.sampled_from([0, 1, 2, 3, 4, -1]), min_size=1, max_size=300))
def test_crop_in_bed_keeps_every_sleep_epoch_and_the_margin(stages):
    hyp = Hypnogram(np.array(stages, dtype=np.int8))
    sleep = [i for i, s in enumerate(stages) if s > 0]
    if not sleep:
        with pytest.raises(ValueError, match="no sleep"):
            hyp.crop_in_bed()
        return
    crop = hyp.crop_in_bed(margin=300)
    first = max(0, sleep[0] - 10)
    last = min(len(stages), sleep[-1] + 1 + 10)
    assert crop.offset == first * 30
    assert crop.n_epochs == last - first
    assert int(np.sum(crop.stages > 0)) == len(sleep)


def test_validation_rejects_bad_input_with_named_fields():
    with pytest.raises(ValueError, match="1-D"):
        Hypnogram(np.zeros((2, 2), dtype=np.int8))
    with pytest.raises(ValueError, match="integer"):
        Hypnogram(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="invalid stage code 7 at epoch 1"):
        Hypnogram(np.array([0, 7]))
    with pytest.raises(ValueError, match="invalid stage code 3"):
        Hypnogram(np.array([0, 3]), scheme="wearable")
    with pytest.raises(ValueError, match="scheme must be one of"):
        Hypnogram(np.array([3]), scheme="rk")
    with pytest.raises(ValueError, match="epoch_length"):
        Hypnogram(np.array([0]), epoch_length=0)
    with pytest.raises(ValueError, match="probabilities must have shape"):
        Hypnogram(np.array([0, 1]), probabilities=np.ones((2, 3)))


@given(st.lists(st.sampled_from([0, 1, 2, 3, 4]), min_size=1, max_size=50), st.integers(0, 2**31))
def test_to_wearable_sums_nrem_probabilities(stages, seed):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(5), size=len(stages))
    hyp = Hypnogram(np.array(stages), probabilities=p)
    w = hyp.to_wearable()
    assert w.scheme == "wearable"
    np.testing.assert_allclose(w.probabilities.sum(axis=1), 1.0)
    np.testing.assert_allclose(w.probabilities[:, 1], p[:, 1:4].sum(axis=1))
    np.testing.assert_allclose(w.probabilities[:, [0, 2]], p[:, [0, 4]])


def test_labels_and_onsets():
    hyp = Hypnogram(np.array([0, 1, -1, 4]), offset=5.0)
    assert hyp.labels() == ["W", "N1", "?", "REM"]
    np.testing.assert_allclose(hyp.onsets, [5, 35, 65, 95])
    assert len(hyp) == 4


@pytest.mark.data
def test_sc4001_in_bed_crop_gives_841_epochs(sleep_edf_dir):
    from dreamband.io.sleepedf import read_sleepedf_hypnogram

    path = sleep_edf_dir / "SC4001EC-Hypnogram.edf"
    if not path.exists():
        pytest.skip(f"{path} not present")
    crop = read_sleepedf_hypnogram(path).crop_in_bed()
    assert crop.n_epochs == 841
    assert crop.offset == 28830.0
    assert crop.start_time == datetime(1989, 4, 24, 16, 13) + timedelta(seconds=28830)
