"""Where the data records of a discontinuous EDF+D / BDF+D file lie in time.

An EDF+C file's data records follow each other without a break, so record ``r`` starts
``r`` record durations after the header's start time. In an EDF+D file (a recording that
was paused, or cut to the scored parts) each record says where it starts: the first
annotation of every record's ``EDF Annotations`` signal is a time-keeping TAL, ``+<onset>``
followed by two 0x14 bytes, the onset in seconds from the start time. Readers that take
the records back to back (MNE, edfio) shift everything after the first gap; this module
reads those onsets so that :func:`dreamband.io.edf.read_edf` can put every sample at its
time and mark the gaps.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np

from dreamband.errors import InputFileError
from dreamband.io.edf_header import ANNOTATION_LABELS, EdfInfo

__all__ = ["continuous_runs", "parse_tals", "record_annotations", "record_onsets"]

_ONSET = re.compile(rb"[+-]\d+(\.\d*)?")
_TAL_ONSET = re.compile(r"[+-]\d+(?:\.\d*)?")
_TAL_DURATION = re.compile(r"\d+(?:\.\d*)?")
#: Largest |onset| or duration accepted, in seconds (about 31 years).
_MAX_SECONDS = 1e9


def parse_tals(
    path: Path, raw: bytes, where: str
) -> list[tuple[float, float | None, list[str]]]:
    """Split one data record of an annotation signal into TALs (onset, duration, texts).

    A TAL is ``+onset[ 0x15 duration] 0x14 text 0x14 ... 0x14 0x00`` with no 0x00 inside;
    the record is padded with 0x00. Anything else is refused, naming ``where`` (signal
    and data record).

    Parameters
    ----------
    path : Path
        The file (for messages).
    raw : bytes
        The annotation signal's bytes of one data record.
    where : str
        Which signal and record, for messages.

    Returns
    -------
    list of (float, float or None, list of str)
        Onset (s from the start time), duration (None when not given) and the texts
        (the time-keeping TAL's first text is empty).

    Raises
    ------
    InputFileError
        For any malformed TAL.
    """
    tals = []
    pos = 0
    while pos < len(raw) and raw[pos] != 0:
        end = raw.find(b"\x00", pos)
        tal = raw[pos:] if end < 0 else raw[pos:end]
        shown = tal[:40].decode("latin-1")
        if end < 0 or not tal.endswith(b"\x14"):
            raise InputFileError(
                path, f"annotation {shown!r} is not terminated by 0x14 0x00 (cut or damaged)",
                where,
            )
        pos = end + 1
        timing, sep, texts = tal[:-1].partition(b"\x14")
        if not sep:
            raise InputFileError(
                path, f"annotation {shown!r} lacks the 0x14 after its onset", where
            )
        onset_b, has_dur, dur_b = timing.partition(b"\x15")
        if not _TAL_ONSET.fullmatch(onset_b.decode("latin-1")):
            raise InputFileError(
                path, f"annotation onset {onset_b[:20].decode('latin-1')!r} is not +seconds "
                "or -seconds", where
            )
        onset = float(onset_b)
        duration = None
        if has_dur:
            if not _TAL_DURATION.fullmatch(dur_b.decode("latin-1")):
                raise InputFileError(
                    path, f"annotation duration {dur_b[:20].decode('latin-1')!r} is not "
                    "a number of seconds", where
                )
            duration = float(dur_b)
        if abs(onset) > _MAX_SECONDS or (duration or 0.0) > _MAX_SECONDS:
            raise InputFileError(
                path, f"annotation at {onset:g} s lasting {duration or 0:g} s is beyond "
                f"{_MAX_SECONDS:g} s", where
            )
        if b"\x15" in texts:
            raise InputFileError(
                path, f"annotation at {onset:g} s has a 0x15 inside its text (damaged)", where
            )
        try:
            text = texts.decode("utf-8")
        except UnicodeDecodeError:
            raise InputFileError(
                path, f"annotation text at {onset:g} s is not UTF-8", where
            ) from None
        tals.append((onset, duration, text.split("\x14")))
    if raw[pos:].strip(b"\x00"):
        raise InputFileError(path, "bytes after the annotations' 0x00 padding", where)
    return tals


def _layout(path: Path, info: EdfInfo) -> tuple[int, int, int, int]:
    """Header bytes, record bytes, and byte offset and length of the first annotation
    signal inside a record."""
    width = 3 if info.is_bdf else 2
    spr = info.samples_per_record
    which = next((i for i, name in enumerate(info.labels) if name in ANNOTATION_LABELS), None)
    if which is None:
        raise InputFileError(
            path, f"{info.file_type} file without an annotation signal: the data records' "
            "times are unknown", "header field 'label'")
    return info.header_bytes, sum(spr) * width, sum(spr[:which]) * width, spr[which] * width


def _annotation_bytes(path: Path, info: EdfInfo) -> np.ndarray:
    """``(n_records, n_bytes)`` raw bytes of the first annotation signal of every record."""
    header_bytes, record_bytes, start, length = _layout(path, info)
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=header_bytes,
                     shape=(info.n_records, record_bytes))
    block = np.array(data[:, start : start + length])
    del data
    return block


def record_annotations(path: str | Path, info: EdfInfo) -> list[tuple[float, float, str]]:
    """Every annotation of an EDF+/BDF+ file (the records' time-keeping ones left out).

    Parameters
    ----------
    path : str or Path
        The file.
    info : EdfInfo
        Its header.

    Returns
    -------
    list of (float, float, str)
        ``(onset, duration, text)``: seconds from the start time, 0 when the annotation
        gives no duration; in file order.

    Raises
    ------
    InputFileError
        Naming the data record of a malformed annotation (:func:`parse_tals`).
    """
    path = Path(path)
    if info.n_records == 0:
        return []
    out = []
    for r, row in enumerate(_annotation_bytes(path, info)):
        raw = row.tobytes()
        if raw.find(b"\x14", raw.find(b"\x00") + 1) < 0:
            continue  # the time-keeping annotation alone: the common case
        tals = parse_tals(path, raw, f"annotation signal, data record {r + 1}")
        for k, (onset, duration, texts) in enumerate(tals):
            if k == 0 and texts and not texts[0]:
                texts = texts[1:]  # the time-keeping TAL: its own (empty) text
            out.extend((onset, duration or 0.0, text) for text in texts if text)
    return out


def record_onsets(path: str | Path, info: EdfInfo) -> np.ndarray:
    """Onset of every data record, in seconds from the header's start time.

    Parameters
    ----------
    path : str or Path
        The EDF+/BDF+ file.
    info : EdfInfo
        Its header (:func:`dreamband.io.edf_header.read_edf_info`).

    Returns
    -------
    numpy.ndarray
        ``(n_records,)`` onsets, non-decreasing, each at least one record duration after
        the one before (within a microsecond).

    Raises
    ------
    InputFileError
        Naming the record, if the file has no annotation signal, a record lacks its
        time-keeping annotation, or the records overlap or go back in time.
    """
    path = Path(path)
    n = info.n_records
    if n == 0:
        return np.zeros(0)
    block = _annotation_bytes(path, info)
    onsets = np.empty(n)
    for r, row in enumerate(block):
        raw = row.tobytes()
        cut = raw.find(b"\x14")
        m = _ONSET.fullmatch(raw[:cut]) if cut > 0 else None
        if m is None or raw[cut : cut + 2] != b"\x14\x14":
            shown = raw[: max(cut, 0) or 20].decode("latin-1", "replace")
            raise InputFileError(
                path, f"data record {r} has no time-keeping annotation (starts {shown!r})",
                "EDF Annotations")
        onsets[r] = float(m.group(0))
    step = np.diff(onsets)
    short = np.flatnonzero(step < info.record_duration - 1e-6)
    if short.size:
        r = int(short[0]) + 1
        raise InputFileError(
            path, f"data record {r} starts at {onsets[r]:g} s, before data record {r - 1} "
            f"(at {onsets[r - 1]:g} s, {info.record_duration:g} s long) ends",
            "EDF Annotations")
    return onsets


def continuous_runs(onsets: np.ndarray, record_duration: float,
                    tolerance: float) -> list[tuple[int, int]]:
    """Split records into runs that follow each other without a gap.

    Parameters
    ----------
    onsets : numpy.ndarray
        Record onsets (:func:`record_onsets`).
    record_duration : float
        Seconds per record.
    tolerance : float
        Largest gap (seconds) still read as continuous (half a sample, say).

    Returns
    -------
    list of (int, int)
        ``[first, stop)`` record indices of each run, in order.
    """
    if onsets.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(onsets) > record_duration + tolerance) + 1
    edges = [0, *breaks.tolist(), int(onsets.size)]
    return list(itertools.pairwise(edges))
