"""Sleep-EDF (Expanded) hypnograms: annotation-only EDF+ files scored by R&K in 30-s epochs.

Each annotation covers a run of epochs (``Sleep stage W`` for 30630 s, ...), with onsets in
seconds from the start of the matching PSG file. The last ``Sleep stage ?`` run often extends
past the PSG end.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from dreamband.core.hypnogram import Hypnogram
from dreamband.core.recording import Recording
from dreamband.core.stages import SleepStage, from_rk
from dreamband.errors import InputFileError

__all__ = [
    "annotations_to_stages",
    "find_hypnogram",
    "find_psg",
    "is_sleepedf_hypnogram",
    "psg_name",
    "read_edf_annotations",
    "read_sleepedf_hypnogram",
    "read_sleepedf_night",
    "sleepedf_record",
]

logger = logging.getLogger(__name__)

_EPOCH = 30.0
# SC4001E0-PSG.edf / SC4001EC-Hypnogram.edf ; ST7011J0-PSG.edf / ST7011JP-Hypnogram.edf
_NAME = re.compile(
    r"^(?P<rec>S[CT]\d{4}[A-Z])(?P<tag>[0-9A-Z])-(?P<kind>PSG|Hypnogram)\.edf$", re.I
)


def sleepedf_record(path: str | os.PathLike) -> str | None:
    """The record key (``"SC4001E"``) of a Sleep-EDF PSG or hypnogram file name, else None."""
    m = _NAME.match(Path(path).name)
    return m.group("rec").upper() if m else None


def is_sleepedf_hypnogram(path: str | os.PathLike) -> bool:
    """True when the file name follows Sleep-EDF's ``SC4ssNX-Hypnogram.edf`` pattern."""
    m = _NAME.match(Path(path).name)
    return bool(m and m.group("kind").lower() == "hypnogram")


def psg_name(hypnogram: str | os.PathLike) -> str:
    """File name of the PSG matching a Sleep-EDF hypnogram (``SC4001EC-Hypnogram.edf`` →
    ``SC4001E0-PSG.edf``).

    Raises
    ------
    ValueError
        If the name is not a Sleep-EDF hypnogram or PSG name.
    """
    rec = sleepedf_record(hypnogram)
    if rec is None:
        raise ValueError(
            f"{Path(hypnogram).name!r} is not a Sleep-EDF file name like 'SC4001EC-Hypnogram.edf'"
        )
    return f"{rec}0-PSG.edf"


def find_psg(hypnogram: str | os.PathLike) -> Path | None:
    """The PSG file next to a Sleep-EDF hypnogram, or None when it is not there."""
    p = Path(hypnogram)
    candidate = p.with_name(psg_name(p))
    return candidate if candidate.is_file() else None


def find_hypnogram(psg: str | os.PathLike) -> Path:
    """The hypnogram next to a Sleep-EDF PSG file (the scorer letter varies: ``SC4001EC``).

    Raises
    ------
    InputFileError
        If the name is not a Sleep-EDF name or no hypnogram sits next to it.
    """
    p = Path(psg)
    rec = sleepedf_record(p)
    if rec is None:
        raise InputFileError(p, "not a Sleep-EDF file name like 'SC4001E0-PSG.edf'")
    matches = sorted(p.parent.glob(f"{rec}?-Hypnogram.edf"))
    if not matches:
        raise InputFileError(p, f"no hypnogram '{rec}?-Hypnogram.edf' next to this PSG")
    return matches[0]


#: Most epochs an annotation file may expand to (a year of 30-s epochs).
_MAX_EPOCHS = 1_100_000


def _recording_extras(recording: str) -> tuple[str, ...]:
    """Items after ``Startdate d equipment technician code`` in an EDF+ recording field."""
    parts = recording.split()
    if len(parts) >= 5 and parts[0] == "Startdate":
        return tuple(parts[5:])
    return ()


def read_edf_annotations(
    path: str | os.PathLike,
) -> tuple[datetime | None, tuple[str, ...], list[tuple[float, float, str]]]:
    """Read an EDF+/BDF+ file's start, recording-field extras and annotations.

    The header is checked by :func:`~dreamband.io.edf_header.read_edf_info`; the
    annotation signals are parsed strictly (a damaged annotation is an error, not skipped).
    The first annotation of each data record of the first annotation signal is the
    record's time-keeping stamp; the first record's stamp (a sub-second start) is added to
    the start and taken off the onsets.

    Parameters
    ----------
    path : str or PathLike
        The file.

    Returns
    -------
    start : datetime or None
        Header start (None when the start date is anonymised as ``X``).
    additional : tuple of str
        Extra items of the EDF+ recording field.
    annotations : list of (onset s, duration s, text)
        Sorted; onsets in seconds from the start; a missing duration is 0.

    Raises
    ------
    InputFileError
        If the file is missing, its header is bad, it has no annotation signal, or an
        annotation is malformed (naming the signal and data record).
    """
    from dreamband.io.edf_header import ANNOTATION_LABELS, read_edf_info
    from dreamband.io.edf_records import parse_tals

    path = Path(path)
    info = read_edf_info(path)
    if not info.labels:  # an EdfInfo built by hand
        raise InputFileError(path, "no signals", "header field 'number of signals'")
    width = 3 if info.is_bdf else 2
    which = [i for i, name in enumerate(info.labels) if name in ANNOTATION_LABELS]
    if not which:
        raise InputFileError(
            path, "no 'EDF Annotations' signal: not an EDF+ annotation file", "header field 'label'"
        )
    offsets = np.concatenate([[0], np.cumsum(info.samples_per_record)]) * width
    record_bytes = int(offsets[-1])
    with path.open("rb") as fh:
        fh.seek(info.header_bytes)
        data = fh.read(record_bytes * info.n_records)
    anns: list[tuple[float, float, str]] = []
    offset = 0.0
    for k, sig in enumerate(which):
        for r in range(info.n_records):
            at = r * record_bytes
            raw = data[at + int(offsets[sig]) : at + int(offsets[sig + 1])]
            where = f"annotation signal {sig + 1}, data record {r + 1}"
            tals = parse_tals(path, raw, where)
            if k == 0 and tals:  # time-keeping TAL: '+onset' 0x14 0x14 (empty text)
                onset, _, texts = tals[0]
                if texts[0]:
                    raise InputFileError(
                        path, "data record does not start with a time-keeping annotation "
                        f"(found {texts[0][:30]!r})", where
                    )
                if r == 0:
                    offset = onset
                tals[0] = (onset, None, texts[1:])
            for onset, duration, texts in tals:
                anns.extend((onset, duration or 0.0, t) for t in texts)
    anns = sorted((round(o - offset, 12), d, t) for o, d, t in anns)
    start = info.start_time
    if start is not None and offset:
        try:
            start = start + timedelta(seconds=offset)
        except OverflowError:
            raise InputFileError(
                path, f"time-keeping onset {offset:g} s moves the start out of range",
                "annotation signal, data record 1",
            ) from None
    return start, _recording_extras(info.recording), anns


def annotations_to_stages(
    path: str | os.PathLike,
    anns: list[tuple[float, float, str]],
    epoch_length: float,
    origin: float,
    convert: Callable[[str], int],
) -> np.ndarray:
    """Expand variable-length stage annotations onto a regular epoch grid.

    Epoch ``k`` covers ``[origin + k L, origin + (k + 1) L)`` and takes the stage of the
    annotation covering its centre (later annotations win); epochs no annotation covers
    are UNSCORED (-1). Annotations that end before ``origin`` are ignored.

    Parameters
    ----------
    path : str or PathLike
        File the annotations came from (for error messages).
    anns : list of (onset, duration, text)
        Seconds from the file start.
    epoch_length : float
        Epoch length ``L`` in seconds.
    origin : float
        Onset of epoch 0 in seconds from the file start.
    convert : callable
        Label text → stage code; raises ValueError for an unknown label.

    Returns
    -------
    numpy.ndarray
        ``int8`` stage codes.

    Raises
    ------
    InputFileError
        Naming the annotation with an unknown label.
    """
    if not (math.isfinite(epoch_length) and epoch_length > 0):
        raise InputFileError(path, f"epoch length must be positive; got {epoch_length:g}")
    spans = []
    half = epoch_length / 2
    for k, (onset, duration, text) in enumerate(anns):
        try:
            stage = int(convert(text))
        except ValueError as exc:
            raise InputFileError(path, str(exc), f"annotation {k} at {onset:g} s") from None
        if not (math.isfinite(onset) and math.isfinite(duration)):
            raise InputFileError(
                path, f"onset {onset} s or duration {duration} s is not finite",
                f"annotation {k}",
            )
        if duration <= 0:
            logger.debug("%s: skipping zero-length annotation %r at %g s", path, text, onset)
            continue
        first = int(np.ceil((onset - origin - half) / epoch_length - 1e-9))
        stop = int(np.ceil((onset + duration - origin - half) / epoch_length - 1e-9))
        if stop > max(first, 0):
            spans.append((max(first, 0), stop, stage, k, onset))
    n = max((s[1] for s in spans), default=0)
    if n > _MAX_EPOCHS:
        _, stop, _, k, onset = max(spans, key=lambda span: span[1])
        raise InputFileError(
            path,
            f"annotation runs to epoch {stop} of {epoch_length:g} s from the first "
            f"(more than {_MAX_EPOCHS})",
            f"annotation {k} at {onset:g} s",
        )
    stages = np.full(n, SleepStage.UNSCORED, dtype=np.int8)
    for first, stop, stage, _, _ in spans:
        stages[first:stop] = stage
    return stages


def read_sleepedf_hypnogram(
    path: str | os.PathLike,
    psg_duration: float | None = None,
    psg_start: datetime | None = None,
) -> Hypnogram:
    """Read a Sleep-EDF hypnogram into 30-s epochs aligned to the PSG start.

    Parameters
    ----------
    path : str or PathLike
        ``SC4001EC-Hypnogram.edf`` (any annotation-only EDF+ file with R&K labels).
    psg_duration : float, optional
        Duration in seconds of the matching PSG. The hypnogram is clipped to its whole
        epochs; everything cut off must be unscored (the trailing ``Sleep stage ?`` run).
    psg_start : datetime, optional
        Start of the matching PSG; must equal the hypnogram header's start.

    Returns
    -------
    Hypnogram
        Epoch ``k`` covers ``[30 k, 30 k + 30)`` s from the PSG start and takes the label
        of the annotation covering its centre; S3/S4 → N3, ``?`` and movement → UNSCORED;
        epochs no annotation covers are UNSCORED. ``start_time`` is the header start.

    Raises
    ------
    InputFileError
        If the file is missing or unreadable, holds an unknown label, or does not match
        its recording (scored epochs past ``psg_duration``, or a different start).
    """
    p = Path(path)
    start, _, anns = read_edf_annotations(p)
    if psg_start is not None and start is not None and psg_start.replace(tzinfo=None) != start:
        raise InputFileError(
            p,
            f"does not match its recording: starts {start}, recording starts {psg_start}",
            "start time",
        )
    stages = annotations_to_stages(p, anns, _EPOCH, 0.0, from_rk)
    if psg_duration is not None:
        n_psg = int(np.floor(psg_duration / _EPOCH + 1e-9))
        extra = stages[n_psg:]
        scored = np.flatnonzero(extra != SleepStage.UNSCORED)
        if scored.size:
            at = (n_psg + int(scored[-1]) + 1) * _EPOCH
            raise InputFileError(
                p,
                f"does not match its recording: scored epochs run to {at:g} s but the "
                f"recording lasts {psg_duration:g} s",
                "duration",
            )
        stages = stages[:n_psg]
    return Hypnogram(
        stages=stages,
        epoch_length=_EPOCH,
        start_time=start,
        offset=0.0,
        source=str(p),
        meta={"record": sleepedf_record(p) or p.stem},
    )


def read_sleepedf_night(
    psg: str | os.PathLike,
    channels: Sequence[str] | str | None = None,
    hypnogram: str | os.PathLike | None = None,
    crop: bool = True,
) -> tuple[Recording, Hypnogram]:
    """Read a Sleep-EDF PSG and its hypnogram, checked against each other.

    Parameters
    ----------
    psg : str or PathLike
        ``SC4001E0-PSG.edf``.
    channels : str or sequence of str, optional
        Channels to read (all by default), e.g. ``["EEG Fpz-Cz", "EOG horizontal"]``.
    hypnogram : str or PathLike, optional
        The hypnogram; found next to the PSG by default.
    crop : bool
        Crop the hypnogram to the in-bed window (30 min before the first to 30 min after
        the last sleep epoch). The recording is not cut: use ``hyp.onsets`` (seconds from
        the PSG start) to index it.

    Returns
    -------
    recording, hypnogram : Recording, Hypnogram

    Raises
    ------
    InputFileError
        If either file is missing or bad, or the hypnogram does not match the PSG.
    ChannelNotFoundError
        If a requested channel is not in the PSG.
    """
    from dreamband.io.edf import read_edf

    psg = Path(psg)
    hyp_path = Path(hypnogram) if hypnogram is not None else find_hypnogram(psg)
    rec = read_edf(psg, channels=channels)
    duration = min(c.duration for c in rec.channels) if rec.channels else rec.duration
    hyp = read_sleepedf_hypnogram(hyp_path, psg_duration=duration, psg_start=rec.start_time)
    return rec, (hyp.crop_in_bed() if crop else hyp)
