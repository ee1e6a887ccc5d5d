"""Host time for bands: the real monotonic clock, a scaled clock, or a simulated one.

Everything that stamps or waits (the :class:`~firmware_bridge.band.Band`, virtual bands) asks a
:class:`Timebase`, so a virtual session can run at 1×, N× or as fast as the CPU allows
("max") with identical code. Times are float seconds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Any

__all__ = ["RealTime", "ScaledTime", "SimulatedTime", "Timebase", "make_timebase"]


class Timebase:
    """Interface: ``now()`` and ``await sleep_until(t)``."""

    def now(self) -> float:
        """Current host time (s)."""
        raise NotImplementedError

    async def sleep_until(self, t: float) -> None:
        """Return once ``now() >= t``."""
        raise NotImplementedError

    async def sleep(self, dt: float) -> None:
        """Wait ``dt`` seconds of this timebase."""
        await self.sleep_until(self.now() + max(0.0, dt))

    def call_at(self, t: float, callback: Callable[[], Any]) -> Any:
        """Call ``callback()`` on the running loop once ``now() >= t``; returns a handle
        with ``cancel()``."""
        async def later() -> None:
            await self.sleep_until(t)
            callback()

        return asyncio.get_running_loop().create_task(later())

    def try_advance(self, t: float) -> bool:
        """Move ``now()`` to ``t`` without yielding, when nothing else can be due first.

        Only a discrete-event clock can do this; it lets a producer emit several events in
        one wake-up with each one stamped at its own time. Real clocks return False.
        """
        return False


class RealTime(Timebase):
    """The host's monotonic clock."""

    def now(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    async def sleep_until(self, t: float) -> None:
        """Sleep on the event loop until ``t``."""
        await asyncio.sleep(max(0.0, t - time.monotonic()))

    def call_at(self, t: float, callback: Callable[[], Any]) -> asyncio.TimerHandle:
        """``loop.call_later`` until ``t``."""
        return asyncio.get_running_loop().call_later(max(0.0, t - time.monotonic()), callback)


class ScaledTime(Timebase):
    """Simulated time running ``speed`` times faster than the wall clock, from 0."""

    def __init__(self, speed: float) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.speed = float(speed)
        self._t0 = time.monotonic()

    def now(self) -> float:
        """Simulated seconds since creation."""
        return (time.monotonic() - self._t0) * self.speed

    async def sleep_until(self, t: float) -> None:
        """Sleep the wall-clock share of the simulated wait."""
        await asyncio.sleep(max(0.0, (t - self.now()) / self.speed))

    def call_at(self, t: float, callback: Callable[[], Any]) -> asyncio.TimerHandle:
        """``loop.call_later`` for the wall-clock share of the wait."""
        delay = max(0.0, (t - self.now()) / self.speed)
        return asyncio.get_running_loop().call_later(delay, callback)


class SimulatedTime(Timebase):
    """Discrete-event time: jumps to the next waiter as soon as the event loop is idle.

    Waiters are woken in time order; between two jumps the loop is given turns until every
    task woken at the current instant has run (consumers, reconnect logic...), as it would
    in real time.
    """

    MAX_SETTLE_TURNS = 1000

    def __init__(self, settle_turns: int = 3) -> None:
        self._now = 0.0
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._count = itertools.count()
        self._driver: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.settle_turns = settle_turns

    def now(self) -> float:
        """Current simulated time (s)."""
        return self._now

    async def sleep_until(self, t: float) -> None:
        """Park until the driver reaches ``t`` (waiters due now also queue, so that time
        never jumps past a task that is still running at the current instant)."""
        await self._waiter(t)

    def _waiter(self, t: float) -> asyncio.Future[None]:
        """A future the driver resolves when time reaches ``t``."""
        t = max(t, self._now)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._heap, (t, next(self._count), fut))
        if self._driver is None or self._driver.done() or self._driver.get_loop() is not loop:
            self._wake = asyncio.Event()  # events bind to the running loop on first wait
            self._driver = loop.create_task(self._drive())
        self._wake.set()
        return fut

    def call_at(self, t: float, callback: Callable[[], Any]) -> asyncio.Future[None]:
        """A waiter like :meth:`sleep_until`'s, calling ``callback()`` when resolved (cancel
        the returned future to call it off)."""
        fut = self._waiter(t)
        fut.add_done_callback(lambda f: None if f.cancelled() else callback())
        return fut

    def try_advance(self, t: float) -> bool:
        """Jump to ``t`` (never backwards) if no other waiter is due at or before ``t``.

        The caller keeps running, so it must be the task woken last: events it stamps at
        ``t`` are then in the same order as if it had slept until ``t``.
        """
        heap = self._heap
        while heap and heap[0][2].done():  # cancelled sleepers
            heapq.heappop(heap)
        if heap and heap[0][0] <= t:
            return False
        if t > self._now:
            self._now = t
        return True

    async def _settle(self) -> None:
        """Give the loop turns until no other callback is ready (asyncio's ready queue is
        empty), so that everything woken at the current instant — including chains of
        wake-ups — has run before time jumps; at most ``MAX_SETTLE_TURNS`` turns. Falls back
        to ``settle_turns`` turns on a loop without that queue."""
        ready = getattr(asyncio.get_running_loop(), "_ready", None)
        if ready is None:
            for _ in range(self.settle_turns):
                await asyncio.sleep(0)
            return
        for _ in range(self.MAX_SETTLE_TURNS):
            await asyncio.sleep(0)
            if not ready:
                return

    async def _drive(self) -> None:
        while True:
            await self._settle()
            while self._heap and self._heap[0][2].done():  # cancelled sleepers
                heapq.heappop(self._heap)
            if not self._heap:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=1.0)
                except TimeoutError:
                    return
                continue
            t, _, fut = heapq.heappop(self._heap)
            self._now = max(self._now, t)
            fut.set_result(None)


def make_timebase(speed: float | str | None) -> Timebase:
    """``None`` or 1 → :class:`RealTime` (host monotonic clock, comparable across
    processes); another number → :class:`ScaledTime` at that speed; ``"max"`` →
    :class:`SimulatedTime`."""
    if speed is None:
        return RealTime()
    if isinstance(speed, int | float) and speed == 1:
        return RealTime()
    if isinstance(speed, str):
        if speed == "max":
            return SimulatedTime()
        try:
            speed = float(speed)
        except ValueError:
            raise ValueError(f"speed must be a number > 0 or 'max', got {speed!r}") from None
        if speed == 1:
            return RealTime()
    return ScaledTime(float(speed))
