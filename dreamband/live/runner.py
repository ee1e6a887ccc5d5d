"""The asyncio edge of the live engine: feed it from bands, tick it on a clock.

:func:`run_band` pushes every block and gap of a ``firmware_bridge.Band`` (or any async
iterator of them) into an engine; :func:`run_ticker` calls ``engine.tick`` on a timebase so
that the epochs of a silent band are closed. Both are re-exported by
:mod:`dreamband.live.engine`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

__all__ = ["run_band", "run_ticker"]


async def run_band(engine: Any, name: str, band: Any,
                   stop: asyncio.Event | None = None,
                   on_events: Callable[[list[Any]], None] | None = None) -> None:
    """Feed every block and gap of a band to the engine until the band ends or ``stop`` is set.

    Parameters
    ----------
    engine : LiveEngine
        The live engine (``name`` must be registered).
    name : str
        Participant the band belongs to.
    band : firmware_bridge.Band or async iterator
        Source of :class:`~firmware_bridge.types.SampleBlock` s and ``Gap`` s.
    stop : asyncio.Event, optional
        Set it to stop feeding (the band itself is left running).
    on_events : callable, optional
        Receives each non-empty list of new events.
    """
    it = band.__aiter__()
    stopper = asyncio.ensure_future(stop.wait()) if stop is not None else None
    try:
        while True:
            nxt = asyncio.ensure_future(it.__anext__())
            if stopper is not None:
                await asyncio.wait({nxt, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if not nxt.done():
                    nxt.cancel()
                    return
            try:
                item = await nxt
            except StopAsyncIteration:
                return
            events = engine.push(name, item)
            if events and on_events is not None:
                on_events(events)
    finally:
        if stopper is not None:
            stopper.cancel()


async def run_ticker(engine: Any, timebase: Any, stop: asyncio.Event,
                     interval: float = 5.0,
                     on_events: Callable[[list[Any]], None] | None = None) -> None:
    """Tick the engine on a clock so that the epochs of silent bands are closed.

    Parameters
    ----------
    engine : LiveEngine
        The live engine.
    timebase : firmware_bridge.timebase.Timebase
        Host clock (``now()`` and ``await sleep(dt)``), the one the bands stamp with.
    stop : asyncio.Event
        Set it to end the loop (after the current wait).
    interval : float
        Seconds of ``timebase`` between ticks.
    on_events : callable, optional
        Receives each non-empty list of new events.
    """
    while not stop.is_set():
        await timebase.sleep(interval)
        events = engine.tick(timebase.now())
        if events and on_events is not None:
            on_events(events)
