"""Proposed group dreaming sessions, as JSON and CSV, updated live as the night unfolds.

A *session* is a stretch of the coming hours when the Monte Carlo probability that a group
window is on (:class:`~dreamband.sync.group_forecast.GroupDraws`) stays at or above
``max(p_min, relative * peak)`` (peak = the highest probability in the horizon), so a
session is proposed around each likely window even when the uncertainty far ahead spreads the
probability thin; its confidence says how likely it is. For each session: start and end (s on
the common timeline), expected duration
(expected seconds of group window inside it), expected members (participants in REM throughout
the draw's window inside the session in at least half of the draws that have one) and
confidence (the peak probability). Windows already observed are listed with status
``"observed"`` (or ``"ongoing"``).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from dreamband.sync.forecast import ForecastModel, NightTracker, load_model
from dreamband.sync.group_forecast import GroupDraws, simulate_group
from dreamband.sync.timeline import ABSENT, N_REM, N_UNSCORED, NOT_REM, REM
from dreamband.sync.types import GroupForecast, GroupWindow, WindowEvent
from dreamband.sync.windows import LiveGroupWindows, WindowRule

__all__ = ["LiveScheduler", "Schedule", "Session", "propose_sessions"]

_CSV_FIELDS = ("status", "start", "end", "expected_duration", "expected_members", "confidence")


@dataclass(frozen=True)
class Session:
    """One proposed (or observed) group session; times in seconds on the common timeline."""

    start: float
    end: float
    expected_duration: float
    expected_members: tuple[str, ...]
    confidence: float
    status: str = "proposed"


@dataclass
class Schedule:
    """Observed windows, proposed sessions and the next-window forecast at time ``now``."""

    now: float
    k: int
    sessions: list[Session] = field(default_factory=list)
    next_window: GroupForecast | None = None

    def to_dict(self) -> dict:
        """JSON-ready dictionary."""
        nxt = None
        if self.next_window is not None:
            f = self.next_window
            nxt = {"probability": round(f.probability, 3),
                   "start": {str(q): round(v, 1) for q, v in f.start.items()},
                   "duration": {str(q): round(v, 1) for q, v in f.duration.items()},
                   "expected_members": list(f.expected_members),
                   "horizon": f.horizon}
        return {"now": self.now, "k": self.k, "next_window": nxt,
                "sessions": [{**asdict(s), "expected_members": list(s.expected_members)}
                             for s in self.sessions]}

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """The schedule as JSON text, also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def to_csv(self, path: str | os.PathLike | None = None) -> str:
        """One row per session: ``status,start,end,expected_duration,expected_members,
        confidence`` (members joined by ``;``), also written to ``path`` when given."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(_CSV_FIELDS)
        for s in self.sessions:
            w.writerow([s.status, f"{s.start:g}", f"{s.end:g}", f"{s.expected_duration:.0f}",
                        ";".join(s.expected_members), f"{s.confidence:.3f}"])
        if path is not None:
            Path(path).write_text(buf.getvalue(), encoding="utf-8")
        return buf.getvalue()


def propose_sessions(
    draws: GroupDraws, p_min: float = 0.05, relative: float = 0.5, merge_s: float = 900.0,
) -> list[Session]:
    """Sessions where the probability of a group window is at least
    ``max(p_min, relative * peak)``; stretches less than ``merge_s`` apart are one session,
    and sessions with less than one epoch of expected window time are dropped.

    Raises
    ------
    ValueError
        If ``p_min`` or ``relative`` is not in ``(0, 1]``.
    """
    if not (0 < p_min <= 1 and 0 < relative <= 1):
        raise ValueError(f"p_min and relative must be in (0, 1]; got {p_min}, {relative}")
    curve = draws.window.mean(axis=0)
    level = max(p_min, relative * float(curve.max(initial=0.0)))
    on = np.concatenate(([False], curve >= level, [False])).astype(np.int8)
    starts, ends = np.flatnonzero(np.diff(on) == 1), np.flatnonzero(np.diff(on) == -1)
    L = draws.epoch_length
    merge = max(1, round(merge_s / L))
    runs: list[list[int]] = []
    for s, e in zip(starts, ends):  # Monte Carlo noise must not fragment a session
        if runs and s - runs[-1][1] < merge:
            runs[-1][1] = int(e)
        else:
            runs.append([int(s), int(e)])
    out = []
    for s, e in runs:
        if curve[s:e].sum() < 1.0:  # less than one epoch of expected window
            continue
        win = draws.window[:, s:e]
        has = win.any(axis=1)
        members = []
        for name, rem in zip(draws.names, draws.rem):
            throughout = ~np.any(win & ~rem[:, s:e], axis=1)
            if has.any() and np.mean(throughout[has]) >= 0.5:
                members.append(name)
        out.append(Session(
            start=draws.now + s * L, end=draws.now + e * L,
            expected_duration=float(curve[s:e].sum() * L),
            expected_members=tuple(sorted(members)),
            confidence=float(curve[s:e].max()),
        ))
    return out


def _observed(windows: Sequence[GroupWindow], status: str = "observed") -> list[Session]:
    return [Session(w.start, w.end, w.duration, w.members, w.mean_confidence, status)
            for w in windows]


class LiveScheduler:
    """Live group session: windows, forecasts and a schedule, fed one epoch at a time.

    Parameters
    ----------
    names : sequence of str
        Participants.
    rule : WindowRule
        Group criterion for observed windows (its ``k`` and ``min_epochs`` also drive the
        forecast).
    model : ForecastModel, optional
        Forecast parameters (default: the shipped file).
    epoch_length : float
        Seconds per epoch.
    horizon_s, n_draws, p_min, seed
        Monte Carlo settings (see :func:`simulate_group`, :func:`propose_sessions`).
    """

    def __init__(
        self, names: Sequence[str], rule: WindowRule, model: ForecastModel | None = None,
        epoch_length: float = 30.0, horizon_s: float = 4 * 3600.0, n_draws: int = 300,
        p_min: float = 0.05, seed: int = 0,
    ) -> None:
        self.names = tuple(names)
        self.rule = rule
        self.model = model if model is not None else load_model()
        self.epoch_length = float(epoch_length)
        self.horizon_s, self.n_draws, self.p_min, self.seed = horizon_s, n_draws, p_min, seed
        self.windows = LiveGroupWindows(self.names, rule, epoch_length)
        self.trackers = {n: NightTracker(epoch_length, self.model.merge_gap_s,
                                         self.model.reset_wake_s) for n in self.names}

    def update(self, codes: np.ndarray, confidence: np.ndarray | None = None) -> list[WindowEvent]:
        """Feed one epoch of night codes ``(n,)`` (-1 absent, 0 wake, 1 NREM, 2 REM)."""
        codes = np.asarray(codes, dtype=np.int8)
        if codes.shape != (len(self.names),):
            raise ValueError(f"expected night codes for {len(self.names)} participants; "
                             f"got shape {codes.shape}")
        for name, c in zip(self.names, codes):
            self.trackers[name].update(int(c))
        states = np.where(codes == N_REM, REM, np.where(codes == N_UNSCORED, ABSENT, NOT_REM))
        return self.windows.update(states.astype(np.int8), confidence)

    @property
    def now(self) -> float:
        """End of the last epoch fed (s on the timeline)."""
        return (self.windows.epoch + 1) * self.epoch_length

    def schedule(self) -> Schedule:
        """The schedule now: observed windows, any open one, and proposed sessions."""
        sessions = _observed(self.windows.windows)
        if self.windows.open_since is not None:
            sessions.append(Session(self.windows.open_since, self.now,
                                    self.now - self.windows.open_since, (), 1.0, "ongoing"))
        draws = simulate_group(self.trackers, self.model, self.rule.k, now=self.now,
                               min_epochs=self.rule.min_epochs, horizon_s=self.horizon_s,
                               n_draws=self.n_draws, seed=self.seed)
        sessions += propose_sessions(draws, self.p_min)
        return Schedule(self.now, self.rule.k, sessions, draws.first_window())
