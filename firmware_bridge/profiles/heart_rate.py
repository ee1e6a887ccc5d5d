"""Bluetooth SIG Heart Rate Service (0x180D) and Battery Service (0x180F).

Heart Rate Measurement (0x2A37), per the Bluetooth SIG Heart Rate Service specification
(HRS v1.0, section 3.1) and GATT Specification Supplement:

- byte 0, flags: bit 0 value format (0 = uint8, 1 = uint16 little-endian), bits 1-2 sensor
  contact (bit 2 = contact feature supported, bit 1 = contact detected), bit 3 energy expended
  present (uint16, kJ), bit 4 RR intervals present (uint16 each, units of 1/1024 s), bits 5-7
  reserved.
- then the heart rate (bpm), the energy expended if flagged, and as many RR intervals as
  remain.

Battery Level (0x2A19) is one uint8, percent (0-100).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from firmware_bridge.profiles.base import Frame, Profile, StreamSpec, full_uuid, need
from firmware_bridge.types import DecodeError

__all__ = [
    "BATTERY_LEVEL",
    "BATTERY_SERVICE",
    "HEART_RATE_MEASUREMENT",
    "HEART_RATE_SERVICE",
    "PROFILE",
    "HeartRateMeasurement",
    "decode_battery",
    "decode_measurement",
    "encode_battery",
    "encode_measurement",
]

NAME = "heart_rate"
HEART_RATE_SERVICE = full_uuid(0x180D)
HEART_RATE_MEASUREMENT = full_uuid(0x2A37)
BATTERY_SERVICE = full_uuid(0x180F)
BATTERY_LEVEL = full_uuid(0x2A19)
RR_UNIT_S = 1.0 / 1024.0


@dataclass(frozen=True)
class HeartRateMeasurement:
    """Decoded Heart Rate Measurement.

    Attributes
    ----------
    heart_rate : int
        Beats per minute.
    contact : bool or None
        Sensor contact detected; ``None`` when the sensor does not report contact.
    energy_kj : int or None
        Energy expended since the last reset, kJ.
    rr_s : tuple of float
        RR intervals in seconds (multiples of 1/1024 s), oldest first.
    """

    heart_rate: int
    contact: bool | None = None
    energy_kj: int | None = None
    rr_s: tuple[float, ...] = ()


def decode_measurement(data: bytes | bytearray, profile: str = NAME) -> HeartRateMeasurement:
    """Decode one Heart Rate Measurement notification.

    ``profile`` names the band profile in errors (a Polar H10 also sends these).

    Raises
    ------
    DecodeError
        On an empty or truncated packet, reserved flag bits set, or an odd RR tail.
    """
    need(profile, data, 0, 1, "flags")
    flags = data[0]
    if flags & 0xE0:
        raise DecodeError(profile, 0, f"reserved flag bits set (flags=0x{flags:02x})")
    pos = 1
    if flags & 0x01:
        need(profile, data, pos, 2, "uint16 heart rate")
        hr = struct.unpack_from("<H", data, pos)[0]
        pos += 2
    else:
        need(profile, data, pos, 1, "uint8 heart rate")
        hr = data[pos]
        pos += 1
    contact = bool(flags & 0x02) if flags & 0x04 else None
    energy = None
    if flags & 0x08:
        need(profile, data, pos, 2, "energy expended")
        energy = struct.unpack_from("<H", data, pos)[0]
        pos += 2
    rr: tuple[float, ...] = ()
    if flags & 0x10:
        tail = len(data) - pos
        if tail % 2:
            raise DecodeError(profile, len(data) - 1, "odd number of bytes in RR intervals")
        n = tail // 2
        rr = tuple(v * RR_UNIT_S for v in struct.unpack_from(f"<{n}H", data, pos))
    elif pos != len(data):
        raise DecodeError(profile, pos, f"{len(data) - pos} unexpected trailing bytes")
    return HeartRateMeasurement(hr, contact, energy, rr)


def encode_measurement(m: HeartRateMeasurement, *, uint16: bool | None = None) -> bytes:
    """Encode a measurement; RR intervals are rounded to 1/1024 s.

    Parameters
    ----------
    m : HeartRateMeasurement
        What to send.
    uint16 : bool, optional
        Force the 16-bit heart-rate format (default: only when the rate exceeds 255).
    """
    wide = m.heart_rate > 255 if uint16 is None else uint16
    if not 0 <= m.heart_rate <= (0xFFFF if wide else 0xFF):
        raise ValueError(f"heart_rate out of range: {m.heart_rate}")
    flags = 0x01 if wide else 0x00
    if m.contact is not None:
        flags |= 0x04 | (0x02 if m.contact else 0)
    body = struct.pack("<H" if wide else "<B", m.heart_rate)
    if m.energy_kj is not None:
        flags |= 0x08
        body += struct.pack("<H", m.energy_kj)
    if m.rr_s:
        flags |= 0x10
        ticks = [round(r / RR_UNIT_S) for r in m.rr_s]
        if any(not 0 <= t <= 0xFFFF for t in ticks):
            raise ValueError(f"RR interval out of range: {m.rr_s}")
        body += struct.pack(f"<{len(ticks)}H", *ticks)
    return bytes([flags]) + body


def decode_battery(data: bytes | bytearray, profile: str = NAME) -> int:
    """Decode Battery Level (0x2A19): one byte, percent."""
    need(profile, data, 0, 1, "battery level")
    if len(data) != 1:
        raise DecodeError(profile, 1, f"battery level is 1 byte, got {len(data)}")
    if data[0] > 100:
        raise DecodeError(profile, 0, f"battery level {data[0]} > 100")
    return int(data[0])


def encode_battery(percent: int) -> bytes:
    """Encode Battery Level (percent, 0-100)."""
    if not 0 <= percent <= 100:
        raise ValueError(f"battery percent must be 0-100, got {percent}")
    return bytes([percent])


def measurement_frames(m: HeartRateMeasurement) -> list[Frame]:
    """Turn a measurement into an ``hr`` frame and, when RR intervals came, an ``rr`` frame."""
    meta: dict[str, float] = {}
    if m.contact is not None:
        meta["contact"] = float(m.contact)
    if m.energy_kj is not None:
        meta["energy_kj"] = float(m.energy_kj)
    frames = [Frame("hr", np.array([[float(m.heart_rate)]]), meta=meta)]
    if m.rr_s:
        frames.append(Frame("rr", np.array([m.rr_s], dtype=np.float64), meta=dict(meta)))
    return frames


class HeartRateDecoder:
    """Stateless decoder for the standard Heart Rate Service."""

    def feed(self, char_uuid: str, data: bytes | bytearray) -> list[Frame]:
        """Decode a Heart Rate Measurement notification into frames."""
        if char_uuid == HEART_RATE_MEASUREMENT:
            return measurement_frames(decode_measurement(data))
        return []

    def reset(self) -> None:
        """Nothing is carried between packets."""


HR_STREAMS = (
    StreamSpec("hr", ("hr",), None, unit="bpm"),
    StreamSpec("rr", ("rr",), None, unit="s"),
)

PROFILE = Profile(
    name=NAME,
    service_uuids=(HEART_RATE_SERVICE,),
    name_prefixes=(),
    streams=HR_STREAMS,
    subscribe=(HEART_RATE_MEASUREMENT,),
    start=(),
    stop=(),
    new_decoder=HeartRateDecoder,
    battery_uuid=BATTERY_LEVEL,
)
