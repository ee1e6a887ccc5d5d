"""The live engine: bands' sample blocks -> epochs -> causal stages -> REM state -> events.

One :class:`LiveEngine` holds every participant of a session on one epoch grid. Feed it
sample blocks and gaps with :meth:`LiveEngine.push` (or :func:`run_band` for a
``firmware_bridge.Band``), call :meth:`LiveEngine.tick` now and then so that epochs of a
silent band are closed as unscored, and read :class:`Event` s back. The engine itself is
synchronous and pure apart from the optional session folder; asyncio stays in
:func:`run_band` / :func:`run_ticker`.

Events (in the order they happen; ``epoch`` is the grid epoch they concern):

``stage``        a participant-epoch was decided (``data``: stage, probabilities, scored, missing)
``rem_start``    REM entered (hysteresis on p(REM)); ``rem_end`` left (or became unscored)
``gap``          the band reported lost samples
``group_open``   a group window reached its minimum duration; ``group_close`` it ended
``forecast``     the next group window forecast (every ``forecast_every`` epochs)
``resumed``      the session continues after a crash (``resume``): ``epoch`` is the first
                 epoch of the new run (``data``: ``last_epoch_before``, the last epoch
                 journaled before, or null; ``first_epoch``; ``gap_s``, the span of the
                 absent epochs in between; ``cut_window_start_s`` when a group window was
                 open at the crash: it gets no ``group_close``)

``host_time`` is the engine clock at emission (the bands' host clock); ``latency_s`` the
processing time from the moment the data that closed the epoch reached the engine (the
``push``/``tick`` call) to the event; ``data["delay_s"]`` of a stage event is the host-clock
time from the epoch's newest sample to the event (transport and lag included). With
``lag > 0`` every stage is announced ``lag`` epochs late, fixed-lag smoothed.

A session that crashed can be continued in its folder (``resume``, :class:`Resume`): the new
run's grid continues the session's epoch numbering, and epochs between the last one
journaled and ``first_epoch`` are absent (no rows). Staging continues warm: each
participant's stager is first given the samples its bands sent in the earlier runs, read
back from the session's raw streams on the new run's clock
(:func:`dreamband.live.history.history_blocks`; their epochs are journaled already, so
nothing is announced or recorded again), then the absent epochs as unscored, so it is in
the state it would have reached had its band only been silent during the outage. The
group's night trackers (what the next-window forecast knows of each sleeper's night) are fed
the earlier runs' journaled epochs; its windows start afresh, so a window the crash cut
gets no ``group_close``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from dreamband.features.epochs import MIN_FS
from dreamband.live.epocher import EpochGrid
from dreamband.live.group import LiveGroup
from dreamband.live.participant import EegParticipant, HeartParticipant, Outcome
from dreamband.live.runner import run_band, run_ticker
from dreamband.live.session import SessionRecorder
from dreamband.staging.channels import pick_channels
from dreamband.sync.timeline import ABSENT, REM, Hysteresis
from dreamband.sync.windows import WindowRule
from firmware_bridge.types import Gap, SampleBlock

__all__ = ["Event", "LiveEngine", "Resume", "run_band", "run_ticker"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Something the live engine announces (see the module docstring for the kinds)."""

    kind: str
    participant: str
    epoch: int
    host_time: float
    latency_s: float
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Resume:
    """Where a resumed session continues (see :class:`LiveEngine`'s ``resume``).

    Attributes
    ----------
    first_epoch : int
        First epoch of the new run, on the session's epoch numbering.
    last_epoch_before : int or None
        Last epoch journaled by the earlier run(s) (None: none was).
    wall_time : datetime
        Wall-clock time of the restart.
    onset_origin : float
        The session's recorded grid origin (``origin`` in ``session.json``): ``onset_s`` of
        the new rows counts from it, as the earlier rows' do, although the new run's host
        clock may differ.
    cut_window_start_s : float or None
        A group window was open when the session crashed (its ``group_open`` has no
        ``group_close``): its start (s from the grid origin). The new run's group starts
        afresh, so that window never gets a ``group_close``; the ``resumed`` event says so.
    """

    first_epoch: int
    last_epoch_before: int | None
    wall_time: datetime
    onset_origin: float
    cut_window_start_s: float | None = None

    def entry(self, epoch_length: float) -> dict[str, Any]:
        """The ``resumes`` item of ``session.json`` (and the ``resumed`` event's data plus
        ``wall_time``)."""
        before = -1 if self.last_epoch_before is None else self.last_epoch_before
        entry = {"wall_time": self.wall_time.isoformat(), "first_epoch": self.first_epoch,
                 "last_epoch_before": self.last_epoch_before,
                 "gap_s": (self.first_epoch - before - 1) * epoch_length}
        if self.cut_window_start_s is not None:
            entry["cut_window_start_s"] = self.cut_window_start_s
        return entry


@dataclass
class _Slot:
    name: str
    p: EegParticipant | HeartParticipant
    hyst: Hysteresis
    in_rem: bool = False
    pending: dict[int, tuple[int, float, int]] = field(default_factory=dict)
    last: Outcome | None = None
    gaps: int = 0
    n_epochs: int = 0
    n_scored: int = 0
    rem_epochs: int = 0
    last_latency: float | None = None
    latencies: deque = field(default_factory=lambda: deque(maxlen=2048))
    bands: set = field(default_factory=set)


class LiveEngine:
    """Live staging of many participants on one epoch grid, with group REM windows.

    Parameters
    ----------
    grid : EpochGrid
        Session-wide epoch grid (host clock).
    session_dir : path, optional
        Crash-safe session folder (see :mod:`dreamband.live.session`); None = nothing written.
    rule : WindowRule, optional
        Group criterion; default: 2 of n (1 for a single participant) in REM for 1 min,
        gaps of one epoch closed.
    max_missing : float
        Largest fraction of an epoch's signal that may be missing for it to be scored.
    clock : callable, optional
        Host clock for event stamps (default ``time.monotonic``, the bands' real clock;
        pass ``timebase.now`` for replays).
    grace : float
        Seconds after an epoch's end before :meth:`tick` closes it for a silent band.
    p_on, p_off : float
        REM hysteresis thresholds on p(REM). An epoch whose decided stage is REM always
        counts as REM (a 3-class heart stager's p(REM) can lead with less than ``p_on``);
        leaving REM needs p(REM) under ``p_off`` and another decided stage.
    forecast_every : int
        Group epochs between forecast events (0 = none).
    context : int
        EEG epochs of signal each epoch's evidence is computed over.
    lag : int
        Fixed-lag smoothing: announce each epoch's stage ``lag`` epochs after it ends,
        smoothed over them (0 = pure forward filtering, the lowest latency).
    heart_lag : int
        Heart participants: use the heart stager's fixed-lag model of this delay in epochs
        (shipped for RR and HR: 40 and 60, i.e. stages 20 or 30 min late, closer to the
        batch stager's agreement); 0 = the causal model (with ``lag`` smoothing).
    fsync : bool
        fsync the session files after every write.
    wall_origin : datetime, optional
        Wall-clock time of the grid origin (the lab's local time, with or without its UTC
        offset), written to ``session.json`` as ``wall_origin`` so that batch analysis
        places the session's epochs on the real date and time of night. Default: the system
        clock's local time when ``clock`` is the host monotonic clock (a lab run); unknown
        (None) for a replay's simulated clock unless the replay passes its sources' time.
    on_events : callable, optional
        Called with every non-empty list of new events (from ``push``, ``tick`` and
        ``close``; the events of ``close`` are only delivered this way and in
        :attr:`recent`).
    resume : Resume, optional
        Continue the crashed session in ``session_dir`` (required then): ``grid`` must
        continue the session's epoch numbering (its origin the session's grid origin on
        this run's clock); epochs before ``resume.first_epoch`` are absent. Announces a
        ``resumed`` event and appends to ``resumes`` in ``session.json``. Each participant's
        stager continues warm from the session's raw streams (see the module docstring).
    warm_resume : bool
        With ``resume``: replay the earlier runs' samples into the stagers (default). False
        restarts them cold, as dreamband did before (kept for comparison:
        ``bench/bench_resume.py``).
    """

    def __init__(self, grid: EpochGrid, *, session_dir: str | Path | None = None,
                 rule: WindowRule | None = None, max_missing: float = 0.2,
                 clock: Callable[[], float] | None = None, grace: float = 10.0,
                 p_on: float = 0.6, p_off: float = 0.4, forecast_every: int = 10,
                 context: int = 12, lag: int = 0, heart_lag: int = 0, fsync: bool = False,
                 wall_origin: datetime | None = None,
                 on_events: Callable[[list[Event]], None] | None = None,
                 resume: Resume | None = None, warm_resume: bool = True) -> None:
        if not 0.0 <= max_missing < 1.0:
            raise ValueError(f"max_missing must be in [0, 1); got {max_missing}")
        self.grid = grid
        self.rule = rule
        self.max_missing = float(max_missing)
        if wall_origin is None and clock is None:
            wall_origin = datetime.now().astimezone() - timedelta(
                seconds=time.monotonic() - grid.origin)
        self.wall_origin = wall_origin
        self.clock = clock or time.monotonic
        self.grace = float(grace)
        self.p_on, self.p_off = float(p_on), float(p_off)
        self.forecast_every = int(forecast_every)
        self.context = int(context)
        if lag < 0:
            raise ValueError(f"lag must be >= 0 epochs; got {lag}")
        self.lag = int(lag)
        self.heart_lag = int(heart_lag)
        self.on_events = on_events
        self._slots: dict[str, _Slot] = {}
        self._group: LiveGroup | None = None
        self._closing_at: int | None = None
        self.recent: deque[Event] = deque(maxlen=200)
        self.n_events = 0
        self.closed = False
        if resume is not None and session_dir is None:
            raise ValueError("resume needs the session folder to continue")
        self.resume = resume
        self.warm_resume = bool(warm_resume)
        #: participant -> seconds of the earlier runs' signal its stager replayed (a resume;
        #: also ``warm_up_s`` of this run's ``resumes`` entry in ``session.json``)
        self.warmed: dict[str, float] = {}
        self.start_epoch = 0 if resume is None else int(resume.first_epoch)
        self.onset_origin = grid.origin if resume is None else float(resume.onset_origin)
        self.recorder = (SessionRecorder(session_dir, fsync, resume=resume is not None)
                         if session_dir is not None else None)
        if self.recorder is not None and resume is None:
            self.recorder.set_meta(origin=grid.origin, epoch_length=grid.epoch_length,
                                   wall_origin=None if wall_origin is None
                                   else wall_origin.isoformat(),
                                   max_missing=max_missing, lag=self.lag,
                                   heart_lag=self.heart_lag, participants={},
                                   rule=None if rule is None else vars(rule))
        if resume is not None:
            self._announce_resume(resume)

    def _announce_resume(self, resume: Resume) -> None:
        """Record the restart in ``session.json`` and as a ``resumed`` event."""
        entry = resume.entry(self.grid.epoch_length)
        if self.recorder is not None:
            # where this run's raw rows start and its clock: batch places them on the grid
            entry["origin"] = self.grid.origin
            entry["raw_rows"] = self.recorder.raw_row_counts()
            self.recorder.set_meta(resumes=[*self.recorder.meta.get("resumes", []), entry])
        data = {k: v for k, v in entry.items() if k not in ("wall_time", "origin", "raw_rows")}
        self._record([self._event("resumed", "", resume.first_epoch, time.perf_counter(),
                                  data)], None)

    # participants --------------------------------------------------------------------
    def add_participant(self, name: str, kind: str, channels: tuple[str, ...],
                        fs: float | None, *, eeg: str | None = None, eog: str | None = None,
                        emg: str | None = None, stream: str | None = None) -> None:
        """Register a participant before its band's first block.

        Parameters
        ----------
        name : str
            Unique participant name (the band's blocks are pushed under it).
        kind : {"eeg", "heart"}
            Staging path.
        channels : tuple of str
            Channel names of the band's stream (EEG: e.g. TP9, AF7, AF8, TP10; heart:
            ``("rr",)`` for RR intervals in s, ``("hr",)`` for heart rate in bpm,
            ``("ECG",)`` for an ECG).
        fs : float or None
            EEG or ECG sampling rate (Hz); None for RR / HR.
        eeg, eog, emg : str, optional
            EEG channels to use (picked automatically when omitted; ``"none"`` disables EOG
            or EMG).
        stream : {"rr", "hr", "ecg"}, optional
            Heart stream to stage (default: ``rr`` when the channels name it, else ``hr``
            when they name it, else ``ecg`` when ``fs`` is given).

        Raises
        ------
        ValueError
            Duplicate name, unknown kind, missing rate, or the group already started.
        ChannelNotFoundError
            A named channel is not among ``channels``.
        """
        if name in self._slots:
            raise ValueError(f"participant {name!r} is already registered")
        if self._group is not None:
            raise ValueError(f"participant {name!r}: the group timeline has started; add every "
                             "participant before the first epoch is decided")
        channels = tuple(channels)
        if kind == "eeg":
            if fs is None or not (math.isfinite(fs) and fs >= MIN_FS):
                raise ValueError(f"participant {name!r}: an EEG band needs fs >= {MIN_FS:g} Hz "
                                 f"(the sleep bands reach 16 Hz); got {fs}")
            choice = pick_channels(list(channels), eeg=eeg, eog=eog, emg=emg,
                                   source=f"participant {name!r}")
            roles = {"eeg": choice.eeg, "eog": choice.eog, "roc": choice.roc,
                     "emg": choice.emg}
            p: EegParticipant | HeartParticipant = EegParticipant(
                self.grid, channels, fs, roles, self.max_missing, self.context, self.lag)
        elif kind == "heart":
            lower = [c.lower() for c in channels]
            st = stream or ("rr" if "rr" in lower else "hr" if "hr" in lower
                            else "ecg" if fs is not None else None)
            if st not in ("rr", "hr", "ecg"):
                raise ValueError(f"participant {name!r}: heart bands are staged from 'rr', "
                                 f"'hr' or 'ecg' streams; got channels {channels} and stream "
                                 f"{stream!r}")
            p = HeartParticipant(self.grid, st, self.max_missing, fs=fs, lag=self.lag,
                                 model_lag=self.heart_lag)
        else:
            raise ValueError(f"participant {name!r}: kind must be 'eeg' or 'heart'; got {kind!r}")
        if self.resume is not None and self.recorder is not None and self.warm_resume:
            replayed, span = self._warm_up(name, p)
            self.warmed[name] = span
            logger.info("participant %s: %d samples of the earlier run(s) replayed into its "
                        "stager (%.0f s of signal)", name, replayed, span)
            # in this run's ``resumes`` entry: what each stager knew when the run began
            resumes = list(self.recorder.meta.get("resumes", []))
            if resumes:
                resumes[-1] = {**resumes[-1], "warm_up_s": dict(self.warmed)}
                self.recorder.set_meta(resumes=resumes)
        if self.start_epoch:  # a resumed session: nothing before its first epoch
            p.start_at(self.start_epoch)
        self._slots[name] = _Slot(name, p, Hysteresis(1, self.p_on, self.p_off))
        if self.recorder is not None:
            parts = dict(self.recorder.meta.get("participants", {}))
            bands = parts.get(name, {}).get("bands")  # kept when a session resumes
            parts[name] = {"kind": kind, "channels": list(channels), "fs": fs,
                           "streams": list(p.streams),
                           "roles": getattr(p, "roles", {"heart": p.streams[0]}),
                           **({"bands": bands} if bands else {})}
            self.recorder.set_meta(participants=parts)

    def _warm_up(self, name: str, p: EegParticipant | HeartParticipant) -> tuple[int, float]:
        """A resumed session: give ``p`` the samples ``name``'s bands sent in the earlier
        runs, then the absent epochs up to the new run's first as unscored; nothing is
        announced or recorded. Returns the number of samples replayed and the seconds from
        the first to the last."""
        from dreamband.live.history import history_blocks

        assert self.recorder is not None
        channels = tuple(p.roles[r] for r in p.order) if isinstance(p, EegParticipant) else ()
        n = 0
        first = last = math.nan
        limit = self.grid.start(self.start_epoch)
        for block in history_blocks(self.recorder.folder, name, p.streams[0], channels,
                                    self.grid.origin):
            early = block.host_time < limit  # the earlier runs' epochs only
            if not early.all():
                block = replace(block, samples=block.samples[:, early],
                                device_time=block.device_time[early],
                                host_time=block.host_time[early])
            if block.n_samples:
                p.push(block)
                if not n:
                    first = float(block.host_time[0])
                n += block.n_samples
                last = float(block.host_time[-1])
        if n:
            p.flush(limit, 0.0)
            p.drop_held()
        return n, (last - first) if n else 0.0

    def _note_band(self, slot: _Slot, device: str) -> None:
        """Record in ``session.json`` that ``device`` carries ``slot``'s signals (read by
        ``dreamband export`` to name each participant's raw streams)."""
        slot.bands.add(device)
        assert self.recorder is not None
        parts = dict(self.recorder.meta.get("participants", {}))
        entry = dict(parts.get(slot.name, {}))
        entry["bands"] = sorted(set(entry.get("bands", [])) | {device})
        parts[slot.name] = entry
        self.recorder.set_meta(participants=parts)

    @property
    def participants(self) -> tuple[str, ...]:
        """Registered participant names, in order."""
        return tuple(self._slots)

    def _slot(self, name: str) -> _Slot:
        try:
            return self._slots[name]
        except KeyError:
            raise ValueError(f"unknown participant {name!r}; registered: "
                             f"{', '.join(self._slots) or 'none'}") from None

    # data path -----------------------------------------------------------------------
    def push(self, name: str, item: SampleBlock | Gap) -> list[Event]:
        """Feed one sample block or gap of participant ``name``'s band; return new events."""
        t0 = time.perf_counter()
        if self.closed:
            raise ValueError("the live engine is closed")
        slot = self._slot(name)
        if self.recorder is not None:
            self.recorder.write_item(item)
            if item.device not in slot.bands:  # which band's raw streams are whose
                self._note_band(slot, item.device)
        events: list[Event] = []
        if isinstance(item, Gap):
            if item.stream in slot.p.streams:
                slot.gaps += 1
                events.append(self._event("gap", name, int(self.grid.index(item.start_time)),
                                          t0, {"stream": item.stream, "missing": item.missing,
                                               "start_time": item.start_time,
                                               "end_time": item.end_time,
                                               "reason": item.reason}))
        elif isinstance(item, SampleBlock):
            if item.stream in slot.p.streams:
                events += self._decided(slot, slot.p.push(item), t0)
                events += self._advance(t0)
        else:
            raise TypeError(f"expected a SampleBlock or Gap; got {type(item).__name__}")
        self._record(events, None)
        return events

    def tick(self, now: float) -> list[Event]:
        """Close the epochs of silent bands that ended before ``now - grace`` (unscored)."""
        t0 = time.perf_counter()
        if self.closed:
            raise ValueError("the live engine is closed")
        events: list[Event] = []
        for slot in self._slots.values():
            events += self._decided(slot, slot.p.flush(now, self.grace), t0)
        events += self._advance(t0)
        self._record(events, now)
        return events

    def _event(self, kind: str, who: str, epoch: int, t0: float, data: dict) -> Event:
        return Event(kind, who, epoch, float(self.clock()), time.perf_counter() - t0, data)

    def _decided(self, slot: _Slot, outcomes: list[Outcome], t0: float) -> list[Event]:
        events: list[Event] = []
        cls = slot.p.classes
        for o in outcomes:
            # In REM when REM is the decided stage, or by hysteresis on p(REM): a 3-class
            # heart stager's calibrated p(REM) can lead with less than p_on.
            p_eff = o.p_rem
            if o.scored and cls[o.stage] == "REM":
                p_eff = max(o.p_rem, self.p_on)
            state = int(slot.hyst.step(np.array([p_eff]))[0])
            conf = 0.0 if math.isnan(o.p_rem) else o.p_rem
            code = -1 if not o.scored else (2 if state == REM else (0 if o.stage == 0 else 1))
            slot.pending[o.epoch] = (state, conf, code)
            slot.last = o
            slot.n_epochs += 1
            slot.n_scored += o.scored
            slot.rem_epochs += state == REM
            stage = cls[o.stage] if o.scored else "UNSCORED"
            ev = self._event("stage", slot.name, o.epoch, t0, {
                "stage": stage, "stage_code": o.stage, "scored": o.scored,
                "missing": round(o.missing, 4), "p_rem": None if not o.scored else o.p_rem,
                "probabilities": None if not o.scored else dict(zip(cls, map(float,
                                                                             o.probabilities))),
                "rem": state == REM, "delay_s": float(self.clock()) - o.last_sample_time})
            slot.last_latency = ev.latency_s
            slot.latencies.append(ev.latency_s)
            events.append(ev)
            if state == REM and not slot.in_rem:
                events.append(self._event("rem_start", slot.name, o.epoch, t0,
                                          {"p_rem": o.p_rem}))
            elif state != REM and slot.in_rem:
                why = "unscored" if state == ABSENT else "p_rem"
                events.append(self._event("rem_end", slot.name, o.epoch, t0, {"reason": why}))
            slot.in_rem = state == REM
            if self.recorder is not None:
                self.recorder.epochs.append(self._row(slot, o, state, ev))
        return events

    def _row(self, slot: _Slot, o: Outcome, state: int, ev: Event) -> dict:
        p = dict.fromkeys(("p_W", "p_N1", "p_N2", "p_N3", "p_NREM", "p_REM"))
        if o.scored:
            for c, v in zip(slot.p.classes, o.probabilities):
                p[f"p_{c}"] = float(v)
        onset = o.onset if self.resume is None else (self.onset_origin
                                                     + o.epoch * self.grid.epoch_length)
        return {"participant": slot.name, "epoch": o.epoch, "onset_s": onset,
                "duration_s": self.grid.epoch_length, "scheme": slot.p.scheme,
                "stage": ev.data["stage"], "stage_code": o.stage, "scored": o.scored,
                "missing": o.missing, **p, "rem_state": state, "host_time": ev.host_time,
                "latency_s": ev.latency_s}

    # group ---------------------------------------------------------------------------
    def _advance(self, t0: float) -> list[Event]:
        if not self._slots:
            return []
        slots = list(self._slots.values())
        ready = min(s.p.next_epoch for s in slots)
        if self._closing_at is not None:
            ready = max(ready, self._closing_at)
        if self._group is None:
            if ready <= self.start_epoch:
                return []
            names = tuple(self._slots)
            rule = self.rule or WindowRule.from_seconds(
                min(2, len(names)), self.grid.epoch_length, min_duration=60.0, gap=60.0)
            if rule.k > len(names) or set(rule.required) - set(names):
                logger.warning("group rule %s does not fit the participants %s; using k=%d "
                               "without required members", rule, names, min(rule.k, len(names)))
                rule = WindowRule(max(1, min(rule.k, len(names))), (), rule.absent,
                                  rule.min_epochs, rule.gap, rule.bridge)
            self._group = LiveGroup(names, rule, self.grid, self.forecast_every)
            self._skip_group(self._group)
        events: list[Event] = []
        g = self._group
        while g.next_epoch < ready:
            j = g.next_epoch
            rows = [s.pending.pop(j, (ABSENT, 0.0, -1)) for s in slots]
            for kind, epoch, data in g.update(rows):
                events.append(self._event(kind, "", epoch, t0, data))
        return events

    def _skip_group(self, g: LiveGroup) -> None:
        """A resumed session: feed the group the epochs before the first one. Its windows
        see them absent (no window, no forecast, no event: the earlier runs announced
        theirs); with ``warm_resume`` each participant's night tracker sees the night codes
        the earlier runs journaled, so the forecast knows the night so far (sleep onset,
        REM periods), as a run whose bands were only silent during the outage would."""
        names = list(self._slots)
        codes = {n: np.full(self.start_epoch, -1, dtype=np.int8) for n in names}
        if self.warm_resume and self.recorder is not None:
            codes = _journaled_codes(self.recorder.folder, codes)
        while g.next_epoch < self.start_epoch:
            j = g.next_epoch
            g.skip([int(codes[n][j]) for n in names])

    # views ---------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Current state: per participant and of the group (JSON-ready)."""
        out: dict[str, Any] = {"participants": {}, "group": None}
        for name, s in self._slots.items():
            o = s.last
            out["participants"][name] = {
                "kind": s.p.kind,
                "epoch": None if o is None else o.epoch,
                "stage": None if o is None else (s.p.classes[o.stage] if o.scored
                                                 else "UNSCORED"),
                "p_rem": None if o is None or not o.scored else o.p_rem,
                "rem": s.in_rem,
                "quality": None if o is None else round(1.0 - o.missing, 4),
                "missing": None if o is None else round(o.missing, 4),
                "gaps": s.gaps,
                "n_epochs": s.n_epochs,
                "n_scored": s.n_scored,
                "last_latency_s": s.last_latency,
            }
        if self._group is not None:
            out["group"] = self._group.snapshot()
        return out

    def close(self) -> dict[str, Any]:
        """End the session: close the epochs in progress, the group windows and the files.

        Returns
        -------
        dict
            Summary: per participant counts, the group windows, the files written, and
            ``final_events`` (the events this call produced, as dicts; they also go to
            ``on_events``).
        """
        if self.closed:
            raise ValueError("the live engine is already closed")
        t0 = time.perf_counter()
        events: list[Event] = []
        for slot in self._slots.values():
            events += self._decided(slot, slot.p.finish(), t0)
        self._closing_at = max((s.p.next_epoch for s in self._slots.values()), default=0)
        events += self._advance(t0)
        if self._group is not None:
            for kind, epoch, data in self._group.finish():
                events.append(self._event(kind, "", epoch, t0, data))
        self._record(events, None)
        self.closed = True
        L = self.grid.epoch_length
        summary: dict[str, Any] = {
            "origin": self.onset_origin, "epoch_length": L, "events": self.n_events,
            "wall_origin": None if self.wall_origin is None else self.wall_origin.isoformat(),
            "participants": {
                n: {"kind": s.p.kind, "n_epochs": s.n_epochs, "n_scored": s.n_scored,
                    "rem_min": s.rem_epochs * L / 60.0, "gaps": s.gaps,
                    "latency_p50_s": _q(s.latencies, 0.5), "latency_p99_s": _q(s.latencies, 0.99)}
                for n, s in self._slots.items()},
            "group_windows": [] if self._group is None else self._group.window_dicts(),
            # the events of close() itself (last epochs, a window still open), as dicts
            "final_events": [asdict(e) for e in events],
        }
        if self.recorder is not None and self.recorder.meta.get("resumes"):
            summary["resumes"] = self.recorder.meta["resumes"]
        if self.recorder is not None:
            summary["files"] = self.recorder.close(summary)
        return summary

    def _record(self, events: list[Event], now: float | None) -> None:
        if not events and now is None:
            return
        self.n_events += len(events)
        self.recent.extend(events)
        if events and self.on_events is not None:
            self.on_events(events)
        if self.recorder is None:
            return
        for e in events:
            self.recorder.events.append({"kind": e.kind, "participant": e.participant,
                                         "epoch": e.epoch, "host_time": e.host_time,
                                         "latency_s": e.latency_s,
                                         "data": json.dumps(e.data, default=_jsonable)})
        self.recorder.flush(now)


def _q(values, q: float) -> float | None:
    return float(np.quantile(np.asarray(values), q)) if len(values) else None


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def _journaled_codes(folder: Path, codes: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Night codes (-1 absent, 0 wake, 1 NREM, 2 REM) of the journaled epochs before each
    array's end, as :meth:`LiveEngine._decided` gives the group: REM by the hysteresis
    state, unscored absent."""
    from dreamband.live.journal import EPOCH_SCHEMA, read_journal

    try:
        t = read_journal(folder / "epochs", EPOCH_SCHEMA)
    except (OSError, ValueError) as exc:  # Arrow errors too: the forecast then starts cold
        logger.warning("%s: journaled epochs unreadable (%s); the forecast starts cold",
                       folder, exc)
        return codes
    who = t.column("participant").to_pylist()
    epoch = t.column("epoch").to_numpy()
    scored = t.column("scored").to_numpy(zero_copy_only=False)
    rem = t.column("rem_state").to_numpy() == REM
    wake = t.column("stage_code").to_numpy() == 0
    night = np.where(~scored, -1, np.where(rem, 2, np.where(wake, 0, 1)))
    for i, (name, j) in enumerate(zip(who, epoch.tolist(), strict=True)):
        if name in codes and 0 <= j < codes[name].size:
            codes[name][j] = night[i]
    return codes
