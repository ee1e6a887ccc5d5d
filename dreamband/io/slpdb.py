"""MIT-BIH Polysomnographic Database (slpdb) records read with the ``wfdb`` package.

Each record ``slpNN`` has a header (``slpNN.hea``), 30-s sleep stage annotations
(``slpNN.st``, stage = first token of ``aux_note``) and beat annotations (``slpNN.ecg``,
one annotation per R peak at 250 Hz). The signal file ``slpNN.dat`` is not needed here.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from dreamband.core.beats import BeatSeries
from dreamband.core.hypnogram import Hypnogram
from dreamband.core.stages import SleepStage, from_slpdb
from dreamband.errors import InputFileError

__all__ = [
    "BEAT_SYMBOLS",
    "SlpdbHeader",
    "read_slpdb_beats",
    "read_slpdb_header",
    "read_slpdb_stages",
    "record_base",
]

logger = logging.getLogger(__name__)

#: WFDB annotation symbols that mark a heart beat (QRS complex); everything else
#: (rhythm changes, comments, non-conducted P waves ``x``, noise ``~``, ...) is not a beat.
BEAT_SYMBOLS: frozenset[str] = frozenset("NLRBAaJSVrFejnE/fQ?")

_EPOCH = 30.0
_SUFFIXES = (".hea", ".st", ".ecg", ".dat", ".xws")


@dataclass(frozen=True)
class SlpdbHeader:
    """The header fields of one WFDB record.

    Attributes
    ----------
    record : str
        Record name (``"slp03"``).
    fs : float
        Sampling rate in Hz (250 for slpdb).
    n_samples : int
        Samples per signal.
    signals : list of str
        Signal descriptions (``"ECG"``, ``"EEG (C3-O1)"``, ...).
    units : list of str
        Physical unit of each signal.
    start_time : datetime or None
        Recording start (naive local clock), None when the header has no date.
    comments : list of str
        Comment lines (age, sex, weight for slpdb).
    """

    record: str
    fs: float
    n_samples: int
    signals: list[str]
    units: list[str]
    start_time: datetime | None
    comments: list[str]

    @property
    def duration(self) -> float:
        """Duration in seconds."""
        return self.n_samples / self.fs


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence the pandas deprecation warnings wfdb 4.x emits on every call."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


def record_base(path: str | os.PathLike) -> Path:
    """Return the record path without extension (``folder/slp03``).

    Accepts ``slp03``, ``slp03.hea``, ``slp03.st``, ``slp03.ecg`` or a folder path joined
    with the record name.

    Raises
    ------
    InputFileError
        If the header ``<record>.hea`` does not exist.
    """
    p = Path(path)
    if p.suffix.lower() in _SUFFIXES:
        p = p.with_suffix("")
    header = p.with_name(p.name + ".hea")
    if not header.is_file():
        raise InputFileError(header, "no such WFDB header file")
    return p


def _require(base: Path, extension: str) -> Path:
    f = base.with_name(f"{base.name}.{extension}")
    if not f.is_file():
        raise InputFileError(f, f"no such WFDB annotation file (annotator {extension!r})")
    return f


def read_slpdb_header(path: str | os.PathLike) -> SlpdbHeader:
    """Read a WFDB record header.

    Parameters
    ----------
    path : str or PathLike
        Record as ``slp03``, ``slp03.hea`` or ``folder/slp03``.

    Returns
    -------
    SlpdbHeader

    Raises
    ------
    InputFileError
        If the header is missing or cannot be parsed.
    """
    import wfdb

    base = record_base(path)
    hea = base.with_name(base.name + ".hea")
    try:
        with _quiet():
            h = wfdb.rdheader(str(base))
    except Exception as exc:  # wfdb raises bare ValueError/IndexError on bad headers
        raise InputFileError(hea, f"not a readable WFDB header ({exc})") from None
    if not h.fs or h.fs <= 0:
        raise InputFileError(hea, f"sampling frequency must be positive; got {h.fs}", "fs")
    start = None
    if h.base_date is not None and h.base_time is not None:
        start = datetime.combine(h.base_date, h.base_time)
    return SlpdbHeader(
        record=base.name,
        fs=float(h.fs),
        n_samples=int(h.sig_len or 0),
        signals=list(h.sig_name or []),
        units=list(h.units or []),
        start_time=start,
        comments=list(h.comments or []),
    )


def _read_annotation(base: Path, extension: str):
    import wfdb

    f = _require(base, extension)
    try:
        with _quiet():
            return wfdb.rdann(str(base), extension)
    except Exception as exc:
        raise InputFileError(f, f"not a readable WFDB annotation file ({exc})") from None


def read_slpdb_stages(path: str | os.PathLike) -> Hypnogram:
    """Read the reference sleep stages (``.st`` annotator) of an slpdb record.

    Parameters
    ----------
    path : str or PathLike
        Record as ``slp03``, ``slp03.hea``, ``slp03.st`` or ``folder/slp03``.

    Returns
    -------
    Hypnogram
        30-s epochs. ``offset`` is the first stage annotation's sample divided by ``fs``
        (seconds from the record start; slpdb's first annotation sits at sample 1 in most
        records, 4 ms, and later in a few); ``start_time`` is the header's start plus that
        offset. The stage is the first token of each ``aux_note`` (trailing NUL stripped):
        R&K 3 and 4 → N3, movement time → UNSCORED. Epochs without an annotation (gaps)
        are UNSCORED.

    Raises
    ------
    InputFileError
        If the header or the ``.st`` file is missing or unreadable, a stage code is
        unknown, or an annotation lies past the end of the record.
    """
    header = read_slpdb_header(path)
    base = record_base(path)
    st_file = base.with_name(base.name + ".st")
    ann = _read_annotation(base, "st")
    samples = np.asarray(ann.sample, dtype=np.int64)
    if samples.size == 0:
        raise InputFileError(st_file, "no stage annotations")
    aux = ann.aux_note or [""] * samples.size
    per_epoch = _EPOCH * header.fs
    index = np.rint((samples - samples[0]) / per_epoch).astype(np.int64)
    stages = np.full(int(index[-1]) + 1 if index.size else 0, SleepStage.UNSCORED, np.int8)
    for k, (i, note) in enumerate(zip(index, aux)):
        try:
            stage = from_slpdb(note)
        except ValueError as exc:
            raise InputFileError(
                st_file, str(exc), f"annotation {k} at sample {samples[k]}"
            ) from None
        stages[i] = stage
    n_gaps = stages.size - np.unique(index).size
    if n_gaps:
        logger.info("%s: %d epochs without a stage annotation set to UNSCORED", st_file, n_gaps)
    offset = float(samples[0] / header.fs)
    if header.n_samples and samples[-1] >= header.n_samples:
        raise InputFileError(
            st_file,
            f"does not match its recording: stage annotation at sample {samples[-1]} but the "
            f"record has {header.n_samples} samples",
            "sample",
        )
    start = None
    if header.start_time is not None:
        start = header.start_time + timedelta(seconds=offset)
    return Hypnogram(
        stages=stages,
        epoch_length=_EPOCH,
        start_time=start,
        offset=offset,
        source=str(st_file),
        meta={"record": header.record, "record_duration": header.duration},
    )


def read_slpdb_beats(path: str | os.PathLike) -> BeatSeries:
    """Read the R-peak times (``.ecg`` annotator) of an slpdb record.

    Parameters
    ----------
    path : str or PathLike
        Record as ``slp03``, ``slp03.hea``, ``slp03.ecg`` or ``folder/slp03``.

    Returns
    -------
    BeatSeries
        Beat times in seconds since the record start (sample / fs) and their beat symbols.
        Only annotations whose symbol is in :data:`BEAT_SYMBOLS` are kept.

    Raises
    ------
    InputFileError
        If the header or the ``.ecg`` file is missing or unreadable, or beat times are not
        increasing.
    """
    header = read_slpdb_header(path)
    base = record_base(path)
    ecg_file = base.with_name(base.name + ".ecg")
    ann = _read_annotation(base, "ecg")
    samples = np.asarray(ann.sample, dtype=np.int64)
    symbols = np.asarray(ann.symbol if ann.symbol is not None else [], dtype=str)
    keep = np.isin(symbols, list(BEAT_SYMBOLS))
    dropped = int(samples.size - np.count_nonzero(keep))
    if dropped:
        logger.info("%s: %d non-beat annotations skipped", ecg_file, dropped)
    try:
        return BeatSeries(
            times=samples[keep] / header.fs,
            symbols=symbols[keep],
            start_time=header.start_time,
            source=str(ecg_file),
            participant=header.record,
        )
    except ValueError as exc:
        raise InputFileError(ecg_file, str(exc), "sample") from None
