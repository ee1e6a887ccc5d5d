"""Core types of the hardware layer: decoded sample blocks, explicit gaps, decode errors.

Times are float seconds. ``host_time`` is on the host's monotonic clock (or the simulated
host clock of a virtual band); ``device_time`` is on the band's own clock, in seconds since
the band's stream started (packet counters divided by the nominal rate) or since the band's
epoch when it sends real timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

__all__ = ["STREAM_KINDS", "DecodeError", "Gap", "SampleBlock", "StreamKind"]

StreamKind = Literal["eeg", "ecg", "hr", "rr", "acc", "ppg"]
STREAM_KINDS: tuple[str, ...] = ("eeg", "ecg", "hr", "rr", "acc", "ppg")


class DecodeError(ValueError):
    """A packet could not be decoded.

    Parameters
    ----------
    profile : str
        Device profile whose decoder failed (``"muse"``, ``"polar_h10"``...).
    offset : int
        Byte offset in the packet where decoding failed.
    reason : str
        What is wrong, in a few words.
    """

    def __init__(self, profile: str, offset: int, reason: str) -> None:
        self.profile = profile
        self.offset = int(offset)
        self.reason = reason
        super().__init__(f"{profile}: byte {self.offset}: {reason}")


@dataclass(frozen=True)
class SampleBlock:
    """One decoded packet (or an assembled group of packets) of one stream.

    Attributes
    ----------
    device : str
        Band identifier (its address or a stable name).
    stream : str
        Stream kind: one of :data:`STREAM_KINDS`.
    channels : tuple of str
        Channel names, one per row of ``samples``.
    fs : float or None
        Nominal sampling rate in Hz; ``None`` for irregular streams (HR, RR).
    samples : ndarray, shape (n_channels, n_samples)
        Samples in physical units (µV for biopotentials, bpm for HR, s for RR).
    device_time : ndarray, shape (n_samples,)
        Sample times on the band's clock, in seconds.
    host_time : ndarray, shape (n_samples,)
        Sample times mapped onto the host clock (de-jittered), in seconds.
    seq : int
        Unwrapped packet sequence number of the (first) packet in this block.
    first_index : int
        Unwrapped device sample counter of the first sample (``-1`` for irregular streams).
    """

    device: str
    stream: str
    channels: tuple[str, ...]
    fs: float | None
    samples: np.ndarray
    device_time: np.ndarray
    host_time: np.ndarray
    seq: int
    first_index: int = -1
    meta: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.stream not in STREAM_KINDS:
            kinds = ", ".join(STREAM_KINDS)
            raise ValueError(f"stream must be one of {kinds}; got {self.stream!r}")
        if self.samples.ndim != 2 or self.samples.shape[0] != len(self.channels):
            raise ValueError(
                f"{self.device}/{self.stream}: samples shape {self.samples.shape} does not match "
                f"{len(self.channels)} channels"
            )
        n = self.samples.shape[1]
        if self.device_time.shape != (n,) or self.host_time.shape != (n,):
            raise ValueError(
                f"{self.device}/{self.stream}: time arrays must have {n} entries, got "
                f"{self.device_time.shape} and {self.host_time.shape}"
            )

    @property
    def n_samples(self) -> int:
        """Number of samples (columns) in the block."""
        return int(self.samples.shape[1])


@dataclass(frozen=True)
class Gap:
    """Samples that a band sent but the host never received; never filled in.

    Attributes
    ----------
    device, stream : str
        Which band and stream lost samples.
    missing : int
        Number of missing samples (per channel); ``-1`` when unknown (irregular streams
        such as heart rate and RR intervals, where only the time span is known).
    start_time, end_time : float
        Host time of the last sample before the gap and of the first sample after it (s).
    first_index : int
        Device sample counter of the first missing sample (``-1`` when unknown).
    reason : str
        ``"loss"`` (packets lost), ``"disconnect"`` (link dropped) or ``"overflow"``
        (dropped by the host's bounded queue).
    """

    device: str
    stream: str
    missing: int
    start_time: float
    end_time: float
    first_index: int = -1
    reason: str = "loss"
