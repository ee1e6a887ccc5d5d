"""`dreamband scan` / `record` on virtual bands, and a recording killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import dreamband.cli.main as cli
from dreamband.storage.raw import list_streams, read_gaps, read_stream

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def commands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "COMMANDS", ("scan", "record"))


def _assert_indices_covered(table, gaps, stream: str) -> None:
    """Samples plus gaps cover the counter range exactly once: no duplicate, nothing hidden."""
    idx = table.column("index").to_numpy()
    assert np.all(np.diff(idx) >= 1), "duplicated or reordered samples"
    holes = int(np.sum(np.diff(idx) - 1))
    g = (
        gaps.filter(gaps.column("stream").to_numpy(zero_copy_only=False) == stream)
        if gaps.num_rows
        else gaps
    )
    marked = int(sum(m for m in g.column("missing").to_pylist() if m > 0)) if g.num_rows else 0
    assert holes == marked


def test_scan_lists_virtual_bands(commands: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["scan", "--virtual", "4", "--timeout", "0.1"]) == 0
    out = capsys.readouterr().out
    for prof in ("muse", "ganglion", "polar_h10", "heart_rate"):
        assert prof in out
    assert "0B:00:00:00:00:04" in out


def test_record_virtual_bands_compacts_to_parquet(commands: None, tmp_path: Path) -> None:
    out = tmp_path / "session"
    rc = cli.main(
        [
            "record",
            "--virtual",
            "4",
            "--duration",
            "20",
            "--speed",
            "max",
            "--out",
            str(out),
            "--no-status",
        ]
    )
    assert rc == 0
    streams = list_streams(out)
    assert {s for _, s in streams} >= {"eeg", "ecg", "hr", "rr"}
    assert not list(out.rglob("*.arrows")), "segments must be compacted on a clean stop"
    band, _ = next((b, s) for b, s in streams if s == "eeg")
    eeg = read_stream(out, band, "eeg")
    assert eeg.num_rows > 19 * 200  # Muse or Ganglion, about 20 s
    _assert_indices_covered(eeg, read_gaps(out, band), "eeg")
    # the same folder again: refused (two recordings would mix), unless --append
    again = ["record", "--virtual", "1", "--duration", "5", "--speed", "max", "--out", str(out),
             "--no-status"]
    assert cli.main(again) == 2
    assert read_stream(out, band, "eeg").num_rows == eeg.num_rows
    assert cli.main([*again, "--append"]) == 0
    assert read_stream(out, band, "eeg").num_rows > eeg.num_rows


def test_record_needs_targets_or_virtual(commands: None, tmp_path: Path) -> None:
    assert cli.main(["record", "--out", str(tmp_path)]) == 2


def test_kill_9_leaves_readable_segments(tmp_path: Path) -> None:
    out = tmp_path / "killed"
    code = (
        "import asyncio, sys; from pathlib import Path; "
        "from dreamband.cli.cmd_record import record; "
        f"asyncio.run(record([], Path({str(out)!r}), None, 2, '10', 0.5, status=False))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            segs = list(out.rglob("seg-*.arrows"))
            if len(segs) >= 2 and all(s.stat().st_size > 20_000 for s in segs[:2]):
                break
            time.sleep(0.2)
        time.sleep(0.7)  # kill in the middle of writing
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    assert not list(out.rglob("*.parquet")), "no compaction after kill -9"
    band = next(b for b, s in list_streams(out) if s == "eeg")
    eeg = read_stream(out, band, "eeg")
    assert eeg.num_rows > 1000
    assert np.all(np.isfinite(eeg.column("ch_TP9").to_numpy()))
    _assert_indices_covered(eeg, read_gaps(out, band), "eeg")


def test_ctrl_c_stops_cleanly_and_compacts(tmp_path: Path) -> None:
    out = tmp_path / "interrupted"
    code = ("import dreamband.cli.main as m; m.COMMANDS = ('record',); "
            f"raise SystemExit(m.main(['record', '--virtual', '2', '--speed', '10', "
            f"'--no-status', '--out', {str(out)!r}]))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # Ctrl-C as a terminal sends it, even where the test runner was started with SIGINT
    # ignored (a background job of a non-interactive shell), which the child would inherit
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not list(out.rglob("seg-*.arrows")):
            time.sleep(0.2)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped" in err
    assert not list(out.rglob("*.arrows"))
    band = next(b for b, s in list_streams(out) if s == "eeg")
    assert read_stream(out, band, "eeg").num_rows > 0


def test_record_shows_a_status_line_per_band(commands: None, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli.main(["record", "--virtual", "2", "--duration", "3", "--speed", "max",
                   "--out", str(tmp_path / "s")])
    assert rc == 0
    err = capsys.readouterr().err
    for col in ("rate (Hz)", "gaps", "battery", "0B:00:00:00:00:01", "0B:00:00:00:00:02"):
        assert col in err
