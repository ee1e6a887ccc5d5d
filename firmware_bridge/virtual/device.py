"""A virtual band: a peripheral on a drifting device clock behind an imperfect radio link.

The link adds a minimal latency plus exponential jitter (never early, never reordered), loses
notifications with a given probability, and drops the connection on a schedule, during which
the band is unreachable. Counters keep running on the device's clock throughout.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from firmware_bridge.timebase import Timebase
from firmware_bridge.virtual.peripherals import Peripheral

__all__ = ["LinkConfig", "VirtualDevice"]

logger = logging.getLogger(__name__)


@dataclass
class LinkConfig:
    """Impairments of one virtual band.

    Attributes
    ----------
    offset_s : float
        Device clock reading at power-on (s).
    drift_ppm : float
        Device clock rate error (parts per million; positive runs fast).
    latency_s : float
        Minimal notification delay (s).
    jitter_s : float
        Mean of the exponential extra delay (s).
    loss : float
        Probability that one notification is lost.
    disconnects : list of (float, float)
        ``(at, duration)`` in host seconds after power-on: link drops and stays down.
    disconnect_every : (float, float) or None
        ``(period, duration)``: a drop every ``period`` seconds (first at ``period``).
    seed : int
        Seed for jitter and loss.
    """

    offset_s: float = 0.0
    drift_ppm: float = 0.0
    latency_s: float = 0.0
    jitter_s: float = 0.0
    loss: float = 0.0
    disconnects: list[tuple[float, float]] = field(default_factory=list)
    disconnect_every: tuple[float, float] | None = None
    seed: int = 0


class VirtualDevice:
    """One emulated band, served to :class:`~firmware_bridge.virtual.backend.VirtualBleakClient`.

    Parameters
    ----------
    address, name : str
        Advertised address and local name.
    peripheral : Peripheral
        The GATT server and its emitters.
    timebase : Timebase
        Host time shared with the host side.
    link : LinkConfig, optional
        Clock and radio impairments.
    rssi : int
        Advertised signal strength (dBm).
    """

    #: In simulated time, packets due within this many host seconds of a wake-up are
    #: delivered in that wake-up, each at its own time (see :meth:`Timebase.try_advance`).
    BATCH_S = 0.5

    def __init__(self, address: str, name: str, peripheral: Peripheral, timebase: Timebase,
                 link: LinkConfig | None = None, rssi: int = -60) -> None:
        self.address = address
        self.name = name
        self.peripheral = peripheral
        self.timebase = timebase
        self.link = link or LinkConfig()
        self.rssi = rssi
        self.power_on = timebase.now()
        self._rng = np.random.default_rng(self.link.seed)
        self._subs: dict[str, Callable[[bytearray], None]] = {}
        self._on_drop: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        self.sent = 0
        self.lost = 0
        self.drops = 0
        self.connect_attempts = 0
        self.reset_lateness()

    def reset_lateness(self) -> None:
        """Zero the delivery-lateness statistics (how far behind schedule the emulation ran)."""
        self.late_max = 0.0
        self.late_n = 0
        self.late_over_100ms = 0

    # clocks -----------------------------------------------------------------------------
    def device_time(self, host_time: float) -> float:
        """Device clock reading at ``host_time``."""
        return (host_time - self.power_on) * (1 + self.link.drift_ppm * 1e-6)

    def host_time(self, device_time: float) -> float:
        """Host time at which the device clock reads ``device_time``."""
        return self.power_on + device_time / (1 + self.link.drift_ppm * 1e-6)

    # link schedule ----------------------------------------------------------------------
    def _next_outage(self, after: float) -> tuple[float, float]:
        """Earliest outage (start, end) in host time that ends after ``after``."""
        best = (math.inf, math.inf)
        rel = after - self.power_on
        for at, dur in self.link.disconnects:
            if at + dur > rel and at < best[0] - self.power_on:
                best = (self.power_on + at, self.power_on + at + dur)
        if self.link.disconnect_every is not None:
            period, dur = self.link.disconnect_every
            k = max(1, math.floor((rel - dur) / period) + 1)
            at = k * period
            if at + dur <= rel:
                at += period
            if self.power_on + at < best[0]:
                best = (self.power_on + at, self.power_on + at + dur)
        return best

    def reachable(self, host_time: float) -> bool:
        """False while a scheduled outage is under way."""
        start, end = self._next_outage(host_time)
        return not start <= host_time < end

    # GATT -------------------------------------------------------------------------------
    def attach(self, on_drop: Callable[[], None]) -> None:
        """A client connected: start serving."""
        self.connected = True
        self._on_drop = on_drop
        self._subs.clear()
        for em in self.peripheral.emitters:
            em.skip_to(self.device_time(self.timebase.now()))
        self._task = asyncio.get_running_loop().create_task(self._serve())

    def detach(self) -> None:
        """The client disconnected (or the link dropped)."""
        self.connected = False
        self._subs.clear()
        for em in self.peripheral.emitters:
            em.active = em.always_on  # a band stops streaming when its link goes
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        self._task = None

    def subscribe(self, char_uuid: str, callback: Callable[[bytearray], None] | None) -> None:
        """Enable (callback) or disable (None) notifications of ``char_uuid``."""
        if callback is None:
            self._subs.pop(char_uuid, None)
        else:
            self._subs[char_uuid] = callback

    def write(self, char_uuid: str, data: bytes) -> None:
        """Handle a write; answers go out as notifications right away."""
        for uuid, payload in self.peripheral.on_write(char_uuid, bytes(data)):
            cb = self._subs.get(uuid)
            if cb is not None:
                cb(bytearray(payload))

    def read(self, char_uuid: str) -> bytes:
        """Read a characteristic's value."""
        return self.peripheral.read(char_uuid, self.device_time(self.timebase.now()))

    # serving ----------------------------------------------------------------------------
    async def _serve(self) -> None:
        emitters = self.peripheral.emitters
        last_delivery = self.timebase.now()
        tb = self.timebase
        link = self.link
        rng = self._rng
        outage = (-math.inf, -math.inf)
        batch_end = -math.inf  # deliveries up to here go out in this wake-up (simulated time)
        try:
            while self.connected:
                em = emitters[0]
                for e in emitters:
                    if e.next_time < em.next_time:
                        em = e
                due = self.host_time(em.next_time)
                jitter = rng.exponential(link.jitter_s) if link.jitter_s else 0.0
                deliver = max(last_delivery, due + (link.latency_s + jitter))
                now = tb.now()
                if now >= outage[1]:  # the next outage only changes once the current one ends
                    outage = self._next_outage(now)
                if outage[0] <= deliver:
                    await tb.sleep_until(outage[0])
                    self._drop_link()
                    return
                if not (deliver <= batch_end and tb.try_advance(deliver)):
                    await tb.sleep_until(deliver)
                    if not self.connected:
                        return
                    batch_end = tb.now() + self.BATCH_S
                late = tb.now() - deliver
                self.late_n += 1
                if late > 0.1:
                    self.late_over_100ms += 1
                if late > self.late_max:
                    self.late_max = late
                last_delivery = deliver
                packets = em.pop()
                if not em.active:
                    continue
                subs = self._subs
                for uuid, payload in packets:
                    cb = subs.get(uuid)
                    if cb is None:
                        continue
                    if link.loss and rng.random() < link.loss:
                        self.lost += 1
                        continue
                    self.sent += 1
                    cb(bytearray(payload))
                    if not self.connected:  # the host hung up inside its callback
                        return
        except asyncio.CancelledError:
            pass

    def _drop_link(self) -> None:
        logger.debug("%s: link dropped at %.3f", self.address, self.timebase.now())
        self.drops += 1
        on_drop = self._on_drop
        self.detach()
        if on_drop is not None:
            on_drop()
