"""Continue a lab session that crashed, in its own folder (``dreamband lab --resume DIR``).

A lab run killed by ``kill -9``, a power loss or a laptop going to sleep leaves its session
folder without ``summary.json``. :func:`load_resume` checks such a folder (a ``dreamband
lab`` session that did not close, with its wall-clock origin) and :class:`ResumePlan` gives
what the new run needs to keep the night one session:

* the participants, from ``session.json`` (its ``bands`` and ``participants``) or checked
  against it when given (exactly the same names);
* the options recorded by the session (epoch length, group rule, delays, ``max_missing``);
* an epoch grid that continues the session's: its origin is the session's wall-clock origin
  on this run's clock, ``timebase now - (wall now - wall_origin)``, so epoch ``k`` of the new
  run covers the same wall-clock span as epoch ``k`` of the first run. The first epoch of the
  new run is the one in progress at the restart; the epochs in between are absent. A wall
  clock behind the journal (set back, or a simulated clock running faster than real time)
  never repeats an epoch: the new run then starts now with the epoch after the last one
  journaled.

Staging continues warm: each live stager replays the samples recorded before the crash
(:mod:`dreamband.live.history`, :class:`dreamband.live.engine.LiveEngine`), so it stages the
rest of the night as if its band had only been silent during the outage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dreamband.errors import InputFileError
from dreamband.lab.participants import LabParticipant, engine_participant

if TYPE_CHECKING:
    from dreamband.lab.run import LabOptions
    from dreamband.live.engine import Resume
    from dreamband.live.epocher import EpochGrid

__all__ = ["LAB_TOOL", "ResumePlan", "load_resume"]

#: ``tool`` of the ``session.json`` a lab run writes.
LAB_TOOL = "dreamband lab"


@dataclass(frozen=True)
class ResumePlan:
    """A crashed lab session to continue (from :func:`load_resume`).

    Attributes
    ----------
    folder : Path
        Session folder.
    meta : dict
        Its ``session.json``.
    wall_origin : datetime
        Wall-clock time of the session's grid origin (with its UTC offset).
    epoch_length : float
        Epoch length of the session (s).
    last_epoch : int or None
        Last epoch journaled (None: none was).
    open_window_start_s : float or None
        Start of a group window that was open at the crash (None: none was).
    """

    folder: Path
    meta: dict[str, Any]
    wall_origin: datetime
    epoch_length: float
    last_epoch: int | None
    open_window_start_s: float | None = None

    def participants(self, given: Sequence[LabParticipant] = ()) -> list[LabParticipant]:
        """The session's participants: as recorded, or ``given`` (band and profile may
        change) when they are exactly the recorded names; channel roles as recorded.

        Raises
        ------
        InputFileError
            Names missing or extra, or a profile that changes a participant's kind.
        """
        recorded = dict(self.meta.get("participants") or {})
        bands = dict(self.meta.get("bands") or {})
        if not given:
            return [self._restore(n, LabParticipant(n, self._target(n, bands)))
                    for n in recorded]
        names = [p.name for p in given]
        missing = [n for n in recorded if n not in names]
        extra = [n for n in names if n not in recorded]
        if missing or extra:
            what = "; ".join(f"{label} {', '.join(ns)}" for label, ns in
                             (("missing", missing), ("extra", extra)) if ns)
            raise InputFileError(self.folder, f"participants must be the session's "
                                 f"({', '.join(recorded)}): {what}")
        return [self._restore(p.name, p) for p in given]

    def _target(self, name: str, bands: dict[str, Any]) -> str:
        target = (bands.get(name) or {}).get("target")
        if not target:
            raise InputFileError(self.folder, f"no band recorded for participant {name!r}; "
                                 f"give {name}=ADDRESS_OR_NAME[:PROFILE]", "bands")
        return str(target)

    def _restore(self, name: str, who: LabParticipant) -> LabParticipant:
        """``who`` with the recorded profile (unless given) and channel roles."""
        info = (self.meta.get("participants") or {}).get(name) or {}
        band = (self.meta.get("bands") or {}).get(name) or {}
        profile = who.profile or band.get("profile")
        roles = info.get("roles") or {}
        kind = info.get("kind")
        if kind == "heart":
            streams = info.get("streams") or [None]
            out = replace(who, profile=profile, stream=who.stream or streams[0])
        else:  # a recorded second EOG channel (roc) comes back by picking it again
            eog = None if roles.get("roc") else (roles.get("eog") or "none")
            out = replace(who, profile=profile, eeg=who.eeg or roles.get("eeg"),
                          eog=who.eog or eog, emg=who.emg or roles.get("emg") or "none")
        if profile is not None and kind is not None:
            try:
                now = engine_participant(profile, out)["kind"]
            except ValueError as exc:  # e.g. a heart stream the new band does not send
                raise InputFileError(self.folder, str(exc)) from None
            if now != kind:
                raise InputFileError(self.folder, f"participant {name!r} was staged as {kind}; "
                                     f"a {profile} band would stage it as {now}")
        return out

    def options(self, opts: LabOptions) -> LabOptions:
        """``opts`` (a :class:`~dreamband.lab.run.LabOptions`) with the session's epoch
        length, group rule, delays and ``max_missing``."""
        m = self.meta
        rule = m.get("rule") or {}
        return replace(opts, epoch_length=self.epoch_length,
                       k=rule.get("k") if rule else None,
                       min_epochs=int(rule.get("min_epochs") or opts.min_epochs),
                       lag=int(m.get("lag") or 0), heart_lag=int(m.get("heart_lag") or 0),
                       max_missing=float(m.get("max_missing", opts.max_missing)))

    def grid(self, now: float, wall_now: datetime) -> tuple[EpochGrid, Resume]:
        """The new run's epoch grid and its :class:`~dreamband.live.engine.Resume`.

        Parameters
        ----------
        now : float
            This run's host clock (timebase) now.
        wall_now : datetime
            Wall-clock time now (aware; a naive one is taken as local time).
        """
        from dreamband.live.engine import Resume
        from dreamband.live.epocher import EpochGrid

        wall_now = wall_now if wall_now.tzinfo else wall_now.astimezone()
        since = (wall_now - self.wall_origin).total_seconds()
        grid = EpochGrid(now - since, self.epoch_length)
        first = max(int(grid.index(now)), 0)
        if self.last_epoch is not None and first <= self.last_epoch:
            # the wall clock is behind the journal (set back, or a simulated clock running
            # faster than real time): the journal wins, the next epoch starts now
            first = self.last_epoch + 1
            grid = EpochGrid(now - first * self.epoch_length, self.epoch_length)
        return grid, Resume(first, self.last_epoch, wall_now,
                            float(self.meta.get("origin", 0.0)), self.open_window_start_s)


def load_resume(folder: str | Path) -> ResumePlan:
    """Check that ``folder`` holds a lab session that did not close, and plan its resume.

    Raises
    ------
    InputFileError
        One line naming the folder: no session there, one that closed cleanly, one written
        by another tool (replay, demo), an unreadable ``session.json`` or tables, or one
        without a wall-clock origin or epoch length.
    """
    from dreamband.live.session import resumable_meta

    folder = Path(folder)
    meta = resumable_meta(folder)
    tool = meta.get("tool")
    if tool != LAB_TOOL:
        who = repr(tool) if tool else "no tool recorded: a replay or demo"
        raise InputFileError(folder, f"not a lab session ({who}); only a "
                             f"{LAB_TOOL!r} session can be resumed")
    return ResumePlan(folder, meta, _wall_origin(folder, meta), _epoch_length(folder, meta),
                      _last_epoch(folder), _open_window(folder))


def _wall_origin(folder: Path, meta: dict[str, Any]) -> datetime:
    raw = meta.get("wall_origin")
    try:
        wall = datetime.fromisoformat(str(raw))
    except ValueError:
        raise InputFileError(folder, f"session.json has no usable wall-clock origin ({raw!r}); "
                             "its epoch grid cannot be continued", "wall_origin") from None
    return wall if wall.tzinfo else wall.astimezone()


def _epoch_length(folder: Path, meta: dict[str, Any]) -> float:
    try:
        length = float(meta.get("epoch_length"))
    except (TypeError, ValueError):
        length = math.nan
    if not (math.isfinite(length) and length > 0):
        raise InputFileError(folder, f"session.json has no usable epoch length "
                             f"({meta.get('epoch_length')!r})", "epoch_length")
    return length


def _last_epoch(folder: Path) -> int | None:
    import pyarrow as pa
    import pyarrow.compute as pc

    from dreamband.live.journal import EPOCH_SCHEMA, read_journal

    try:
        table = read_journal(folder / "epochs", EPOCH_SCHEMA)
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputFileError(folder, f"unreadable epochs table ({exc})") from None
    if table.num_rows == 0:
        return None
    return int(pc.max(table["epoch"]).as_py())


def _open_window(folder: Path) -> float | None:
    """Start (s) of the group window the crash left open: the last ``group_open`` event
    with no ``group_close`` after it; None when there is none."""
    import json

    import pyarrow as pa
    import pyarrow.compute as pc

    from dreamband.live.journal import EVENT_SCHEMA, read_journal

    try:
        events = read_journal(folder / "events", EVENT_SCHEMA)
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputFileError(folder, f"unreadable events table ({exc})") from None
    group = events.filter(pc.is_in(events["kind"], pa.array(["group_open", "group_close"])))
    if group.num_rows == 0 or group["kind"][-1].as_py() != "group_open":
        return None
    try:
        return float(json.loads(group["data"][-1].as_py())["start_s"])
    except (TypeError, ValueError, KeyError):
        return None
