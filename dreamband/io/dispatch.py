"""Read any hypnogram format dreamband knows, choosing the reader from the file."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from dreamband.core.hypnogram import Hypnogram
from dreamband.errors import InputFileError

__all__ = ["hypnogram_format", "read_hypnogram"]

logger = logging.getLogger(__name__)

FORMATS = (
    "csv",
    "parquet",
    "edf",
    "sleep-edf",
    "dreams",
    "slpdb",
    "int-txt",
    "sleep-accel",
)


def _first_line(path: Path) -> str:
    with path.open("rb") as fh:
        return fh.readline(200).decode("latin-1").strip()


def hypnogram_format(path: str | os.PathLike) -> str:
    """Name the hypnogram format of a file (one of :data:`FORMATS`).

    Raises
    ------
    InputFileError
        If the file is missing or is not a hypnogram format dreamband reads.
    """
    from dreamband.io.sleepedf import is_sleepedf_hypnogram

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".hea", ".st"):
        return "slpdb"
    if not p.is_file():
        raise InputFileError(p, "no such file")
    if suffix == ".csv":
        return "csv"
    if suffix == ".parquet":
        return "parquet"
    if suffix == ".edf":
        ours = b"dreamband" in p.open("rb").read(168)[88:]
        return "sleep-edf" if is_sleepedf_hypnogram(p) and not ours else "edf"
    if suffix == ".out" and p.name.endswith("_psg_labels.out"):
        return "sleep-accel"
    if suffix == ".txt":
        first = _first_line(p)
        if first.lower() == "[hypnogram]":
            return "dreams"
        return "int-txt"
    raise InputFileError(
        p,
        "not a hypnogram format dreamband reads (.csv, .parquet, .edf, DREAMS/YASA .txt, "
        "slpdb .hea/.st, sleep-accel *_psg_labels.out)",
    )


def read_hypnogram(path: str | os.PathLike, **kwargs) -> Hypnogram:
    """Read a hypnogram in any format dreamband knows.

    Parameters
    ----------
    path : str or PathLike
        dreamband CSV/Parquet/EDF+ (``write_hypnogram``'s output), a Sleep-EDF
        ``*-Hypnogram.edf``, a DREAMS ``Hypnogram_*.txt``, an slpdb record (``.hea`` or
        ``.st``), a one-integer-per-line 30-s text file (YASA: 0 W .. 4 REM) or a
        sleep-accel ``*_psg_labels.out``.
    **kwargs
        Passed to the format's reader (``psg_duration`` for Sleep-EDF, ``epoch_length``
        for DREAMS).

    Returns
    -------
    Hypnogram

    Raises
    ------
    InputFileError
        If the file is missing, of an unknown format, or malformed.
    """
    fmt = hypnogram_format(path)
    logger.debug("reading %s as %s hypnogram", path, fmt)
    if fmt == "csv":
        from dreamband.io.hypnogram_files import read_csv_hypnogram

        return read_csv_hypnogram(path)
    if fmt == "parquet":
        from dreamband.io.hypnogram_files import read_parquet_hypnogram

        return read_parquet_hypnogram(path)
    if fmt == "edf":
        from dreamband.io.hypnogram_files import read_edf_hypnogram

        return read_edf_hypnogram(path, **kwargs)
    if fmt == "sleep-edf":
        from dreamband.io.sleepedf import read_sleepedf_hypnogram

        return read_sleepedf_hypnogram(path, **kwargs)
    if fmt == "dreams":
        from dreamband.io.dreams import read_dreams_hypnogram

        return read_dreams_hypnogram(path, **kwargs)
    if fmt == "slpdb":
        from dreamband.io.slpdb import read_slpdb_stages

        return read_slpdb_stages(path)
    if fmt == "sleep-accel":
        from dreamband.io.sleep_accel import read_sleep_accel_labels

        return read_sleep_accel_labels(path)
    from dreamband.io.yasa_samples import read_int_hypnogram

    return read_int_hypnogram(path, **kwargs)
