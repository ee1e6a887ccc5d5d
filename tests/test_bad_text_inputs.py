"""Binary or wrongly encoded files given where text is expected, and other malformed inputs:
one line naming the file (and the line), exit code 2, never a traceback."""

from __future__ import annotations

import numpy as np
import pytest

from dreamband.cli.main import main as cli
from dreamband.errors import InputFileError
from dreamband.io.text import read_text
from dreamband.io.yasa_samples import read_yasa_npz

JUNK = bytes([0x32, 0x95, 0x5C, 0xD6, 0xD1, 0xD4, 0x86, 0x51]) * 40


def test_read_text_names_the_line_of_the_first_bad_byte(tmp_path):
    p = tmp_path / "beats.csv"
    p.write_bytes(b"rr_ms\n800\n\x95\x96\n")
    with pytest.raises(InputFileError, match=r"beats\.csv \(line 3\): not a text file: "
                                             r"byte 0x95 is not utf-8"):
        read_text(p)
    assert read_text(p, "latin-1").startswith("rr_ms\n800\n")
    with pytest.raises(InputFileError, match="no such file"):
        read_text(tmp_path / "missing.csv")
    with pytest.raises(InputFileError, match="is a folder"):
        read_text(tmp_path)


@pytest.mark.parametrize("argv", [
    ["rem", "{junk}", "--out", "{tmp}/r.csv"],
    ["info", "{junk}"],
    ["sync", "{junk}", "{junk}", "--k", "2", "--out", "{tmp}/w.csv"],
    ["forecast", "{junk}"],
])
def test_binary_csv_is_a_one_line_error_in_every_reader(tmp_path, capsys, argv):
    junk = tmp_path / "junk.csv"
    junk.write_bytes(JUNK)
    args = [a.format(junk=junk, tmp=tmp_path) for a in argv]
    assert cli(args) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert "junk.csv (line 1): not a text file" in err


def test_stage_binary_csv_says_binary_not_garbage(tmp_path, capsys):
    junk = tmp_path / "junk.csv"
    junk.write_bytes(JUNK)
    assert cli(["stage", str(junk), "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("its header has binary data, not text") and "\x95" not in err


def test_stage_rr_csv_with_a_bad_byte_below_the_header_names_its_line(tmp_path, capsys):
    p = tmp_path / "half.csv"
    p.write_bytes(b"rr_ms\n800\n\x95\x96\n")
    assert cli(["stage", str(p), "--out", str(tmp_path / "o.csv")]) == 2
    assert "half.csv (line 3): not a text file" in capsys.readouterr().err


def test_stage_too_short_heart_csv_names_the_file_once(tmp_path, capsys):
    p = tmp_path / "short.csv"
    p.write_text("time_s,hr_bpm\n0,60\n1,61\n")
    assert cli(["stage", str(p), "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("short.csv") == 1 and "at least 3 samples" in err


def test_npz_errors_name_the_key_and_never_offer_pickle(tmp_path):
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3))
    with pytest.raises(InputFileError, match=r"missing key 'data' .*this one holds a"):
        read_yasa_npz(other)
    objects = tmp_path / "objects.npz"
    np.savez(objects, data=np.array([{"a": 1}], dtype=object), sf=100, chan=["x"])
    with pytest.raises(InputFileError, match=r"pickled.*never loads"):
        read_yasa_npz(objects)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(JUNK)
    with pytest.raises(InputFileError, match=r"not an npz archive \(not a zip file\)"):
        read_yasa_npz(junk)
