"""Crash-safe live session folders: what survives ``kill -9``, and the clean close."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from test_live_helpers import eeg_blocks, rr_blocks, sleeper

from dreamband.live.engine import LiveEngine
from dreamband.live.epocher import EpochGrid
from dreamband.live.session import read_session
from dreamband.storage.raw import read_stream

TESTS = Path(__file__).parent
ROOT = TESTS.parent

CHILD = textwrap.dedent("""
    import sys, time
    sys.path[:0] = [{root!r}, {tests!r}]
    from test_live_helpers import eeg_blocks, rr_blocks, sleeper
    from dreamband.live.engine import LiveEngine
    from dreamband.live.epocher import EpochGrid

    sl = sleeper(12)
    eng = LiveEngine(EpochGrid(100.0), session_dir={out!r}, forecast_every=2)
    eng.add_participant("a", "eeg", sl.channels, sl.fs)
    eng.add_participant("h", "heart", ("rr",), None)
    rr = list(rr_blocks(sl.beats().times, 100.0, per_block=2))
    for b in eeg_blocks(sl, 100.0, block=64):
        events = eng.push("a", b)
        while rr and rr[0].host_time[-1] <= b.host_time[-1]:
            events += eng.push("h", rr.pop(0))
        done = [e.epoch for e in events if e.kind == "stage" and e.participant == "a"]
        if done and done[-1] == 6:
            print("EPOCH 6", flush=True)
            time.sleep(120)  # killed here
""")


@pytest.mark.usefixtures("heart_models")
def test_a_session_killed_with_sigkill_keeps_everything_announced(tmp_path: Path) -> None:
    out = tmp_path / "session"
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(root=str(ROOT), tests=str(TESTS), out=str(out)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        line = ""
        while time.monotonic() < deadline and "EPOCH 6" not in line:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                raise AssertionError(f"child ended early: {proc.stderr.read()}")
        assert "EPOCH 6" in line
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    s = read_session(out)
    assert not s["complete"] and s["summary"] is None
    assert set(s["meta"]["participants"]) == {"a", "h"}
    ep = s["epochs"].to_pandas()
    a = ep[ep.participant == "a"]
    assert list(a.epoch) == list(range(7))           # every announced epoch survived
    assert a.scored.all() and np.isfinite(a.p_REM).all()
    assert set(ep.participant) == {"a", "h"}
    ev = s["events"].to_pandas()
    assert (ev.kind == "stage").sum() == len(ep)
    assert "forecast" in set(ev.kind)
    raw = read_stream(out / "raw", "muse", "eeg")
    t = raw.column("host_time").to_numpy()
    assert t[0] == 100.0 and t[-1] >= 100.0 + 7 * 30 - 1.5   # at most ~1 s of raw lost
    assert np.all(np.diff(t) > 0)
    assert list(out.glob("epochs/seg-*.arrows"))            # not compacted: no clean close
    # nightly batch takes the crashed folder as a session too, from the journal's segments
    from dreamband.batch.discover import discover_inputs
    from dreamband.batch.night import read_session_participant

    nights = discover_inputs([out])
    assert {n.kind for n in nights} == {"session"} and {n.participant for n in nights} == {"a", "h"}
    assert all(n.files and n.files[0].suffix == ".arrows" for n in nights)
    hyp = read_session_participant(out / "epochs.parquet", "a")
    assert hyp.n_epochs == 7 and np.isfinite(hyp.probabilities).all()
    assert hyp.source.endswith("(not closed: read from its journal)")
    # and `dreamband info` describes it, saying it was not closed
    from dreamband.io.summary import describe_session

    info = describe_session(out)
    assert info["kind"] == "session" and info["complete"] is False
    a_info = next(p for p in info["participants"] if p["participant"] == "a")
    assert a_info["kind"] == "eeg" and a_info["n_epochs"] == 7 and a_info["n_scored"] == 7
    assert sum(a_info["stage_minutes"].values()) == pytest.approx(3.5)
    assert info["n_events"]["stage"] == len(ep)
    # a second run into the same folder is refused before it writes anything
    from dreamband.errors import InputFileError

    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    with pytest.raises(InputFileError, match=r"already holds a live session \(not closed"):
        LiveEngine(EpochGrid(100.0), session_dir=out)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


@pytest.mark.usefixtures("heart_models")
def test_a_clean_close_compacts_to_parquet_and_writes_a_summary(tmp_path: Path) -> None:
    sl = sleeper(8)
    out = tmp_path / "s"
    eng = LiveEngine(EpochGrid(100.0), session_dir=out, forecast_every=0)
    eng.add_participant("a", "eeg", sl.channels, sl.fs)
    eng.add_participant("h", "heart", ("rr",), None)
    for b in eeg_blocks(sl, 100.0, block=256):
        eng.push("a", b)
    for b in rr_blocks(sl.beats().times, 100.0, per_block=4):
        eng.push("h", b)
    summary = eng.close()
    assert (out / "epochs.parquet").exists() and (out / "events.parquet").exists()
    assert not list(out.rglob("*.arrows"))
    assert (out / "raw" / "muse" / "eeg" / "data.parquet").exists()
    raw = read_stream(out / "raw", "muse", "eeg")
    assert raw.num_rows == 8 * 30 * 128 and raw.column("index").to_pylist()[:3] == [0, 1, 2]
    s = read_session(out)
    assert s["complete"] and s["summary"]["participants"]["a"]["n_epochs"] == 8
    ep = s["epochs"].to_pandas()
    assert sorted(ep[ep.participant == "a"].epoch) == list(range(8))
    assert ep[ep.participant == "h"].scheme.unique().tolist() == ["wearable"]
    assert summary["files"]["epochs"].endswith("epochs.parquet")
