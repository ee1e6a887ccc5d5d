"""GATT servers of the four profiles: real encoded packets from a signal source.

A peripheral owns *emitters*, one per periodic notification stream. Each emitter knows the
device time at which its next packet is complete and produces it on ``pop()``; emitters run
on the device's own clock whether or not the host listens, so counters keep counting through
disconnects exactly as a band's firmware does.
"""

from __future__ import annotations

import math

import numpy as np

from firmware_bridge.profiles import ganglion, heart_rate, muse, polar_h10
from firmware_bridge.profiles.base import Profile
from firmware_bridge.virtual.sources import BeatSource, EcgLikeSource, SignalSource, SineSource

__all__ = [
    "BeatHeartRateEmitter",
    "Emitter",
    "GanglionPeripheral",
    "HeartRatePeripheral",
    "MusePeripheral",
    "Peripheral",
    "PolarH10Peripheral",
    "make_peripheral",
]

Notification = tuple[str, bytes]
NOTIFY = ["notify"]
WRITE = ["write", "write-without-response"]
BATTERY_SERVICE = (heart_rate.BATTERY_SERVICE, [(heart_rate.BATTERY_LEVEL, ["read", "notify"])])


class Emitter:
    """A periodic packet stream: ``next_time`` (device s), ``pop()``, ``skip_to(t)``."""

    active = False
    always_on = False
    next_time = math.inf

    def pop(self) -> list[Notification]:
        """Produce the packet due at ``next_time`` and advance."""
        raise NotImplementedError

    def skip_to(self, device_time: float) -> None:
        """Drop every packet completed before ``device_time`` without producing it."""
        raise NotImplementedError


class _FixedPacketEmitter(Emitter):
    """Packets of ``per_packet`` samples at ``fs``; packet k holds samples k·n .. k·n+n−1."""

    def __init__(self, fs: float, per_packet: int) -> None:
        self.fs = fs
        self.per_packet = per_packet
        self.k = 0
        self.next_time = (per_packet - 1) / fs

    def _advance(self) -> int:
        k = self.k
        self.k += 1
        self.next_time = ((self.k + 1) * self.per_packet - 1) / self.fs
        return k

    def skip_to(self, device_time: float) -> None:
        """Jump to the first packet completing at or after ``device_time``."""
        k = max(self.k, math.ceil((device_time * self.fs + 1) / self.per_packet) - 1)
        self.k = k
        self.next_time = ((k + 1) * self.per_packet - 1) / self.fs


class MuseEegEmitter(_FixedPacketEmitter):
    """Four 20-byte electrode packets per 12 samples."""

    BATCH = 64  # packets rendered and encoded together (same bytes as one by one)

    def __init__(self, source: SignalSource) -> None:
        super().__init__(muse.EEG_FS, muse.SAMPLES_PER_PACKET)
        self.source = source
        self.chars = list(muse.EEG_CHARS)
        self._k0 = -1
        self._packets: np.ndarray | None = None

    def _encode_batch(self, k0: int) -> np.ndarray:
        """Packets ``k0 .. k0 + BATCH - 1`` as bytes ``(channels, BATCH, 20)``, vectorised
        :func:`~firmware_bridge.profiles.muse.encode_eeg`."""
        n, per = self.BATCH, self.per_packet
        x = np.asarray(self.source(k0 * per, n * per), dtype=np.float64)
        raw = np.clip(np.rint(x / muse.UV_PER_LSB) + muse.MID_SCALE, 0, 4095).astype(np.int32)
        raw = raw.reshape(x.shape[0], n, per // 2, 2)
        out = np.empty((x.shape[0], n, 2 + 3 * (per // 2)), dtype=np.uint8)
        index = (k0 + np.arange(n)) % muse.INDEX_MODULO
        out[:, :, 0] = index >> 8
        out[:, :, 1] = index & 0xFF
        body = out[:, :, 2:].reshape(x.shape[0], n, per // 2, 3)
        body[..., 0] = raw[..., 0] >> 4
        body[..., 1] = ((raw[..., 0] & 0x0F) << 4) | (raw[..., 1] >> 8)
        body[..., 2] = raw[..., 1] & 0xFF
        return out

    def pop(self) -> list[Notification]:
        """Encode the four channels of the due packet."""
        k = self._advance()
        if self._packets is None or not self._k0 <= k < self._k0 + self.BATCH:
            try:
                self._k0, self._packets = k, self._encode_batch(k)
            except IndexError:  # a finite source ends within the batch: one packet at a time
                self._packets = None
                x = self.source(k * self.per_packet, self.per_packet)
                index = k % muse.INDEX_MODULO
                return [(c, muse.encode_eeg(index, x[i])) for i, c in enumerate(self.chars)]
        p = self._packets[:, k - self._k0]
        return [(c, p[i].tobytes()) for i, c in enumerate(self.chars)]


class MuseAccEmitter(_FixedPacketEmitter):
    """Accelerometer packets of 3 samples at 52 Hz: gravity on z plus a slow sway."""

    def __init__(self) -> None:
        super().__init__(muse.ACC_FS, muse.ACC_PER_PACKET)

    def pop(self) -> list[Notification]:
        """Encode the due accelerometer packet."""
        k = self._advance()
        t = (k * self.per_packet + np.arange(self.per_packet)) / self.fs
        g = np.vstack([0.05 * np.sin(0.2 * t), 0.05 * np.cos(0.2 * t), np.full(t.size, 0.98)])
        return [(muse.ACCEL, muse.encode_acc(k % muse.INDEX_MODULO, g))]


class MuseTelemetryEmitter(Emitter):
    """Telemetry every 5 s: battery draining 1 % per 10 minutes."""

    def __init__(self) -> None:
        self.k = 1
        self.next_time = 5.0

    def pop(self) -> list[Notification]:
        """Encode the due telemetry packet."""
        battery = max(5.0, 100.0 - self.next_time / 600.0)
        out = [(muse.TELEMETRY, muse.encode_telemetry(self.k, battery))]
        self.k += 1
        self.next_time = 5.0 * self.k
        return out

    def skip_to(self, device_time: float) -> None:
        """Skip the packets due before ``device_time``."""
        self.k = max(self.k, math.ceil(device_time / 5.0))
        self.next_time = 5.0 * self.k


class PolarEcgEmitter(_FixedPacketEmitter):
    """PMD ECG frames of 73 samples with nanosecond timestamps of the last sample."""

    def __init__(self, source: SignalSource, epoch_offset_s: float) -> None:
        super().__init__(polar_h10.ECG_FS, 73)
        self.source = source
        self.epoch_offset_s = epoch_offset_s

    def pop(self) -> list[Notification]:
        """Encode the due ECG frame."""
        k = self._advance()
        first = k * self.per_packet
        x = self.source(first, self.per_packet)[0]
        last_index = first + self.per_packet - 1
        ts = round((self.epoch_offset_s + last_index / self.fs) * 1e9)
        return [(polar_h10.PMD_DATA, polar_h10.encode_ecg(ts, x))]


class GanglionEmitter(Emitter):
    """The firmware's 201-sample cycle: one raw packet, then 100 two-sample delta packets."""

    def __init__(self, source: SignalSource) -> None:
        self.source = source
        self.fs = ganglion.EEG_FS
        self.encoder = ganglion.GanglionEncoder()
        self.sample = 0
        self.next_time = 0.0

    def _packet_end(self, sample: int) -> int:
        pos = sample % ganglion.CYCLE
        return sample + pos % 2

    def pop(self) -> list[Notification]:
        """Encode the samples of the due packet."""
        end = self._packet_end(self.sample)
        x = self.source(self.sample, end - self.sample + 1) / ganglion.UV_PER_COUNT
        out = None
        for j in range(x.shape[1]):
            out = self.encoder.push(np.rint(x[:, j]).astype(np.int64))
        self.sample = end + 1
        self.next_time = self._packet_end(self.sample) / self.fs
        return [(ganglion.RECEIVE, out)] if out is not None else []

    def skip_to(self, device_time: float) -> None:
        """Jump to the first packet ending at or after ``device_time``; the receiver will
        wait for the next raw packet, as after any loss."""
        target = math.ceil(device_time * self.fs)
        if target <= self.sample:
            return
        start = target
        if start % ganglion.CYCLE and start % ganglion.CYCLE % 2 == 0:
            start -= 1  # packets begin at odd cycle positions
        prev = np.rint(self.source(start - 1, 1)[:, 0] / ganglion.UV_PER_COUNT).astype(np.int64)
        self.encoder.seek(start % ganglion.CYCLE, prev)
        self.sample = start
        self.next_time = self._packet_end(start) / self.fs


class HeartRateEmitter(Emitter):
    """One Heart Rate Measurement a second, carrying the RR intervals that ended in it."""

    def __init__(self, bpm: float = 62.0, contact: bool = True, char: str | None = None) -> None:
        self.bpm = bpm
        self.contact = contact
        self.char = char or heart_rate.HEART_RATE_MEASUREMENT
        self.j = 1
        self.next_time = 1.0
        self.beat_k = 0
        self.beat_t = 0.0
        self.always_on = self.active = True
        self.energy = 0

    def _rr(self, k: int) -> float:
        return 60.0 / self.bpm * (1.0 + 0.05 * math.sin(0.3 * k))

    def pop(self) -> list[Notification]:
        """Encode the measurement due now."""
        rr = []
        while self.beat_t + self._rr(self.beat_k) <= self.next_time:
            r = self._rr(self.beat_k)
            self.beat_t += r
            self.beat_k += 1
            rr.append(round(r * 1024) / 1024)
        hr = round(60.0 / rr[-1]) if rr else round(self.bpm)
        self.energy = self.j // 60
        m = heart_rate.HeartRateMeasurement(hr, self.contact, self.energy, tuple(rr))
        self.j += 1
        self.next_time = float(self.j)
        return [(self.char, heart_rate.encode_measurement(m))]

    def skip_to(self, device_time: float) -> None:
        """Skip whole seconds and the beats inside them."""
        if device_time <= self.next_time:
            return
        self.j = math.ceil(device_time)
        self.next_time = float(self.j)
        while self.beat_t + self._rr(self.beat_k) <= self.next_time - 1.0:
            self.beat_t += self._rr(self.beat_k)
            self.beat_k += 1


class BeatHeartRateEmitter(Emitter):
    """One Heart Rate Measurement a second carrying the RR intervals of given beats.

    Measurement ``j`` (sent at device time ``j`` s) holds the intervals ending at the beats
    in ``(j - 1, j]``, rounded to 1/1024 s; its heart rate is the mean over them (else the
    previous value). Beat ``k``'s interval is ``t[k] - t[k - 1]``; intervals too long for the
    protocol (a pause in the annotations) are left out.
    """

    MAX_RR = 0xFFFF / 1024.0

    def __init__(self, source: BeatSource, contact: bool = True, char: str | None = None) -> None:
        self.t = source.beat_times
        self.contact = contact
        self.char = char or heart_rate.HEART_RATE_MEASUREMENT
        self.j = 1
        self.next_time = 1.0
        self.i = 0  # next beat to report
        self.hr = 0
        self.always_on = self.active = True

    def pop(self) -> list[Notification]:
        """Encode the measurement due now."""
        stop = int(np.searchsorted(self.t, self.next_time, side="right"))
        rr = []
        for k in range(max(self.i, 1), stop):
            r = self.t[k] - self.t[k - 1]
            if r <= self.MAX_RR:
                rr.append(round(r * 1024) / 1024)
        self.i = stop
        if rr:
            self.hr = min(255, round(60.0 * len(rr) / sum(rr)))
        m = heart_rate.HeartRateMeasurement(self.hr, self.contact, None, tuple(rr[-9:]))
        self.j += 1
        self.next_time = float(self.j)
        return [(self.char, heart_rate.encode_measurement(m))]

    def skip_to(self, device_time: float) -> None:
        """Skip whole seconds and the beats inside them."""
        if device_time <= self.next_time:
            return
        self.j = math.ceil(device_time)
        self.next_time = float(self.j)
        self.i = max(self.i, int(np.searchsorted(self.t, self.next_time - 1.0, side="right")))


class Peripheral:
    """A profile's GATT database, its command handling and its emitters."""

    profile: Profile
    gatt: list[tuple[str, list[tuple[str, list[str]]]]]
    emitters: list[Emitter]

    def on_write(self, char_uuid: str, data: bytes) -> list[Notification]:
        """Handle a write; returns notifications/indications sent in answer."""
        return []

    def read(self, char_uuid: str, device_time: float) -> bytes:
        """Value of a readable characteristic (battery level drains 1 % per 10 minutes)."""
        if char_uuid == heart_rate.BATTERY_LEVEL:
            return heart_rate.encode_battery(max(5, 100 - int(device_time // 600)))
        raise KeyError(char_uuid)


class MusePeripheral(Peripheral):
    """Muse 2 / S: EEG starts on ``d``, halts on ``h``."""

    profile = muse.PROFILE

    def __init__(self, source: SignalSource | None = None) -> None:
        self.eeg = MuseEegEmitter(source or SineSource(4, muse.EEG_FS))
        self.telemetry = MuseTelemetryEmitter()
        self.acc = MuseAccEmitter()
        self.emitters = [self.eeg, self.acc, self.telemetry]
        chars = [(muse.CONTROL, [*WRITE, "notify"]), (muse.TELEMETRY, NOTIFY),
                 (muse.ACCEL, NOTIFY)]
        chars += [(c, NOTIFY) for c in muse.EEG_CHARS]
        self.gatt = [(muse.SERVICE, chars)]  # battery comes in telemetry

    def on_write(self, char_uuid: str, data: bytes) -> list[Notification]:
        """Start on ``d``, stop on ``h``."""
        if char_uuid == muse.CONTROL:
            cmd = muse.decode_command(data)
            if cmd in ("d", "h"):
                for em in self.emitters:
                    em.active = cmd == "d"
        return []


class GanglionPeripheral(Peripheral):
    """OpenBCI Ganglion: streams on ``b``, stops on ``s``."""

    profile = ganglion.PROFILE

    def __init__(self, source: SignalSource | None = None) -> None:
        self.eeg = GanglionEmitter(source or SineSource(4, ganglion.EEG_FS, amplitude=40.0))
        self.emitters = [self.eeg]
        chars = [(ganglion.RECEIVE, NOTIFY), (ganglion.SEND, WRITE), (ganglion.DISCONNECT, WRITE)]
        self.gatt = [(ganglion.SERVICE, chars)]  # no battery service

    def on_write(self, char_uuid: str, data: bytes) -> list[Notification]:
        """``b`` starts, ``s`` stops."""
        if char_uuid == ganglion.SEND:
            if data == b"b":
                self.eeg.active = True
            elif data == b"s":
                self.eeg.active = False
        return []


class PolarH10Peripheral(Peripheral):
    """Polar H10: heart rate always, ECG after the PMD start command (answered on the CP)."""

    profile = polar_h10.PROFILE

    def __init__(self, source: SignalSource | None = None, epoch_offset_s: float = 8.0e8) -> None:
        self.ecg = PolarEcgEmitter(source or EcgLikeSource(polar_h10.ECG_FS), epoch_offset_s)
        self.hr = HeartRateEmitter()
        self.emitters = [self.ecg, self.hr]
        self.gatt = [
            (heart_rate.HEART_RATE_SERVICE, [(heart_rate.HEART_RATE_MEASUREMENT, NOTIFY)]),
            (polar_h10.PMD_SERVICE, [(polar_h10.PMD_CONTROL, ["read", "write", "indicate"]),
                                     (polar_h10.PMD_DATA, NOTIFY)]),
            BATTERY_SERVICE,
        ]

    def on_write(self, char_uuid: str, data: bytes) -> list[Notification]:
        """Start/stop ECG and answer on the control point."""
        if char_uuid != polar_h10.PMD_CONTROL or len(data) < 2:
            return []
        op, meas = data[0], data[1]
        known = meas == polar_h10.MEAS_ECG and op in (polar_h10.OP_START, polar_h10.OP_STOP)
        status = 0 if known else 2
        if status == 0:
            self.ecg.active = op == polar_h10.OP_START
        return [(polar_h10.PMD_CONTROL, polar_h10.encode_control_response(op, meas, status))]


class HeartRatePeripheral(Peripheral):
    """A standard heart-rate strap: measurements as soon as notifications are on."""

    profile = heart_rate.PROFILE

    def __init__(self, source: SignalSource | None = None, bpm: float = 58.0) -> None:
        self.hr: Emitter = (BeatHeartRateEmitter(source) if isinstance(source, BeatSource)
                            else HeartRateEmitter(bpm))
        self.emitters = [self.hr]
        self.gatt = [
            (heart_rate.HEART_RATE_SERVICE, [(heart_rate.HEART_RATE_MEASUREMENT, NOTIFY)]),
            BATTERY_SERVICE,
        ]


_PERIPHERALS: dict[str, type[Peripheral]] = {
    "muse": MusePeripheral,
    "ganglion": GanglionPeripheral,
    "polar_h10": PolarH10Peripheral,
    "heart_rate": HeartRatePeripheral,
}


def make_peripheral(profile: str, source: SignalSource | None = None) -> Peripheral:
    """A peripheral of the named profile, fed by ``source`` (built-in test signal if None)."""
    try:
        cls = _PERIPHERALS[profile]
    except KeyError:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(_PERIPHERALS)}") from None
    return cls(source)  # type: ignore[call-arg]
