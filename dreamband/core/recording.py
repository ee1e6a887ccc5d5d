"""The :class:`Recording`: a whole night of signals, each channel with its own rate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from dreamband.errors import ChannelNotFoundError

__all__ = ["Channel", "Recording"]


@dataclass(frozen=True)
class Channel:
    """One signal channel.

    Parameters
    ----------
    name : str
        Channel label as in the source file (``"EEG Fpz-Cz"``, ``"C3-A1"``).
    data : numpy.ndarray
        1-D samples in physical units (µV for biopotentials), ``float32`` or ``float64``.
    fs : float
        Sampling rate in Hz.
    unit : str
        Physical unit of ``data`` (``"uV"`` for EEG/EOG/EMG/ECG).
    kind : str
        ``"eeg"``, ``"eog"``, ``"emg"``, ``"ecg"``, ``"resp"``, ``"misc"``, ...
    """

    name: str
    data: np.ndarray
    fs: float
    unit: str = "uV"
    kind: str = "eeg"

    def __post_init__(self) -> None:
        data = np.asarray(self.data)
        if data.ndim != 1:
            raise ValueError(f"channel {self.name!r}: data must be 1-D; got shape {data.shape}")
        if not np.issubdtype(data.dtype, np.floating):
            data = data.astype(np.float64)
        if not (np.isfinite(self.fs) and self.fs > 0):
            raise ValueError(f"channel {self.name!r}: fs must be a positive number; got {self.fs}")
        object.__setattr__(self, "data", data)

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.data.size)

    @property
    def duration(self) -> float:
        """Duration in seconds."""
        return self.n_samples / self.fs


@dataclass(frozen=True)
class Recording:
    """A recording of one participant and night.

    Parameters
    ----------
    channels : sequence of Channel
        The signals. Names are unique.
    start_time : datetime or None
        Wall-clock time of the first sample (naive = the recording's local clock).
    source : str
        File path or stream description, used in error messages.
    participant : str
        Participant identifier (file stem by default in readers).
    """

    channels: Sequence[Channel]
    start_time: datetime | None = None
    source: str = ""
    participant: str = ""
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        chans = tuple(self.channels)
        names = [c.name for c in chans]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"{self.source or 'recording'}: duplicate channel names {dupes}")
        object.__setattr__(self, "channels", chans)

    @property
    def names(self) -> list[str]:
        """Channel names in order."""
        return [c.name for c in self.channels]

    @property
    def duration(self) -> float:
        """Duration in seconds of the longest channel."""
        return max((c.duration for c in self.channels), default=0.0)

    def channel(self, name: str) -> Channel:
        """Return the channel called ``name`` (exact match first, then case-insensitive).

        Raises
        ------
        ChannelNotFoundError
            Naming the recording and listing the channels that are there.
        """
        for c in self.channels:
            if c.name == name:
                return c
        lowered = [c for c in self.channels if c.name.lower() == name.lower()]
        if len(lowered) == 1:
            return lowered[0]
        raise ChannelNotFoundError(self.source or "recording", name, self.names)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(c.name.lower() == name.lower() for c in self.channels)
