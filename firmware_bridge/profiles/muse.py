"""Interaxon Muse 2 / Muse S EEG headbands.

Layout per Interaxon's former public developer protocol pages ("Muse communication protocol")
as implemented by open-source clients (muse-lsl, muse-js):

- service ``0xFE8D``; control characteristic ``273E0001-4C4D-454D-96BE-F03BAC821358``;
  EEG characteristics ``273E0003`` (TP9), ``0004`` (AF7), ``0005`` (AF8), ``0006`` (TP10),
  ``0007`` (right AUX), all with the same ``-4C4D-454D-96BE-F03BAC821358`` tail.
- EEG notification: 20 bytes = uint16 big-endian packet index, then 12 samples packed as
  12-bit unsigned big-endian values (two samples per three bytes). 256 Hz per channel.
  µV = 0.48828125 × (value − 2048)  (1000 µV / 2048 LSB around mid-scale).
- Telemetry ``273E000B``: uint16 BE sequence, battery (uint16 BE / 512, percent), fuel-gauge
  voltage (uint16 BE × 2.2, mV), an ADC value, temperature (uint16 BE); 20 bytes, zero padded.
- Accelerometer ``273E000A``: uint16 BE sequence, then 3 samples of (x, y, z) int16 BE;
  g = 0.0000610352 × value; 52 Hz.
- Commands are ASCII, written as ``[len(cmd) + 1] + cmd + '\\n'``: ``h`` halt, ``s`` status,
  ``d`` start/resume data, ``p21`` preset 21 (4 EEG channels, no AUX).
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from firmware_bridge.profiles.base import Command, Frame, Profile, StreamSpec, need
from firmware_bridge.types import DecodeError

__all__ = [
    "CONTROL",
    "EEG_CHANNELS",
    "EEG_CHARS",
    "EEG_FS",
    "PROFILE",
    "SERVICE",
    "decode_acc",
    "decode_command",
    "decode_eeg",
    "decode_eeg_many",
    "decode_telemetry",
    "encode_acc",
    "encode_command",
    "encode_eeg",
    "encode_telemetry",
]

NAME = "muse"
_TAIL = "-4c4d-454d-96be-f03bac821358"
SERVICE = "0000fe8d-0000-1000-8000-00805f9b34fb"
CONTROL = "273e0001" + _TAIL
EEG_CHANNELS = ("TP9", "AF7", "AF8", "TP10")
EEG_CHARS = {
    "273e0003" + _TAIL: "TP9",
    "273e0004" + _TAIL: "AF7",
    "273e0005" + _TAIL: "AF8",
    "273e0006" + _TAIL: "TP10",
}
_CHAR_ORDER = tuple(EEG_CHARS)  # electrode characteristics in EEG_CHANNELS order
_FIRST_CHAR = _CHAR_ORDER[0]
AUX_CHAR = "273e0007" + _TAIL
TELEMETRY = "273e000b" + _TAIL
ACCEL = "273e000a" + _TAIL
ACC_FS = 52.0
ACC_PER_PACKET = 3
G_PER_LSB = 0.0000610352
EEG_FS = 256.0
SAMPLES_PER_PACKET = 12
PACKET_BYTES = 2 + SAMPLES_PER_PACKET * 3 // 2
UV_PER_LSB = 0.48828125
MID_SCALE = 2048
INDEX_MODULO = 1 << 16
PENDING_PACKETS = 4  # an index incomplete after this many newer ones is given up as lost


def decode_eeg(data: bytes | bytearray) -> tuple[int, np.ndarray]:
    """Decode one EEG notification into ``(packet_index, samples_uv (12,))``.

    Raises
    ------
    DecodeError
        When the packet is not exactly 20 bytes.
    """
    need(NAME, data, 0, PACKET_BYTES, "EEG packet")
    if len(data) != PACKET_BYTES:
        raise DecodeError(NAME, PACKET_BYTES,
                          f"EEG packet is {PACKET_BYTES} bytes, got {len(data)}")
    index = (data[0] << 8) | data[1]
    return index, decode_eeg_many(bytes(data[2:]), 1)[0]


def decode_eeg_many(bodies: bytes, n: int) -> np.ndarray:
    """Samples (µV) of ``n`` EEG packet bodies (the 18 bytes after the index), concatenated.

    Returns
    -------
    ndarray, shape (n, 12)
        One row per packet; the same values as :func:`decode_eeg`, in one numpy pass.
    """
    body = SAMPLES_PER_PACKET * 3 // 2
    if len(bodies) != n * body:
        raise DecodeError(NAME, 0, f"{n} EEG packet bodies need {n * body} bytes, "
                          f"got {len(bodies)}")
    b = np.frombuffer(bodies, dtype=np.uint8).reshape(n, SAMPLES_PER_PACKET // 2, 3)
    b = b.astype(np.int32)
    raw = np.empty((n, SAMPLES_PER_PACKET // 2, 2), dtype=np.int32)
    raw[:, :, 0] = (b[:, :, 0] << 4) | (b[:, :, 1] >> 4)
    raw[:, :, 1] = ((b[:, :, 1] & 0x0F) << 8) | b[:, :, 2]
    return UV_PER_LSB * (raw.reshape(n, SAMPLES_PER_PACKET) - MID_SCALE).astype(np.float64)


def encode_eeg(index: int, samples_uv: np.ndarray) -> bytes:
    """Encode 12 samples (µV, clipped to the 12-bit range) with packet index ``index``."""
    v = np.asarray(samples_uv, dtype=np.float64)
    if v.shape != (SAMPLES_PER_PACKET,):
        raise ValueError(f"need {SAMPLES_PER_PACKET} samples, got shape {v.shape}")
    if not 0 <= index < INDEX_MODULO:
        raise ValueError(f"packet index must be 0-65535, got {index}")
    raw = np.clip(np.rint(v / UV_PER_LSB) + MID_SCALE, 0, 4095).astype(np.int32).reshape(6, 2)
    out = np.empty((6, 3), dtype=np.uint8)
    out[:, 0] = raw[:, 0] >> 4
    out[:, 1] = ((raw[:, 0] & 0x0F) << 4) | (raw[:, 1] >> 8)
    out[:, 2] = raw[:, 1] & 0xFF
    return bytes([index >> 8, index & 0xFF]) + out.tobytes()


def decode_acc(data: bytes | bytearray) -> tuple[int, np.ndarray]:
    """Decode an accelerometer packet into ``(sequence, g (3 axes, 3 samples))``."""
    need(NAME, data, 0, PACKET_BYTES, "accelerometer packet")
    if len(data) != PACKET_BYTES:
        raise DecodeError(NAME, PACKET_BYTES,
                          f"accelerometer packet is {PACKET_BYTES} bytes, got {len(data)}")
    seq = (data[0] << 8) | data[1]
    v = np.frombuffer(bytes(data[2:]), dtype=">i2").reshape(ACC_PER_PACKET, 3)
    return seq, v.T.astype(np.float64) * G_PER_LSB


def encode_acc(seq: int, g: np.ndarray) -> bytes:
    """Encode 3 samples of (x, y, z) in g, shape (3 axes, 3 samples), clipped to int16."""
    a = np.asarray(g, dtype=np.float64)
    if a.shape != (3, ACC_PER_PACKET):
        raise ValueError(f"need shape (3, {ACC_PER_PACKET}), got {a.shape}")
    raw = np.clip(np.rint(a / G_PER_LSB), -32768, 32767).astype(">i2").T
    return bytes([(seq >> 8) & 0xFF, seq & 0xFF]) + raw.tobytes()


def decode_telemetry(data: bytes | bytearray) -> tuple[int, float, float, int]:
    """Decode telemetry into ``(sequence, battery_percent, fuel_gauge_mv, temperature)``."""
    need(NAME, data, 0, 10, "telemetry packet")
    if len(data) > PACKET_BYTES:
        raise DecodeError(NAME, PACKET_BYTES, f"telemetry packet longer than {PACKET_BYTES} bytes")
    seq, batt, fuel, _adc, temp = struct.unpack_from(">5H", data, 0)
    if batt > 100 * 512:
        raise DecodeError(NAME, 2, f"battery value {batt / 512:.1f} % exceeds 100 %")
    return seq, batt / 512.0, fuel * 2.2, temp


def encode_telemetry(seq: int, battery_percent: float, fuel_mv: float = 3700.0,
                     temperature: int = 30) -> bytes:
    """Encode a telemetry packet (20 bytes, zero padded)."""
    if not 0 <= battery_percent <= 100:
        raise ValueError(f"battery percent must be 0-100, got {battery_percent}")
    body = struct.pack(">5H", seq % 65536, round(battery_percent * 512), round(fuel_mv / 2.2),
                       0, temperature)
    return body + bytes(PACKET_BYTES - len(body))


def encode_command(cmd: str) -> bytes:
    """Encode an ASCII control command: length byte, the command, a newline."""
    body = cmd.encode("ascii") + b"\n"
    if len(body) > 255:
        raise ValueError(f"command too long: {cmd!r}")
    return bytes([len(body)]) + body


def decode_command(data: bytes | bytearray) -> str:
    """Decode a control write back into its ASCII command (what a Muse would see)."""
    need(NAME, data, 0, 2, "command")
    n = data[0]
    if len(data) != n + 1:
        raise DecodeError(NAME, 0, f"length byte {n} but {len(data) - 1} bytes follow")
    if data[n] != 0x0A:
        raise DecodeError(NAME, n, "command does not end with a newline")
    try:
        return bytes(data[1:n]).decode("ascii")
    except UnicodeDecodeError as exc:
        raise DecodeError(NAME, 1 + exc.start, "command is not ASCII") from None


class MuseDecoder:
    """Assembles the four per-electrode notifications sharing a packet index into one frame."""

    def __init__(self) -> None:
        self._pending: dict[int, dict[str, bytes]] = {}  # index -> channel -> packet bytes
        self._order: list[int] = []

    def _other(self, char_uuid: str, data: bytes | bytearray) -> list[Frame]:
        if char_uuid == TELEMETRY:
            _, battery, _, _ = decode_telemetry(data)
            return [Frame("status", np.zeros((0, 0)), meta={"battery": battery})]
        if char_uuid == ACCEL:
            seq, g = decode_acc(data)
            return [Frame("acc", g, position=seq * ACC_PER_PACKET)]
        return []

    def _assemble(self, channel: str, data: bytes | bytearray) -> tuple[int, list[bytes]] | None:
        """File one electrode packet (length already checked); the four packets of its index
        once complete, else None."""
        index = (data[0] << 8) | data[1]
        slot = self._pending.get(index)
        if slot is None:
            slot = self._pending[index] = {}
            self._order.append(index)
        slot[channel] = bytes(data)
        done = None
        if len(slot) == len(EEG_CHANNELS):
            # older incomplete indices can no longer complete in order: they are lost
            while self._order and self._order[0] != index:
                self._pending.pop(self._order.pop(0), None)
            self._order.pop(0)
            del self._pending[index]
            done = index, [slot[c] for c in EEG_CHANNELS]
        while len(self._order) > PENDING_PACKETS:
            self._pending.pop(self._order.pop(0), None)
        return done

    def feed(self, char_uuid: str, data: bytes | bytearray) -> list[Frame]:
        """Decode one electrode packet; returns the frames completed by it (usually 0 or 1)."""
        channel = EEG_CHARS.get(char_uuid)
        if channel is None:
            return self._other(char_uuid, data)
        if len(data) != PACKET_BYTES:  # validate before any state changes
            decode_eeg(data)  # raises the DecodeError naming what is wrong
        done = self._assemble(channel, data)
        if done is None:
            return []
        index, packets = done
        samples = decode_eeg_many(b"".join(p[2:] for p in packets), len(EEG_CHANNELS))
        return [Frame("eeg", samples, position=index * SAMPLES_PER_PACKET)]

    def feed_batch(self, items: list[tuple[str, bytes | bytearray]],
                   ) -> tuple[list[tuple[int, Frame]], list[DecodeError]]:
        """Feed many notifications at once; same frames as :meth:`feed` one by one.

        Returns
        -------
        frames : list of (int, Frame)
            Each frame with the position in ``items`` of the notification that completed it.
        errors : list of DecodeError
            The notifications that could not be decoded (skipped, as :meth:`feed` raises).
        """
        out: list[tuple[int, Frame | None]] = []
        errors: list[DecodeError] = []
        done: list[tuple[int, int, list[Any]]] = []
        n_items = len(items)
        i = -1
        while i + 1 < n_items:
            i += 1
            uuid, data = items[i]
            if uuid == _FIRST_CHAR and not self._pending and i + 3 < n_items:
                # fast path: the four electrodes of one index in a row, nothing pending
                # (what feed() would do with them: one complete frame, no state left)
                (u1, d1), (u2, d2), (u3, d3) = items[i + 1], items[i + 2], items[i + 3]
                if (u1 == _CHAR_ORDER[1] and u2 == _CHAR_ORDER[2] and u3 == _CHAR_ORDER[3]
                        and len(data) == len(d1) == len(d2) == len(d3) == PACKET_BYTES
                        and data[0] == d1[0] == d2[0] == d3[0]  # the same packet index
                        and data[1] == d1[1] == d2[1] == d3[1]):
                    index = (data[0] << 8) | data[1]
                    done.append((len(out), index, [data, d1, d2, d3]))
                    out.append((i + 3, None))
                    i += 3
                    continue
            channel = EEG_CHARS.get(uuid)
            if channel is None:
                try:
                    out.extend((i, f) for f in self._other(uuid, data))
                except DecodeError as exc:
                    errors.append(exc)
                continue
            if len(data) != PACKET_BYTES:
                errors.append(DecodeError(NAME, min(len(data), PACKET_BYTES),
                                          f"EEG packet is {PACKET_BYTES} bytes, got {len(data)}"))
                continue
            got = self._assemble(channel, data)
            if got is not None:
                done.append((len(out), got[0], got[1]))
                out.append((i, None))
        if done:
            nch = len(EEG_CHANNELS)
            body = b"".join(p[2:] for _, _, packets in done for p in packets)
            uv = decode_eeg_many(body, nch * len(done)).reshape(len(done), nch, -1)
            for f, (j, index, _) in enumerate(done):
                out[j] = (out[j][0], Frame("eeg", uv[f], position=index * SAMPLES_PER_PACKET))
        return out, errors  # type: ignore[return-value]

    def reset(self) -> None:
        """Drop partially assembled packets."""
        self._pending.clear()
        self._order.clear()


PROFILE = Profile(
    name=NAME,
    service_uuids=(SERVICE,),
    name_prefixes=("Muse",),
    streams=(
        StreamSpec("eeg", EEG_CHANNELS, EEG_FS, counter_modulo=INDEX_MODULO * SAMPLES_PER_PACKET),
        StreamSpec("acc", ("x", "y", "z"), ACC_FS, counter_modulo=INDEX_MODULO * ACC_PER_PACKET,
                   unit="g"),
    ),
    subscribe=(*EEG_CHARS, ACCEL, TELEMETRY),
    start=tuple(Command(CONTROL, encode_command(c)) for c in ("h", "p21", "s", "d")),
    stop=(Command(CONTROL, encode_command("h")),),
    new_decoder=MuseDecoder,
)
