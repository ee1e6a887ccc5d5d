"""slpdb WFDB reader: stages from .st, beats from .ecg, on small records written with wfdb."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from dreamband.core import BeatSeries, SleepStage
from dreamband.errors import InputFileError
from dreamband.io.slpdb import (
    BEAT_SYMBOLS,
    read_slpdb_beats,
    read_slpdb_header,
    read_slpdb_stages,
)

FS = 250
# wfdb 4.x triggers pandas deprecation warnings in wrann/rdann (used directly below).
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def write_record(folder: Path, name: str = "slp99", stages=None, beats=None, date=True) -> Path:
    """Write a WFDB header (no .dat) and optional .st / .ecg annotation files."""
    import wfdb

    when = " 23:12:00 9/2/1989" if date else " 23:12:00"
    (folder / f"{name}.hea").write_text(
        f"{name} 2 {FS} 900000{when}\n"
        f"{name}.dat 212 200 12 0 0 0 0 ECG\n"
        f"{name}.dat 212 200 12 0 0 0 0 EEG (C3-O1)\n"
        "# 51 M 152\n"
    )
    if stages is not None:
        samples, notes = zip(*stages)
        wfdb.wrann(
            name,
            "st",
            np.array(samples),
            symbol=['"'] * len(samples),
            aux_note=list(notes),
            fs=FS,
            write_dir=str(folder),
        )
    if beats is not None:
        samples, symbols = zip(*beats)
        wfdb.wrann(
            name, "ecg", np.array(samples), symbol=list(symbols), fs=FS, write_dir=str(folder)
        )
    return folder / name


def test_stages_map_rk_codes_and_strip_nul(tmp_path):
    notes = ["W", "1 HA", "2", "3", "4\x00", "R OA", "MT", "M"]
    base = write_record(tmp_path, stages=[(1 + 7500 * i, n) for i, n in enumerate(notes)])
    hyp = read_slpdb_stages(base)
    S = SleepStage
    assert hyp.stages.tolist() == [S.W, S.N1, S.N2, S.N3, S.N3, S.REM, S.UNSCORED, S.UNSCORED]
    assert hyp.epoch_length == 30.0
    assert hyp.offset == pytest.approx(1 / FS)
    assert hyp.start_time == datetime(1989, 2, 9, 23, 12, 0, 4000)


def test_gap_in_stage_annotations_becomes_unscored_epochs(tmp_path):
    # epochs 0, 1 annotated, 2-3 missing, 4 annotated; first annotation at 60 s
    samples = [15000, 22500, 45000]
    base = write_record(tmp_path, stages=list(zip(samples, ["2", "2", "R"])))
    hyp = read_slpdb_stages(base)
    assert hyp.offset == 60.0
    assert hyp.stages.tolist() == [2, 2, -1, -1, 4]


@pytest.mark.parametrize("form", ["bare", "hea", "st", "ecg", "folder"])
def test_record_path_forms_all_work(tmp_path, monkeypatch, form):
    write_record(tmp_path, stages=[(1, "W"), (7500, "2")], beats=[(100, "N"), (300, "N")])
    monkeypatch.chdir(tmp_path)
    arg = {
        "bare": "slp99",
        "hea": "slp99.hea",
        "st": "slp99.st",
        "ecg": "slp99.ecg",
        "folder": tmp_path / "slp99",
    }[form]
    assert read_slpdb_stages(arg).n_epochs == 2
    assert len(read_slpdb_beats(arg)) == 2


def test_beats_keep_beat_symbols_only(tmp_path):
    beats = [(250, "N"), (450, "+"), (500, "V"), (600, "x"), (760, "S"), (800, "~"), (1000, "Q")]
    base = write_record(tmp_path, beats=beats)
    b = read_slpdb_beats(base)
    assert isinstance(b, BeatSeries)
    expected = [(s, sym) for s, sym in beats if sym in BEAT_SYMBOLS]
    assert b.symbols.tolist() == [sym for _, sym in expected]
    np.testing.assert_allclose(b.times, [s / FS for s, _ in expected])
    np.testing.assert_allclose(b.rr, np.diff([s / FS for s, _ in expected]))
    assert b.participant == "slp99"


def test_missing_annotation_files_name_the_file(tmp_path):
    base = write_record(tmp_path)
    with pytest.raises(InputFileError, match=r"slp99\.st"):
        read_slpdb_stages(base)
    with pytest.raises(InputFileError, match=r"slp99\.ecg"):
        read_slpdb_beats(base)
    with pytest.raises(InputFileError, match=r"nothere\.hea"):
        read_slpdb_stages(tmp_path / "nothere")


def test_unknown_stage_code_names_the_annotation(tmp_path):
    base = write_record(tmp_path, stages=[(1, "W"), (7500, "Z")])
    with pytest.raises(InputFileError, match="annotation 1"):
        read_slpdb_stages(base)


def test_header_without_date_gives_no_start_time(tmp_path):
    base = write_record(tmp_path, stages=[(1, "W")], date=False)
    assert read_slpdb_header(base).start_time is None
    assert read_slpdb_stages(base).start_time is None


# ----------------------------------------------------------------- real files
@pytest.mark.data
def test_real_slpdb_records(slpdb_dir):
    import wfdb

    records = [
        r for r in (slpdb_dir / "RECORDS").read_text().split() if (slpdb_dir / f"{r}.st").exists()
    ]
    assert len(records) >= 10
    for rec in records:
        base = slpdb_dir / rec
        h = read_slpdb_header(base)
        assert h.fs == 250
        hyp = read_slpdb_stages(base)
        ann = wfdb.rdann(str(base), "st")
        # independent count: one epoch per annotation, no gaps in these records
        assert hyp.n_epochs == len(ann.sample)
        n_rem = sum(a.replace("\x00", " ").split()[0] == "R" for a in ann.aux_note)
        assert int(np.sum(hyp.stages == SleepStage.REM)) == n_rem
        assert hyp.offset + hyp.duration <= h.duration + 30
        beats = read_slpdb_beats(base)
        hr = 60 / np.median(beats.rr)
        assert 55 < hr < 100, rec


def test_stage_annotation_past_the_record_end_does_not_match(tmp_path):
    base = write_record(tmp_path, stages=[(1, "W"), (900000, "2")])  # record has 900000 samples
    with pytest.raises(InputFileError, match="does not match its recording"):
        read_slpdb_stages(base)
