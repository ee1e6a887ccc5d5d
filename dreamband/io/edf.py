"""EDF/EDF+/BDF recordings, each channel at its own sampling rate.

Samples are read straight from the data records (memory-mapped, only the selected
channels), after :func:`~dreamband.io.edf_header.read_edf_info` has checked every header
field: MNE would resample channels of different rates to the highest one (Sleep-EDF mixes
100 Hz EEG with 1 Hz temperature), take EDF+D records back to back, and trips over legal
free text in the patient field. Voltage channels are returned in µV whatever the file's unit
(``uV``, ``mV``, ``V``, ``nV``); other channels keep their physical unit (``degC``, ...).
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dreamband.core.recording import Channel, Recording
from dreamband.errors import ChannelNotFoundError, InputFileError
from dreamband.io.edf_header import EdfInfo, read_edf_info, to_microvolt

__all__ = ["channel_kind", "edf_gaps", "read_edf", "read_edf_info", "select_channels"]

logger = logging.getLogger(__name__)

#: EDF+ annotation of a span that was recorded but not acquired (MNE's name; written by
#: :mod:`dreamband.storage.export` over the samples a band never delivered).
SKIP_LABEL = "BAD_ACQ_SKIP"

#: Longest time without data between the records of an EDF+D file that is read (s): its
#: samples are NaN in memory, and a damaged time-keeping annotation (``+99999999``) must
#: not ask for gigabytes.
MAX_GAP_S = 48 * 3600.0

_KIND_PREFIXES = (
    ("eeg", "eeg"),
    ("eog", "eog"),
    ("emg", "emg"),
    ("ecg", "ecg"),
    ("ekg", "ecg"),
    ("resp", "resp"),
    ("temp", "temp"),
)


def channel_kind(name: str) -> str:
    """Guess a channel's kind from its label (``"EEG Fpz-Cz"`` → ``"eeg"``); ``"misc"`` else.

    Bare montage labels of scalp electrodes (``"C3-A1"``, ``"Fpz-Cz"``) count as EEG.
    """
    low = name.lower()
    for prefix, kind in _KIND_PREFIXES:
        if low.startswith(prefix) or f" {prefix}" in low:
            return kind
    head = low.split("-")[0].strip()
    if head[:1] in "fcpota" and head[1:2] in "pz0123456789" and len(head) <= 4:
        return "eeg"
    return "misc"


def _read_samples(path: Path, info: EdfInfo, picks: list[int]) -> dict[int, np.ndarray]:
    """Physical values of the picked channels, records back to back (float64).

    The data records are mapped from disk; each channel's bytes are gathered from every
    record and scaled with the header's ranges,
    ``physical_min + (digital - digital_min) * (physical range / digital range)``.
    """
    width = 3 if info.is_bdf else 2
    spr = info.samples_per_record
    offsets = np.concatenate([[0], np.cumsum(spr)]) * width
    record_bytes = int(offsets[-1])
    n = info.n_records
    out: dict[int, np.ndarray] = {}
    if n == 0 or record_bytes == 0:
        return {i: np.zeros(0) for i in picks}
    try:
        records = np.memmap(path, dtype=np.uint8, mode="r", offset=info.header_bytes,
                            shape=(n, record_bytes))
    except (OSError, ValueError) as exc:
        raise InputFileError(path, f"cannot read the data records ({exc})") from None
    for i in picks:
        c = info.channels[i]
        j = c.index
        block = np.ascontiguousarray(records[:, offsets[j] : offsets[j + 1]])
        if width == 2:
            digital = block.view("<i2").reshape(-1).astype(np.float64)
        else:
            b = block.reshape(-1, 3).astype(np.int32)
            v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
            digital = ((v ^ 0x800000) - 0x800000).astype(np.float64)  # sign of 24 bits
        del block
        gain = (c.physical_max - c.physical_min) / (c.digital_max - c.digital_min)
        digital -= c.digital_min
        digital *= gain
        digital += c.physical_min
        out[i] = digital
    del records
    return out


def select_channels(info: EdfInfo, channels: Sequence[str] | str | None) -> list[int]:
    """Indices of the requested channels in ``info`` (all when None).

    Raises
    ------
    ChannelNotFoundError
        Listing the channels that are there.
    """
    names = info.names
    if channels is None:
        return list(range(len(names)))
    if isinstance(channels, str):
        channels = [channels]
    picked = []
    for want in channels:
        exact = [i for i, n in enumerate(names) if n == want]
        loose = [i for i, n in enumerate(names) if n.lower() == want.strip().lower()]
        hit = exact or (loose if len(loose) == 1 else [])
        if not hit:
            raise ChannelNotFoundError(str(info.path), want, names)
        if hit[0] not in picked:
            picked.append(hit[0])
    return picked


def read_edf(
    path: str | os.PathLike,
    channels: Sequence[str] | str | None = None,
    preload: bool = True,
) -> Recording:
    """Read an EDF, EDF+ or BDF recording.

    Parameters
    ----------
    path : str or PathLike
        The file.
    channels : str or sequence of str, optional
        Channel names to read (exact, else case-insensitive match); all by default.
    preload : bool
        Kept for API compatibility; has no effect. Samples are always read straight from
        the file's data records into the result (``bench/bench_io.py`` compares it with
        MNE). For header-only ("lazy") access use :func:`read_edf_info`.

    Returns
    -------
    Recording
        Channels in the requested (else file) order with their own ``fs``; voltage
        channels in µV (unit ``"uV"``), others in their physical unit; ``start_time`` from
        the header (None when anonymised); ``meta`` holds ``file_type``,
        ``physical_units`` and ``gaps``. ``gaps`` lists ``(start, end)`` seconds from the
        start time without data: where a discontinuous EDF+D file has no data records
        (the others sit at their records' times, read from the time-keeping annotations,
        :mod:`dreamband.io.edf_records`) and where an EDF+ annotation says
        ``BAD_ACQ_SKIP`` (recorded but not acquired, as ``dreamband export`` and MNE mark
        a band's missing samples). Every sample there is NaN. It is empty for files
        without such spans.

    Raises
    ------
    InputFileError
        If the file is missing, not EDF/BDF, malformed or truncated, or an EDF+D file's
        record times are missing or overlap (naming the record).
    ChannelNotFoundError
        If a requested channel is not in the file (the message lists those that are).
    """
    del preload  # see the docstring
    path = Path(path)
    info = read_edf_info(path)
    picks = select_channels(info, channels)
    data = _read_samples(path, info, picks)
    placement = _placement(path, info, [info.channels[i].fs for i in picks])
    chans = []
    for i in picks:
        c = info.channels[i]
        factor = to_microvolt(c.unit)
        unit = c.unit if factor is None else "uV"
        values = data.pop(i)
        if factor is not None and factor != 1.0:
            values *= factor  # in place: the array is ours, no second copy
        if placement is not None:
            values = _place(values, c.fs, info.record_duration, placement)
        chans.append(
            Channel(name=c.name, data=values, fs=c.fs, unit=unit, kind=channel_kind(c.name))
        )
    logger.debug("%s: read %d channels", path, len(chans))
    return Recording(
        channels=chans,
        start_time=info.start_time,
        source=str(path),
        participant=path.stem,
        meta={
            "file_type": info.file_type,
            "physical_units": {info.channels[i].name: info.channels[i].unit for i in picks},
            "gaps": [] if placement is None else placement.gaps,
        },
    )


def edf_gaps(path: str | os.PathLike, info: EdfInfo | None = None) -> list[tuple[float, float]]:
    """The spans without data of an EDF+ file (see :func:`read_edf`), without reading its
    signals.

    Parameters
    ----------
    path : str or PathLike
        The file.
    info : EdfInfo, optional
        Its header, if already read.

    Returns
    -------
    list of (float, float)
        ``(start, end)`` seconds from the header's start time: between the records of an
        EDF+D file and under ``BAD_ACQ_SKIP`` annotations; empty for other files.

    Raises
    ------
    InputFileError
        As :func:`read_edf` for bad record times.
    """
    path = Path(path)
    info = read_edf_info(path) if info is None else info
    placement = _placement(path, info, [c.fs for c in info.channels])
    return [] if placement is None else placement.gaps


@dataclass(frozen=True)
class _Layout:
    """Where a file's samples lie in time, when not simply back to back from 0."""

    onsets: np.ndarray | None  # EDF+D record onsets (None: records follow each other)
    runs: list[tuple[int, int]]  # [first, stop) records without a break (EDF+D)
    record_gaps: list[tuple[float, float]]  # time between EDF+D records
    skips: list[tuple[float, float]]  # BAD_ACQ_SKIP annotations: recorded, not acquired

    @property
    def gaps(self) -> list[tuple[float, float]]:
        """Every span without data, in time order, overlapping spans merged."""
        merged: list[tuple[float, float]] = []
        for a, b in sorted(self.record_gaps + self.skips):
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        return merged


def _placement(path: Path, info: EdfInfo, rates: list[float]) -> _Layout | None:
    """Record onsets and runs of an EDF+D file whose records do not simply follow each
    other, and the spans an EDF+ file marks ``BAD_ACQ_SKIP``; None when there is neither."""
    if "+" not in info.file_type or not info.has_annotations or info.n_records == 0:
        return None
    from dreamband.io.edf_records import continuous_runs, record_annotations, record_onsets

    skips = [(on, on + dur) for on, dur, text in record_annotations(path, info)
             if text.strip() == SKIP_LABEL and dur > 0]
    onsets, runs, record_gaps = None, [], []
    if info.file_type.endswith("+D"):
        onsets = record_onsets(path, info)
        tol = 0.5 / max(rates, default=1.0)
        runs = continuous_runs(onsets, info.record_duration, tol)
        if len(runs) == 1 and abs(onsets[0]) <= tol:
            onsets, runs = None, []  # EDF+D in name only: read as continuous
        else:
            dur = info.record_duration
            record_gaps = [(0.0, float(onsets[0]))] if onsets[0] > tol else []
            for (_, stop), (first, _) in itertools.pairwise(runs):
                record_gaps.append((float(onsets[stop - 1] + dur), float(onsets[first])))
            missing = sum(b - a for a, b in record_gaps)
            if missing > MAX_GAP_S:  # the NaN-filled signals would not fit in memory
                raise InputFileError(
                    path, f"the data records' times leave {missing / 3600:.0f} h without "
                    f"data (at most {MAX_GAP_S / 3600:.0f} h read)", "EDF Annotations")
    elif skips:
        # EDF+C: annotation onsets count from the header's start time, the first sample
        # from the first record's onset (a sub-second start time, EDF+ section 2.2.4)
        first = float(record_onsets(path, info)[0])
        if first != 0.0:
            skips = [(a - first, b - first) for a, b in skips]
    if onsets is None and not skips:
        return None
    layout = _Layout(onsets, runs, record_gaps, skips)
    logger.info("%s: %d gap(s) without data (%d between EDF+D records, %d marked %s), %.0f s "
                "in all: NaN there", path, len(layout.gaps), len(record_gaps), len(skips),
                SKIP_LABEL, sum(b - a for a, b in layout.gaps))
    return layout


def _place(values: np.ndarray, fs: float, record_duration: float, layout: _Layout) -> np.ndarray:
    """One channel's back-to-back samples put at their records' times, NaN in the gaps."""
    if layout.onsets is not None:
        onsets = layout.onsets
        spr = round(fs * record_duration)
        n = round((onsets[-1] + record_duration) * fs)
        out = np.full(n, np.nan, dtype=values.dtype)
        for first, stop in layout.runs:
            pos = round(onsets[first] * fs)
            out[pos : pos + (stop - first) * spr] = values[first * spr : stop * spr]
    else:
        out = values
    for a, b in layout.skips:
        out[max(round(a * fs), 0) : max(round(b * fs), 0)] = np.nan
    return out
