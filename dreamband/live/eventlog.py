"""Live events as JSON lines, for other lab software to follow (``tail -f``, a pipe).

One object per line, written and flushed as the engine announces it::

    {"time": "2026-11-23T01:12:30.250+01:00", "kind": "rem_start", "participant": "alice",
     "epoch": 142, "host_time": 4290.25, "latency_ms": 3.1, "data": {...}}

``time`` is the wall-clock time of the event (the session's wall-clock origin plus the host
time elapsed since the grid origin), ``data`` the event's payload (see
:mod:`dreamband.live.engine` for the kinds). Stage events can be left out (``stages=False``)
when only REM, gaps, group windows and forecasts matter.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

__all__ = ["JsonlEvents"]

logger = logging.getLogger(__name__)


def _plain(x: Any) -> Any:
    if hasattr(x, "item"):
        return x.item()
    if hasattr(x, "tolist"):
        return x.tolist()
    return str(x)


class JsonlEvents:
    """Write live events as JSON lines to a file (appended) or ``-`` (standard output).

    Parameters
    ----------
    target : str or path
        File to append to, or ``"-"`` for standard output.
    wall_origin : datetime, optional
        Wall-clock time of the grid origin (``time`` is omitted without it).
    grid_origin : float
        Host time of the grid origin (s).
    stages : bool
        Also write one ``stage`` event per participant-epoch.
    """

    def __init__(self, target: str | Path, wall_origin: datetime | None = None,
                 grid_origin: float = 0.0, stages: bool = True) -> None:
        self.wall_origin = wall_origin
        self.grid_origin = float(grid_origin)
        self.stages = stages
        self.n_written = 0
        self._own = str(target) != "-"
        self._out: IO[str] | None = (open(target, "a", encoding="utf-8") if self._own
                                     else sys.stdout)

    def __call__(self, events: list[Any]) -> None:
        """Write ``events`` (``dreamband.live.engine.Event`` objects), then flush.

        A reader that goes away (a closed pipe, a full disk) ends the event log with a
        warning, never the session: everything stays in the session folder.
        """
        if self._out is None:
            return
        try:
            self._write(events)
        except OSError as exc:  # BrokenPipeError included
            logger.warning("event log stopped: %s (the session folder keeps every event)",
                           exc)
            if not self._own and isinstance(exc, BrokenPipeError):
                # nobody reads standard output any more: later writes (and the flush at
                # exit) go nowhere instead of failing again
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                os.close(devnull)
            self._out = None

    def _write(self, events: list[Any]) -> None:
        for e in events:
            if e.kind == "stage" and not self.stages:
                continue
            row: dict[str, Any] = {}
            if self.wall_origin is not None:
                wall = self.wall_origin + timedelta(seconds=e.host_time - self.grid_origin)
                row["time"] = wall.isoformat(timespec="milliseconds")
            row.update(kind=e.kind, participant=e.participant, epoch=e.epoch,
                       host_time=round(float(e.host_time), 6),
                       latency_ms=round(float(e.latency_s) * 1000, 3), data=e.data)
            self._out.write(json.dumps(row, default=_plain) + "\n")
            self.n_written += 1
        self._out.flush()

    def close(self) -> None:
        """Close the file (standard output stays open)."""
        if self._own and self._out is not None and not self._out.closed:
            self._out.close()
