"""RR-interval and heart-rate CSV readers: values, and bad rows named by line."""

from __future__ import annotations

import numpy as np
import pytest

from dreamband.errors import InputFileError
from dreamband.io.rr_csv import read_heart_csv, read_hr_csv, read_rr_csv


def test_rr_only_gives_cumulative_beat_times(tmp_path):
    path = tmp_path / "rr.csv"
    path.write_text("rr_ms\n800\n1000\n900\n")
    beats = read_rr_csv(path)
    np.testing.assert_allclose(beats.times, [0, 0.8, 1.8, 2.7])
    np.testing.assert_allclose(beats.rr, [0.8, 1.0, 0.9])


def test_rr_with_times_places_beats(tmp_path):
    path = tmp_path / "rr.csv"
    path.write_text("time_s,rr_ms\n10.0,800\n11.0,1000\n")
    beats = read_rr_csv(path)
    np.testing.assert_allclose(beats.times, [9.2, 10.0, 11.0])


def test_rr_after_skipped_beats_opens_a_stretch(tmp_path):
    """Rows that skip beats (lost notifications): the interval after the gap starts at its
    own opening beat, so the file's intervals are the series' intervals and no interval
    spans the gap; a time that differs from the previous beat only by rounding is not a
    gap."""
    path = tmp_path / "rr.csv"
    path.write_text("rr_ms,time_s\n800,10.0\n1000,11.0\n900,15.0\n950,15.9504\n")
    beats = read_rr_csv(path)
    np.testing.assert_allclose(beats.times, [9.2, 10.0, 11.0, 14.1, 15.0, 15.9504])
    np.testing.assert_allclose(beats.rr[[0, 1, 3, 4]], [0.8, 1.0, 0.9, 0.9504])


def test_hr_samples(tmp_path):
    path = tmp_path / "hr.csv"
    path.write_text("time_s,hr_bpm\n0,60\n5,62.5\n")
    hr = read_heart_csv(path)
    np.testing.assert_allclose(hr.hr, [60, 62.5])
    assert len(read_hr_csv(path)) == 2


@pytest.mark.parametrize(
    ("text", "line", "why"),
    [
        ("rr_ms\n800\nabc\n", "line 3", "not a number"),
        ("rr_ms\n800\n50\n", "line 3", "outside"),
        ("time_s,rr_ms\n1,800\n1,800\n", "line 3", "strictly increasing"),
        ("time_s,hr_bpm\n0,60\n1,500\n", "line 3", "outside"),
        ("time_s,hr_bpm\n0,60\n1\n", "line 3", "missing"),
        ("beats\n1\n", "header", "column"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, text, line, why):
    path = tmp_path / "heart.csv"
    path.write_text(text)
    with pytest.raises(InputFileError, match=why) as e:
        read_heart_csv(path)
    assert line in str(e.value) and "heart.csv" in str(e.value)
