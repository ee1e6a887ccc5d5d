"""The group side of a live session: REM states of all participants -> windows and forecasts.

A thin adapter over :class:`dreamband.sync.schedule.LiveScheduler` (live group windows, per
participant night trackers) that the engine feeds one grid epoch at a time, and that turns
its window events and periodic next-window forecasts into ``(kind, epoch, data)`` tuples.
The REM state fed is the participant's hysteresis state (absent when unscored or not
recording), so the windows equal the batch sweep over the same p(REM) streams
(``build_timeline(..., use_probabilities=True)``).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from dreamband.live.epocher import EpochGrid
from dreamband.sync.group_forecast import simulate_group
from dreamband.sync.schedule import LiveScheduler
from dreamband.sync.timeline import ABSENT
from dreamband.sync.types import GroupWindow
from dreamband.sync.windows import WindowRule

__all__ = ["LiveGroup", "window_dict"]

logger = logging.getLogger(__name__)


def window_dict(w: GroupWindow, origin: float) -> dict[str, Any]:
    """JSON-ready group window (times in s from the grid origin, plus host times)."""
    return {"start_s": w.start, "end_s": w.end, "duration_s": w.duration,
            "start_epoch": w.start_epoch, "end_epoch": w.end_epoch,
            "start_time": origin + w.start, "end_time": origin + w.end,
            "members": list(w.members), "involved": list(w.involved), "k": w.k, "n": w.n,
            "mean_confidence": w.mean_confidence}


class LiveGroup:
    """Group windows and forecasts, fed one epoch of every participant at a time.

    Parameters
    ----------
    names : tuple of str
        Participants (fixed for the session).
    rule : WindowRule
        Group criterion.
    grid : EpochGrid
        Session grid.
    forecast_every : int
        Epochs between forecasts (0 = none).
    n_draws, horizon_s : int, float
        Monte Carlo settings of the forecast.
    """

    def __init__(self, names: tuple[str, ...], rule: WindowRule, grid: EpochGrid,
                 forecast_every: int = 10, n_draws: int = 200,
                 horizon_s: float = 3 * 3600.0) -> None:
        self.names = tuple(names)
        self.grid = grid
        self.sched = LiveScheduler(self.names, rule, epoch_length=grid.epoch_length,
                                   horizon_s=horizon_s, n_draws=n_draws)
        self.forecast_every = int(forecast_every)
        self.n_draws, self.horizon_s = n_draws, horizon_s
        self.next_epoch = 0
        self.in_rem: tuple[str, ...] = ()
        self.forecast: dict[str, Any] | None = None

    def update(self, rows: list[tuple[int, float, int]]) -> list[tuple[str, int, dict]]:
        """Feed epoch :attr:`next_epoch`: per participant ``(state, confidence, code)``."""
        codes = np.array([r[2] for r in rows], dtype=np.int8)
        conf = np.array([r[1] for r in rows], dtype=np.float64)
        j = self.next_epoch
        self.next_epoch += 1
        self.in_rem = tuple(n for n, r in zip(self.names, rows) if r[2] == 2)
        out = self._events(self.sched.update(codes, conf))
        if self.forecast_every > 0 and self.next_epoch % self.forecast_every == 0:
            fc = self._forecast()
            if fc is not None:
                out.append(("forecast", j, fc))
        return out

    def skip(self, codes: list[int]) -> None:
        """Feed epoch :attr:`next_epoch` of a resumed session's earlier runs: each
        participant's night tracker (the forecast's sleep onset and REM history) gets its
        night code (-1 absent, 0 wake, 1 NREM, 2 REM); the windows get everyone absent, so
        no window or event comes of it (the earlier runs announced theirs)."""
        for name, c in zip(self.names, codes, strict=True):
            self.sched.trackers[name].update(int(c))
        self.sched.windows.update(np.full(len(self.names), ABSENT, dtype=np.int8))
        self.next_epoch += 1

    def _events(self, wevents) -> list[tuple[str, int, dict]]:
        out = []
        o = self.grid.origin
        for ev in wevents:
            if ev.kind == "opened":
                out.append(("group_open", ev.epoch, {"start_s": ev.start,
                                                     "start_time": o + ev.start}))
            else:
                out.append(("group_close", ev.epoch, window_dict(ev.window, o)))
        return out

    def _forecast(self) -> dict[str, Any] | None:
        s = self.sched
        try:
            draws = simulate_group(s.trackers, s.model, s.rule.k, now=s.now,
                                   min_epochs=s.rule.min_epochs, horizon_s=self.horizon_s,
                                   n_draws=self.n_draws, seed=self.next_epoch)
            f = draws.first_window()
        except (ValueError, IndexError) as exc:  # a forecast must never stop the session
            logger.warning("group forecast failed: %s", exc)
            return None
        o = self.grid.origin
        self.forecast = {
            "now_s": f.now, "probability": f.probability, "horizon_s": f.horizon,
            "start_s": {str(q): v for q, v in f.start.items()},
            "start_time": {str(q): o + v for q, v in f.start.items()},
            "duration_s": {str(q): v for q, v in f.duration.items()},
            "expected_members": list(f.expected_members)}
        return self.forecast

    def finish(self) -> list[tuple[str, int, dict]]:
        """End of the session: close any open window."""
        return self._events(self.sched.windows.finish())

    def window_dicts(self) -> list[dict[str, Any]]:
        """Every closed window so far."""
        return [window_dict(w, self.grid.origin) for w in self.sched.windows.windows]

    def snapshot(self) -> dict[str, Any]:
        """Open window, participants in REM, last forecast, windows so far."""
        since = self.sched.windows.open_since
        return {"epoch": self.next_epoch - 1, "open_since_s": since,
                "in_rem": list(self.in_rem), "n_windows": len(self.sched.windows.windows),
                "k": self.sched.rule.k, "forecast": self.forecast}
