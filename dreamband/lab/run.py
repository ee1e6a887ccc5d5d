"""A lab run: real bands over BLE -> the live engine -> live stages, group REM windows and a
crash-safe session folder.

:func:`run_lab` connects one :class:`firmware_bridge.Band` per participant (bleak; any
bleak backend, e.g. the virtual one in tests), registers each participant with the live
engine from its band's profile, feeds every block and gap to the engine, ticks it so that a
silent band's epochs are closed as unscored, and closes everything cleanly at the end, on
``stop`` or on cancellation (Ctrl-C). A band that drops reconnects on its own with back-off;
the samples lost meanwhile are a gap, marked in the session and never filled.

Bands whose profile is not given must connect within ``connect_timeout`` (their profile is
read from the band); bands with a known profile are registered at once and join whenever
they connect. The session folder is the live engine's (``session.json`` with the wall-clock
origin, epochs, events, raw samples) plus ``lab.json``: who wore which band, link
statistics, the outcome and the resumes.

``resume=True`` continues a session that crashed in ``session_dir`` (see
:mod:`dreamband.lab.resume`): participants and options come from the session, the epoch
grid continues the session's wall-clock grid, the epochs lost between the crash and the
restart stay absent, and each participant's live stager continues warm: it first replays
the samples the session's raw streams hold from before the crash
(:mod:`dreamband.live.history`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dreamband.lab.participants import LabParticipant, engine_participant
from dreamband.lab.resume import LAB_TOOL, ResumePlan, load_resume

__all__ = ["LabError", "LabOptions", "LabResult", "run_lab"]

logger = logging.getLogger(__name__)


class LabError(RuntimeError):
    """A lab run could not start (a band not found, a profile unknown...); one line."""


@dataclass(frozen=True)
class LabOptions:
    """How a lab run goes.

    Parameters
    ----------
    duration_s : float or None
        Stop after this many seconds of the host clock (None: until ``stop`` or Ctrl-C).
    epoch_length : float
        Epoch length (s) of the session grid.
    k : int or None
        Group criterion: participants in REM together (None: the engine's default, 2, or 1
        for a single participant).
    min_epochs : int
        Shortest group window (epochs).
    max_missing : float
        Largest missing fraction of an epoch's signal for it to be scored.
    lag, heart_lag : int
        Decision delays in epochs (see :class:`dreamband.live.engine.LiveEngine`).
    connect_timeout : float
        Seconds a band without a given profile has to connect at the start.
    tick_s : float
        Seconds between engine ticks (closing the epochs of silent bands).
    refresh_s : float
        Seconds between ``on_update`` calls.
    """

    duration_s: float | None = None
    epoch_length: float = 30.0
    k: int | None = None
    min_epochs: int = 2
    max_missing: float = 0.2
    lag: int = 0
    heart_lag: int = 0
    connect_timeout: float = 60.0
    tick_s: float = 5.0
    refresh_s: float = 1.0

    def __post_init__(self) -> None:
        if self.duration_s is not None and not self.duration_s > 0:
            raise ValueError(f"duration must be > 0 s; got {self.duration_s}")
        if self.k is not None and self.k < 1:
            raise ValueError(f"k must be >= 1; got {self.k}")
        if self.min_epochs < 1:
            raise ValueError(f"min_epochs must be >= 1; got {self.min_epochs}")
        if not self.connect_timeout > 0:
            raise ValueError(f"connect_timeout must be > 0 s; got {self.connect_timeout}")


@dataclass
class LabResult:
    """Outcome of a lab run: the engine's summary, per band link statistics, timing."""

    session_dir: Path | None
    wall_origin: datetime
    elapsed_s: float
    engine_summary: dict[str, Any]
    bands: dict[str, dict[str, Any]] = field(default_factory=dict)
    resumes: list[dict[str, Any]] = field(default_factory=list)


def _band_status(band: Any, who: LabParticipant) -> dict[str, Any]:
    st = band.status
    return {"target": who.target, "address": band.device_id,
            "profile": None if band.profile is None else band.profile.name,
            "connected": st.connected, "ever_connected": st.ever_connected,
            "reconnects": st.reconnects, "gaps": st.gaps, "missing_samples": st.missing_samples,
            "samples": dict(st.samples), "battery": st.battery, "last_error": st.last_error}


async def _connect(bands: dict[str, Any], people: Sequence[LabParticipant],
                   timeout: float, timebase: Any) -> None:
    """Start every band; those without a profile must connect within ``timeout`` seconds
    of ``timebase``."""

    async def one(who: LabParticipant) -> None:
        band = bands[who.name]
        try:
            if band.profile is not None:
                await band.start(wait=False)  # joins whenever it connects
                return
            starter = asyncio.ensure_future(band.start(wait=True))
            timer = asyncio.ensure_future(timebase.sleep(timeout))
            try:
                done, _ = await asyncio.wait({starter, timer},
                                             return_when=asyncio.FIRST_COMPLETED)
            finally:
                timer.cancel()
                if not starter.done():
                    starter.cancel()
            if starter not in done:
                why = band.status.last_error
                raise LabError(f"participant {who.name!r}: band {who.target!r} did not connect "
                               f"within {timeout:g} s"
                               f"{f' (last error: {why})' if why else ''} and its profile is "
                               f"unknown; check it is on and in range, or give its profile "
                               f"({who.name}={who.target}:PROFILE) to start without it")
            starter.result()
        except LabError:
            raise
        except Exception as exc:  # BandError, BleakError...: one line naming the band
            from firmware_bridge.band import describe_error

            why = describe_error(exc) if isinstance(exc, OSError) else str(exc)
            raise LabError(f"participant {who.name!r}: band {who.target!r}: {why}") from exc
        if band.profile is None:
            raise LabError(f"participant {who.name!r}: band {who.target!r} connected but its "
                           f"profile could not be recognised; give it ({who.name}="
                           f"{who.target}:PROFILE)")

    await asyncio.gather(*(one(p) for p in people))


async def run_lab(participants: Sequence[LabParticipant], *, session_dir: Path | None,
                  options: LabOptions | None = None,
                  band_options: dict[str, Any] | None = None, timebase: Any = None,
                  on_update: Callable[[dict[str, Any]], None] | None = None,
                  stop: asyncio.Event | None = None, events_out: str | Path | None = None,
                  event_stages: bool = True, resume: bool | ResumePlan = False,
                  wall_clock: Callable[[], datetime] | None = None) -> LabResult:
    """Run a lab session (see the module docstring).

    Parameters
    ----------
    participants : sequence of LabParticipant
        Who wears which band (unique names).
    session_dir : path or None
        Session folder (created); None records nothing.
    options : LabOptions, optional
        Duration, epoch length, group criterion, delays, timeouts.
    band_options : dict, optional
        Extra keyword arguments of every :class:`firmware_bridge.Band` (``backend``,
        ``scanner_backend``, ``backend_kwargs``, ``backoff``...).
    timebase : Timebase, optional
        Host clock of the bands and the engine (default: real monotonic time).
    on_update : callable, optional
        Called with ``{"snapshot", "bands", "elapsed_s", "wall_origin", "final"}`` every
        ``options.refresh_s`` seconds and once at the end.
    stop : asyncio.Event, optional
        Set it to end the run cleanly.
    events_out : str or path, optional
        Also write every event as a JSON line to this file (appended), or ``"-"`` for
        standard output (:class:`dreamband.live.eventlog.JsonlEvents`).
    event_stages : bool
        Include the per-epoch ``stage`` events in ``events_out``.
    resume : bool or ResumePlan
        Continue the session that crashed in ``session_dir`` (participants may be empty:
        then the recorded ones; the session's options replace those of ``options`` but the
        duration and timing ones). The live stagers continue warm from the session's raw
        streams. A :class:`~dreamband.lab.resume.ResumePlan` of ``session_dir`` already
        loaded (and checked) by the caller is used as it is.
    wall_clock : callable, optional
        Wall-clock time now (aware datetime; default the system clock): the session's
        ``wall_origin``, or on ``resume`` where the session's grid stands now. Tests with a
        simulated clock pass their own.

    Returns
    -------
    LabResult

    Raises
    ------
    LabError
        Duplicate names, or a band that cannot be found or recognised at the start (every
        band started is stopped again first).
    InputFileError
        ``resume``: the folder holds no lab session that can be resumed, or the
        participants are not the session's.
    """
    from dreamband.live.engine import LiveEngine
    from dreamband.live.epocher import EpochGrid
    from dreamband.live.runner import run_band, run_ticker
    from dreamband.sync.windows import WindowRule
    from firmware_bridge.band import Band
    from firmware_bridge.timebase import RealTime

    opts = options or LabOptions()
    people = list(participants)
    plan = None
    if isinstance(resume, ResumePlan):
        if session_dir is None or Path(session_dir).resolve() != resume.folder.resolve():
            raise LabError(f"the resume plan is for {resume.folder}, not {session_dir}")
        plan = resume
    elif resume:
        plan = _resume_plan(session_dir)
    if plan is not None:
        people, opts = plan.participants(people), plan.options(opts)
    now_wall = wall_clock or (lambda: datetime.now().astimezone())
    names = [p.name for p in people]
    if not people:
        raise LabError("no participants: give NAME=ADDRESS_OR_NAME[:PROFILE] for each band")
    if len(set(names)) != len(names):
        raise LabError(f"participant names must be unique; got {', '.join(names)}")
    tb = timebase or RealTime()
    bands = {p.name: Band(p.target, profile=p.profile, timebase=tb, **(band_options or {}))
             for p in people}
    engine = None
    log = None
    halt = stop or asyncio.Event()
    feeders: list[asyncio.Task] = []
    wall0 = time.perf_counter()
    try:
        await _connect(bands, people, opts.connect_timeout, tb)
        specs = [engine_participant(bands[p.name].profile, p) for p in people]
        if plan is None:
            grid, restart = EpochGrid(tb.now(), opts.epoch_length), None
            wall_origin = now_wall()
        else:
            grid, restart = plan.grid(tb.now(), now_wall())
            wall_origin = plan.wall_origin
        rule = None
        if opts.k is not None:
            rule = WindowRule(k=opts.k, min_epochs=opts.min_epochs, gap=1)
        if events_out is not None:
            from dreamband.live.eventlog import JsonlEvents

            log = JsonlEvents(events_out, wall_origin, grid.origin, stages=event_stages)
        engine = LiveEngine(grid, session_dir=session_dir, rule=rule,
                            max_missing=opts.max_missing, clock=tb.now, lag=opts.lag,
                            heart_lag=opts.heart_lag, wall_origin=wall_origin, on_events=log,
                            resume=restart)
        for spec in specs:
            # resumed: the stager first replays the night so far (the bands' notifications
            # wait in the Bluetooth stack meanwhile; their samples keep their band times)
            engine.add_participant(**spec)
        if engine.recorder is not None:
            engine.recorder.set_meta(tool=LAB_TOOL, bands={
                p.name: {"target": p.target, "profile": bands[p.name].profile.name}
                for p in people})
        feeders = [asyncio.ensure_future(run_band(engine, p.name, bands[p.name], halt))
                   for p in people]
        feeders.append(asyncio.ensure_future(run_ticker(engine, tb, halt, opts.tick_s)))
        started = grid.origin if restart is None else tb.now()  # resumed: origin is past
        t_end = None if opts.duration_s is None else started + opts.duration_s

        def state(final: bool) -> dict[str, Any]:
            return {"snapshot": engine.snapshot(),
                    "elapsed_s": min(tb.now(), t_end or float("inf")) - grid.origin,
                    "bands": {p.name: _band_status(bands[p.name], p) for p in people},
                    "wall_origin": wall_origin, "final": final}

        while not halt.is_set() and (t_end is None or tb.now() < t_end):
            step = opts.refresh_s if t_end is None else min(opts.refresh_s, t_end - tb.now())
            sleeper = asyncio.ensure_future(tb.sleep(max(step, 0.0)))
            waiter = asyncio.ensure_future(halt.wait())
            try:
                await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waiter.cancel()
            if on_update is not None:
                on_update(state(False))
    finally:
        halt.set()
        for name, band in bands.items():
            try:
                await asyncio.shield(band.stop())
            except Exception as exc:  # a band that fails to stop must not lose the session
                logger.warning("%s: stop failed: %s", name, exc)
        if feeders:
            await asyncio.gather(*feeders, return_exceptions=True)
        result = None
        if engine is not None:  # also on Ctrl-C: close the session folder cleanly
            summary = engine.close()
            result = LabResult(session_dir, wall_origin, time.perf_counter() - wall0, summary,
                               {p.name: _band_status(bands[p.name], p) for p in people},
                               list(summary.get("resumes", [])))
            if session_dir is not None:
                _write_manifest(session_dir, result, opts)
        if log is not None:
            log.close()
    if on_update is not None:
        on_update(state(True))
    return result


def _resume_plan(session_dir: Path | None) -> ResumePlan:
    """The crashed session to continue (InputFileError naming the folder when none)."""
    if session_dir is None:
        raise LabError("resume needs the session folder to continue")
    return load_resume(session_dir)


def _write_manifest(folder: Path, result: LabResult, opts: LabOptions) -> None:
    from dataclasses import asdict

    summary = result.engine_summary
    doc = {"tool": LAB_TOOL, "wall_origin": result.wall_origin.isoformat(),
           "elapsed_s": result.elapsed_s, "options": asdict(opts), "bands": result.bands,
           "participants": summary.get("participants", {}),
           "group_windows": summary.get("group_windows", []), "resumes": result.resumes}
    tmp = folder / "lab.json.tmp"
    tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(folder / "lab.json")
