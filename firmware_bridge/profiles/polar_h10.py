"""Polar H10 chest strap: ECG through the Polar Measurement Data (PMD) service, plus the
standard Heart Rate Service.

Layouts follow Polar's public BLE SDK documentation (polar-ble-sdk, "Polar Measurement Data
specification"):

- PMD service ``FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8``; control point ``...5C81...`` (write,
  indicate), data ``...5C82...`` (notify).
- Start measurement: ``0x02, type, [setting id, count, value (uint16 LE) ...]``. For ECG:
  type 0x00, sample rate (setting 0x00) = 130 Hz, resolution (setting 0x01) = 14 bit.
  Stop: ``0x03, type``. The control point answers ``0xF0, op, type, status, ...``
  (status 0 = success).
- ECG data frame: byte 0 measurement type (0x00), bytes 1-8 timestamp (uint64 LE, ns, of the
  last sample in the frame), byte 9 frame type (0x00 = uncompressed), then 3-byte signed
  little-endian samples in µV.
"""

from __future__ import annotations

import struct

import numpy as np

from firmware_bridge.profiles import heart_rate
from firmware_bridge.profiles.base import Command, Frame, Profile, StreamSpec, need
from firmware_bridge.types import DecodeError

__all__ = [
    "ECG_FS",
    "PMD_CONTROL",
    "PMD_DATA",
    "PMD_SERVICE",
    "PROFILE",
    "decode_control_response",
    "decode_ecg",
    "encode_control_response",
    "encode_ecg",
]

NAME = "polar_h10"
PMD_SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
ECG_FS = 130.0
MEAS_ECG = 0x00
OP_START = 0x02
OP_STOP = 0x03
RESPONSE = 0xF0
START_ECG = bytes([OP_START, MEAS_ECG, 0x00, 0x01, 0x82, 0x00, 0x01, 0x01, 0x0E, 0x00])
STOP_ECG = bytes([OP_STOP, MEAS_ECG])
HEADER = 10
MAX_SAMPLES = 300  # far above what any MTU allows; longer frames are garbage


def decode_ecg(data: bytes | bytearray) -> tuple[int, np.ndarray]:
    """Decode one PMD ECG data frame.

    Returns
    -------
    timestamp_ns : int
        Device timestamp of the last sample (ns).
    samples_uv : ndarray, shape (n,)
        ECG in µV.

    Raises
    ------
    DecodeError
        Wrong measurement or frame type, truncated header, samples not a multiple of 3 bytes,
        an empty or oversized frame.
    """
    need(NAME, data, 0, HEADER, "PMD header")
    if data[0] != MEAS_ECG:
        raise DecodeError(NAME, 0, f"measurement type 0x{data[0]:02x} is not ECG (0x00)")
    if data[9] != 0x00:
        raise DecodeError(NAME, 9, f"unsupported ECG frame type 0x{data[9]:02x}")
    body = len(data) - HEADER
    if body == 0 or body % 3:
        raise DecodeError(NAME, HEADER + body - body % 3,
                          f"{body} sample bytes, not a multiple of 3")
    n = body // 3
    if n > MAX_SAMPLES:
        raise DecodeError(NAME, HEADER + 3 * MAX_SAMPLES, f"{n} samples exceed {MAX_SAMPLES}")
    ts = struct.unpack_from("<Q", data, 1)[0]
    raw = np.frombuffer(bytes(data[HEADER:]), dtype=np.uint8).reshape(n, 3).astype(np.int32)
    val = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
    val = np.where(val & 0x800000, val - (1 << 24), val)
    return int(ts), val.astype(np.float64)


def encode_ecg(timestamp_ns: int, samples_uv: np.ndarray) -> bytes:
    """Encode an ECG frame; samples are rounded to integer µV (24-bit signed)."""
    v = np.rint(np.asarray(samples_uv, dtype=np.float64)).astype(np.int64)
    if v.ndim != 1 or not 1 <= v.size <= MAX_SAMPLES:
        raise ValueError(f"need 1-{MAX_SAMPLES} samples, got shape {v.shape}")
    if np.any(v < -(1 << 23)) or np.any(v >= 1 << 23):
        raise ValueError("ECG sample outside the 24-bit signed range")
    u = (v & 0xFFFFFF).astype(np.uint32)
    body = np.stack([u & 0xFF, (u >> 8) & 0xFF, (u >> 16) & 0xFF], axis=1).astype(np.uint8)
    return bytes([MEAS_ECG]) + struct.pack("<Q", timestamp_ns) + b"\x00" + body.tobytes()


def decode_control_response(data: bytes | bytearray) -> tuple[int, int, int]:
    """Decode a control-point indication: ``(op_code, measurement_type, status)``."""
    need(NAME, data, 0, 4, "control point response")
    if data[0] != RESPONSE:
        raise DecodeError(NAME, 0, f"control point response starts 0x{data[0]:02x}, not 0xF0")
    return int(data[1]), int(data[2]), int(data[3])


def encode_control_response(op: int, measurement: int, status: int = 0) -> bytes:
    """Encode a control-point indication (what a band answers to a command)."""
    return bytes([RESPONSE, op, measurement, status, 0x00])


class PolarH10Decoder:
    """Routes PMD data, PMD control responses and heart-rate notifications."""

    def feed(self, char_uuid: str, data: bytes | bytearray) -> list[Frame]:
        """Decode one notification into frames (ECG, HR, RR)."""
        if char_uuid == PMD_DATA:
            ts, uv = decode_ecg(data)
            pos = round(ts * 1e-9 * ECG_FS) - uv.size + 1
            return [Frame("ecg", uv[None, :], position=pos, device_time=ts * 1e-9)]
        if char_uuid == PMD_CONTROL:
            op, _, status = decode_control_response(data)
            if status != 0:
                raise DecodeError(NAME, 3, f"control point refused op 0x{op:02x}: status {status}")
            return []
        if char_uuid == heart_rate.HEART_RATE_MEASUREMENT:
            return heart_rate.measurement_frames(heart_rate.decode_measurement(data, NAME))
        return []

    def reset(self) -> None:
        """Nothing is carried between packets."""


PROFILE = Profile(
    name=NAME,
    service_uuids=(heart_rate.HEART_RATE_SERVICE, PMD_SERVICE),
    name_prefixes=("Polar H10",),
    streams=(StreamSpec("ecg", ("ECG",), ECG_FS), *heart_rate.HR_STREAMS),
    subscribe=(PMD_CONTROL, PMD_DATA, heart_rate.HEART_RATE_MEASUREMENT),
    start=(Command(PMD_CONTROL, START_ECG, response=True),),
    stop=(Command(PMD_CONTROL, STOP_ECG, response=True),),
    new_decoder=PolarH10Decoder,
    battery_uuid=heart_rate.BATTERY_LEVEL,
)
