"""OpenBCI Ganglion: 4 EEG channels at 200 Hz over BLE, delta-compressed.

Layout per the OpenBCI Ganglion firmware (OpenBCI_Ganglion_Library, ``buildRawPacket``,
``compressData18``/``compressData19``) and OpenBCI's "Ganglion data format" documentation:

- service ``0xFE84``; receive (notify) ``2D30C082-F39F-4CE6-923F-3484EA480596``; send (write)
  ``...C083...``; disconnect ``...C084...``. ASCII commands: ``b`` start, ``s`` stop.
- Every notification is 20 bytes; byte 0 is the packet id:
  ``0`` raw: four 24-bit signed big-endian counts (bytes 1-12), padding after;
  ``1-100`` two samples as eight 18-bit deltas (bytes 1-18), byte 19 an accelerometer byte;
  ``101-200`` two samples as eight 19-bit deltas (bytes 1-19);
  ``201-205`` impedance of channel 1-4 / reference as ASCII digits ending in ``Z``;
  ``206``/``207`` ASCII message (partial / last part).
- Deltas are packed MSB first, sample 1 channels 1-4 then sample 2. Each delta is
  ``previous − current`` whose bit 0 is replaced by its sign bit; a value with bit 0 set is
  negative (sign-extend). Reconstruction: ``s1 = last − d1``, ``s2 = s1 − d2``.
- 201 samples per cycle: the raw packet is sample 0, packet k (1-100) holds samples 2k−1, 2k.
- Scale: µV per count = 1.2e6 / (8388607 × 1.5 × 51) (MCP3912 ±1.2 V reference, gain 51,
  1.5 front-end factor).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware_bridge.profiles.base import Command, Frame, Profile, StreamSpec, need
from firmware_bridge.types import DecodeError

__all__ = [
    "EEG_CHANNELS",
    "EEG_FS",
    "PROFILE",
    "RECEIVE",
    "SEND",
    "SERVICE",
    "UV_PER_COUNT",
    "GanglionEncoder",
    "GanglionPacket",
    "decode_packet",
    "encode_delta",
    "encode_raw",
]

NAME = "ganglion"
SERVICE = "0000fe84-0000-1000-8000-00805f9b34fb"
RECEIVE = "2d30c082-f39f-4ce6-923f-3484ea480596"
SEND = "2d30c083-f39f-4ce6-923f-3484ea480596"
DISCONNECT = "2d30c084-f39f-4ce6-923f-3484ea480596"
EEG_CHANNELS = ("EEG1", "EEG2", "EEG3", "EEG4")
EEG_FS = 200.0
UV_PER_COUNT = 1.2e6 / (8388607.0 * 1.5 * 51.0)
PACKET_BYTES = 20
CYCLE = 201


@dataclass(frozen=True)
class GanglionPacket:
    """One decoded Ganglion notification.

    Attributes
    ----------
    packet_id : int
        Byte 0.
    kind : str
        ``raw``, ``delta18``, ``delta19``, ``impedance`` or ``message``.
    values : ndarray of int64
        ``raw``: counts, shape (4, 1); deltas: shape (4, 2); otherwise empty.
    text : str
        Impedance digits or message text.
    """

    packet_id: int
    kind: str
    values: np.ndarray
    text: str = ""


def _unpack_bits(payload: bytes, width: int, count: int) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(payload, dtype=np.uint8))[: width * count]
    weights = (1 << np.arange(width - 1, -1, -1)).astype(np.int64)
    return bits.reshape(count, width).astype(np.int64) @ weights


def _pack_bits(values: np.ndarray, width: int, n_bytes: int) -> bytes:
    v = np.asarray(values, dtype=np.int64) & ((1 << width) - 1)
    shifts = np.arange(width - 1, -1, -1)
    bits = ((v[:, None] >> shifts[None, :]) & 1).astype(np.uint8).reshape(-1)
    bits = np.concatenate([bits, np.zeros(n_bytes * 8 - bits.size, dtype=np.uint8)])
    return np.packbits(bits).tobytes()


def _signed_deltas(raw: np.ndarray, width: int) -> np.ndarray:
    return np.where(raw & 1, raw - (1 << width), raw)


def decode_packet(data: bytes | bytearray) -> GanglionPacket:
    """Decode one 20-byte Ganglion notification (no state; see :class:`GanglionDecoder`).

    Raises
    ------
    DecodeError
        Wrong length, an undefined packet id, or a malformed impedance value.
    """
    need(NAME, data, 0, PACKET_BYTES, "packet")
    if len(data) != PACKET_BYTES:
        raise DecodeError(NAME, PACKET_BYTES, f"packet is {PACKET_BYTES} bytes, got {len(data)}")
    pid = data[0]
    body = bytes(data[1:])
    if pid == 0:
        b = np.frombuffer(body[:12], dtype=np.uint8).reshape(4, 3).astype(np.int64)
        v = (b[:, 0] << 16) | (b[:, 1] << 8) | b[:, 2]
        v = np.where(v & 0x800000, v - (1 << 24), v)
        return GanglionPacket(pid, "raw", v.reshape(4, 1))
    if pid <= 100:
        d = _signed_deltas(_unpack_bits(body[:18], 18, 8), 18)
        return GanglionPacket(pid, "delta18", d.reshape(2, 4).T.copy())
    if pid <= 200:
        d = _signed_deltas(_unpack_bits(body[:19], 19, 8), 19)
        return GanglionPacket(pid, "delta19", d.reshape(2, 4).T.copy())
    if pid <= 205:
        text = body.split(b"Z", 1)[0]
        if b"Z" not in body or not text.isdigit():
            raise DecodeError(NAME, 1, "impedance packet is not ASCII digits ending in 'Z'")
        return GanglionPacket(pid, "impedance", np.zeros(0, np.int64), text.decode("ascii"))
    if pid <= 207:
        return GanglionPacket(pid, "message", np.zeros(0, np.int64),
                              body.decode("ascii", errors="replace"))
    raise DecodeError(NAME, 0, f"undefined packet id {pid}")


def encode_raw(counts: np.ndarray) -> bytes:
    """Encode the raw packet (id 0) of four 24-bit signed counts."""
    c = np.asarray(counts, dtype=np.int64).reshape(-1)
    if c.shape != (4,) or np.any(c < -(1 << 23)) or np.any(c >= 1 << 23):
        raise ValueError("need four counts in the 24-bit signed range")
    u = c & 0xFFFFFF
    b = np.stack([(u >> 16) & 0xFF, (u >> 8) & 0xFF, u & 0xFF], axis=1).astype(np.uint8)
    return b"\x00" + b.tobytes() + b"ABCDEFG"


def encode_delta(packet_id: int, deltas: np.ndarray, accel: int = 0) -> bytes:
    """Encode two samples of deltas (shape (4, 2)); ``1-100`` 18-bit, ``101-200`` 19-bit.

    Each delta must already carry its sign in bit 0 (odd = negative) and fit the width.
    """
    d = np.asarray(deltas, dtype=np.int64)
    if d.shape != (4, 2):
        raise ValueError(f"deltas must have shape (4, 2), got {d.shape}")
    if not 1 <= packet_id <= 200:
        raise ValueError(f"delta packet id must be 1-200, got {packet_id}")
    width = 18 if packet_id <= 100 else 19
    lim = 1 << (width - 1)
    if np.any(d < -lim) or np.any(d >= lim) or np.any((d & 1) != (d < 0)):
        raise ValueError(f"deltas must fit {width} bits with the sign in bit 0")
    flat = d.T.reshape(-1)
    if width == 18:
        return bytes([packet_id]) + _pack_bits(flat, 18, 18) + bytes([accel & 0xFF])
    return bytes([packet_id]) + _pack_bits(flat, 19, 19)


def quantise_delta(delta: np.ndarray) -> np.ndarray:
    """Replace bit 0 of each delta by its sign, as the firmware does."""
    d = np.asarray(delta, dtype=np.int64)
    return (d & ~np.int64(1)) | (d < 0).astype(np.int64)


class GanglionEncoder:
    """Turns a stream of counts into the firmware's packet sequence (19-bit mode).

    Unlike the firmware, deltas are taken against the value the receiver reconstructs, so
    the bit-0 quantisation error stays at one count instead of drifting within a cycle.
    """

    def __init__(self) -> None:
        self._sample = 0  # position in the 201-sample cycle
        self._last = np.zeros(4, dtype=np.int64)
        self._held: np.ndarray | None = None

    def seek(self, cycle_position: int, last_counts: np.ndarray) -> None:
        """Continue from ``cycle_position`` as if ``last_counts`` had just been sent."""
        self._sample = int(cycle_position) % CYCLE
        self._last = np.asarray(last_counts, dtype=np.int64).reshape(4).copy()
        self._held = None

    def push(self, counts: np.ndarray) -> bytes | None:
        """Feed one sample of four counts; returns a packet when one is complete."""
        c = np.asarray(counts, dtype=np.int64).reshape(4)
        pos = self._sample
        self._sample = (self._sample + 1) % CYCLE
        if pos == 0:
            self._last = c.copy()
            return encode_raw(c)
        limit = (1 << 18) - 2
        d = quantise_delta(np.clip(self._last - c, -limit, limit))
        self._last = self._last - d
        if pos % 2 == 1:
            self._held = d
            return None
        pair = np.stack([self._held if self._held is not None else d, d], axis=1)
        self._held = None
        return encode_delta(100 + pos // 2, pair)


class GanglionDecoder:
    """Applies deltas to the last raw packet; drops compressed packets after a loss."""

    def __init__(self) -> None:
        self._last: np.ndarray | None = None
        self._expect: int | None = None

    def feed(self, char_uuid: str, data: bytes | bytearray) -> list[Frame]:
        """Decode one notification into an EEG frame (µV), or nothing."""
        if char_uuid != RECEIVE:
            return []
        p = decode_packet(data)
        if p.kind == "raw":
            self._last = p.values[:, 0].copy()
            self._expect = 1
            return [Frame("eeg", p.values * UV_PER_COUNT, position=0)]
        if p.kind not in ("delta18", "delta19"):
            return []
        k = p.packet_id if p.packet_id <= 100 else p.packet_id - 100
        if self._last is None or self._expect != k:
            self._last = None  # reference lost: wait for the next raw packet
            self._expect = None
            return []
        s1 = self._last - p.values[:, 0]
        s2 = s1 - p.values[:, 1]
        self._last = s2
        self._expect = k + 1
        meta = {"accel": float(data[19])} if p.kind == "delta18" else {}
        samples = np.stack([s1, s2], axis=1) * UV_PER_COUNT
        return [Frame("eeg", samples, position=2 * k - 1, meta=meta)]

    def reset(self) -> None:
        """Forget the reference sample."""
        self._last = None
        self._expect = None


PROFILE = Profile(
    name=NAME,
    service_uuids=(SERVICE,),
    name_prefixes=("Ganglion",),
    streams=(StreamSpec("eeg", EEG_CHANNELS, EEG_FS, counter_modulo=CYCLE),),
    subscribe=(RECEIVE,),
    start=(Command(SEND, b"b"),),
    stop=(Command(SEND, b"s"),),
    new_decoder=GanglionDecoder,
)
