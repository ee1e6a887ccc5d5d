"""A band over BLE: connect, start streams, decode, mark gaps, reconnect, map clocks.

:class:`Band` uses :class:`bleak.BleakScanner` and :class:`bleak.BleakClient` (pass
``backend=``/``scanner_backend=`` for a custom backend such as the virtual one). Decoded
:class:`~firmware_bridge.types.SampleBlock` s and :class:`~firmware_bridge.types.Gap` s go
through a bounded queue: when the consumer falls behind, the oldest block is dropped and an
``overflow`` gap takes its place, so no loss is silent. Iterate with ``async for``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from firmware_bridge.clock import ClockMapper
from firmware_bridge.profiles import Profile, get_profile, match_profile
from firmware_bridge.profiles.base import Frame, StreamSpec
from firmware_bridge.profiles.heart_rate import decode_battery
from firmware_bridge.sequence import CounterTracker
from firmware_bridge.timebase import RealTime, SimulatedTime, Timebase
from firmware_bridge.types import DecodeError, Gap, SampleBlock

__all__ = ["Band", "BandError", "BandStatus", "describe_error"]

logger = logging.getLogger(__name__)
_BLOCK_S = 0.25  # default batch length (s of host time)
_BLOCK_S_SIMULATED = 1.0
_MAX_RAW = 2048  # notifications queued before a decode pass, whatever their age
_ADDRESS = re.compile(r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f-]{36}$")


def describe_error(exc: BaseException) -> str:
    """One line for a failed connection; a missing system Bluetooth service (on Linux,
    BlueZ reached over D-Bus: its socket file is absent) is named as such."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, FileNotFoundError):
        return f"no Bluetooth service reachable (Linux: BlueZ over D-Bus) — {text}"
    return text


class BandError(RuntimeError):
    """A band could not be found or set up; names the band."""


@dataclass
class BandStatus:
    """Live counters of one band (read them any time)."""

    connected: bool = False
    battery: int | None = None
    contact: bool | None = None
    reconnects: int = 0
    gaps: int = 0
    missing_samples: int = 0
    overflow_blocks: int = 0
    duplicates_dropped: int = 0
    decode_errors: int = 0
    samples: dict[str, int] = field(default_factory=dict)
    first_time: float | None = None
    last_time: float | None = None
    ever_connected: bool = False
    last_error: str | None = None

    def rate(self, stream: str) -> float:
        """Mean received samples per second of ``stream`` since the first block (Hz)."""
        n = self.samples.get(stream, 0)
        if self.first_time is None or self.last_time is None or self.last_time <= self.first_time:
            return 0.0
        return n / (self.last_time - self.first_time)


class _StreamState:
    def __init__(self, spec: StreamSpec, tolerance: int) -> None:
        self.spec = spec
        self.tracker = CounterTracker(spec.fs, spec.counter_modulo, tolerance) if spec.fs else None
        self.clock = ClockMapper()
        self.fs = float(spec.fs) if spec.fs else 0.0
        self.seq = 0
        self.pending: list[Frame] = []  # frames decoded but not yet put as a block
        self.p_coef: list[Any] = []  # per pending frame: clock (a, b), or host times
        self.p_first = -1
        self.p_seq = 0
        self.last_host: float | None = None
        self.dropped_link = False


class Band:
    """One BLE band, streaming into an async iterator of sample blocks and gaps.

    Parameters
    ----------
    target : str
        Bluetooth address (or macOS UUID), or the advertised name.
    profile : str or Profile, optional
        Device profile; guessed from the advertisement or the GATT services when omitted.
    backend, scanner_backend : type, optional
        bleak backends (default: the platform's).
    backend_kwargs : dict, optional
        Extra keyword arguments for both backends (e.g. ``{"world": world}``).
    timebase : Timebase, optional
        Host clock used for stamps and waits (default: real monotonic time).
    queue_size : int
        Bound of the queue between the notification callback and the consumer.
    reconnect : bool
        Reconnect after a drop, with exponential back-off.
    backoff : (float, float)
        First and maximal back-off delay (s); each failure doubles it, with ±20 % jitter.
    scan_timeout : float
        Seconds to look for a band given by name.
    battery_interval : float
        Seconds between battery reads.
    block_s : float, optional
        Notifications are stamped on arrival and decoded in batches: a batch (and the one
        block per stream it yields) is closed when its first notification is this many
        seconds old (host time) — at the next notification, or by a timer while the consumer
        waits. 0 decodes each notification on arrival. Samples, times and gaps do not
        depend on it; only how they are cut into blocks, and the added latency (≤ block_s).
        Default: 0.25 s; 1 s on a :class:`~firmware_bridge.timebase.SimulatedTime` (max-speed
        replays, where nobody waits on the latency and fewer, larger blocks are cheaper).
    seed : int, optional
        Seed of the back-off jitter.
    """

    def __init__(self, target: str, *, profile: str | Profile | None = None,
                 backend: type | None = None, scanner_backend: type | None = None,
                 backend_kwargs: dict[str, Any] | None = None, timebase: Timebase | None = None,
                 queue_size: int = 4096, reconnect: bool = True,
                 backoff: tuple[float, float] = (0.5, 30.0), scan_timeout: float = 10.0,
                 battery_interval: float = 60.0, block_s: float | None = None,
                 seed: int | None = None) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        if block_s is None:
            block_s = _BLOCK_S_SIMULATED if isinstance(timebase, SimulatedTime) else _BLOCK_S
        if not block_s >= 0:
            raise ValueError(f"block_s must be >= 0, got {block_s}")
        self.target = target
        self.profile: Profile | None = get_profile(profile) if isinstance(profile, str) else profile
        self.backend = backend
        self.scanner_backend = scanner_backend
        self.backend_kwargs = dict(backend_kwargs or {})
        self.timebase = timebase or RealTime()
        self.reconnect = reconnect
        self.backoff = backoff
        self.scan_timeout = scan_timeout
        self.battery_interval = battery_interval
        self.status = BandStatus()
        self.device_id = target
        self.queue_size = queue_size
        self.block_s = float(block_s)
        self._raw: list[tuple[str, bytearray, float]] = []  # (char uuid, bytes, arrival)
        self._raw_t0 = 0.0
        self._timer: Any = None  # flush timer armed by a waiting consumer
        self._queue: deque[SampleBlock | Gap] = deque()
        self._ready = asyncio.Event()
        self._overflow: list[Gap] = []
        self._streams: dict[str, _StreamState] = {}
        self._decoder: Any = None
        self._ble_device: BLEDevice | str | None = None
        self._client: BleakClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._closed = False
        self._dropped = asyncio.Event()
        self._stop_event = asyncio.Event()
        self._connected_once = asyncio.Event()
        self._error: BaseException | None = None
        self._rng = random.Random(seed)

    # lifecycle ---------------------------------------------------------------------------
    async def start(self, wait: bool = True) -> None:
        """Find the band, connect and start streaming; returns once connected (``wait``).

        Raises
        ------
        BandError
            When a band given by name is not found, or the first connection fails and
            ``reconnect`` is off.
        """
        await self._resolve()
        self._task = asyncio.get_running_loop().create_task(self._supervise())
        if wait:
            waiter = asyncio.ensure_future(self._connected_once.wait())
            await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if self._error is not None:
                raise BandError(f"{self.target}: {self._error}") from self._error

    async def stop(self) -> None:
        """Stop streaming, disconnect, and end the iterator once the queue is drained."""
        self._stopping = True
        self._stop_event.set()
        if self._task is not None and not self.status.connected:
            self._task.cancel()  # do not wait out a connect timeout
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, BleakError):
                await self._task
        self._process()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._closed = True
        self._ready.set()

    async def __aenter__(self) -> Band:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def __aiter__(self) -> Band:
        return self

    async def __anext__(self) -> SampleBlock | Gap:
        while True:
            if self._overflow:  # dropped blocks were the oldest: their gaps come first
                return self._overflow.pop(0)
            if self._queue:
                return self._queue.popleft()
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            if self._raw and self.block_s > 0 and self._timer is None:
                # the consumer waits: decode the pending notifications at the latest when
                # the oldest is block_s old, even if no other notification comes
                self._timer = self.timebase.call_at(self._raw_t0 + self.block_s, self._on_timer)
            await self._ready.wait()

    def _on_timer(self) -> None:
        self._timer = None
        if not self._raw:
            return
        if self.timebase.now() >= self._raw_t0 + self.block_s:
            self._process()
        else:  # a newer batch: its own deadline
            self._timer = self.timebase.call_at(self._raw_t0 + self.block_s, self._on_timer)

    # connection ------------------------------------------------------------------------
    async def _resolve(self) -> None:
        if _ADDRESS.match(self.target):
            self._ble_device = self.target
            return
        scanner_kw: dict[str, Any] = dict(self.backend_kwargs)
        if self.scanner_backend is not None:
            scanner_kw["backend"] = self.scanner_backend
        seen: list[AdvertisementData] = []

        def wanted(dev: BLEDevice, adv: AdvertisementData) -> bool:
            if self.target in (adv.local_name, dev.name):
                seen.append(adv)
                return True
            return False

        dev = await BleakScanner.find_device_by_filter(wanted, timeout=self.scan_timeout,
                                                       **scanner_kw)
        if dev is not None:
            self._ble_device = dev
            self.device_id = dev.address
            if self.profile is None:
                self.profile = match_profile(seen[-1].local_name, seen[-1].service_uuids)
            return
        raise BandError(f"{self.target}: no band with this name found in {self.scan_timeout:g} s")

    def _backoff(self, attempt: int) -> float:
        first, cap = self.backoff
        # the exponent is bounded: a band away all night fails thousands of attempts
        return min(cap, first * 2.0 ** min(attempt, 60)) * self._rng.uniform(0.8, 1.2)

    async def _supervise(self) -> None:
        attempt = 0
        while not self._stopping:
            client = BleakClient(self._ble_device or self.target,
                                 disconnected_callback=self._on_disconnect,
                                 backend=self.backend, **self.backend_kwargs)
            self._dropped = asyncio.Event()
            try:
                await client.connect()
                await self._setup(client)
            except asyncio.CancelledError:  # stop() during a (possibly long) connect
                with contextlib.suppress(BleakError, TimeoutError, OSError):
                    await client.disconnect()
                raise
            except (BleakError, TimeoutError, OSError, BandError) as exc:
                with contextlib.suppress(BleakError, TimeoutError, OSError):
                    await client.disconnect()
                if not self.reconnect and not self._connected_once.is_set():
                    self._error = exc
                    return
                self.status.last_error = describe_error(exc)
                delay = self._backoff(attempt)
                attempt += 1
                logger.info("%s: connect failed (%s); retry in %.1f s", self.target, exc, delay)
                await self._sleep_or_stop(delay)
                continue
            attempt = 0
            self._client = client
            self.status.connected = self.status.ever_connected = True
            self._connected_once.set()
            while not self._stopping and not self._dropped.is_set():
                await self._sleep_or_stop(self.battery_interval, self._dropped)
                if not self._dropped.is_set() and not self._stopping:
                    await self._read_battery(client)
            self.status.connected = False
            if self._stopping:
                await self._shutdown(client)
                return
            self.status.reconnects += 1
            if not self.reconnect:
                return
            logger.info("%s: link dropped; reconnecting", self.target)

    async def _sleep_or_stop(self, delay: float, also: asyncio.Event | None = None) -> None:
        waits = {asyncio.ensure_future(self.timebase.sleep(delay)),
                 asyncio.ensure_future(self._stop_event.wait())}
        if also is not None:
            waits.add(asyncio.ensure_future(also.wait()))
        _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for p in pending:
            p.cancel()

    async def _setup(self, client: BleakClient) -> None:
        if self.profile is None:
            uuids = [s.uuid for s in client.services]
            self.profile = match_profile(client.name, uuids)
            if self.profile is None:
                raise BandError(f"{self.target}: no known profile among services {uuids}")
        self._process()  # the previous connection's notifications, with its decoder
        prof = self.profile
        if not self._streams:
            for spec in prof.streams:
                tol = 1 if spec.counter_modulo is None and spec.fs else 0
                self._streams[spec.kind] = _StreamState(spec, tol)
        for st in self._streams.values():
            st.dropped_link = st.last_host is not None
        self._decoder = prof.new_decoder()
        for uuid in prof.subscribe:
            await client.start_notify(uuid, self._on_notify)
        for cmd in prof.start:
            await client.write_gatt_char(cmd.char_uuid, cmd.data, response=cmd.response)
        await self._read_battery(client)

    async def _read_battery(self, client: BleakClient) -> None:
        if self.profile is None or self.profile.battery_uuid is None:
            return
        try:
            data = await client.read_gatt_char(self.profile.battery_uuid)
            self.status.battery = decode_battery(data, self.profile.name)
        except (BleakError, DecodeError, TimeoutError) as exc:
            logger.debug("%s: battery read failed: %s", self.target, exc)

    async def _shutdown(self, client: BleakClient) -> None:
        if self.profile is not None and client.is_connected:
            for cmd in self.profile.stop:
                with contextlib.suppress(BleakError, TimeoutError):
                    await client.write_gatt_char(cmd.char_uuid, cmd.data, response=cmd.response)
        with contextlib.suppress(BleakError, TimeoutError, OSError):
            await client.disconnect()

    def _on_disconnect(self, client: BleakClient) -> None:
        self._process()
        self._dropped.set()
        self.status.connected = False

    # data path -------------------------------------------------------------------------
    def _on_notify(self, char: BleakGATTCharacteristic, data: bytearray) -> None:
        """bleak's per-notification callback: stamp and queue the raw bytes (cheap); they
        are decoded in batches of ``block_s`` of host time (see :meth:`_process`)."""
        now = self.timebase.now()
        raw = self._raw
        if not raw:
            self._raw_t0 = now
            self._ready.set()  # a waiting consumer arms the flush timer of this batch
        raw.append((char.uuid, data, now))
        if now - self._raw_t0 >= self.block_s or len(raw) >= _MAX_RAW:
            self._process()

    def _process(self) -> None:
        """Decode every queued notification, in arrival order, and emit one block per
        stream (or more, split at gaps); each notification keeps its own arrival time."""
        raw = self._raw
        if not raw or self._decoder is None:
            return
        self._raw = []
        batch = getattr(self._decoder, "feed_batch", None)
        if batch is not None:
            frames, errors = batch([(u, d) for u, d, _ in raw])
            for exc in errors:
                self.status.decode_errors += 1
                logger.debug("%s: %s", self.target, exc)
            for i, frame in frames:
                self._handle(frame, raw[i][2])
        else:
            for uuid, data, now in raw:
                try:
                    got = self._decoder.feed(uuid, data)
                except DecodeError as exc:
                    self.status.decode_errors += 1
                    logger.debug("%s: %s", self.target, exc)
                    continue
                for frame in got:
                    self._handle(frame, now)
        for st in self._streams.values():
            if st.pending:
                self._flush(st)

    def _handle(self, frame: Frame, now: float) -> None:
        if "contact" in frame.meta:
            self.status.contact = bool(frame.meta["contact"])
        if "battery" in frame.meta:
            self.status.battery = round(frame.meta["battery"])
        st = self._streams.get(frame.stream)
        if st is None:
            return
        n = frame.samples.shape[1]
        spec = st.spec
        if st.tracker is None or frame.position is None:
            self._irregular(st, frame, now)
        else:
            place = st.tracker.place(frame.position, n, now)
            if place.missing < 0:
                self.status.duplicates_dropped += n
                return
            first = place.first_index
            fs = st.fs
            st.clock.update((first + n - 1) / fs, now)
            a, b = st.clock.coefficients()
            lat = st.clock.latency_s
            if place.missing > 0:
                self._flush(st)
            if place.missing > 0 and st.last_host is not None:
                d0 = first / fs
                self._gap(st, place.missing, st.last_host, d0 + a + b * d0 - lat,
                          first - place.missing)
            if not st.pending:
                st.p_first, st.p_seq = first, st.seq
            st.pending.append(frame)
            st.p_coef.append((a, b))
            d1 = (first + n - 1) / fs
            st.last_host = d1 + a + b * d1 - lat
        st.dropped_link = False
        st.seq += 1
        self.status.samples[spec.kind] = self.status.samples.get(spec.kind, 0) + n
        if self.status.first_time is None:
            self.status.first_time = now
        self.status.last_time = now

    def _irregular(self, st: _StreamState, frame: Frame, now: float) -> None:
        n = frame.samples.shape[1]
        if st.spec.kind == "rr":
            host_t = now - np.concatenate([np.cumsum(frame.samples[0, ::-1])[::-1][1:], [0.0]])
        else:
            host_t = np.full(n, now)
        if st.dropped_link and st.last_host is not None:
            self._flush(st)
            self._gap(st, -1, st.last_host, float(host_t[0]), -1, "disconnect")
        if not st.pending:
            st.p_first, st.p_seq = -1, st.seq
        st.pending.append(frame)
        st.p_coef.append(host_t)
        st.last_host = float(host_t[-1])

    def _flush(self, st: _StreamState) -> None:
        """Put the stream's pending frames on the queue as one block (same samples and
        times as one block per frame)."""
        frames, coef = st.pending, st.p_coef
        if not frames:
            return
        st.pending, st.p_coef = [], []
        spec = st.spec
        meta: dict[str, float] = {}
        for f in frames:
            meta.update(f.meta)
        if len(frames) == 1:
            samples = frames[0].samples
        else:
            samples = np.concatenate([f.samples for f in frames], axis=1)
        if st.p_first < 0:  # irregular stream: per-frame host times computed on arrival
            host_t = coef[0] if len(coef) == 1 else np.concatenate(coef)
            dev_t = np.full(host_t.size, np.nan)
            block = SampleBlock(self.device_id, spec.kind, spec.channels, None, samples,
                                dev_t, host_t, st.p_seq, -1, meta)
        else:
            counts = [f.samples.shape[1] for f in frames]
            dev_t = (st.p_first + np.arange(sum(counts))) / st.fs
            ab = np.array(coef, dtype=np.float64)
            if len(frames) == 1:
                a_s, b_s = ab[0, 0], ab[0, 1]
            else:
                a_s, b_s = np.repeat(ab[:, 0], counts), np.repeat(ab[:, 1], counts)
            host_t = dev_t + a_s + b_s * dev_t - st.clock.latency_s
            block = SampleBlock(self.device_id, spec.kind, spec.channels, spec.fs, samples,
                                dev_t, host_t, st.p_seq, st.p_first, meta)
        self._put(block)

    def _gap(self, st: _StreamState, missing: int, start: float, end: float, first: int,
             reason: str | None = None) -> None:
        why = reason or ("disconnect" if st.dropped_link else "loss")
        self.status.gaps += 1
        self.status.missing_samples += max(missing, 0)
        self._put(Gap(self.device_id, st.spec.kind, missing, start, end, first, why))

    def _put(self, item: SampleBlock | Gap) -> None:
        """Bounded queue, drop-oldest: a dropped block becomes an ``overflow`` gap."""
        if len(self._queue) >= self.queue_size:
            old = self._queue.popleft()
            if isinstance(old, SampleBlock):
                self.status.overflow_blocks += 1
                self._overflow_gap(old)
            else:
                self._overflow.append(old)
        self._queue.append(item)
        self._ready.set()

    def _overflow_gap(self, old: SampleBlock) -> None:
        for i in range(len(self._overflow) - 1, -1, -1):
            prev = self._overflow[i]
            if prev.stream != old.stream:
                continue
            if prev.reason == "overflow" and prev.first_index + prev.missing == old.first_index:
                self._overflow[i] = Gap(old.device, old.stream, prev.missing + old.n_samples,
                                        prev.start_time, float(old.host_time[-1]),
                                        prev.first_index, "overflow")
                return
            break
        self._overflow.append(Gap(old.device, old.stream, old.n_samples, float(old.host_time[0]),
                                  float(old.host_time[-1]), old.first_index, "overflow"))
