"""File edges of the synchronizer: read hypnograms, write window tables, name participants."""

from __future__ import annotations

import csv
import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path

from dreamband.core.hypnogram import Hypnogram
from dreamband.sync.types import GroupWindow

__all__ = [
    "participant_name",
    "read_hypnogram",
    "sha256_of",
    "subject_of",
    "write_windows_csv",
]

_SLEEPEDF = re.compile(r"^S[CT]\d(\d\d)\d[A-Z]{2}-Hypnogram$", re.I)


def read_hypnogram(path: str | os.PathLike) -> Hypnogram:
    """Read any hypnogram format dreamband reads (see :func:`dreamband.io.read_hypnogram`).

    Raises
    ------
    InputFileError
        If the file is missing or no reader accepts it.
    """
    from dreamband.io import read_hypnogram as read_any

    return read_any(path)


def participant_name(path: str | os.PathLike) -> str:
    """Participant name of a hypnogram file: its stem (``SC4001EC-Hypnogram``)."""
    return Path(path).stem


def subject_of(path: str | os.PathLike) -> str:
    """Subject of a night for subject-wise evaluation: the Sleep-EDF subject number
    (``SC4011EH-Hypnogram.edf`` -> ``"01"``), else the file stem."""
    stem = Path(path).stem
    m = _SLEEPEDF.match(stem)
    return m.group(1) if m else stem


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_windows_csv(windows: Sequence[GroupWindow], path: str | os.PathLike) -> Path:
    """Write ``start,end,duration,n_members,members`` (s on the common timeline; ``;``)."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["start", "end", "duration", "n_members", "members"])
        for win in windows:
            w.writerow([f"{win.start:g}", f"{win.end:g}", f"{win.duration:g}", win.n_members,
                        ";".join(win.members)])
    return path
