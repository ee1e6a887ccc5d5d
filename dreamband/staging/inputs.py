"""Reading a recording file for staging, whatever its format, and telling heart files apart."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from dreamband.core.recording import Recording
from dreamband.errors import InputFileError

__all__ = ["is_heart_input", "read_recording"]

_HEART_COLUMNS = {"rr", "rr_s", "rr_ms", "hr", "hr_bpm", "heart_rate", "bpm"}


def is_heart_input(path: str | os.PathLike) -> bool:
    """True for WFDB headers (``.hea``) and CSV files with RR or heart-rate columns."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".hea":
        return True
    if suffix != ".csv":
        return False
    try:  # the header line only: a bad byte further down is the heart reader's to name
        with open(p, "rb") as fh:
            first = fh.readline(4096).decode("utf-8-sig", "replace")
    except OSError:
        return False
    header = next(csv.reader([first]), [])
    cols = {h.strip().lower() for h in header}
    return bool(cols & _HEART_COLUMNS) or any(c.startswith(("rr", "hr")) for c in cols)


def read_recording(path: str | os.PathLike) -> Recording:
    """Read an EEG recording: EDF/EDF+/BDF, a DREAMS ``excerptN.txt`` or a YASA ``.npz``.

    Raises
    ------
    InputFileError
        If the file is missing or its format is not one dreamband stages from.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(p, "no such file")
    suffix = p.suffix.lower()
    if suffix in (".edf", ".bdf"):
        from dreamband.io.edf import read_edf

        return read_edf(p)
    if suffix == ".txt":
        from dreamband.io.dreams import read_dreams_eeg

        return read_dreams_eeg(p)
    if suffix == ".npz":
        from dreamband.io.yasa_samples import read_yasa_npz

        return read_yasa_npz(p)
    if suffix == ".csv":
        with open(p, newline="", encoding="utf-8", errors="replace") as fh:
            line = fh.readline(4096)
        header = next(csv.reader([line]), [])
        got = ",".join(h.strip() for h in header) or "nothing"
        if "\ufffd" in got or not got.isprintable():
            got = "binary data, not text"
        elif len(got) > 80:
            got = got[:77] + "..."
        raise InputFileError(
            p,
            "a CSV to stage holds RR intervals (columns rr_ms[,time_s]) or heart rate "
            f"(columns time_s,hr_bpm); its header has {got}",
            "header",
        )
    raise InputFileError(
        p, "cannot stage this format; expected .edf/.bdf, DREAMS .txt, .npz, or heart .hea/.csv"
    )
