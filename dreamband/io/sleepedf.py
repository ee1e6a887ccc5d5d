"""Sleep-EDF (Expanded) hypnograms: annotation-only EDF+ files scored by R&K in 30-s epochs.

Each annotation covers a run of epochs (``Sleep stage W`` for 30630 s, ...), with onsets in
seconds from the start of the matching PSG file. The last ``Sleep stage ?`` run often extends
past the PSG end.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Sequence
from datetime import datetime
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


def read_edf_annotations(
    path: str | os.PathLike,
) -> tuple[datetime | None, tuple[str, ...], list[tuple[float, float, str]]]:
    """Read an EDF+ file's start, recording-field extras and annotations with edfio.

    Returns
    -------
    start : datetime or None
        Header start (None when the start date is anonymised as ``X``).
    additional : tuple of str
        Extra items of the EDF+ recording field.
    annotations : list of (onset s, duration s, text)
        Onsets in seconds from the file start; a missing duration is 0.

    Raises
    ------
    InputFileError
        If the file is missing or not a readable EDF+ file.
    """
    import edfio

    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file")
    try:
        edf = edfio.read_edf(path, lazy_load_data=True)
        anns = [(float(a.onset), float(a.duration or 0.0), a.text) for a in edf.annotations]
    except Exception as exc:  # edfio raises ValueError/EdfError on malformed headers
        raise InputFileError(path, f"not a readable EDF+ annotation file ({exc})") from None
    try:
        start: datetime | None = datetime.combine(edf.startdate, edf.starttime)
    except Exception:  # edfio.AnonymizedDateError: start date is 'X'
        start = None
    try:
        additional = tuple(edf.recording.additional)
    except Exception:  # non-EDF+ recording field
        additional = ()
    return start, additional, anns


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
    spans = []
    half = epoch_length / 2
    for k, (onset, duration, text) in enumerate(anns):
        try:
            stage = int(convert(text))
        except ValueError as exc:
            raise InputFileError(path, str(exc), f"annotation {k} at {onset:g} s") from None
        if duration <= 0:
            logger.debug("%s: skipping zero-length annotation %r at %g s", path, text, onset)
            continue
        first = int(np.ceil((onset - origin - half) / epoch_length - 1e-9))
        stop = int(np.ceil((onset + duration - origin - half) / epoch_length - 1e-9))
        if stop > max(first, 0):
            spans.append((max(first, 0), stop, stage))
    n = max((s[1] for s in spans), default=0)
    stages = np.full(n, SleepStage.UNSCORED, dtype=np.int8)
    for first, stop, stage in spans:
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
