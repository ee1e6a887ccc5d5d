"""``dreamband batch`` on ``dreamband record`` folders: one night per band, as export + batch.

A record folder is what :class:`dreamband.storage.raw.RawRecorder` writes with no live
engine around it: band folders of raw streams and no ``session.json``. The folders here are
the raw streams of virtual sleepers played through virtual BLE bands (a replay's ``raw/``,
the same recorder), and ``dreamband record --virtual`` for the band kinds.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pytest

from dreamband.batch.discover import discover_inputs
from dreamband.cli import main as cli
from dreamband.errors import InputFileError
from dreamband.io.rr_csv import read_rr_csv
from dreamband.replay.hypnogen import generate_hypnogram
from dreamband.replay.impair import Impairments
from dreamband.replay.session import ReplayOptions, run_replay
from dreamband.replay.sources import resolve_source, sleeper_heart_source
from dreamband.storage.export import export_session
from dreamband.storage.raw_signals import beats_from_rr, open_raw_folder


def _record_from_replay(sources, folder: Path, impair: Impairments | None = None) -> Path:
    """The raw streams of bands played for ten minutes, as a record folder (no session)."""
    session = folder.with_name(folder.name + "-session")
    run_replay(
        sources,
        options=ReplayOptions(speed="max", duration_s=600.0),
        session_dir=session,
        impairments=impair,
    )
    shutil.copytree(session / "raw", folder)
    return folder


@pytest.fixture(scope="module")
def muse_record(tmp_path_factory) -> Path:
    """Ten minutes of a virtual sleeper's Muse band, 1 % of packets lost and a 70-s drop."""
    folder = tmp_path_factory.mktemp("record-muse") / "night"
    impair = Impairments(default={"loss": 0.01, "disconnects": [(200.0, 70.0)]})
    return _record_from_replay([resolve_source("virtual:generated:5", name="ann")], folder, impair)


@pytest.fixture(scope="module")
def strap_record(heart_models, tmp_path_factory) -> Path:
    """Ten minutes of a virtual sleeper's Heart Rate Service strap (RR and HR streams),
    2 % of notifications lost and a 40-s drop."""
    folder = tmp_path_factory.mktemp("record-strap") / "night"
    heart = sleeper_heart_source(generate_hypnogram(7, hours=1.0), "cat", "virtual", 7, "t")
    impair = Impairments(default={"loss": 0.02, "disconnects": [(250.0, 40.0)]})
    return _record_from_replay([heart], folder, impair)


def _batch(inputs: list[Path], out: Path) -> int:
    return cli.main(["batch", *map(str, inputs), "--out", str(out), "--quiet", "--workers", "1"])


def _table(out: Path, name: str):
    return ds.dataset(out / name, partitioning="hive").to_table().to_pandas()


def _by_participant(out: Path) -> dict:
    t = _table(out, "epochs")
    return {
        who: g.sort_values("onset_s").reset_index(drop=True) for who, g in t.groupby("participant")
    }


def test_record_folder_is_staged_as_its_export(muse_record: Path, tmp_path: Path) -> None:
    """Batch on the record folder and batch on its exported EDF: the same participant,
    onsets and stages epoch by epoch (the drop's epochs unscored in both)."""
    files = export_session(muse_record, tmp_path / "export")
    assert _batch([muse_record], tmp_path / "rec") == 0
    edf = [f.path for f in files if f.stream == "eeg"]
    assert _batch(edf, tmp_path / "exp") == 0
    rec, exp = _by_participant(tmp_path / "rec"), _by_participant(tmp_path / "exp")
    assert set(rec) == set(exp) == {files[0].participant}
    r, e = rec[files[0].participant], exp[files[0].participant]
    assert len(r) == len(e) == 20
    np.testing.assert_array_equal(r.onset_s, e.onset_s)
    np.testing.assert_array_equal(r.stage_code, e.stage_code)
    assert (r.stage_code == -1).sum() >= 2 and (r.stage_code >= 0).sum() >= 15
    nights = _table(tmp_path / "rec", "nights")
    assert nights.kind.tolist() == ["record"]
    assert nights.hypnogram_source.str.contains("record-raw").all()


def test_strap_is_staged_from_its_beats(strap_record: Path, tmp_path: Path) -> None:
    """A chest strap of a record folder: the batch heart model on its RR intervals, on the
    folder's time zero and grid, gives the stages and probabilities of the RR CSV it
    exports, epoch for epoch: the CSV holds the same beats (exact decimals, a stretch
    opened after every loss)."""
    files = {f.stream: f for f in export_session(strap_record, tmp_path / "export")}
    assert _batch([strap_record], tmp_path / "rec") == 0
    assert _batch([files["rr"].path], tmp_path / "exp") == 0
    (who,) = rec = _by_participant(tmp_path / "rec")
    r, e = rec[who], _by_participant(tmp_path / "exp")[who]
    assert (r.scheme == "wearable").all() and len(r) == len(e) == 20
    np.testing.assert_array_equal(r.onset_s, e.onset_s)
    assert (r.stage_code >= 0).sum() >= 17  # the drop's epoch or two are unscored
    np.testing.assert_array_equal(r.stage_code, e.stage_code)
    np.testing.assert_array_equal(r.p_REM, e.p_REM)
    beats = read_rr_csv(files["rr"].path).times
    raw = open_raw_folder(strap_record)
    (band,) = raw.owner
    np.testing.assert_array_equal(beats, beats_from_rr(raw.table(band, "rr"), raw.t0).times)
    assert "record-raw" in _table(tmp_path / "rec", "nights").hypnogram_source[0]


def test_discovery_takes_record_folders_whole_beside_sessions(
    muse_record: Path, tmp_path: Path
) -> None:
    """A folder of record folders and a live session: one night per band of each record
    folder, the session's participants as session nights, its ``raw/`` never a record."""
    top = tmp_path / "nights"
    shutil.copytree(muse_record, top / "mon")
    shutil.copytree(muse_record, top / "tue")
    shutil.copytree(muse_record.with_name(muse_record.name + "-session"), top / "wed")
    found = discover_inputs([top])
    kinds = sorted((n.kind, n.session, n.night) for n in found)
    band = next(p.name for p in muse_record.iterdir())
    assert kinds == [
        ("record", "mon", f"mon-{band}"),
        ("record", "tue", f"tue-{band}"),
        ("session", "wed", "wed-ann"),
    ]
    rec = next(n for n in found if n.session == "mon")
    assert rec.participant == band and rec.path == top / "mon" / band / "eeg"
    assert all(p.is_relative_to(top / "mon" / band) for p in rec.files)
    assert [n.kind for n in discover_inputs([top / "mon"])] == ["record"]


def test_band_kinds_of_a_cli_recording(tmp_path: Path, caplog, capsys) -> None:
    """``dreamband record --virtual 4``: Muse and Ganglion staged from EEG, the Polar H10 and
    the Heart Rate Service strap from RR; a band with heart rate only is left out with one
    logged line, and a record folder of such bands alone gives the usual no-night error."""
    rec = tmp_path / "rec"
    args = "record --virtual 4 --speed max --duration 20 --no-status --out".split()
    assert cli.main([*args, str(rec)]) == 0
    found = {n.participant: n.path.name for n in discover_inputs([rec])}
    assert sorted(found.values()) == ["eeg", "eeg", "rr", "rr"]
    hr_only = tmp_path / "hr-only"
    strap = next(b for b, s in found.items() if s == "rr" and not (rec / b / "ecg").exists())
    shutil.copytree(rec / strap / "hr", hr_only / strap / "hr")
    with caplog.at_level(logging.WARNING, logger="dreamband.batch.records"):
        assert discover_inputs([hr_only]) == []
    (line,) = [r.getMessage() for r in caplog.records]
    assert strap in line and "only hr stream" in line and "\n" not in line
    assert _batch([hr_only], tmp_path / "out") == 2
    assert "dreamband: error: no nights found" in capsys.readouterr().err


def test_a_folder_that_is_neither_still_gives_the_clear_error(tmp_path: Path, capsys) -> None:
    other = tmp_path / "other"
    (other / "a" / "b").mkdir(parents=True)
    (other / "notes.txt").write_text("no night here\n")
    assert _batch([other], tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dreamband: error: no nights found in {other}")
    assert "record folders" in err


def test_an_export_folder_gives_only_the_sleep_nights(tmp_path: Path) -> None:
    """``dreamband export`` of a recording writes EEG, accelerometer and ECG EDF files and
    heart CSVs: batch on that folder takes the EEG files and the heart CSVs as nights and
    passes over the files without an EEG channel; named alone, such a file is refused
    with its signals listed."""
    rec = tmp_path / "rec"
    args = "record --virtual 4 --speed max --duration 20 --no-status --out".split()
    assert cli.main([*args, str(rec)]) == 0
    out = tmp_path / "export"
    assert cli.main(["export", str(rec), "--out", str(out)]) == 0
    edfs = sorted(p.name for p in out.glob("*.edf"))
    assert any(n.endswith("-acc.edf") for n in edfs) and any(n.endswith("-ecg.edf") for n in edfs)
    nights = discover_inputs([out])
    kinds = sorted((n.kind, n.path.name.rsplit("-", 1)[-1]) for n in nights)
    assert ("eeg", "eeg.edf") in kinds
    assert all(name not in ("acc.edf", "ecg.edf") for _, name in kinds)
    ecg = next(out.glob("*-ecg.edf"))
    with pytest.raises(InputFileError, match=r"no EEG channel to stage; its signals are ECG"):
        discover_inputs([ecg])
