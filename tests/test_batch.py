"""Nightly batch: discovery, resume, failures as rows, sessions, pool vs Dask identical."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from _nights import scored_night

from dreamband.batch.discover import discover_inputs
from dreamband.batch.runner import BatchOptions, run_nights
from dreamband.batch.sessions import write_group_windows
from dreamband.cli.main import main
from dreamband.io import write_hypnogram
from dreamband.storage.results import read_table


@pytest.fixture
def night_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "nights"
    folder.mkdir()
    start = datetime(2024, 5, 1, 23, 0)
    for i, name in enumerate(("alice", "bob", "carol")):
        hyp = scored_night(i, start + timedelta(minutes=7 * i))
        write_hypnogram(hyp, folder / f"{name}.parquet")
    return folder


def test_discovery_finds_scored_nights_in_a_folder(night_folder: Path) -> None:
    nights = discover_inputs([night_folder])
    assert [n.night for n in nights] == ["alice", "bob", "carol"]
    assert {n.kind for n in nights} == {"scored"}


def test_batch_writes_tables_and_resumes(night_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    nights = discover_inputs([night_folder])
    first = run_nights(nights, out, workers=2)
    assert [o.status for o in first] == ["done"] * 3
    table = read_table(out, "nights").to_pandas().set_index("night")
    assert set(table.index) == {"alice", "bob", "carol"}
    hyp = scored_night(1, datetime(2024, 5, 1, 23, 7))
    expected_tst = np.count_nonzero(hyp.stages > 0) * 0.5
    assert table.loc["bob", "tst_min"] == pytest.approx(expected_tst)
    assert table.loc["bob", "rem_cycles"] >= 3
    assert read_table(out, "epochs").num_rows == 1800
    rem = read_table(out, "rem_periods")
    assert rem.num_rows >= 9  # scored nights have no EOG: eye movements null, not 0
    assert rem["eye_movements"].null_count == rem["density_per_min"].null_count == rem.num_rows

    again = run_nights(nights, out, workers=2)
    assert [o.status for o in again] == ["skipped"] * 3

    # change one night: only it is redone
    write_hypnogram(scored_night(9, datetime(2024, 5, 1, 23, 0)), night_folder / "bob.parquet")
    third = run_nights(nights, out, workers=2)
    assert [o.status for o in third] == ["skipped", "done", "skipped"]


def test_a_corrupt_night_becomes_an_error_row_and_the_others_go_on(
    night_folder: Path, tmp_path: Path
) -> None:
    (night_folder / "dave.parquet").write_bytes(b"PAR1 this is not parquet")
    out = tmp_path / "out"
    outcomes = run_nights(discover_inputs([night_folder]), out, workers=2)
    status = {o.night: o.status for o in outcomes}
    assert status == {"alice": "done", "bob": "done", "carol": "done", "dave": "failed"}
    errors = read_table(out, "errors").to_pylist()
    assert len(errors) == 1 and errors[0]["night"] == "dave"
    assert "dave.parquet" in errors[0]["error"]


def test_overlapping_nights_form_a_session_with_group_windows(
    night_folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    nights = discover_inputs([night_folder])
    run_nights(nights, out, workers=1)
    count = write_group_windows(out, nights, k=2, min_duration=60)
    windows = read_table(out, "group_windows").to_pylist()
    assert count == len(windows) > 0
    assert all(w["n_members"] >= 1 and w["duration_s"] >= 60 for w in windows)
    assert {w["session"] for w in windows} == {"session-alice"}


def test_sessions_file_naming_an_unknown_night_is_refused(night_folder, tmp_path) -> None:
    sessions = tmp_path / "sessions.toml"
    sessions.write_text('[[session]]\nname = "s"\nnights = ["alice", "zed"]\n')
    nights = discover_inputs([night_folder])
    run_nights(nights, tmp_path / "out", workers=1)
    with pytest.raises(Exception, match=r"sessions.toml \(session s\): night 'zed'"):
        write_group_windows(tmp_path / "out", nights, sessions_file=sessions)


def test_dask_local_cluster_gives_identical_tables(night_folder: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    nights = discover_inputs([night_folder])
    run_nights(nights, tmp_path / "pool", workers=2)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        outcomes = run_nights(nights, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert [o.status for o in outcomes] == ["done"] * 3
    for name in ("epochs", "nights", "rem_periods"):
        a = read_table(tmp_path / "pool", name).sort_by("night")
        b = read_table(tmp_path / "dask", name).sort_by("night")
        assert a.equals(b), name


def test_cli_batch_reports_and_exits_nonzero_on_failure(night_folder, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["batch", str(night_folder), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    assert "3 nights: 3 analysed" in capsys.readouterr().out
    (night_folder / "bad.parquet").write_text("nope")
    assert main(["batch", str(night_folder), "--out", str(out), "--quiet"]) == 1
    text = capsys.readouterr().out
    assert "0 analysed, 3 already done, 1 failed" in text and "bad.parquet" in text


def test_cli_batch_names_a_folder_without_nights(tmp_path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["batch", str(empty), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"dreamband: error: no nights found in {empty}") and "\n" not in err


def test_real_sleep_edf_hypnograms_as_scored_nights(sleep_edf_dir: Path, tmp_path: Path) -> None:
    nights = discover_inputs([sleep_edf_dir])
    assert len(nights) == 33 and {n.kind for n in nights} == {"scored"}
    outcomes = run_nights(nights[:4], tmp_path / "out", BatchOptions(), workers=2)
    assert all(o.status == "done" for o in outcomes), [o.error for o in outcomes]
    table = read_table(tmp_path / "out", "nights").to_pandas().set_index("night")
    # SC4001: in-bed window 28830-54060 s (841 epochs), per the dataset manifest
    row = table.loc["SC4001EC-Hypnogram"]
    assert row["tib_min"] == pytest.approx(841 * 0.5)
    assert row["in_bed_start_s"] == pytest.approx(28830)


def test_kill_9_loses_no_finished_night(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    folder = tmp_path / "many"
    folder.mkdir()
    start = datetime(2024, 5, 1, 23, 0)
    for i in range(40):
        write_hypnogram(scored_night(i, start, n=900), folder / f"n{i:02d}.parquet")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dreamband.cli.main", "batch", str(folder), "--out", str(out),
         "--workers", "1", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list((out / "_done").glob("*.json"))) < 3:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)  # let the kernel end the orphaned workers
    done = {p.stem for p in (out / "_done").glob("*.json")}
    assert 3 <= len(done) < 40, "kill came too late to test anything"
    table = read_table(out, "nights")  # readable: no half-written partition is visible
    assert done <= set(table["night"].to_pylist())
    outcomes = run_nights(discover_inputs([folder]), out, workers=2)
    status = {o.night: o.status for o in outcomes}
    assert all(status[n] == "skipped" for n in done)
    assert sum(s == "done" for s in status.values()) == 40 - len(done)
    assert read_table(out, "nights").num_rows == 40


def test_agreement_aligns_a_reference_that_starts_later(tmp_path: Path) -> None:
    from dreamband.batch.discover import NightInput
    from dreamband.batch.night import _agreement
    from dreamband.core import Hypnogram

    ref = Hypnogram(np.array([2, 2, 4, 4, 0]), offset=90.0)  # starts 3 epochs in
    write_hypnogram(ref, tmp_path / "ref.csv")
    staged = Hypnogram(np.array([0, 0, 0, 2, 2, 4, 1, 0, 0, 0]))
    inp = NightInput("n", tmp_path / "x.edf", "eeg", "p", tmp_path / "ref.csv")
    out = _agreement(staged, inp)
    assert out["ref_epochs"] == 5
    assert out["ref_accuracy"] == pytest.approx(4 / 5)


@pytest.mark.usefixtures("heart_models")
def test_nights_table_summarises_signal_quality(tmp_path: Path) -> None:
    import edfio

    from dreamband.sim import VirtualSleeper

    hyp = scored_night(3, datetime(2024, 5, 1, 23, 0), n=120)  # one hour
    sleeper = VirtualSleeper(hyp, channels="psg", seed=1)
    data = sleeper.generate(0, hyp.duration)
    eeg = np.asarray(data["EEG Fpz-Cz"], dtype=float)
    fs = sleeper.fs
    eeg[int(600 * fs) : int(900 * fs)] = 0.0  # 5 min flat line: electrode off
    signals = [edfio.EdfSignal(eeg, sampling_frequency=fs, label="EEG Fpz-Cz",
                               physical_dimension="uV", physical_range=(-500, 500))]
    edfio.Edf(signals, starttime=datetime(2024, 5, 1, 23, 0).time()).write(tmp_path / "flat.edf")
    beats = tmp_path / "beats.csv"
    rr = np.diff(sleeper.beats().times) * 1000
    beats.write_text("rr_ms\n" + "\n".join(f"{v:.1f}" for v in rr) + "\n")
    out = tmp_path / "out"
    outcomes = run_nights(discover_inputs([tmp_path / "flat.edf", beats]), out, workers=1)
    assert [o.status for o in outcomes] == ["done", "done"], [o.error for o in outcomes]
    table = read_table(out, "nights").to_pandas().set_index("night")
    assert 5.0 <= table.loc["flat", "artefact_pct"] <= 60.0  # ~10 of the in-bed epochs
    assert np.isnan(table.loc["flat", "signal_valid_pct"])
    assert table.loc["beats", "signal_valid_pct"] > 90.0


def test_a_live_session_folder_is_analysed_per_participant_as_one_session(tmp_path: Path) -> None:
    session = tmp_path / "lab-night"
    assert main(["demo", "--minutes", "20", "--out", str(session), "--quiet",
                 "--data-dir", str(tmp_path / "no-data")]) == 0
    (session / "notes.parquet").write_bytes(b"not ours")  # other files in it are not nights
    import io

    from dreamband.cli.cmd_info import render
    from dreamband.io.summary import describe

    info = describe(session)  # `dreamband info FOLDER`
    assert info["kind"] == "session" and info["complete"] and len(info["participants"]) == 6
    assert all(p["n_epochs"] == 40 for p in info["participants"])
    text = io.StringIO()
    render(info, text)
    assert "closed cleanly" in text.getvalue() and "REM periods" in text.getvalue()
    nights = discover_inputs([tmp_path])
    assert {n.kind for n in nights} == {"session"} and len(nights) == 6
    assert {n.session for n in nights} == {"lab-night"}
    outcomes = run_nights(nights, tmp_path / "out", workers=1)
    assert all(o.status == "done" for o in outcomes), [o.error for o in outcomes]
    table = read_table(tmp_path / "out", "nights").to_pandas()
    assert (table["n_epochs"] == 40).all()
    write_group_windows(tmp_path / "out", nights, k=2, min_duration=0)
    windows = read_table(tmp_path / "out", "group_windows")
    assert set(windows["session"].to_pylist()) <= {"session-lab-night"}
