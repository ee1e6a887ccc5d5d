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
from dreamband.replay.sources import resolve_source, sleeper_source
from firmware_bridge import Gap, SampleBlock


class RecordingEngine:
    """Wraps the real live engine when it exists (else stands alone) and keeps every item."""

    def __init__(self, grid, session_dir=None, max_missing=0.2, clock=None):
        self.items: list[tuple[str, object]] = []
        self.participants: dict[str, tuple] = {}
        try:
            from dreamband.live.engine import LiveEngine
        except ImportError:
            self.inner = None
        else:
            self.inner = LiveEngine(grid, session_dir=session_dir, max_missing=max_missing,
                                    clock=clock)

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

    def factory(grid, session_dir=None, max_missing=0.2, clock=None):
        made.append(RecordingEngine(grid, session_dir, max_missing, clock))
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
    assert src.kind == "eeg" and src.mapping["TP9"] == "EEG Fpz-Cz"
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
