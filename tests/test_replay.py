"""Replay through the virtual bleak backend into the live engine (plumbing only: simulated
signals never give an accuracy figure)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from dreamband.replay.hypnogen import generate_hypnogram
from dreamband.replay.impair import parse_impairments
from dreamband.replay.session import ReplayOptions, plan_delays, run_replay
from dreamband.replay.sources import resolve_source, sleeper_heart_source, sleeper_source
from firmware_bridge import Gap, SampleBlock


class RecordingEngine:
    """Wraps the real live engine when it exists (else stands alone) and keeps every item."""

    def __init__(self, grid, session_dir=None, max_missing=0.2, clock=None, wall_origin=None):
        self.items: list[tuple[str, object]] = []
        self.participants: dict[str, tuple] = {}
        self.wall_origin = wall_origin
        try:
            from dreamband.live.engine import LiveEngine
        except ImportError:
            self.inner = None
        else:
            self.inner = LiveEngine(grid, session_dir=session_dir, max_missing=max_missing,
                                    clock=clock, wall_origin=wall_origin)

    def add_participant(self, name, kind, channels, fs, **roles):
        self.participants[name] = (kind, tuple(channels), fs, roles)
        if self.inner is not None:
            self.inner.add_participant(name, kind, channels, fs, **roles)

    def push(self, name, item):
        self.items.append((name, item))
        return self.inner.push(name, item) if self.inner is not None else []

    def tick(self, now):
        return self.inner.tick(now) if self.inner is not None else []

    def snapshot(self):
        return self.inner.snapshot() if self.inner is not None else {}

    def close(self):
        return self.inner.close() if self.inner is not None else {}


def _engine_holder():
    made: list[RecordingEngine] = []

    def factory(grid, session_dir=None, max_missing=0.2, clock=None, wall_origin=None):
        made.append(RecordingEngine(grid, session_dir, max_missing, clock, wall_origin))
        return made[-1]

    return made, factory


def test_virtual_night_reaches_engine_with_gaps_marked_under_loss_and_disconnects(tmp_path):
    src = sleeper_source(generate_hypnogram(4, hours=1.0), "sim", "virtual:generated:4", 4,
                         "test night")
    impair = parse_impairments({"band": {"sim": {"loss": 0.02, "disconnects": [[60, 20]],
                                                 "drift_ppm": 50, "jitter_s": 0.01}}})
    made, factory = _engine_holder()
    result = run_replay([src], options=ReplayOptions(duration_s=180, seed=1),
                        impairments=impair, session_dir=tmp_path / "s", engine_factory=factory)
    (engine,) = made
    assert engine.participants["sim"][0] == "eeg"
    blocks = [it for _, it in engine.items if isinstance(it, SampleBlock) and it.stream == "eeg"]
    gaps = [it for _, it in engine.items if isinstance(it, Gap) and it.stream == "eeg"]
    reasons = {g.reason for g in gaps}
    assert {"loss", "disconnect"} <= reasons
    received = sum(b.n_samples for b in blocks)
    missing = sum(g.missing for g in gaps)
    # every sample of the replayed span is either delivered or marked missing (the span
    # ends within a packet or two of 180 s; the outage itself is 20 s = 5120 samples)
    first = blocks[0].first_index
    last = blocks[-1].first_index + blocks[-1].n_samples
    assert received + missing == last - first
    assert missing > 20 * 256
    # the clock-mapped host times cover the replayed span (drift 50 ppm is mapped away)
    t = np.concatenate([b.host_time for b in blocks])
    assert 0 < t[0] < 2 and 178 < t[-1] < 182
    st = result.participants[0]
    assert st.drops == 1 and st.reconnects == 1 and st.gaps == len(gaps)
    assert (tmp_path / "s" / "replay.json").is_file()


def test_slpdb_source_sends_the_real_rr_intervals(slpdb_dir):
    from dreamband.io.slpdb import read_slpdb_beats

    src = resolve_source("slpdb:slp03", data_dir=slpdb_dir.parent)
    assert src.kind == "heart" and src.profile == "heart_rate" and not src.simulated
    made, factory = _engine_holder()
    run_replay([src], options=ReplayOptions(duration_s=600), engine_factory=factory)
    rr = np.concatenate([it.samples[0] for _, it in made[0].items
                         if isinstance(it, SampleBlock) and it.stream == "rr"])
    beats = read_slpdb_beats(slpdb_dir / "slp03").times
    real = np.diff(beats[beats >= 0])
    in_window = int(np.count_nonzero(beats[1:] <= 600))
    assert abs(rr.size - in_window) <= 2
    assert np.max(np.abs(rr - real[:rr.size])) <= 0.5 / 1024 + 1e-12


def test_clock_alignment_delays_later_nights():
    def at(hour, minute):
        hyp = generate_hypnogram(1, hours=1.0, start_time=datetime(2026, 1, 1, hour, minute))
        return sleeper_source(hyp, f"p{hour}{minute}", "x", 1, "t")

    srcs = [at(23, 30), at(22, 50), at(0, 10)]
    assert plan_delays(srcs, ReplayOptions(align="clock")) == [2400.0, 0.0, 4800.0]
    assert plan_delays(srcs, ReplayOptions()) == [0.0, 0.0, 0.0]


def test_generated_nights_are_seeded_and_plausible():
    a, b = generate_hypnogram(5), generate_hypnogram(5)
    assert np.array_equal(a.stages, b.stages)
    assert not np.array_equal(a.stages, generate_hypnogram(6).stages)
    minutes = a.minutes_per_stage()
    assert minutes["REM"] > 30 and minutes["N2"] > minutes["N3"] > 0 and minutes["W"] > 0
    assert "generated" in a.meta["note"]


def test_unknown_source_kinds_and_missing_files_are_named(tmp_path):
    from dreamband.errors import InputFileError

    with pytest.raises(InputFileError, match="unknown source kind 'foo'"):
        resolve_source("foo:bar")
    with pytest.raises(InputFileError, match="not found"):
        resolve_source(str(tmp_path / "nope.edf"))
    with pytest.raises(InputFileError, match="slpdb"):
        resolve_source("slpdb:slp99", data_dir=tmp_path)


def test_sleep_edf_record_without_psg_is_labelled_simulated(sleep_edf_dir):
    src = resolve_source("sleep-edf:SC4001", data_dir=sleep_edf_dir.parent)
    if src.simulated:
        assert "SIMULATED" in src.label and "real expert hypnogram" in src.label
        assert src.truth is not None and src.truth.n_epochs == 841
    else:
        assert "REAL" in src.label


def test_edf_file_source_plays_its_channels(tmp_path):
    from dreamband.sim import VirtualSleeper, write_edf

    hyp = generate_hypnogram(2, hours=1.0)
    path = write_edf(VirtualSleeper(hyp, channels="psg", seed=2), tmp_path / "night.edf")
    src = resolve_source(str(path))
    assert src.kind == "eeg" and src.mapping["TP9"] == "EEG Fpz-Cz" and src.simulated
    x = src.make_signal(0.0)(0, 512)
    assert x.shape == (4, 512) and np.isfinite(x).all() and x.std() > 0


def test_replay_options_reject_bad_values():
    with pytest.raises(ValueError, match="align"):
        ReplayOptions(align="noon")
    with pytest.raises(ValueError):
        ReplayOptions(duration_s=0)


def test_nothing_left_to_replay_is_an_error():
    src = sleeper_source(generate_hypnogram(1, hours=1.0), "s", "x", 1, "t")
    with pytest.raises(ValueError, match="nothing to replay"):
        run_replay([src], options=ReplayOptions(start_s=7200), engine_factory=_engine_holder()[1])


def test_impairments_reach_the_session_manifest(tmp_path: Path):
    import json

    src = sleeper_source(generate_hypnogram(3, hours=1.0), "a", "x", 3, "t")
    impair = parse_impairments({"default": {"loss": 0.01}}, "imp.toml")
    run_replay([src], options=ReplayOptions(duration_s=60), impairments=impair,
               session_dir=tmp_path, engine_factory=_engine_holder()[1])
    doc = json.loads((tmp_path / "replay.json").read_text())
    assert doc["impairments"]["default"] == {"loss": 0.01}
    assert doc["participants"][0]["simulated"] is True


def test_live_view_shows_participants_group_and_simulated_legend():
    from rich.console import Console

    from dreamband.replay.session import ParticipantStats
    from dreamband.replay.view import plain_line, render_state

    stats = [ParticipantStats("eeg1", "x", "eeg", True, 0.0, 60.0, gaps=3, drops=1),
             ParticipantStats("hr1", "y", "heart", False, 0.0, 60.0)]
    snapshot = {"participants": {
        "eeg1": {"stage": "REM", "p_rem": 0.8, "quality": 0.93, "gaps": 3, "n_epochs": 12,
                 "last_latency_s": 0.004},
        "hr1": {"stage": "NREM", "p_rem": 0.1, "quality": 1.0, "gaps": 0, "n_epochs": 12}},
        "group": {"open_since_s": 300.0, "in_rem": ["eeg1", "hr1"], "n_windows": 1, "k": 2,
                  "forecast": {"now_s": 360.0, "probability": 0.7, "horizon_s": 10800.0,
                               "start_s": {"0.1": 900.0, "0.5": 1560.0, "0.9": 2400.0},
                               "expected_members": ["eeg1", "hr1"]}}}
    state = {"snapshot": snapshot, "stats": stats, "replay_s": 360.0, "total_s": 3600.0,
             "wall_s": 2.0, "speed": "max", "start_s": 3600.0, "align": "lights-off"}
    console = Console(record=True, width=120)
    console.print(render_state(state))
    text = console.export_text()
    assert "lights-off + 1:06:00" in text and "180× real time" in text
    assert "REM" in text and "0.80" in text and "3, 1 drop" in text and "4" in text
    assert "GROUP REM WINDOW OPEN since 0:05:00" in text and "need 2" in text
    assert "next group window in ~0:20:00" in text and "p=0.70" in text
    assert "SIM = virtual sleeper" in text
    line = plain_line(state)
    assert line.startswith("[lights-off+1:06:00") and "eeg1 REM p(REM)=0.80" in line


@pytest.mark.usefixtures("heart_models")
def test_clock_alignment_starts_later_nights_later_on_the_shared_grid():
    a = sleeper_source(generate_hypnogram(1, hours=1.0, start_time=datetime(2026, 1, 1, 23, 0)),
                       "early", "x", 1, "t")
    b = sleeper_heart_source(generate_hypnogram(2, hours=1.0,
                                                start_time=datetime(2026, 1, 1, 23, 1, 30)),
                             "late", "y", 2, "t")
    made, factory = _engine_holder()
    res = run_replay([a, b], options=ReplayOptions(align="clock", duration_s=120),
                     engine_factory=factory)
    first = {}
    for name, it in made[0].items:
        if isinstance(it, SampleBlock) and name not in first:
            first[name] = float(it.host_time[0])
    assert [st.delay_s for st in res.participants] == [0.0, 90.0]
    assert 88 < first["late"] - first["early"] < 93
    # the grid origin is the first sleeper's clock time of night (lights-off + start)
    assert made[0].wall_origin == datetime(2026, 1, 1, 23, 0)
    assert made[0].inner.wall_origin == datetime(2026, 1, 1, 23, 0)
    assert res.replay_s == pytest.approx(210.0, abs=1.0)


def test_live_vs_expert_aligns_grid_epochs_with_the_expert_epochs():
    from dreamband.core.hypnogram import Hypnogram
    from dreamband.replay.agreement import live_vs_expert

    truth = Hypnogram(np.array([0, 1, 2, 2, 4, 4, -1, 0], dtype=np.int8), offset=15.0)
    # grid epoch 0 covers source 60-90 s; truth epochs start at 15 s, so its middle (75 s)
    # falls in truth epoch 2
    live = {0: "N1", 1: "NREM", 2: "N2", 3: "REM", 4: "W", 5: "W", 6: "UNSCORED"}
    a = live_vs_expert(live, truth, night_offset_s=60.0, truth_offset_s=15.0)
    assert a["n"] == 5  # grid 4 meets the unscored truth epoch 6; grid 6 is unscored live
    assert a["accuracy"] == pytest.approx(4 / 5)  # only grid 2 (N2 vs REM) disagrees
    assert live_vs_expert({}, truth, 0.0) is None


def test_sleep_edf_record_with_its_psg_replays_the_psg_in_bed_window(tmp_path):
    from dreamband.sim import VirtualSleeper, write_edf

    folder = tmp_path / "sleep-edf"
    folder.mkdir()
    hyp = generate_hypnogram(2, hours=1.5)
    write_edf(VirtualSleeper(hyp, channels="psg", seed=2), folder / "SC4991E0-PSG.edf",
              hypnogram_path=folder / "SC4991EC-Hypnogram.edf")
    src = resolve_source("sleep-edf:SC4991", data_dir=tmp_path)
    assert src.mapping == {"TP9": "EEG Fpz-Cz", "AF7": "EEG Pz-Oz", "AF8": "EOG horizontal",
                           "TP10": "EMG submental"}
    assert (src.eeg, src.eog, src.emg) == ("TP9", "AF8", "TP10")
    # the PSG branch, not the hypnogram-only one; the file itself says it is simulated
    assert "SC4991E0-PSG.edf" in src.label and src.simulated and "SIMULATED" in src.label
    assert src.truth is not None and src.duration_s == pytest.approx(src.truth.duration)


def test_agreement_on_a_record_the_shipped_model_was_trained_on_is_marked_in_sample(slpdb_dir):
    from dreamband.replay.agreement import heart_training_records, record_name
    from dreamband.replay.console import summary_lines

    assert record_name("slpdb:slp03") == "slp03" and record_name("/d/slp41.hea") == "slp41"
    src = resolve_source("slpdb:slp03", data_dir=slpdb_dir.parent)
    res = run_replay([src], options=ReplayOptions(duration_s=1200))
    (st,) = res.participants
    assert st.agreement["n"] >= 30
    assert st.agreement["in_sample"] == ("slp03" in heart_training_records())
    line = next(x for x in summary_lines(res) if "live vs expert" in x)
    assert ("in-sample" in line) == st.agreement["in_sample"]
