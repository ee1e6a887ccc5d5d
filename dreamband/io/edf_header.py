"""EDF/EDF+/BDF header parsing without reading samples (for ``info`` and input checks).

The header is fixed-width ASCII: 256 bytes, then 256 bytes per signal. This module checks
what readers usually take on trust — the version field, every number, and that the file
really holds the data records the header announces — so a bad file gets a one-line
:class:`~dreamband.errors.InputFileError` naming the field instead of a deep traceback.
"""

from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from dreamband.errors import InputFileError

__all__ = ["VOLT_SCALE", "EdfChannelInfo", "EdfInfo", "read_edf_info", "to_microvolt"]

logger = logging.getLogger(__name__)

ANNOTATION_LABELS = ("EDF Annotations", "BDF Annotations")

#: Factor from a voltage unit to µV (keys lower-case; µ written three ways).
VOLT_SCALE: dict[str, float] = {
    "uv": 1.0,
    "\u00b5v": 1.0,
    "\u03bcv": 1.0,
    "nv": 1e-3,
    "mv": 1e3,
    "v": 1e6,
}

_MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()


def to_microvolt(unit: str) -> float | None:
    """Factor turning values in ``unit`` into µV, or None when ``unit`` is not a voltage."""
    return VOLT_SCALE.get(unit.strip().lower())


@dataclass(frozen=True)
class EdfChannelInfo:
    """Header fields of one signal (annotation signals are not listed).

    ``index`` is the signal's position among all signals of the file (annotation signals
    counted), which places its samples inside each data record.
    """

    name: str
    fs: float
    unit: str
    n_samples: int
    transducer: str
    prefilter: str
    physical_min: float
    physical_max: float
    digital_min: float = -32768.0
    digital_max: float = 32767.0
    index: int = -1

    @property
    def duration(self) -> float:
        """Seconds of signal the header announces."""
        return self.n_samples / self.fs


@dataclass(frozen=True)
class EdfInfo:
    """Header of an EDF/EDF+/BDF file.

    Attributes
    ----------
    path : pathlib.Path
    file_type : str
        ``"EDF"``, ``"EDF+C"``, ``"EDF+D"``, ``"BDF"``, ``"BDF+C"``, ``"BDF+D"``.
    channels : list of EdfChannelInfo
        Ordinary signals, in file order.
    start_time : datetime or None
        Start of the recording (naive local clock); None when anonymised.
    n_records : int
        Number of data records.
    record_duration : float
        Seconds per data record (0 for annotation-only files).
    patient, recording : str
        Identification fields.
    has_annotations : bool
        Whether an ``EDF Annotations`` signal is present.
    header_bytes : int
        Size of the header; the data records follow.
    labels : tuple of str
        Labels of all signals as in the file (annotation signals included, repeated
        labels not renamed).
    samples_per_record : tuple of int
        Samples per data record of all signals (annotation signals included), in file
        order; 2 bytes per sample in EDF, 3 in BDF.
    """

    path: Path
    file_type: str
    channels: list[EdfChannelInfo]
    start_time: datetime | None
    n_records: int
    record_duration: float
    patient: str
    recording: str
    has_annotations: bool
    header_bytes: int = 0
    labels: tuple[str, ...] = ()
    samples_per_record: tuple[int, ...] = ()

    @property
    def duration(self) -> float:
        """Recording duration in seconds (records x record duration)."""
        return self.n_records * self.record_duration

    @property
    def names(self) -> list[str]:
        """Channel names in file order."""
        return [c.name for c in self.channels]

    @property
    def is_bdf(self) -> bool:
        """True for 24-bit BDF files."""
        return self.file_type.startswith("BDF")


def _text(raw: bytes) -> str:
    return raw.decode("latin-1").strip()


def _mne_text(raw: bytes) -> str:
    """A label or unit as MNE reads it (ASCII whitespace stripped from the bytes), so that
    names and unit strings here match the ones MNE returns."""
    return raw.strip().decode("latin-1")


_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _number(path: Path, raw: bytes, field: str, kind: type = float) -> float:
    """Parse a fixed-width number field: a finite decimal (an integer when ``kind`` is int).

    Raises
    ------
    InputFileError
        Naming the field, for anything else (empty, junk, ``nan``, ``inf``, ``1e999``).
    """
    text = _text(raw)
    where = f"header field {field!r}"
    if kind is int:
        if not _INT.fullmatch(text):
            raise InputFileError(path, f"not an integer: {text!r}", where)
        return int(text)
    if not _FLOAT.fullmatch(text):
        raise InputFileError(path, f"not a number: {text!r}", where)
    value = float(text)
    if not math.isfinite(value):
        raise InputFileError(path, f"number out of range: {text!r}", where)
    return value


def _start(path: Path, d: str, t: str, recording: str) -> datetime | None:
    """Start of the recording from the date/time fields (EDF+ ``Startdate`` preferred)."""
    m_d = re.fullmatch(r"(\d\d)\.(\d\d)\.(\d\d)", d)
    m_t = re.fullmatch(r"(\d\d)\.(\d\d)\.(\d\d)", t)
    if not m_t:
        raise InputFileError(
            path, f"start time must be hh.mm.ss; got {t!r}", "header field 'starttime'"
        )
    try:
        clock = time(*(int(x) for x in m_t.groups()))
    except ValueError:
        raise InputFileError(
            path, f"invalid start time {t!r}", "header field 'starttime'"
        ) from None
    # EDF+ puts the full date in the recording field: 'Startdate 24-APR-1989 ...' (or 'X').
    m_plus = re.match(r"Startdate (\S+)", recording)
    if m_plus:
        token = m_plus.group(1)
        if token.upper() == "X":
            return None
        m = re.fullmatch(r"(\d\d)-([A-Za-z]{3})-(\d{4})", token)
        if m and m.group(2).upper() in _MONTHS:
            month = _MONTHS.index(m.group(2).upper()) + 1
            try:
                day = date(int(m.group(3)), month, int(m.group(1)))
            except ValueError:
                raise InputFileError(
                    path, f"invalid start date {token!r}", "header field 'recording'"
                ) from None
            return datetime.combine(day, clock)
    if not m_d:
        raise InputFileError(
            path, f"start date must be dd.mm.yy; got {d!r}", "header field 'startdate'"
        )
    dd, mm, yy = (int(x) for x in m_d.groups())
    year = 1900 + yy if yy >= 85 else 2000 + yy
    try:
        return datetime.combine(date(year, mm, dd), clock)
    except ValueError:
        raise InputFileError(
            path, f"invalid start date {d!r}", "header field 'startdate'"
        ) from None


def _unique(path: Path, labels: list[str]) -> list[str]:
    """Make duplicate labels unique as MNE does: ``EEG, EEG`` → ``EEG-0, EEG-1``.

    Raises
    ------
    InputFileError
        If a new name would equal another signal's label (``EEG, EEG, EEG-0``): MNE then
        picks names in an order of its own and channels could be mixed up.
    """
    dupes = {n for n in labels if labels.count(n) > 1 and n not in ANNOTATION_LABELS}
    seen: dict[str, int] = {}
    out = []
    for n in labels:
        if n in dupes:
            out.append(f"{n}-{seen.get(n, 0)}")
            seen[n] = seen.get(n, 0) + 1
        else:
            out.append(n)
    for i, (old, new) in enumerate(zip(labels, out)):
        if old != new and new in labels:
            raise InputFileError(
                path,
                f"label {old!r} is repeated and its running-number name {new!r} is "
                "another signal's label",
                f"header field 'label' of signal {i + 1}",
            )
    return out


#: Largest magnitude a sample may reach after scaling (leaves room for unit factors).
_MAX_VALUE = 1e300


def _check_scaling(
    path: Path, i: int, name: str, unit: str, pmin: float, pmax: float, dmin: float,
    dmax: float, bdf: bool,
) -> None:
    """Refuse a signal whose digital→physical scaling is undefined or overflows."""
    where = f"signal {i + 1} ({name!r})"
    if pmin == pmax:
        raise InputFileError(
            path,
            f"physical minimum equals physical maximum ({pmin:g}): the scaling is undefined",
            f"header field 'physical maximum' of {where}",
        )
    if dmin >= dmax:
        raise InputFileError(
            path,
            f"digital minimum {dmin:g} must be below digital maximum {dmax:g}",
            f"header field 'digital maximum' of {where}",
        )
    gain = (pmax - pmin) / (dmax - dmin)
    limit = 2**23 if bdf else 2**15  # largest |stored integer|
    factor = max(1.0, to_microvolt(unit) or 1.0)
    worst = (abs(pmin) + (abs(dmin) + limit) * abs(gain)) * factor
    if not (math.isfinite(gain) and gain != 0 and math.isfinite(worst) and worst < _MAX_VALUE):
        raise InputFileError(
            path,
            f"physical range {pmin:g}..{pmax:g} over digital range {dmin:g}..{dmax:g} "
            "gives samples too large to represent",
            f"header field 'physical maximum' of {where}",
        )


def read_edf_info(path: str | os.PathLike) -> EdfInfo:
    """Read and check the header of an EDF, EDF+ or BDF file (no samples are read).

    Every number must be a finite decimal (integers where EDF wants integers). A record
    count of -1 (allowed while a recording is running) is replaced by the number of whole
    data records the file holds; a partial record at the end is ignored with a warning.

    Parameters
    ----------
    path : str or PathLike
        The file.

    Returns
    -------
    EdfInfo
        Channels with sampling rate, unit and sample count; start time; duration.

    Raises
    ------
    InputFileError
        If the file is missing, is not EDF/BDF (bad version field or too short), has a
        malformed or inconsistent header field (named: e.g. header bytes that disagree
        with the number of signals, physical minimum equal to maximum, digital minimum not
        below maximum, a repeated label whose MNE-style new name is taken), or its size
        disagrees with the header (fewer bytes than the data records announced, or at
        least one whole data record more).
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file")
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(256)
        if len(head) < 256:
            raise InputFileError(
                path, f"not an EDF file ({len(head)} bytes, shorter than an EDF header)"
            )
        version = head[:8]
        if version == b"0       ":
            bdf = False
        elif version == b"\xffBIOSEMI":
            bdf = True
        else:
            shown = version.decode("latin-1", "replace")
            raise InputFileError(
                path, f"not an EDF file (version field is {shown!r})", "header field 'version'"
            )
        patient = _text(head[8:88])
        recording = _text(head[88:168])
        header_bytes = int(_number(path, head[184:192], "header bytes", int))
        reserved = _text(head[192:236])
        n_records = int(_number(path, head[236:244], "number of data records", int))
        record_duration = _number(path, head[244:252], "data record duration")
        ns = int(_number(path, head[252:256], "number of signals", int))
        if ns < 0:
            raise InputFileError(
                path, f"negative count {ns}", "header field 'number of signals'"
            )
        if header_bytes != 256 * (ns + 1):
            raise InputFileError(
                path,
                f"header bytes {header_bytes} do not match {ns} signals "
                f"(expected {256 * (ns + 1)})",
                "header field 'header bytes'",
            )
        sig = fh.read(256 * ns)
    if len(sig) < 256 * ns:
        raise InputFileError(
            path,
            f"truncated header: {ns} signals need {header_bytes} header bytes but the file "
            f"has {size}",
            "header field 'number of signals'",
        )
    if record_duration < 0:
        raise InputFileError(
            path, f"negative duration {record_duration:g}", "header field 'data record duration'"
        )

    def field(offset: int, width: int) -> list[bytes]:
        base = offset * ns
        return [sig[base + i * width : base + (i + 1) * width] for i in range(ns)]

    def numbers(offset: int, name: str, kind: type = float) -> list:
        return [
            _number(path, x, f"{name} of signal {i + 1}", kind)
            for i, x in enumerate(field(offset, 8))
        ]

    raw_labels = [_mne_text(x) for x in field(0, 16)]
    transducers = [_text(x) for x in field(16, 80)]
    units = [_mne_text(x) for x in field(96, 8)]
    pmin = numbers(104, "physical minimum")
    pmax = numbers(112, "physical maximum")
    dmin = numbers(120, "digital minimum")
    dmax = numbers(128, "digital maximum")
    prefilters = [_text(x) for x in field(136, 80)]
    spr = [int(n) for n in numbers(216, "samples per record", int)]
    for i, n in enumerate(spr):
        if n <= 0:
            raise InputFileError(
                path,
                f"signal {raw_labels[i]!r} has {n} samples per record; must be positive",
                f"header field 'samples per record' of signal {i + 1}",
            )

    if reserved.startswith(("EDF+", "BDF+")):
        kind = reserved[4:5]
        if kind not in ("C", "D"):
            raise InputFileError(
                path,
                f"EDF+ files are EDF+C or EDF+D; got {reserved[:8]!r}",
                "header field 'reserved'",
            )
        file_type = ("BDF+" if bdf else "EDF+") + kind
    else:
        file_type = "BDF" if bdf else "EDF"
    bytes_per_sample = 3 if bdf else 2
    record_bytes = sum(spr) * bytes_per_sample
    data_bytes = size - header_bytes
    where_n = "header field 'number of data records'"
    if n_records == -1:  # allowed while recording: infer from the size
        if not record_bytes:
            raise InputFileError(
                path, "count -1 (unknown) in a file without signals", where_n
            )
        n_records = data_bytes // record_bytes
        logger.warning(
            "%s: header has -1 data records (recording not closed); the file holds %d",
            path, n_records,
        )
    if n_records < 0:
        raise InputFileError(path, f"invalid count {n_records}", where_n)
    expected = header_bytes + n_records * record_bytes
    if size < expected:
        raise InputFileError(
            path,
            f"truncated: header announces {n_records} data records ({expected} bytes) "
            f"but the file has {size} bytes",
            where_n,
        )
    extra = size - expected
    if extra and record_bytes and extra >= record_bytes:
        raise InputFileError(
            path,
            f"file size disagrees with the header: {n_records} data records take "
            f"{expected} bytes but the file has {size} ({extra // record_bytes} more "
            "whole records)",
            where_n,
        )
    if extra:
        logger.warning(
            "%s: %d bytes after the last data record are ignored", path, extra
        )
    if not math.isfinite(n_records * record_duration):
        raise InputFileError(
            path,
            f"{n_records} records of {record_duration:g} s overflow",
            "header field 'data record duration'",
        )
    labels = _unique(path, raw_labels)
    if file_type.endswith("+D"):
        logger.info("%s: discontinuous %s", path, file_type)
    channels = []
    has_annotations = False
    for i, name in enumerate(labels):
        if name in ANNOTATION_LABELS:
            has_annotations = True
            continue
        if record_duration <= 0:
            raise InputFileError(
                path,
                f"signal {name!r} has {spr[i]} samples per {record_duration:g}-s record",
                "header field 'data record duration'",
            )
        fs = spr[i] / record_duration
        if not (math.isfinite(fs) and fs > 0):
            raise InputFileError(
                path,
                f"signal {name!r}: {spr[i]} samples per {record_duration:g}-s record is "
                "not a usable sampling rate",
                "header field 'data record duration'",
            )
        _check_scaling(path, i, name, units[i], pmin[i], pmax[i], dmin[i], dmax[i], bdf)
        channels.append(
            EdfChannelInfo(
                name=name,
                fs=fs,
                unit=units[i],
                n_samples=spr[i] * n_records,
                transducer=transducers[i],
                prefilter=prefilters[i],
                physical_min=pmin[i],
                physical_max=pmax[i],
                digital_min=dmin[i],
                digital_max=dmax[i],
                index=i,
            )
        )
    return EdfInfo(
        path=path,
        file_type=file_type,
        channels=channels,
        start_time=_start(path, _text(head[168:176]), _text(head[176:184]), recording),
        n_records=n_records,
        record_duration=record_duration,
        patient=patient,
        recording=recording,
        has_annotations=has_annotations,
        header_bytes=header_bytes,
        labels=tuple(raw_labels),
        samples_per_record=tuple(spr),
    )
