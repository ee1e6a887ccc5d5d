"""Virtual sleeper plumbing: determinism, chunking invariance, validation, recordings.

Simulated signals are for plumbing only: nothing here measures or quotes an accuracy.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dreamband.core import Hypnogram, Recording, SleepStage
from dreamband.errors import ChannelNotFoundError
from dreamband.sim import (
    NO_ARTEFACTS,
    SIMULATED_NOTE,
    ArtefactConfig,
    VirtualSleeper,
    simulate_recording,
)

W, N1, N2, N3, R = (
    int(s) for s in (SleepStage.W, SleepStage.N1, SleepStage.N2, SleepStage.N3, SleepStage.REM)
)

# Many artefacts so that pops, dropouts and movements straddle chunk and epoch boundaries.
BUSY = ArtefactConfig(
    pops_per_hour=60.0,
    movement_at_wake=1.0,
    movements_per_hour_wake=60.0,
    movements_per_hour_sleep=30.0,
    dropouts_per_hour=30.0,
    dropout_max_s=20.0,
)


def short_night() -> Hypnogram:
    stages = [W] * 3 + [N1] * 2 + [N2] * 3 + [N3] * 3 + [R] * 3 + [W] * 2 + [-1, N2]
    return Hypnogram(np.array(stages), start_time=datetime(2024, 1, 1, 23, 0), source="test")


def test_same_seed_gives_same_night_and_other_seed_differs():
    hyp = short_night()
    a = VirtualSleeper(hyp, seed=7, artefacts=BUSY).generate(0, 240)
    b = VirtualSleeper(hyp, seed=7, artefacts=BUSY).generate(0, 240)
    c = VirtualSleeper(hyp, seed=8, artefacts=BUSY).generate(0, 240)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
        assert not np.allclose(a[name], c[name])
    ba = VirtualSleeper(hyp, seed=7).beats()
    bb = VirtualSleeper(hyp, seed=7).beats()
    np.testing.assert_array_equal(ba.times, bb.times)
    assert not np.array_equal(ba.times[:50], VirtualSleeper(hyp, seed=8).beats().times[:50])


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cuts=st.lists(st.floats(0.0, 540.0), min_size=1, max_size=6),
    preset=st.sampled_from(["psg", "muse"]),
)
def test_any_chunking_gives_exactly_the_one_call_samples(cuts, preset):
    hyp = short_night()
    whole = VirtualSleeper(hyp, channels=preset, seed=3, artefacts=BUSY).generate(0, hyp.duration)
    edges = [0.0, *sorted(cuts), hyp.duration]
    sleeper = VirtualSleeper(hyp, channels=preset, seed=3, artefacts=BUSY)
    parts = [sleeper.generate(a, b) for a, b in itertools.pairwise(edges)]
    for name in whole:
        np.testing.assert_array_equal(np.concatenate([p[name] for p in parts]), whole[name])


def test_chunks_out_of_order_and_subset_of_channels_do_not_change_samples():
    hyp = short_night()
    full = VirtualSleeper(hyp, channels="full", seed=5, artefacts=BUSY)
    whole = full.generate(0, hyp.duration)
    backwards = VirtualSleeper(hyp, channels="full", seed=5, artefacts=BUSY)
    pieces = [
        backwards.generate(a, min(a + 47.3, hyp.duration))
        for a in np.arange(0, hyp.duration, 47.3)[::-1]
    ]
    for name in whole:
        np.testing.assert_array_equal(np.concatenate([p[name] for p in pieces[::-1]]), whole[name])
    one = VirtualSleeper(hyp, channels=["EOG ROC"], fs=256, seed=5, artefacts=BUSY)
    np.testing.assert_array_equal(one.generate(0, hyp.duration)["EOG ROC"], whole["EOG ROC"])


def test_chunks_iterator_covers_the_night_once():
    hyp = short_night()
    sleeper = VirtualSleeper(hyp, seed=2)
    starts, total = [], 0
    for t, block in sleeper.chunks(7.0):
        starts.append(t)
        total += block["EEG Fpz-Cz"].size
    assert total == sleeper.n_samples == hyp.n_epochs * 30 * 100
    assert starts[0] == 0 and np.all(np.diff(starts) > 0)


def test_beats_in_chunks_equal_beats_of_the_night():
    hyp = short_night()
    sleeper = VirtualSleeper(hyp, seed=4, ectopics_per_hour=200.0)
    whole = sleeper.beats()
    edges = [0.0, 13.3, 100.0, 101.0, 377.7, hyp.duration]
    parts = [sleeper.beats(a, b) for a, b in itertools.pairwise(edges)]
    np.testing.assert_array_equal(np.concatenate([p.times for p in parts]), whole.times)
    np.testing.assert_array_equal(np.concatenate([p.symbols for p in parts]), whole.symbols)
    assert whole.times[0] >= 0 and whole.times[-1] < hyp.duration
    assert "V" in set(whole.symbols)


def test_no_artefacts_means_no_flat_lines_and_busy_artefacts_make_them():
    hyp = short_night()
    clean = VirtualSleeper(hyp, seed=1, artefacts=NO_ARTEFACTS).generate(0, hyp.duration)
    busy = VirtualSleeper(hyp, seed=1, artefacts=BUSY).generate(0, hyp.duration)
    for name in clean:
        assert np.count_nonzero(clean[name] == 0.0) < 5
    zeros = sum(np.count_nonzero(busy[name] == 0.0) for name in busy)
    assert zeros > 100  # dropouts are exact flat lines at 0
    eeg = "EEG Pz-Oz"  # no eye movements here: the large deflections are the artefacts
    assert np.max(np.abs(busy[eeg])) > 2 * np.max(np.abs(clean[eeg]))


def test_bad_inputs_raise_one_line_errors():
    hyp = short_night()
    with pytest.raises(ChannelNotFoundError, match="EEG Cz"):
        VirtualSleeper(hyp, channels=["EEG Cz"])
    with pytest.raises(ValueError, match="channels must be one of"):
        VirtualSleeper(hyp, channels="emotiv")
    with pytest.raises(ValueError, match="whole number of samples"):
        VirtualSleeper(hyp, fs=100.01)
    with pytest.raises(ValueError, match="fs must be"):
        VirtualSleeper(hyp, fs=-1)
    with pytest.raises(ValueError, match="seed"):
        VirtualSleeper(hyp, seed=-3)
    with pytest.raises(ValueError, match="no epochs"):
        VirtualSleeper(Hypnogram(np.array([], dtype=np.int8)))
    with pytest.raises(TypeError, match="Hypnogram"):
        VirtualSleeper([0, 1, 2])
    sleeper = VirtualSleeper(hyp)
    with pytest.raises(ValueError, match="outside the simulated night"):
        sleeper.generate(0, hyp.duration + 30)
    with pytest.raises(ValueError, match="outside the simulated night"):
        sleeper.beats(-1, 10)
    with pytest.raises(ValueError, match="dropout_max_s"):
        ArtefactConfig(dropout_max_s=100)
    with pytest.raises(ValueError, match="pops_per_hour"):
        ArtefactConfig(pops_per_hour=-1)


def test_wearable_hypnogram_and_empty_span_are_accepted():
    hyp = Hypnogram(np.array([0, 1, 1, 2, 0], dtype=np.int8), scheme="wearable")
    sleeper = VirtualSleeper(hyp, channels="muse", seed=0)
    assert sleeper.fs == 256.0
    out = sleeper.generate(10.0, 10.0)
    assert all(x.size == 0 for x in out.values())
    assert sleeper.generate(0, 150)["AF7"].size == 150 * 256


def test_simulate_recording_is_the_streamed_night_and_is_labelled():
    hyp = replace(short_night(), offset=600.0)
    rec = simulate_recording(hyp, channels="psg", seed=9, participant="v01", chunk_s=61.0)
    assert isinstance(rec, Recording)
    assert rec.names == ["EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal", "EMG submental"]
    assert [c.kind for c in rec.channels] == ["eeg", "eeg", "eog", "emg"]
    assert rec.duration == pytest.approx(hyp.duration)
    assert rec.meta["simulated"] is True and rec.meta["note"] == SIMULATED_NOTE
    assert "never an accuracy figure" in SIMULATED_NOTE
    assert rec.meta["hypnogram"].offset == 0.0
    streamed = VirtualSleeper(hyp, seed=9).generate(0, hyp.duration)
    for c in rec.channels:
        np.testing.assert_array_equal(c.data, streamed[c.name])
    assert len(rec.meta["beats"]) > hyp.duration / 60 * 40


def test_heart_rate_and_activity_series_are_whole_seconds_and_plausible():
    hyp = short_night()
    sleeper = VirtualSleeper(hyp, seed=11, artefacts=BUSY)
    secs, bpm = sleeper.heart_rate(0.5, 300.0)
    assert secs[0] == 1.0 and secs[-1] == 299.0
    ok = np.isfinite(bpm)
    assert ok[5:].all()
    assert np.all(bpm[ok] == np.round(bpm[ok])) and 40 <= bpm[ok].min() and bpm[ok].max() <= 130
    s1, g1 = sleeper.activity(0, hyp.duration)
    s2, g2 = sleeper.activity(0, 200)
    s3, g3 = sleeper.activity(200, hyp.duration)
    np.testing.assert_array_equal(np.concatenate([g2, g3]), g1)
    np.testing.assert_array_equal(np.concatenate([s2, s3]), s1)
    sleeping = np.repeat(np.isin(hyp.stages, [N2, N3]), 30)
    assert np.median(g1[~sleeping]) > np.median(g1[sleeping])


def test_every_sim_module_and_public_entry_point_says_never_an_accuracy_figure():
    import importlib
    import pkgutil

    import dreamband.sim as sim

    modules = [sim] + [importlib.import_module(f"dreamband.sim.{m.name}")
                       for m in pkgutil.iter_modules(sim.__path__)]
    for module in modules:
        assert "never an accuracy figure" in (module.__doc__ or "").lower(), module.__name__
    for obj in (VirtualSleeper, VirtualSleeper.generate, VirtualSleeper.chunks,
                VirtualSleeper.beats, VirtualSleeper.heart_rate, VirtualSleeper.activity,
                simulate_recording, sim.write_edf, ArtefactConfig):
        assert "never an accuracy figure" in obj.__doc__.lower(), obj.__qualname__


def test_electrode_pops_are_steep_steps_absent_from_a_clean_night():
    hyp = short_night()
    pops = ArtefactConfig(pops_per_hour=120.0, movement_at_wake=0.0, movements_per_hour_wake=0.0,
                          movements_per_hour_sleep=0.0, dropouts_per_hour=0.0)
    name = "EEG Pz-Oz"
    clean = VirtualSleeper(hyp, seed=12, artefacts=NO_ARTEFACTS).generate(0, hyp.duration)[name]
    popped = VirtualSleeper(hyp, seed=12, artefacts=pops).generate(0, hyp.duration)[name]
    assert np.count_nonzero(np.abs(np.diff(clean)) > 90.0) == 0
    assert np.count_nonzero(np.abs(np.diff(popped)) > 90.0) >= 5


def test_movement_bursts_follow_transitions_to_wake():
    hyp = short_night()  # sleep -> wake at epoch 14 (and unscored, simulated as wake, at 19)
    only_wake_moves = ArtefactConfig(pops_per_hour=0.0, movement_at_wake=1.0,
                                     movements_per_hour_wake=0.0, movements_per_hour_sleep=0.0,
                                     dropouts_per_hour=0.0)
    sleeper = VirtualSleeper(hyp, seed=13, artefacts=only_wake_moves)
    secs, g = sleeper.activity()
    woke = np.flatnonzero((hyp.stages[1:] <= 0) & (hyp.stages[:-1] > 0)) + 1
    near = np.zeros(secs.size, bool)
    for k in woke:
        near |= (secs >= k * 30) & (secs < k * 30 + 20)
    assert woke.size >= 1
    assert g[near].max() > 0.04 and g[~near].max() < 0.04
    emg = sleeper.generate(0, hyp.duration)["EMG submental"].astype(float)
    peak = np.abs(emg.reshape(hyp.n_epochs, -1)).max(1)
    assert peak[woke[0]] > 3 * peak[woke[0] + 1]
