"""EDF/EDF+/BDF recordings read through MNE, each channel at its own sampling rate.

MNE resamples channels of a file to the highest rate when their rates differ. To keep
each channel's own rate (Sleep-EDF mixes 100 Hz EEG with 1 Hz temperature), channels are
read in groups of equal rate, one MNE reader per group, and only the selected channels are
read from disk. Voltage channels are returned in µV whatever the file's unit (``uV``,
``mV``, ``V``, ``nV``); other channels keep their physical unit (``degC``, ``%``, ...).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dreamband.core.recording import Channel, Recording
from dreamband.errors import ChannelNotFoundError, InputFileError
from dreamband.io.edf_header import EdfInfo, read_edf_info, to_microvolt

__all__ = ["channel_kind", "read_edf", "read_edf_info", "select_channels"]

logger = logging.getLogger(__name__)

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


def _mne_scale(unit: str) -> float:
    """The factor MNE multiplies a channel by (its own rule: only ``uV``/``µV`` and ``mV``)."""
    if unit in ("\u03bcV", "\u00b5V", "\x83\xcaV", "uV"):
        return 1e-6
    if unit == "mV":
        return 1e-3
    return 1.0


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
        disk into the result, one MNE reader per rate group with MNE's ``preload=False``
        and ``get_data``: about 5x faster with a fifth of the peak memory of MNE's preload
        on a Sleep-EDF-size file (``bench/bench_io.py``). For header-only ("lazy") access
        use :func:`read_edf_info`.

    Returns
    -------
    Recording
        Channels in the requested (else file) order with their own ``fs``; voltage
        channels in µV (unit ``"uV"``), others in their physical unit; ``start_time`` from
        the header (None when anonymised); ``meta`` holds ``file_type`` and
        ``physical_units``.

    Raises
    ------
    InputFileError
        If the file is missing, not EDF/BDF, malformed or truncated.
    ChannelNotFoundError
        If a requested channel is not in the file (the message lists those that are).
    """
    import mne

    del preload  # see the docstring
    path = Path(path)
    info = read_edf_info(path)
    picks = select_channels(info, channels)
    by_rate: dict[float, list[int]] = {}
    for i in picks:
        by_rate.setdefault(info.channels[i].fs, []).append(i)
    reader = mne.io.read_raw_bdf if info.is_bdf else mne.io.read_raw_edf
    data: dict[int, np.ndarray] = {}
    for fs, idx in by_rate.items():
        names = [info.channels[i].name for i in sorted(idx)]  # MNE returns file order
        try:
            others = [n for n in info.names if n not in names]
            raw = reader(
                path,
                exclude=others,
                exclude_after_unique=True,
                preload=False,
                stim_channel=None,
                verbose="error",
            )
            block = raw.get_data()
        except Exception as exc:  # MNE raises ValueError/RuntimeError on damaged files
            raise InputFileError(path, f"cannot read samples ({exc})") from None
        if abs(raw.info["sfreq"] - fs) > 1e-6 or raw.ch_names != names:
            raise InputFileError(
                path,
                f"MNE read channels {raw.ch_names} at {raw.info['sfreq']} Hz, expected {names}",
            )
        for row, i in zip(block, sorted(idx)):
            data[i] = row
    chans = []
    for i in picks:
        c = info.channels[i]
        factor = to_microvolt(c.unit)
        unit = c.unit if factor is None else "uV"
        gain = (1.0 if factor is None else factor) / _mne_scale(c.unit)
        values = data.pop(i)
        if gain != 1.0:
            values *= gain  # in place: MNE's array is ours, no second copy
        chans.append(
            Channel(name=c.name, data=values, fs=c.fs, unit=unit, kind=channel_kind(c.name))
        )
    logger.debug("%s: read %d channels at rates %s", path, len(chans), sorted(by_rate))
    return Recording(
        channels=chans,
        start_time=info.start_time,
        source=str(path),
        participant=path.stem,
        meta={
            "file_type": info.file_type,
            "physical_units": {info.channels[i].name: info.channels[i].unit for i in picks},
        },
    )
