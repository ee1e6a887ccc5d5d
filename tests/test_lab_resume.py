"""``dreamband lab --resume``: a lab session killed mid-night continues in its own folder.

The crash is real: a child process runs a lab session on virtual bands (reached through
bleak's virtual backend, SIMULATED sleepers) and kills itself with SIGKILL, leaving the
recorder flushed but never closed. The resumed run continues the session's wall-clock epoch
grid; batch then sees one night per participant. Plumbing only, no accuracy is read here.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_lab import _world

from dreamband.cli.main import main
from dreamband.errors import InputFileError
from dreamband.lab import LabOptions, LabParticipant, run_lab
from dreamband.lab.console import print_summary
from dreamband.lab.resume import load_resume
from dreamband.live.journal import EPOCH_SCHEMA, Journal, read_journal
from dreamband.live.session import SessionRecorder, read_session

TESTS = Path(__file__).parent
ROOT = TESTS.parent
KILL_AT_S = 600.0     # simulated seconds of the first run before its process is killed
RESTART_S = 910.0     # wall-clock seconds from the session's origin to the restart
RESUMED_S = 300.0     # simulated seconds of the resumed run
L = 30.0

CHILD = textwrap.dedent("""
    import asyncio, os, signal, sys
    sys.path[:0] = [{root!r}, {tests!r}]
    from test_lab import _world
    from dreamband.lab import LabOptions, run_lab

    world, people, band_options = _world()

    def crash(state):
        if state["elapsed_s"] >= {kill_at}:
            os.kill(os.getpid(), signal.SIGKILL)  # nothing is closed: a real crash

    asyncio.run(run_lab(people, session_dir={out!r}, band_options=band_options,
                        options=LabOptions(duration_s=3600, k=1, refresh_s=30),
                        timebase=world.timebase, on_update=crash))
""")


@pytest.fixture(scope="module")
def crashed(tmp_path_factory, heart_models) -> Path:
    """A lab session (alice: Muse, bob: heart-rate strap) killed after 10 simulated min."""
    out = tmp_path_factory.mktemp("crash") / "night"
    script = out.parent / "child.py"
    script.write_text(CHILD.format(root=str(ROOT), tests=str(TESTS), out=str(out),
                                   kill_at=KILL_AT_S))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert not (out / "summary.json").exists() and list(out.glob("epochs/seg-*.arrows"))
    return out


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _wall_origin(folder: Path) -> datetime:
    return datetime.fromisoformat(json.loads((folder / "session.json").read_text())["wall_origin"])


def _resume(folder: Path, people=(), seconds: float = RESTART_S, **kwargs):
    world, _, band_options = _world()  # the same virtual bands, a fresh simulated clock
    restart = _wall_origin(folder) + timedelta(seconds=seconds)
    return asyncio.run(run_lab(list(people), session_dir=folder, resume=True,
                               options=LabOptions(duration_s=RESUMED_S, refresh_s=60),
                               band_options=band_options, timebase=world.timebase,
                               wall_clock=lambda: restart, **kwargs))


def _epochs(table: pa.Table, who: str) -> list[int]:
    return sorted(e for p, e in zip(table["participant"].to_pylist(),
                                    table["epoch"].to_pylist(), strict=True) if p == who)


# ----------------------------------------------------------------------------- the resume
@pytest.mark.usefixtures("heart_models")
def test_a_crashed_lab_session_resumes_in_its_folder_on_the_same_wall_clock_grid(
        crashed, tmp_path, capsys, caplog) -> None:
    folder = _copy(crashed, tmp_path / "night")
    before = read_session(folder)["epochs"]
    last = {who: max(_epochs(before, who)) for who in ("alice", "bob")}
    assert 15 <= last["alice"] <= 20  # killed 10 min in

    with caplog.at_level(logging.INFO, logger="dreamband.live.engine"):
        result = _resume(folder)
    # each stager replayed what its band sent before the crash (warm, not cold)
    replayed = {r.args[0]: r.args[1] for r in caplog.records
                if "replayed into its stager" in r.getMessage()}
    assert replayed.keys() == {"alice", "bob"}
    assert replayed["alice"] > 256 * 500 and replayed["bob"] > 400  # ~10 min of samples
    warm = read_session(folder)["meta"]["resumes"][0]["warm_up_s"]
    assert warm.keys() == {"alice", "bob"} and all(500 < v <= KILL_AT_S for v in warm.values())
    buf = io.StringIO()
    print_summary(result, buf)
    said = "stagers warm from the signal recorded before: alice 0.2 h, bob 0.2 h"
    assert said in buf.getvalue()
    s = read_session(folder)
    assert s["complete"] and (folder / "epochs.parquet").exists()
    assert not list(folder.rglob("seg-*.arrows"))  # both runs compacted, raw streams too
    first = int(RESTART_S // L)  # the epoch in progress at the restart, on the first grid
    for who in ("alice", "bob"):
        got = _epochs(s["epochs"], who)
        assert len(got) == len(set(got))  # no epoch twice
        assert got[: len(_epochs(before, who))] == _epochs(before, who)
        after = [e for e in got if e > last[who]]
        assert after[0] == first and after == list(range(first, first + len(after)))
        assert len(after) >= RESUMED_S / L - 2
    # one grid: epoch k starts at the session's origin + k epochs, whichever run wrote it
    meta = s["meta"]
    onset = np.asarray(s["epochs"]["onset_s"].to_pylist())
    assert np.allclose(onset, meta["origin"] + np.asarray(s["epochs"]["epoch"]) * L)
    events = [e for e in s["events"].to_pylist() if e["kind"] == "resumed"]
    gap = (first - max(last.values()) - 1) * L
    assert len(events) == 1 and events[0]["epoch"] == first
    assert json.loads(events[0]["data"]) == {"last_epoch_before": max(last.values()),
                                             "first_epoch": first, "gap_s": gap}
    (entry,) = meta["resumes"]
    assert entry["first_epoch"] == first and entry["gap_s"] == gap
    assert datetime.fromisoformat(entry["wall_time"]) == _wall_origin(folder) + timedelta(
        seconds=RESTART_S)
    assert meta["tool"] == "dreamband lab" and _wall_origin(folder) == _wall_origin(crashed)
    assert json.loads((folder / "lab.json").read_text())["resumes"] == [entry]
    assert result.resumes == [entry] and result.wall_origin == _wall_origin(crashed)

    assert main(["info", str(folder)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"resumed after a crash at {entry['wall_time']}: epochs from {first}" in out
    assert said in out


@pytest.mark.usefixtures("heart_models")
def test_batch_sees_one_night_per_participant_with_the_lost_epochs_unscored(
        crashed, tmp_path) -> None:
    from dreamband.batch.discover import discover_inputs
    from dreamband.batch.night import read_session_participant

    folder = _copy(crashed, tmp_path / "night")
    before = read_session(folder)["epochs"]
    _resume(folder)
    nights = discover_inputs([folder])
    assert sorted(n.participant for n in nights) == ["alice", "bob"]
    first = int(RESTART_S // L)
    wall = _wall_origin(folder).replace(tzinfo=None)
    for who in ("alice", "bob"):
        hyp = read_session_participant(folder / "epochs.parquet", who)
        got = _epochs(read_session(folder)["epochs"], who)
        start = _epochs(before, who)[0]
        assert hyp.n_epochs == got[-1] - start + 1  # both runs, hole included
        assert hyp.start_time == wall + timedelta(seconds=start * L)
        hole = np.arange(max(_epochs(before, who)) + 1, first) - start
        assert hole.size and np.all(hyp.stages[hole] == -1)
        assert (hyp.stages[first - start:] >= 0).sum() >= 5  # the resumed run is staged


@pytest.mark.usefixtures("heart_models")
def test_resuming_twice_keeps_one_session_and_lists_both_resumes(crashed, tmp_path) -> None:
    folder = _copy(crashed, tmp_path / "night")
    _resume(folder)
    # the resumed run dies while closing: tables compacted, no summary.json yet
    (folder / "summary.json").unlink()
    _resume(folder, seconds=RESTART_S + 900)
    s = read_session(folder)
    assert [r["first_epoch"] for r in s["meta"]["resumes"]] == [30, 60]
    got = _epochs(s["epochs"], "alice")
    assert len(got) == len(set(got)) and got[-1] >= 65


# ----------------------------------------------------------------------------- refusals
def _fake_session(folder: Path, **meta) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"tool": "dreamband lab", "origin": 100.0, "epoch_length": 30.0,
           "wall_origin": "2026-11-23T23:05:00+01:00", "lag": 0, "heart_lag": 0,
           "max_missing": 0.2, "rule": None,
           "participants": {"alice": {"kind": "eeg", "roles": {"eeg": "AF7"}},
                            "bob": {"kind": "heart", "streams": ["rr"],
                                    "roles": {"heart": "rr"}}},
           "bands": {"alice": {"target": "0B:00:00:00:00:00", "profile": "muse"},
                     "bob": {"target": "0B:00:00:00:00:01", "profile": "heart_rate"}}}
    doc.update(meta)
    (folder / "session.json").write_text(json.dumps(doc))
    return folder


def _cli_error(capsys, *argv: str) -> str:
    assert main(["lab", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    return err


def test_resume_refuses_a_folder_without_a_session(tmp_path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _cli_error(capsys, "--resume", str(empty)) == (
        f"dreamband: error: {empty}: no live session to resume here (no session.json)")
    with pytest.raises(InputFileError, match="no live session to resume here"):
        load_resume(tmp_path / "missing")


def test_resume_refuses_a_session_that_closed_cleanly(tmp_path, capsys) -> None:
    folder = _fake_session(tmp_path / "s")
    (folder / "summary.json").write_text("{}")
    assert _cli_error(capsys, "--resume", str(folder)) == (
        f"dreamband: error: {folder}: the session closed cleanly; nothing to resume")


@pytest.mark.parametrize(("tool", "said"), [(None, "no tool recorded: a replay or demo"),
                                            ("dreamband replay", "'dreamband replay'")])
def test_resume_refuses_a_session_of_another_tool(tmp_path, capsys, tool, said) -> None:
    folder = _fake_session(tmp_path / "s", tool=tool)
    assert _cli_error(capsys, "--resume", str(folder)) == (
        f"dreamband: error: {folder}: not a lab session ({said}); only a 'dreamband lab' "
        "session can be resumed")


def test_resume_refuses_an_unreadable_session_file(tmp_path, capsys) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "session.json").write_text('{"tool": "dreamband lab", ')
    err = _cli_error(capsys, "--resume", str(folder))
    assert err.startswith(f"dreamband: error: {folder}: unreadable session.json (")
    (folder / "session.json").write_text("[1, 2]")
    assert _cli_error(capsys, "--resume", str(folder)) == (
        f"dreamband: error: {folder}: unreadable session.json (not a JSON object)")
    _fake_session(folder, wall_origin=None)
    assert "no usable wall-clock origin (None)" in _cli_error(capsys, "--resume", str(folder))


def test_resume_needs_exactly_the_session_participants(tmp_path, capsys) -> None:
    folder = _fake_session(tmp_path / "s")
    err = _cli_error(capsys, "--resume", str(folder), "alice=0B:00:00:00:00:00",
                     "carol=0B:00:00:00:00:09")
    assert err == (f"dreamband: error: {folder}: participants must be the session's "
                   "(alice, bob): missing bob; extra carol")
    err = _cli_error(capsys, "--resume", str(folder), "--virtual", "1")
    assert err.endswith("missing alice, bob; extra sleeper1")
    err = _cli_error(capsys, "--resume", str(folder), "alice=0B:00:00:00:00:00:heart_rate",
                     "bob=0B:00:00:00:00:01")
    assert err == (f"dreamband: error: {folder}: participant 'alice' was staged as eeg; a "
                   "heart_rate band would stage it as heart")


def test_resume_takes_the_session_options_and_refuses_others(tmp_path, capsys) -> None:
    folder = _fake_session(tmp_path / "s")
    assert _cli_error(capsys, "--resume", str(folder), "--epoch", "20") == (
        f"dreamband: error: {folder} (--epoch): --epoch differs from the session's 30-s "
        "epochs; leave it out to continue the session as it was")
    assert "--heart-lag differs" in _cli_error(capsys, "--resume", str(folder),
                                               "--heart-lag", "40")
    assert "--k differs from the session's k=default" in _cli_error(
        capsys, "--resume", str(folder), "--k", "2")
    with pytest.raises(SystemExit):  # argparse: one of them, not both
        main(["lab", "--out", str(tmp_path / "x"), "--resume", str(folder), "a=AA"])
    assert "argument --resume: not allowed with argument --out" in capsys.readouterr().err


def test_cli_resume_reaches_the_lab_run_with_the_session_participants(
        tmp_path, capsys, monkeypatch) -> None:
    import dreamband.lab.console as console
    from dreamband.lab.run import LabResult

    folder = _fake_session(tmp_path / "s", rule={"k": 1, "min_epochs": 2})
    seen: dict = {}

    def fake(people, out, options, *args, resume=False, **kwargs):
        seen.update(people=people, out=out, resume=resume)
        return LabResult(out, datetime.now().astimezone(), 1.0, {}, {})

    monkeypatch.setattr(console, "run_and_show", fake)
    assert main(["lab", "--resume", str(folder), "--epoch", "30", "--k", "1", "--quiet"]) == 0
    assert seen["people"] == [] and seen["out"] == folder
    assert seen["resume"].folder == folder  # the plan checked once, handed on (not reloaded)
    plan = load_resume(folder)
    alice, bob = plan.participants()
    assert (alice.name, alice.target, alice.profile, alice.eeg, alice.eog) == (
        "alice", "0B:00:00:00:00:00", "muse", "AF7", "none")
    assert (bob.profile, bob.stream) == ("heart_rate", "rr")
    opts = plan.options(LabOptions(epoch_length=20.0, heart_lag=40))
    assert (opts.epoch_length, opts.k, opts.min_epochs, opts.heart_lag) == (30.0, 1, 2, 0)
    given = plan.participants([LabParticipant("bob", "Other strap"),
                               LabParticipant("alice", "0B:00:00:00:00:07")])
    assert [(p.name, p.target, p.profile) for p in given] == [
        ("bob", "Other strap", "heart_rate"), ("alice", "0B:00:00:00:00:07", "muse")]


def test_the_resumed_grid_continues_the_wall_clock_grid_and_never_repeats_an_epoch(
        tmp_path) -> None:
    folder = _fake_session(tmp_path / "s")
    plan = load_resume(folder)
    origin = datetime.fromisoformat("2026-11-23T23:05:00+01:00")
    # an hour and 10 s later, on a host clock now at 5000 s (another boot, another clock)
    grid, resume = plan.grid(5000.0, origin + timedelta(hours=1, seconds=10))
    assert grid.origin == 5000.0 - 3610.0 and resume.first_epoch == 120
    assert resume.last_epoch_before is None and resume.entry(L)["gap_s"] == 120 * L
    # the same instant given in UTC: the same grid
    utc = (origin + timedelta(hours=1, seconds=10)).astimezone(UTC)
    assert plan.grid(5000.0, utc)[0] == grid
    # a wall clock behind the last journaled epoch: the next epoch starts now, none repeats
    late = type(plan)(plan.folder, plan.meta, plan.wall_origin, plan.epoch_length, 200)
    grid, resume = late.grid(5000.0, origin + timedelta(hours=1))
    assert resume.first_epoch == 201 and grid.start(201) == 5000.0
    assert resume.entry(L)["gap_s"] == 0.0



def _write_events(folder: Path, kinds: list[tuple[str, dict]]) -> None:
    from dreamband.live.journal import EVENT_SCHEMA

    j = Journal(folder / "events", EVENT_SCHEMA)
    for i, (kind, data) in enumerate(kinds):
        j.append({"kind": kind, "participant": "", "epoch": i, "host_time": float(i),
                  "latency_s": 0.0, "data": json.dumps(data)})
    j.flush()
    j._writer.close()  # left as a crash leaves it
    j._sink.close()


def test_a_group_window_open_at_the_crash_is_named_in_the_resume(tmp_path) -> None:
    folder = _fake_session(tmp_path / "s")
    _write_events(folder, [("group_open", {"start_s": 600.0}), ("group_close", {}),
                           ("group_open", {"start_s": 1800.0}), ("stage", {})])
    plan = load_resume(folder)
    assert plan.open_window_start_s == 1800.0
    _, resume = plan.grid(5000.0, datetime.fromisoformat("2026-11-24T01:00:00+01:00"))
    entry = resume.entry(L)
    assert entry["cut_window_start_s"] == 1800.0
    # the window that closed is not reported; a session without windows has no key
    closed = tmp_path / "t"
    _fake_session(closed)
    _write_events(closed, [("group_open", {"start_s": 600.0}), ("group_close", {})])
    _, resume = load_resume(closed).grid(5000.0, datetime.fromisoformat(
        "2026-11-24T01:00:00+01:00"))
    assert "cut_window_start_s" not in resume.entry(L)


# ----------------------------------------------------------------------------- storage
def _rows(n: int, start: int = 0) -> list[dict]:
    return [{"participant": "a", "epoch": j, "onset_s": j * L, "duration_s": L,
             "scheme": "aasm", "stage": "N2", "stage_code": 2, "scored": True,
             "missing": 0.0, **dict.fromkeys(("p_W", "p_N1", "p_N2", "p_N3", "p_NREM",
                                              "p_REM")),
             "rem_state": 1, "host_time": j * L, "latency_s": 0.0}
            for j in range(start, start + n)]


def _write_segment(folder: Path, rows: list[dict]) -> Path:
    j = Journal(folder, EPOCH_SCHEMA)
    for r in rows:
        j.append(r)
    j.flush()
    j._writer.close()  # a finished segment, as a crashed run leaves it
    j._sink.close()
    return j.path


def test_a_new_journal_segment_is_numbered_after_the_highest_not_the_count(tmp_path) -> None:
    folder = tmp_path / "epochs"
    _write_segment(folder, _rows(3))
    second = _write_segment(folder, _rows(3, 3))
    (folder / "seg-00000.arrows").unlink()  # a hole in the numbering
    third = Journal(folder, EPOCH_SCHEMA)
    assert second.name == "seg-00001.arrows" and third.path.name == "seg-00002.arrows"
    third.close(compact=False)
    assert read_journal(folder, EPOCH_SCHEMA)["epoch"].to_pylist() == [3, 4, 5]


def test_a_new_raw_segment_is_numbered_after_the_highest_not_the_count(tmp_path) -> None:
    from dreamband.storage.raw import RawRecorder, next_segment_path, read_stream
    from firmware_bridge.types import SampleBlock

    def block(first: int) -> SampleBlock:
        idx = np.arange(first, first + 8)
        return SampleBlock("AA", "eeg", ("TP9",), 256.0, idx[None] * 1.0, idx / 256.0,
                           idx / 256.0, 0, first)

    for first in (0, 8):  # two runs, then the first run's segment is lost: a hole
        with RawRecorder(tmp_path, flush_interval=0.0) as rec:
            rec.write(block(first))
            rec.flush()
            rec.closed = True  # a crash: segments left as they are
    stream = tmp_path / "AA" / "eeg"
    (stream / "seg-00000.arrows").unlink()
    rec = RawRecorder(tmp_path)
    rec.write(block(16))
    rec.close(compact=False)
    assert sorted(p.name for p in stream.iterdir()) == ["seg-00001.arrows", "seg-00002.arrows"]
    assert read_stream(tmp_path, "AA", "eeg")["index"].to_pylist() == list(range(8, 24))
    assert next_segment_path(stream, ["seg-00007.arrows"]).name == "seg-00008.arrows"
    assert next_segment_path(tmp_path / "none").name == "seg-00000.arrows"


def test_a_crash_while_compacting_leaves_no_duplicated_rows(tmp_path) -> None:
    folder = tmp_path / "epochs"
    seg = _write_segment(folder, _rows(4))
    kept = seg.read_bytes()
    Journal(folder, EPOCH_SCHEMA).close(compact=True)  # merges, then removes the segments
    folder.mkdir()
    seg.write_bytes(kept)  # the crash came after the rename, before the removal
    assert read_journal(folder, EPOCH_SCHEMA)["epoch"].to_pylist() == [0, 1, 2, 3]
    resumed = Journal(folder, EPOCH_SCHEMA)  # a resumed session writes after both
    assert resumed.path.name == "seg-00002.arrows"
    for r in _rows(2, 10):
        resumed.append(r)
    resumed.close(compact=True)
    assert pq.read_table(folder.with_suffix(".parquet"))["epoch"].to_pylist() == [
        0, 1, 2, 3, 10, 11]


def test_a_crash_while_compacting_raw_samples_leaves_no_duplicated_rows(tmp_path) -> None:
    from dreamband.storage.raw import RawRecorder, read_stream
    from firmware_bridge.types import SampleBlock

    def block(first: int) -> SampleBlock:
        idx = np.arange(first, first + 8)
        return SampleBlock("AA", "eeg", ("TP9",), 256.0, idx[None] * 1.0, idx / 256.0,
                           idx / 256.0, 0, first)

    stream = tmp_path / "AA" / "eeg"
    with RawRecorder(tmp_path) as rec:
        rec.write(block(0))
        rec.flush()
        kept = (stream / "seg-00000.arrows").read_bytes()
    (stream / "seg-00000.arrows").write_bytes(kept)  # crash after the rename, before removal
    assert read_stream(tmp_path, "AA", "eeg")["index"].to_pylist() == list(range(8))
    with RawRecorder(tmp_path) as rec:  # a resumed session
        rec.write(block(8))
    assert not list(stream.glob("seg-*.arrows"))
    assert read_stream(tmp_path, "AA", "eeg")["index"].to_pylist() == list(range(16))


def test_the_recorder_resumes_a_crashed_folder_and_refuses_otherwise(tmp_path) -> None:
    folder = tmp_path / "s"
    rec = SessionRecorder(folder)
    rec.set_meta(tool="dreamband lab", origin=1.0)
    for r in _rows(3):
        rec.epochs.append(r)
    rec.flush()  # and then the process dies
    with pytest.raises(InputFileError, match="already holds a live session"):
        SessionRecorder(folder)
    again = SessionRecorder(folder, resume=True)
    assert again.meta == {"tool": "dreamband lab", "origin": 1.0}
    for r in _rows(2, 7):
        again.epochs.append(r)
    again.close({"done": True})
    assert read_session(folder)["epochs"]["epoch"].to_pylist() == [0, 1, 2, 7, 8]
    with pytest.raises(InputFileError, match="closed cleanly; nothing to resume"):
        SessionRecorder(folder, resume=True)


def test_a_hypnogram_from_epoch_rows_places_them_by_onset_across_a_hole() -> None:
    from dreamband.storage.results import hypnogram_from_epochs

    rows = [*_rows(3), *_rows(2, 6)]  # epochs 0-2, then 6-7 after a crash
    rows[-1] |= {"stage_code": 4, "stage": "REM", "p_REM": 1.0, "p_W": 0.0, "p_N1": 0.0,
                 "p_N2": 0.0, "p_N3": 0.0}
    table = pa.Table.from_pylist(rows, schema=EPOCH_SCHEMA)
    hyp = hypnogram_from_epochs(table)
    assert hyp.n_epochs == 8 and hyp.offset == 0.0
    assert hyp.stages.tolist() == [2, 2, 2, -1, -1, -1, 2, 4]
    assert np.allclose(hyp.probabilities[3], 0.2) and hyp.probabilities[7][4] == 1.0
    # a duplicated epoch: the later row wins
    dup = pa.Table.from_pylist([*_rows(2), rows[-1] | {"epoch": 1, "onset_s": L}],
                               schema=EPOCH_SCHEMA)
    assert hypnogram_from_epochs(dup).stages.tolist() == [2, 4]


def test_info_names_a_group_window_cut_by_the_crash(tmp_path, capsys) -> None:
    folder = _fake_session(tmp_path / "s", resumes=[
        {"wall_time": "2026-11-24T01:00:00+01:00", "first_epoch": 120,
         "last_epoch_before": 100, "gap_s": 570.0, "cut_window_start_s": 1800.0}])
    _write_segment(folder / "epochs", _rows(3))
    assert main(["info", str(folder)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert ("epochs from 120 (last before: 100; 9.5 min absent; stagers restarted cold); the "
            "group window open since 1800 s was cut by the crash") in out  # no warm_up_s: cold


@pytest.mark.usefixtures("heart_models")
def test_batch_restages_both_runs_of_a_resumed_session_on_one_grid(crashed, tmp_path) -> None:
    """Each run's raw rows carry host times on that run's clock; the resume entry records
    the run's grid origin and the rows before it, so batch puts both runs on the grid."""
    from dreamband.batch.restage import restage_participant
    from dreamband.storage.raw_signals import open_raw_folder

    folder = _copy(crashed, tmp_path / "night")
    _resume(folder)
    s = read_session(folder)
    (entry,) = s["meta"]["resumes"]
    assert isinstance(entry["origin"], float) and entry["raw_rows"]
    assert all(n > 0 for n in entry["raw_rows"].values())
    assert open_raw_folder(folder).resumable
    first = int(RESTART_S // L)
    for who in ("alice", "bob"):
        got = restage_participant(folder, who)
        assert got is not None, who
        hyp = got[0]
        # the same grid and host-clock onsets as the live rows
        assert hyp.offset == pytest.approx(s["meta"]["origin"])
        live = _epochs(s["epochs"], who)
        scored = set(np.flatnonzero(hyp.stages >= 0).tolist())
        before = [e for e in live if e < first]
        after = [e for e in live if e >= first]
        # both runs are restaged where the live engine staged them (edges may differ by one)
        assert len(scored & set(before)) >= len(before) - 2
        assert len(scored & set(after)) >= len(after) - 2
        hole = set(range(max(before) + 2, first - 1))
        assert hole and not (scored & hole)


def test_a_resume_plan_of_another_folder_is_refused(tmp_path) -> None:
    from dreamband.lab.run import LabError

    plan = load_resume(_fake_session(tmp_path / "s"))
    with pytest.raises(LabError, match="the resume plan is for"):
        asyncio.run(run_lab([], session_dir=tmp_path / "other", resume=plan))
