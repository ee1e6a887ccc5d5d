"""EDF/EDF+/BDF header parsing without reading samples (for ``info`` and input checks).

The header is fixed-width ASCII: 256 bytes, then 256 bytes per signal. This module checks
what readers usually take on trust — the version field, every number, and that the file
really holds the data records the header announces — so a bad file gets a one-line
:class:`~dreamband.errors.InputFileError` naming the field instead of a deep traceback.
"""

from __future__ import annotations

import logging
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
    """Header fields of one signal (annotation signals are not listed)."""

    name: str
    fs: float
    unit: str
    n_samples: int
    transducer: str
    prefilter: str
    physical_min: float
    physical_max: float

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


def _number(path: Path, raw: bytes, field: str, kind=float):
    text = _text(raw)
    try:
        value = float(text)
        if kind is int:
            if value != int(value):
                raise ValueError
            return int(value)
        return value
    except ValueError:
        raise InputFileError(path, f"not a number: {text!r}", f"header field {field!r}") from None


def _start(path: Path, d: str, t: str, recording: str) -> datetime | None:
    m_d = re.fullmatch(r"(\d\d)\.(\d\d)\.(\d\d)", d)
    m_t = re.fullmatch(r"(\d\d)\.(\d\d)\.(\d\d)", t)
    if not m_t:
        raise InputFileError(
            path, f"start time must be hh.mm.ss; got {t!r}", "header field 'starttime'"
        )
    clock = time(*(int(x) for x in m_t.groups()))
    # EDF+ puts the full date in the recording field: 'Startdate 24-APR-1989 ...' (or 'X').
    m_plus = re.match(r"Startdate (\S+)", recording)
    if m_plus:
        token = m_plus.group(1)
        if token.upper() == "X":
            return None
        m = re.fullmatch(r"(\d\d)-([A-Za-z]{3})-(\d{4})", token)
        if m and m.group(2).upper() in _MONTHS:
            day = date(int(m.group(3)), _MONTHS.index(m.group(2).upper()) + 1, int(m.group(1)))
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


def _unique(labels: list[str]) -> list[str]:
    """Make duplicate labels unique as MNE does: ``EEG, EEG`` → ``EEG-0, EEG-1``."""
    dupes = {n for n in labels if labels.count(n) > 1 and n not in ANNOTATION_LABELS}
    seen: dict[str, int] = {}
    out = []
    for n in labels:
        if n in dupes:
            out.append(f"{n}-{seen.get(n, 0)}")
            seen[n] = seen.get(n, 0) + 1
        else:
            out.append(n)
    return out


def read_edf_info(path: str | os.PathLike) -> EdfInfo:
    """Read and check the header of an EDF, EDF+ or BDF file (no samples are read).

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
        malformed header field (named), or is truncated (fewer bytes than the data
        records the header announces).
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
        header_bytes = _number(path, head[184:192], "header bytes", int)
        reserved = _text(head[192:236])
        n_records = _number(path, head[236:244], "number of data records", int)
        record_duration = _number(path, head[244:252], "data record duration")
        ns = _number(path, head[252:256], "number of signals", int)
        if ns < 0 or header_bytes != 256 * (ns + 1):
            raise InputFileError(
                path,
                f"header bytes {header_bytes} do not match {ns} signals",
                "header field 'header bytes'",
            )
        sig = fh.read(256 * ns)
    if len(sig) < 256 * ns:
        raise InputFileError(
            path, "truncated header (signal fields missing)", "header field 'number of signals'"
        )

    def field(offset: int, width: int) -> list[bytes]:
        base = offset * ns
        return [sig[base + i * width : base + (i + 1) * width] for i in range(ns)]

    labels = [_text(x) for x in field(0, 16)]
    transducers = [_text(x) for x in field(16, 80)]
    units = [_text(x) for x in field(96, 8)]
    pmin = [
        _number(path, x, f"physical minimum of signal {i + 1}") for i, x in enumerate(field(104, 8))
    ]
    pmax = [
        _number(path, x, f"physical maximum of signal {i + 1}") for i, x in enumerate(field(112, 8))
    ]
    prefilters = [_text(x) for x in field(136, 80)]
    spr = [
        _number(path, x, f"samples per record of signal {i + 1}", int)
        for i, x in enumerate(field(216, 8))
    ]

    file_type = ("BDF" if bdf else "EDF") + (
        "+" + reserved[4:6].strip("+") if reserved.startswith(("EDF+", "BDF+")) else ""
    )
    bytes_per_sample = 3 if bdf else 2
    record_bytes = sum(spr) * bytes_per_sample
    if n_records == -1 and record_bytes:  # allowed while recording: infer from the size
        n_records = (size - header_bytes) // record_bytes
    if n_records < 0:
        raise InputFileError(
            path, f"invalid count {n_records}", "header field 'number of data records'"
        )
    expected = header_bytes + n_records * record_bytes
    if size < expected:
        raise InputFileError(
            path,
            f"truncated: header announces {n_records} data records ({expected} bytes) "
            f"but the file has {size} bytes",
            "header field 'number of data records'",
        )
    labels = _unique(labels)
    if file_type.endswith("+D"):
        logger.warning("%s: discontinuous EDF+D; data records are read back to back", path)
    channels = []
    has_annotations = False
    for i, name in enumerate(labels):
        if name in ANNOTATION_LABELS:
            has_annotations = True
            continue
        if record_duration <= 0 or spr[i] <= 0:
            raise InputFileError(
                path,
                f"signal {name!r} has {spr[i]} samples per {record_duration:g}-s record",
                "header field 'samples per record'",
            )
        channels.append(
            EdfChannelInfo(
                name=name,
                fs=spr[i] / record_duration,
                unit=units[i],
                n_samples=spr[i] * n_records,
                transducer=transducers[i],
                prefilter=prefilters[i],
                physical_min=pmin[i],
                physical_max=pmax[i],
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
    )
