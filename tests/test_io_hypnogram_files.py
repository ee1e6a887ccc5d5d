"""The hypnogram output contract: CSV, Parquet and EDF+ round trips and bad rows."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dreamband.core import Hypnogram
from dreamband.errors import InputFileError
from dreamband.io import read_hypnogram, write_hypnogram
from dreamband.io.hypnogram_files import columns_for

SUFFIXES = [".csv", ".parquet", ".edf"]


@st.composite
def hypnograms(draw, with_probs=None):
    scheme = draw(st.sampled_from(["aasm", "wearable"]))
    top = 4 if scheme == "aasm" else 2
    stages = np.array(draw(st.lists(st.integers(-1, top), min_size=1, max_size=80)), dtype=np.int8)
    probs = None
    if with_probs if with_probs is not None else draw(st.booleans()):
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        probs = rng.dirichlet(np.ones(top + 1), size=stages.size)
    start = draw(
        st.none() | st.datetimes(min_value=datetime(1985, 1, 1), max_value=datetime(2080, 1, 1))
    )
    return Hypnogram(
        stages=stages,
        epoch_length=draw(st.sampled_from([20.0, 30.0])),
        start_time=start,
        offset=draw(st.sampled_from([0.0, 0.004, 60.0, 1234.5])),
        probabilities=probs,
        source="test scorer",
        scheme=scheme,
    )


@settings(max_examples=25, deadline=None)
@given(hyp=hypnograms(), suffix=st.sampled_from(SUFFIXES))
@example(hyp=Hypnogram(np.array([0], dtype=np.int8), 20.0, start_time=datetime(2000, 1, 1),
                       offset=0.004, source="test scorer"), suffix=".edf")  # a whole-second
# first epoch whose recording start is not: found by hypothesis
def test_round_trip_keeps_stages_grid_and_scheme(tmp_path_factory, hyp, suffix):
    path = tmp_path_factory.mktemp("rt") / f"night-hypnogram{suffix}"
    write_hypnogram(hyp, path)
    back = read_hypnogram(path)
    np.testing.assert_array_equal(back.stages, hyp.stages)
    assert back.scheme == hyp.scheme
    assert back.epoch_length == hyp.epoch_length
    rec_start = None if hyp.start_time is None else hyp.start_time - timedelta(
        seconds=hyp.offset)
    if suffix == ".edf" and rec_start is not None and rec_start.microsecond:
        # EDF+ keeps the recording start to the second; the fraction moves into the onsets
        # (the first epoch keeps its clock time, checked below)
        assert abs(back.offset - hyp.offset) < 1
    else:
        assert back.offset == pytest.approx(hyp.offset, abs=1e-6)
    if suffix == ".csv":
        assert back.start_time is None
    elif hyp.start_time is None:
        assert back.start_time is None
    else:
        assert abs((back.start_time - hyp.start_time).total_seconds()) < 1e-5
    if suffix != ".edf":
        scored = hyp.stages >= 0
        expected = hyp.probabilities
        if expected is None:
            expected = np.eye(len(hyp.classes))[hyp.stages[scored].astype(int)]
        else:
            expected = expected[scored]
        np.testing.assert_allclose(back.probabilities[scored], expected, atol=1e-9)
        assert np.isnan(back.probabilities[~scored]).all()


def test_csv_layout_is_the_documented_contract(tmp_path):
    hyp = Hypnogram(np.array([0, 2, -1, 4]), offset=30.0)
    path = write_hypnogram(hyp, tmp_path / "h.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == "onset,duration,stage,p_W,p_N1,p_N2,p_N3,p_REM"
    assert lines[1] == "30,30,W,1,0,0,0,0"
    assert lines[3] == "90,30,?,,,,,"
    assert lines[4].split(",")[2] == "REM"
    assert not any(line.startswith("#") for line in lines)
    assert columns_for("wearable") == ["onset", "duration", "stage", "p_W", "p_NREM", "p_REM"]


def test_parquet_carries_metadata(tmp_path):
    import pyarrow.parquet as pq

    hyp = Hypnogram(
        np.array([0, 1]), start_time=datetime(2024, 5, 1, 23, 0), source="dreamband rules 0.1"
    )
    path = write_hypnogram(hyp, tmp_path / "h.parquet")
    meta = pq.read_schema(path).metadata
    assert meta[b"start_time"] == b"2024-05-01T23:00:00"
    assert meta[b"scheme"] == b"aasm" and meta[b"epoch_length"] == b"30.0"
    assert read_hypnogram(path).source == "dreamband rules 0.1"


def test_edf_uses_sleep_edf_labels_and_runs(tmp_path):
    import edfio

    hyp = Hypnogram(np.array([0, 0, 3, 3, 3, 4, -1]), start_time=datetime(2024, 5, 1, 23, 0))
    path = write_hypnogram(hyp, tmp_path / "x-hypnogram.edf")
    e = edfio.read_edf(path)
    assert [(a.onset, a.duration, a.text) for a in e.annotations] == [
        (0, 60, "Sleep stage W"),
        (60, 90, "Sleep stage 3"),
        (150, 30, "Sleep stage R"),
        (180, 30, "Sleep stage ?"),
    ]
    assert e.num_signals == 0


@pytest.mark.parametrize(
    ("body", "line", "why"),
    [
        ("0,30,W,1,0,0,0,0\n30,30,N5,0,1,0,0,0\n", "line 3", "stage must be one of"),
        ("0,30,W,1,0,0,0,0\n30,30,N1,0,0.5,0,0,0\n", "line 3", "sum to 1"),
        ("0,30,W,1,0,0,0,0\n45,30,N1,0,1,0,0,0\n", "line 3", "off the 30-s epoch grid"),
        ("0,30,W,1,0,0,0,0\n30,30,N1,0,abc,0,0,0\n", "line 3", "not a number"),
        ("0,30,W,1,0,0,0\n", "line 2", "expected 8 fields"),
        ("0,30,W,,,,,\n", "line 2", "without probabilities"),
    ],
)
def test_bad_csv_rows_name_the_line(tmp_path, body, line, why):
    path = tmp_path / "bad.csv"
    path.write_text("onset,duration,stage,p_W,p_N1,p_N2,p_N3,p_REM\n" + body)
    with pytest.raises(InputFileError, match=why) as e:
        read_hypnogram(path)
    assert line in str(e.value) and "bad.csv" in str(e.value)


def test_bad_header_and_suffix(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("time,stage\n0,W\n")
    with pytest.raises(InputFileError, match="header must be"):
        read_hypnogram(path)
    with pytest.raises(InputFileError, match=r"h\.xlsx \(suffix\): .*\.csv, \.parquet or \.edf"):
        write_hypnogram(Hypnogram(np.array([0])), tmp_path / "h.xlsx")
    with pytest.raises(InputFileError, match="not a hypnogram format"):
        (tmp_path / "h.xlsx").write_text("x")
        read_hypnogram(tmp_path / "h.xlsx")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # wfdb's pandas usage
def test_dispatch_names_every_format(tmp_path):
    from test_io_sleepedf import SPANS, write_sleepedf_hypnogram
    from test_io_slpdb import write_record

    from dreamband.io import hypnogram_format

    hyp = Hypnogram(np.array([0, 1, 2]), scheme="aasm")
    write_hypnogram(hyp, tmp_path / "a.csv")
    write_hypnogram(hyp, tmp_path / "a.parquet")
    write_hypnogram(hyp, tmp_path / "a-hypnogram.edf")
    write_sleepedf_hypnogram(tmp_path / "SC4001EC-Hypnogram.edf", SPANS)
    (tmp_path / "Hypnogram_excerpt1.txt").write_text("[Hypnogram]\n" + "5\n" * 6)
    (tmp_path / "yasa.txt").write_text("0\n1\n")
    (tmp_path / "1_psg_labels.out").write_text("0\n")
    write_record(tmp_path, stages=[(1, "W")])
    expected = {
        "a.csv": "csv",
        "a.parquet": "parquet",
        "a-hypnogram.edf": "edf",
        "SC4001EC-Hypnogram.edf": "sleep-edf",
        "Hypnogram_excerpt1.txt": "dreams",
        "yasa.txt": "int-txt",
        "1_psg_labels.out": "sleep-accel",
        "slp99.hea": "slpdb",
        "slp99.st": "slpdb",
    }
    for name, fmt in expected.items():
        assert hypnogram_format(tmp_path / name) == fmt, name
        assert read_hypnogram(tmp_path / name).n_epochs >= 1


def test_our_edf_named_like_sleep_edf_keeps_its_scheme(tmp_path):
    hyp = Hypnogram(np.array([0, 1, 2, 1]), scheme="wearable", start_time=datetime(2024, 1, 1, 23))
    path = write_hypnogram(hyp, tmp_path / "SC4001EC-Hypnogram.edf")
    back = read_hypnogram(path)
    assert back.scheme == "wearable" and back.stages.tolist() == [0, 1, 2, 1]
