"""Sleep-EDF hypnograms: spans to 30-s epochs, PSG alignment, mismatch errors, real files."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pytest

from dreamband.core import SleepStage
from dreamband.errors import InputFileError
from dreamband.io.sleepedf import (
    find_hypnogram,
    find_psg,
    psg_name,
    read_sleepedf_hypnogram,
    sleepedf_record,
)


def write_sleepedf_hypnogram(path: Path, spans, start=datetime(1989, 4, 24, 16, 13)) -> Path:
    """Annotation-only EDF+C like Sleep-EDF's (spans = (onset, duration, label))."""
    import edfio

    edf = edfio.Edf(
        [],
        annotations=[edfio.EdfAnnotation(o, d, t) for o, d, t in spans],
        starttime=start.time(),
        recording=edfio.Recording(startdate=start.date()),
    )
    edf.write(path)
    return path


SPANS = [
    (0, 90, "Sleep stage W"),
    (90, 60, "Sleep stage 1"),
    (150, 30, "Sleep stage 4"),
    (180, 30, "Movement time"),
    (210, 60, "Sleep stage R"),
    (270, 300, "Sleep stage ?"),
]


def test_spans_expand_to_epochs_aligned_to_the_psg_start(tmp_path):
    p = write_sleepedf_hypnogram(tmp_path / "SC4001EC-Hypnogram.edf", SPANS)
    hyp = read_sleepedf_hypnogram(p)
    S = SleepStage
    assert (
        hyp.stages.tolist()
        == [S.W] * 3 + [S.N1] * 2 + [S.N3, S.UNSCORED] + [S.REM] * 2 + [S.UNSCORED] * 10
    )
    assert hyp.offset == 0.0
    assert hyp.start_time == datetime(1989, 4, 24, 16, 13)


def test_psg_duration_clips_the_trailing_unscored_run(tmp_path):
    p = write_sleepedf_hypnogram(tmp_path / "h.edf", SPANS)
    hyp = read_sleepedf_hypnogram(p, psg_duration=285.0)
    assert hyp.n_epochs == 9
    assert hyp.stages[-1] == SleepStage.REM


def test_hypnogram_scored_past_the_recording_end_is_an_error(tmp_path):
    p = write_sleepedf_hypnogram(tmp_path / "h.edf", SPANS)
    with pytest.raises(InputFileError, match="does not match its recording") as e:
        read_sleepedf_hypnogram(p, psg_duration=200.0)
    assert "h.edf" in str(e.value) and "duration" in str(e.value)


def test_hypnogram_with_a_different_start_is_an_error(tmp_path):
    p = write_sleepedf_hypnogram(tmp_path / "h.edf", SPANS)
    with pytest.raises(InputFileError, match="does not match its recording"):
        read_sleepedf_hypnogram(p, psg_start=datetime(1989, 4, 24, 16, 14))


def test_gaps_between_spans_are_unscored_and_unknown_labels_named(tmp_path):
    p = write_sleepedf_hypnogram(
        tmp_path / "h.edf", [(0, 30, "Sleep stage 2"), (90, 30, "Sleep stage 3")]
    )
    assert read_sleepedf_hypnogram(p).stages.tolist() == [2, -1, -1, 3]
    bad = write_sleepedf_hypnogram(
        tmp_path / "b.edf", [(0, 30, "Sleep stage 2"), (30, 30, "Lights off")]
    )
    with pytest.raises(InputFileError, match="annotation 1 at 30 s"):
        read_sleepedf_hypnogram(bad)


def test_missing_and_non_edf_files(tmp_path):
    with pytest.raises(InputFileError, match="no such file"):
        read_sleepedf_hypnogram(tmp_path / "nope.edf")
    junk = tmp_path / "junk.edf"
    junk.write_bytes(b"hello" * 100)
    with pytest.raises(InputFileError, match=r"junk\.edf"):
        read_sleepedf_hypnogram(junk)


def test_psg_and_hypnogram_names(tmp_path):
    assert psg_name("SC4001EC-Hypnogram.edf") == "SC4001E0-PSG.edf"
    assert psg_name("ST7011JP-Hypnogram.edf") == "ST7011J0-PSG.edf"
    assert sleepedf_record("SC4012EC-Hypnogram.edf") == "SC4012E"
    with pytest.raises(ValueError, match="not a Sleep-EDF"):
        psg_name("excerpt3.edf")
    hyp = write_sleepedf_hypnogram(tmp_path / "SC4001EC-Hypnogram.edf", SPANS)
    assert find_psg(hyp) is None
    psg = tmp_path / "SC4001E0-PSG.edf"
    psg.write_bytes(b"")
    assert find_psg(hyp) == psg
    assert find_hypnogram(psg) == hyp
    with pytest.raises(InputFileError, match="no hypnogram"):
        find_hypnogram(tmp_path / "SC4002E0-PSG.edf")


# ----------------------------------------------------------------- real files
def _manifest_rows(real_data: Path) -> dict[str, dict]:
    """Parse the per-file table of MANIFEST.md: name -> counts, start, in-bed epochs."""
    rows = {}
    for line in (real_data / "MANIFEST.md").read_text().splitlines():
        m = re.match(r"\| (SC\d{4}\w\w-Hypnogram\.edf) \|", line)
        if not m:
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        w, s1, s2, s3, s4, r, q, mt = (int(c) for c in cells[5:13])
        rows[m.group(1)] = {
            "start": datetime.fromisoformat(cells[4]),
            "counts": {"W": w, "N1": s1, "N2": s2, "N3": s3 + s4, "REM": r, "?": q + mt},
            "in_bed": int(cells[14]),
            "window": tuple(float(x) for x in cells[13].split("–")),
        }
    return rows


@pytest.mark.data
def test_every_real_hypnogram_matches_the_manifest_and_mne(sleep_edf_dir, real_data):
    import mne

    rows = _manifest_rows(real_data)
    files = sorted(sleep_edf_dir.glob("*-Hypnogram.edf"))
    assert files and len(rows) >= len(files)
    for f in files:
        hyp = read_sleepedf_hypnogram(f)
        row = rows[f.name]
        epochs = {k: round(v * 2) for k, v in hyp.minutes_per_stage().items()}
        assert epochs == row["counts"], f.name
        assert hyp.start_time == row["start"]
        crop = hyp.crop_in_bed()
        assert crop.n_epochs == row["in_bed"], f.name
        assert (crop.offset, crop.offset + crop.duration) == row["window"]
        # a second, independent count straight from MNE's annotation reader
        ann = mne.read_annotations(f)
        for label, code in (("Sleep stage R", SleepStage.REM), ("Sleep stage 2", SleepStage.N2)):
            seconds = float(np.sum(ann.duration[ann.description == label]))
            assert np.count_nonzero(hyp.stages == code) * 30 == seconds


@pytest.mark.data
def test_real_hypnogram_start_is_its_header_date(sleep_edf_dir):
    import edfio

    f = sleep_edf_dir / "SC4001EC-Hypnogram.edf"
    if not f.exists():
        pytest.skip("SC4001 hypnogram absent")
    e = edfio.read_edf(f)
    assert read_sleepedf_hypnogram(f).start_time == datetime.combine(e.startdate, e.starttime)
    assert e.startdate == date(1989, 4, 24) and e.starttime == time(16, 13)


def test_night_reader_pairs_psg_and_hypnogram(tmp_path):
    from test_io_edf import SLEEP_EDF_LAYOUT, write_edf

    from dreamband.io.sleepedf import read_sleepedf_night

    psg = tmp_path / "SC4001E0-PSG.edf"
    write_edf(psg, SLEEP_EDF_LAYOUT, seconds=300)
    write_sleepedf_hypnogram(tmp_path / "SC4001EC-Hypnogram.edf", SPANS)
    rec, hyp = read_sleepedf_night(psg, channels=["EEG Fpz-Cz"], crop=False)
    assert rec.names == ["EEG Fpz-Cz"] and hyp.n_epochs == 10
    assert hyp.start_time == rec.start_time
    _, cropped = read_sleepedf_night(psg, crop=True)
    assert cropped.n_epochs == 10  # the 30-min margins reach both ends of this short night
    short = tmp_path / "SC4002E0-PSG.edf"
    write_edf(short, SLEEP_EDF_LAYOUT, seconds=120)
    with pytest.raises(InputFileError, match="does not match its recording"):
        read_sleepedf_night(short, hypnogram=tmp_path / "SC4001EC-Hypnogram.edf")
