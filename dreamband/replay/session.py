"""Play replay sources as virtual bands through the whole live path.

Each participant becomes a virtual band in a :class:`~firmware_bridge.virtual.VirtualWorld`
(real encoded packets, per-band clock drift, jitter, loss and disconnects), is connected with
a real :class:`~firmware_bridge.Band` over the virtual bleak backend (decoders, gap marking,
reconnects, clock mapping), and its sample blocks and gaps are pushed into the live engine.
Time is a :mod:`firmware_bridge.timebase`: 1× real time, N×, or ``"max"`` (simulated time,
as fast as the machine goes). Participants start at the same instant (aligned by
lights-off) or at their clock time of night (aligned by clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from dreamband.replay.agreement import heart_training_records, live_vs_expert, record_name
from dreamband.replay.impair import Impairments
from dreamband.replay.sources import MUSE_FS, ReplaySource
from firmware_bridge import Band, Gap, SampleBlock, make_timebase
from firmware_bridge.timebase import Timebase
from firmware_bridge.virtual import VirtualBleakClient, VirtualWorld

__all__ = ["ParticipantStats", "ReplayOptions", "ReplayResult", "replay", "run_replay"]

logger = logging.getLogger(__name__)

#: Streams the live engine stages from (accelerometer and ECG blocks are not pushed).
_STREAMS = ("eeg", "hr", "rr")


@dataclass
class ReplayOptions:
    """How to replay.

    Attributes
    ----------
    speed : float or "max"
        1 = real time, N = N× real time, ``"max"`` = as fast as the machine goes.
    align : {"lights-off", "clock"}
        Start everyone together at lights-off, or each at its clock time of night.
    start_s : float
        Seconds after lights-off where every replay starts.
    duration_s : float or None
        Longest stretch of each night replayed (s); None = to the end.
    epoch_length : float
        Epoch length of the session grid (s).
    tick_s : float
        Replay time between engine ticks (s).
    refresh_s : float
        Wall time between view updates (s).
    max_missing : float
        Largest missing fraction of an epoch that is still scored.
    seed : int
        Seed of link impairments (participant ``i`` uses ``seed + i``).
    """

    speed: float | str = "max"
    align: str = "lights-off"
    start_s: float = 0.0
    duration_s: float | None = None
    epoch_length: float = 30.0
    tick_s: float = 5.0
    refresh_s: float = 0.5
    max_missing: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        if self.align not in ("lights-off", "clock"):
            raise ValueError(f"align must be 'lights-off' or 'clock'; got {self.align!r}")
        if self.start_s < 0 or (self.duration_s is not None and not self.duration_s > 0):
            raise ValueError("start_s must be >= 0 and duration_s > 0")


@dataclass
class ParticipantStats:
    """What one participant's band delivered."""

    name: str
    label: str
    kind: str
    simulated: bool
    delay_s: float
    length_s: float
    blocks: int = 0
    samples: int = 0
    gaps: int = 0
    gap_reasons: dict[str, int] = field(default_factory=dict)
    missing_samples: int = 0
    drops: int = 0
    lost_packets: int = 0
    reconnects: int = 0
    events: dict[str, int] = field(default_factory=dict)
    stages: dict[int, str] = field(default_factory=dict, repr=False)
    agreement: dict[str, float] | None = None
    done: bool = False


@dataclass
class ReplayResult:
    """Outcome of a replay.

    Attributes
    ----------
    participants : list of ParticipantStats
        Per band: what was delivered, gaps by reason, drops, events, agreement (REAL only).
    replay_s, wall_s : float
        Replayed session time and the wall time it took (s).
    speed : float or "max"
        Requested speed.
    latencies : numpy.ndarray
        Engine processing time per decided epoch (s).
    engine_summary : dict
        What :meth:`LiveEngine.close` returned (per participant counts, group windows,
        files).
    session_dir : Path or None
        The session folder.
    """

    participants: list[ParticipantStats]
    replay_s: float
    wall_s: float
    speed: float | str
    latencies: np.ndarray
    engine_summary: dict[str, Any]
    session_dir: Path | None

    @property
    def x_real_time(self) -> float:
        """Replayed seconds per wall second (for the longest participant)."""
        return self.replay_s / self.wall_s if self.wall_s > 0 else float("inf")


def _night_seconds(t: datetime) -> float:
    """Seconds since the noon before ``t`` (so 23:00 < 01:00 on the same night)."""
    s = t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6
    return (s - 12 * 3600) % 86400


def plan_delays(sources: Sequence[ReplaySource], options: ReplayOptions) -> list[float]:
    """Start delay of each participant (s): 0 for all unless aligned by clock time."""
    if options.align == "lights-off":
        return [0.0] * len(sources)
    clocks = [None if s.lights_off is None else _night_seconds(s.lights_off) + options.start_s
              for s in sources]
    known = [c for c in clocks if c is not None]
    if len(known) < len(clocks):
        logger.warning("clock alignment: %d source(s) without a start time start at once",
                       len(clocks) - len(known))
    first = min(known) if known else 0.0
    return [0.0 if c is None else c - first for c in clocks]


def _default_engine(grid: Any, *, session_dir: Path | None, max_missing: float,
                    clock: Callable[[], float], wall_origin: datetime | None = None) -> Any:
    from dreamband.live.engine import LiveEngine

    return LiveEngine(grid, session_dir=session_dir, max_missing=max_missing, clock=clock,
                      wall_origin=wall_origin)


def replay_wall_origin(sources: Sequence[ReplaySource], options: ReplayOptions
                       ) -> datetime | None:
    """Clock time of night at the replay grid's origin: known when participants are aligned
    by clock and every source has a start time (the first one starts at the origin)."""
    if options.align != "clock" or any(s.lights_off is None for s in sources):
        return None
    starts = [s.lights_off + timedelta(seconds=options.start_s) for s in sources]
    return min(starts, key=_night_seconds)


def _with_outages(link: Any, outages: Sequence[tuple[float, float]], start_s: float) -> Any:
    """``link`` with the source's outages (s after lights-off) added as disconnects on
    the band's own clock (s after power-on, which plays source time ``start_s``)."""
    extra = [(max(a - start_s, 0.0), b - max(a, start_s)) for a, b in outages if b > start_s]
    if not extra:
        return link
    from dataclasses import replace

    return replace(link, disconnects=sorted([*link.disconnects, *extra]))


def _grid(origin: float, epoch_length: float) -> Any:
    from dreamband.live.epocher import EpochGrid

    return EpochGrid(origin, epoch_length)


async def replay(sources: Sequence[ReplaySource], *, options: ReplayOptions | None = None,
                 impairments: Impairments | None = None, session_dir: Path | None = None,
                 engine_factory: Callable[..., Any] | None = None,
                 on_update: Callable[[dict[str, Any]], None] | None = None,
                 timebase: Timebase | None = None) -> ReplayResult:
    """Replay ``sources`` as virtual bands into a live engine (see the module docstring).

    Parameters
    ----------
    sources : sequence of ReplaySource
        The participants (unique names).
    options : ReplayOptions, optional
        Speed, alignment, window, seeds.
    impairments : Impairments, optional
        Per-band link impairments.
    session_dir : path, optional
        Session folder: the engine's crash-safe recording plus ``replay.json`` (what was
        replayed, how, and the outcome).
    engine_factory : callable, optional
        ``factory(grid, session_dir=..., max_missing=..., clock=..., wall_origin=...)`` ->
        engine with the :class:`dreamband.live.engine.LiveEngine` API (default: that
        class, stamping events with the replay clock; ``wall_origin`` is the clock time of
        night at the grid origin when aligned by clock, else None).
    on_update : callable, optional
        Called with a state dict (``snapshot``, ``stats``, ``replay_s``, ``wall_s``...) at
        most every ``options.refresh_s`` wall seconds and once at the end.
    timebase : Timebase, optional
        Host clock (default: from ``options.speed``).

    Returns
    -------
    ReplayResult
    """
    opts = options or ReplayOptions()
    impair = impairments or Impairments()
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ValueError(f"participant names must be unique; got {names}")
    for pattern in impair.unmatched(names):
        logger.warning("impairments: [band.%s] matches no participant (%s)", pattern,
                       ", ".join(names))
    tb = timebase or make_timebase(opts.speed)
    world = VirtualWorld(tb)
    delays = plan_delays(sources, opts)
    lengths = []
    for s in sources:
        n = s.duration_s - opts.start_s
        if opts.duration_s is not None:
            n = min(n, opts.duration_s)
        if n <= 0:
            raise ValueError(f"{s.name}: nothing to replay ({s.duration_s:.0f} s available, "
                             f"starting {opts.start_s:.0f} s after lights-off)")
        lengths.append(n)
    t0 = tb.now() + 0.5
    grid = _grid(t0, opts.epoch_length)
    if session_dir is not None:
        session_dir.mkdir(parents=True, exist_ok=True)
    factory = engine_factory or _default_engine
    engine = factory(grid, session_dir=session_dir, max_missing=opts.max_missing, clock=tb.now,
                     wall_origin=replay_wall_origin(sources, opts))
    stats = [ParticipantStats(s.name, s.label, s.kind, s.simulated, d, n)
             for s, d, n in zip(sources, delays, lengths, strict=True)]
    for s in sources:
        fs = MUSE_FS if s.kind == "eeg" else None
        roles = {"emg": s.emg} if s.emg else {}
        engine.add_participant(s.name, s.kind, s.channels, fs, eeg=s.eeg, eog=s.eog, **roles)
    latencies: list[float] = []
    bands: dict[str, Band] = {}
    devices: dict[str, Any] = {}
    wall0 = time.perf_counter()
    end = t0 + max(d + n for d, n in zip(delays, lengths, strict=True))

    def take(events: list[Any]) -> None:
        for ev in events:
            st = by_name.get(ev.participant)
            if st is not None:
                st.events[ev.kind] = st.events.get(ev.kind, 0) + 1
            if ev.kind == "stage":
                latencies.append(float(ev.latency_s))
                if st is not None and ev.data.get("scored"):
                    st.stages[ev.epoch] = str(ev.data.get("stage"))
            elif ev.kind.startswith("group"):
                group_events[ev.kind] = group_events.get(ev.kind, 0) + 1

    by_name = {st.name: st for st in stats}
    group_events: dict[str, int] = {}

    async def play(i: int, src: ReplaySource, st: ParticipantStats) -> None:
        await tb.sleep_until(t0 + st.delay_s)
        dev = world.add_band(src.profile, source=src.make_signal(opts.start_s),
                             link=_with_outages(impair.link(src.name, opts.seed + i),
                                                src.outages, opts.start_s),
                             name=src.name)
        devices[src.name] = dev
        if src.profile == "muse":  # the engine stages EEG only: spare the accelerometer stream
            per = dev.peripheral
            per.emitters = [em for em in per.emitters if em is not getattr(per, "acc", None)]
        band = Band(dev.address, profile=src.profile, backend=VirtualBleakClient,
                    backend_kwargs={"world": world}, timebase=tb, seed=opts.seed + i,
                    backoff=(0.5, 5.0), battery_interval=600.0)
        bands[src.name] = band
        await band.start()
        stop_at = tb.now() + st.length_s

        async def stopper() -> None:
            await tb.sleep_until(stop_at)
            await band.stop()

        task = asyncio.get_running_loop().create_task(stopper())
        async for item in band:
            if item.stream not in _STREAMS:
                continue
            if isinstance(item, SampleBlock):
                st.blocks += 1
                st.samples += item.n_samples
            elif isinstance(item, Gap):
                st.gaps += 1
                st.gap_reasons[item.reason] = st.gap_reasons.get(item.reason, 0) + 1
                st.missing_samples += max(item.missing, 0)
            take(engine.push(src.name, item))
        await task
        st.drops, st.lost_packets = dev.drops, dev.lost
        st.reconnects = band.status.reconnects
        st.done = True

    last_refresh = [-1e9]

    def update(final: bool = False) -> None:
        if on_update is None:
            return
        now_wall = time.perf_counter()
        if not final and now_wall - last_refresh[0] < opts.refresh_s:
            return
        last_refresh[0] = now_wall
        for st in stats:
            dev = devices.get(st.name)
            if dev is not None:
                st.drops, st.lost_packets = dev.drops, dev.lost
            if st.name in bands:
                st.reconnects = bands[st.name].status.reconnects
        on_update({"snapshot": engine.snapshot(), "stats": stats, "sources": sources,
                   "replay_s": max(0.0, min(tb.now(), end) - t0), "total_s": end - t0,
                   "start_s": opts.start_s, "align": opts.align,
                   "wall_s": now_wall - wall0, "speed": opts.speed, "final": final})

    async def ticker(done: asyncio.Event) -> None:
        k = 1
        while not done.is_set():
            await tb.sleep_until(t0 + k * opts.tick_s)
            k += 1
            take(engine.tick(tb.now()))
            update()

    done = asyncio.Event()
    tick_task = asyncio.get_running_loop().create_task(ticker(done))
    try:
        await asyncio.gather(*(play(i, s, st) for i, (s, st)
                               in enumerate(zip(sources, stats, strict=True))))
    finally:
        done.set()
        tick_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tick_task
        for band in bands.values():
            with contextlib.suppress(Exception):
                await band.stop()
    take(engine.tick(end + opts.epoch_length))
    update(final=True)
    summary = engine.close() or {}
    summary.setdefault("group_events", group_events)
    trained_on = heart_training_records()
    for src, st in zip(sources, stats, strict=True):
        if src.truth is not None and not src.simulated:  # never on simulated signals
            st.agreement = live_vs_expert(st.stages, src.truth, opts.start_s - st.delay_s,
                                          src.truth_offset_s, opts.epoch_length)
            if st.agreement is not None:
                st.agreement["in_sample"] = (src.kind == "heart"
                                             and record_name(src.spec) in trained_on)
    wall = time.perf_counter() - wall0
    result = ReplayResult(stats, end - t0, wall, opts.speed, np.asarray(latencies), summary,
                          session_dir)
    if session_dir is not None:
        _write_manifest(session_dir, sources, opts, impair, result)
    return result


def _write_manifest(folder: Path, sources: Sequence[ReplaySource], opts: ReplayOptions,
                    impair: Impairments, result: ReplayResult) -> None:
    doc = {
        "tool": "dreamband replay",
        "speed": opts.speed, "align": opts.align, "start_s": opts.start_s,
        "duration_s": opts.duration_s, "epoch_length": opts.epoch_length,
        "impairments": {"source": impair.source, "default": impair.default,
                        "bands": [[p, v] for p, v in impair.bands]},
        "replay_s": result.replay_s, "wall_s": result.wall_s,
        "x_real_time": result.x_real_time,
        "engine_processing_per_epoch_s": _quantiles(result.latencies),
        "participants": [
            {"name": s.name, "source": s.spec, "label": s.label, "simulated": s.simulated,
             "kind": s.kind, "profile": s.profile, "channels": s.mapping,
             "lights_off": s.lights_off, **{k: v for k, v in vars(st).items()
                                            if k not in ("name", "label", "kind", "simulated",
                                                         "stages")}}
            for s, st in zip(sources, result.participants, strict=True)
        ],
        "engine_summary": result.engine_summary,
    }
    (folder / "replay.json").write_text(json.dumps(doc, indent=2, default=str), encoding="utf-8")


def _quantiles(x: np.ndarray) -> dict[str, float | None]:
    if x.size == 0:
        return {"p50": None, "p99": None, "max": None, "n": 0}
    return {"p50": float(np.quantile(x, 0.5)), "p99": float(np.quantile(x, 0.99)),
            "max": float(x.max()), "n": int(x.size)}


def run_replay(sources: Sequence[ReplaySource], **kwargs: Any) -> ReplayResult:
    """Synchronous wrapper of :func:`replay` (runs its own event loop)."""
    return asyncio.run(replay(sources, **kwargs))
