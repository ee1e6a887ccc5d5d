"""What every device profile provides: UUIDs, commands, stream specs and a stateful decoder.

A profile module holds pure ``decode_*``/``encode_*`` functions for its packets and a
:class:`Profile` that tells :class:`firmware_bridge.band.Band` what to subscribe to, which
commands start and stop streaming, and how to turn notifications into :class:`Frame` s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from firmware_bridge.types import DecodeError

__all__ = [
    "Command",
    "Frame",
    "Profile",
    "StreamDecoder",
    "StreamSpec",
    "full_uuid",
    "need",
]

_BASE_UUID_TAIL = "-0000-1000-8000-00805f9b34fb"


def full_uuid(short: int) -> str:
    """Expand a 16-bit Bluetooth SIG UUID (``0x180D``) to its 128-bit lower-case form."""
    return f"{short:08x}{_BASE_UUID_TAIL}"


def need(profile: str, data: bytes | bytearray, offset: int, n: int, what: str) -> None:
    """Raise :class:`DecodeError` unless ``data`` holds ``n`` bytes from ``offset``."""
    if len(data) < offset + n:
        raise DecodeError(profile, len(data), f"truncated {what}: need {n} bytes at {offset}")


@dataclass(frozen=True)
class Command:
    """One write to a characteristic (start/stop streaming, presets)."""

    char_uuid: str
    data: bytes
    response: bool = False


@dataclass(frozen=True)
class StreamSpec:
    """A stream a profile delivers.

    Attributes
    ----------
    kind : str
        ``eeg``, ``ecg``, ``hr``, ``rr``...
    channels : tuple of str
        Channel names.
    fs : float or None
        Nominal rate in Hz, ``None`` for irregular streams.
    counter_modulo : int or None
        Modulo of the wrapped sample counter the device sends (``None`` when frames carry
        device timestamps instead, or nothing countable).
    unit : str
        Physical unit of the samples.
    """

    kind: str
    channels: tuple[str, ...]
    fs: float | None
    counter_modulo: int | None = None
    unit: str = "uV"


@dataclass
class Frame:
    """Decoded content of one (or one assembled group of) notification(s).

    Attributes
    ----------
    stream : str
        Kind of the stream it belongs to.
    samples : ndarray, shape (n_channels, n_samples)
        Physical units.
    position : int or None
        Wrapped device sample counter of the first sample (modulo the stream's
        ``counter_modulo``), or the absolute counter when derived from device timestamps.
    device_time : float or None
        Device timestamp of the last sample, in seconds, when the device sends one.
    meta : dict
        Extra status (``contact``, ``energy_kj``...).
    """

    stream: str
    samples: np.ndarray
    position: int | None = None
    device_time: float | None = None
    meta: dict[str, float] = field(default_factory=dict)


class StreamDecoder(Protocol):
    """Stateful per-connection decoder: notifications in, frames out."""

    def feed(self, char_uuid: str, data: bytes | bytearray) -> list[Frame]:
        """Decode one notification; raises DecodeError on a malformed packet."""
        ...

    def reset(self) -> None:
        """Forget state carried between packets (after a reconnect or a gap)."""
        ...


@dataclass(frozen=True)
class Profile:
    """Everything the transport needs to know about one kind of band."""

    name: str
    service_uuids: tuple[str, ...]
    name_prefixes: tuple[str, ...]
    streams: tuple[StreamSpec, ...]
    subscribe: tuple[str, ...]
    start: tuple[Command, ...]
    stop: tuple[Command, ...]
    new_decoder: Callable[[], StreamDecoder]
    battery_uuid: str | None = None

    def stream(self, kind: str) -> StreamSpec:
        """The spec of stream ``kind``; ValueError naming the available kinds otherwise."""
        for spec in self.streams:
            if spec.kind == kind:
                return spec
        kinds = ", ".join(s.kind for s in self.streams)
        raise ValueError(f"profile {self.name!r} has no stream {kind!r}; available: {kinds}")
