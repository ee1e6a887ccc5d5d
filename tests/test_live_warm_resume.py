"""A resumed session's stagers continue warm from the session's raw streams.

The check is exact: a session that crashed and was resumed stages every epoch after the
restart as a session that never crashed but whose bands were silent during the outage.
Virtual sleepers: plumbing only, never accuracy.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from test_live_helpers import eeg_blocks, rr_blocks, sleeper

from dreamband.live import history
from dreamband.live.engine import LiveEngine, Resume
from dreamband.live.epocher import EpochGrid

pytestmark = pytest.mark.usefixtures("heart_models")

ORIGIN = 1000.0       # the first run's grid origin on its clock
ORIGIN_2 = 50000.0    # the same grid origin on the resumed run's clock
N_EPOCHS = 60
CRASH = ORIGIN + 30 * 30 + 7.0     # mid-epoch 30
FIRST = 36                          # first epoch of the resumed run
RESTART = ORIGIN + FIRST * 30


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _streams(sl):
    """EEG and RR blocks of the night in host-time order, as (participant, block)."""
    eeg = [("ann", b) for b in eeg_blocks(sl, ORIGIN, block=256)]
    rr = [("bob", b) for b in rr_blocks(sl.beats().times, ORIGIN, per_block=2)]
    return sorted(eeg + rr, key=lambda x: float(x[1].host_time[-1]))


def _add(eng: LiveEngine, sl) -> None:
    eng.add_participant("ann", "eeg", sl.channels, sl.fs)
    eng.add_participant("bob", "heart", ("rr",), None)


def _stages(events, since: int) -> dict[tuple[str, int], tuple]:
    return {(e.participant, e.epoch): (e.data["stage"], e.data["probabilities"])
            for e in events if e.kind == "stage" and e.epoch >= since}


def _shift(block, by: float):
    return replace(block, host_time=block.host_time + by, device_time=block.device_time)


def _silent_outage(sl, forecast_every: int = 0) -> list:
    """One run whose bands are silent from the crash to the restart."""
    eng = LiveEngine(EpochGrid(ORIGIN), clock=Clock(), forecast_every=forecast_every,
                     grace=0.0)
    _add(eng, sl)
    events = []
    ticked = False
    for who, b in _streams(sl):
        t = float(b.host_time[0])
        if CRASH <= t < RESTART:
            continue
        if t >= RESTART and not ticked:
            events += eng.tick(RESTART)  # the outage's epochs close unscored
            ticked = True
        events += eng.push(who, b)
    return events


def _crash_and_resume(sl, folder: Path, warm: bool = True,
                      forecast_every: int = 0) -> tuple[list, LiveEngine]:
    first = LiveEngine(EpochGrid(ORIGIN), session_dir=folder, clock=Clock(),
                       forecast_every=forecast_every, grace=0.0)
    _add(first, sl)
    later = []
    for who, b in _streams(sl):
        t = float(b.host_time[0])
        if t < CRASH:
            first.push(who, b)
        elif t >= RESTART:
            later.append((who, _shift(b, ORIGIN_2 - ORIGIN)))
    first.recorder.flush()
    first.recorder.raw.flush()  # every sample on disk (a real crash loses the last second)
    resumed = LiveEngine(EpochGrid(ORIGIN_2), session_dir=folder, clock=Clock(),
                         forecast_every=forecast_every, grace=0.0,
                         resume=Resume(FIRST, 29, datetime(2026, 12, 6, 3, 0), ORIGIN),
                         warm_resume=warm)
    _add(resumed, sl)
    events = []
    for who, b in later:
        events += resumed.push(who, b)
    return events, resumed


def test_a_resumed_session_stages_as_if_its_bands_had_only_been_silent(tmp_path) -> None:
    sl = sleeper(N_EPOCHS, seed=3)
    want = _stages(_silent_outage(sl), FIRST)
    got_events, _ = _crash_and_resume(sl, tmp_path / "session")
    got = _stages(got_events, FIRST)
    assert {k for k in got if k[0] == "ann"} and {k for k in got if k[0] == "bob"}
    assert got.keys() <= want.keys() and len(got) >= 2 * (N_EPOCHS - FIRST - 2)
    for key, (stage, probs) in got.items():
        assert stage == want[key][0], key
        if probs is not None:
            np.testing.assert_allclose(list(probs.values()), list(want[key][1].values()),
                                       rtol=0, atol=1e-9, err_msg=str(key))
    assert min(e.epoch for e in got_events if e.kind == "stage") == FIRST  # nothing older
    # the replayed samples were not recorded a second time
    from dreamband.storage.raw_signals import open_raw_folder

    raw = open_raw_folder(tmp_path / "session")
    (band,) = raw.bands_of("ann")
    t = raw.table(band, "eeg").column("host_time").to_numpy()
    assert np.unique(t).size == t.size


@pytest.mark.parametrize("how", ["warm_resume=False", "no raw samples"])
def test_without_the_earlier_samples_the_restart_is_cold_and_stages_differ(
        tmp_path, monkeypatch, how) -> None:
    """The same resume with nothing replayed (asked for, or nothing recorded): the stages
    after the restart are not those of the silent-outage run (so the test above can fail)."""
    sl = sleeper(N_EPOCHS, seed=3)
    want = _stages(_silent_outage(sl), FIRST)
    if how == "no raw samples":
        monkeypatch.setattr(history, "history_blocks", lambda *a, **k: iter(()))
    got = _stages(_crash_and_resume(sl, tmp_path / "session", warm=how != "warm_resume=False")[0],
                  FIRST)
    differ = [k for k in got if k[0] == "ann" and got[k][1] is not None
              and not np.allclose(list(got[k][1].values()), list(want[k][1].values()))]
    assert differ


def test_history_of_a_folder_without_raw_streams_or_channels_is_empty_with_a_warning(
        tmp_path, caplog) -> None:
    """A resume goes on cold, with a logged reason, when nothing can be replayed."""
    assert list(history.history_blocks(tmp_path, "ann", "eeg", ("AF7",), 0.0)) == []
    assert "restarts cold" in caplog.text
    sl = sleeper(4)
    eng = LiveEngine(EpochGrid(ORIGIN), session_dir=tmp_path / "s", clock=Clock())
    eng.add_participant("ann", "eeg", sl.channels, sl.fs)
    for b in eeg_blocks(sl, ORIGIN, block=256):
        eng.push("ann", b)
    eng.recorder.raw.flush()
    caplog.clear()
    got = list(history.history_blocks(tmp_path / "s", "ann", "eeg", ("Fpz",), ORIGIN_2))
    assert got == [] and "recorded no eeg channel Fpz" in caplog.text
    blocks = list(history.history_blocks(tmp_path / "s", "ann", "eeg", ("AF7",), ORIGIN_2))
    assert blocks[0].channels == ("AF7",) and blocks[0].n_samples == 30 * sl.fs
    t = np.concatenate([b.host_time for b in blocks])
    np.testing.assert_allclose(t[:3] - ORIGIN_2, np.arange(3) / sl.fs)
    assert t.size == 4 * 30 * sl.fs


@pytest.mark.parametrize("warm", [True, False])
def test_the_group_forecast_after_a_resume_knows_the_night_so_far(tmp_path, warm) -> None:
    """Each participant's night tracker is fed the journaled night of the earlier run, so the
    next-group-window forecasts after the restart are those of the silent-outage run (the
    forecast's draws are seeded by epoch); restarted cold, they are not."""
    sl = sleeper(N_EPOCHS, seed=3)

    def forecasts(events):
        return {e.epoch: e.data for e in events if e.kind == "forecast" and e.epoch >= FIRST}

    want = forecasts(_silent_outage(sl, forecast_every=4))
    got = forecasts(_crash_and_resume(sl, tmp_path / "s", warm, forecast_every=4)[0])
    assert got and got.keys() == want.keys()
    same = [got[j]["start_s"] == want[j]["start_s"] for j in got]
    assert all(same) if warm else not any(same)
    assert not [e for e in _crash_and_resume(sl, tmp_path / "t", warm)[0]
                if e.kind.startswith("group_") and e.epoch < FIRST]  # no window of the past
