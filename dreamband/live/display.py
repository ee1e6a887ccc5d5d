"""Terminal pieces shared by the live views (replay and lab): stage colours, p(REM) bars,
clock durations, and the group state and forecast lines of an engine snapshot."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from rich.console import Console, RenderableType
from rich.live import Live
from rich.text import Text

__all__ = [
    "STAGE_STYLE",
    "StateView",
    "forecast_text",
    "format_clock",
    "group_lines",
    "number",
    "p_bar",
    "participant_snapshot",
    "stage_label",
]

#: rich style of each stage label.
STAGE_STYLE = {"W": "bold yellow", "N1": "cyan", "N2": "blue", "N3": "bold blue",
               "REM": "bold magenta", "NREM": "blue", "?": "dim", "-": "dim"}


def format_clock(seconds: float) -> str:
    """``h:mm:ss`` of a duration in seconds."""
    s = int(max(0.0, seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def participant_snapshot(snapshot: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """The engine snapshot of one participant (``{}`` when it has none yet)."""
    parts = snapshot.get("participants", snapshot)
    got = parts.get(name) if isinstance(parts, Mapping) else None
    return got if isinstance(got, Mapping) else {}


def number(x: Any, fmt: str) -> str:
    """``x`` formatted with ``fmt``, or ``-`` when it is not a number."""
    try:
        return format(float(x), fmt)
    except (TypeError, ValueError):
        return "-"


def stage_label(x: Any) -> str:
    """Short label of a stage (``?`` unscored, ``-`` none yet)."""
    if x is None:
        return "-"
    name = getattr(x, "name", None) or str(x)
    return {"UNSCORED": "?", "R": "REM"}.get(name, name)


def p_bar(p: Any, width: int = 10) -> Text:
    """A bar of ``width`` cells and the value of a probability."""
    try:
        v = min(1.0, max(0.0, float(p)))
    except (TypeError, ValueError):
        return Text("-", style="dim")
    n = round(v * width)
    return Text("█" * n, style="magenta") + Text("░" * (width - n), style="dim") + Text(
        f" {v:4.2f}")


def group_lines(snapshot: Mapping[str, Any], now_s: float | None = None) -> list[str]:
    """Group state and forecast from the engine's ``group`` snapshot."""
    group = snapshot.get("group")
    if not isinstance(group, Mapping):
        return ["group: waiting for the first epochs"]
    in_rem = list(group.get("in_rem") or [])
    k = group.get("k", "?")
    since = group.get("open_since_s")
    n_win = group.get("n_windows", 0)
    who = f": {', '.join(map(str, in_rem))}" if in_rem else ""
    if since is not None:
        head = f"GROUP REM WINDOW OPEN since {format_clock(float(since))}"
    else:
        head = "group: no window open"
    lines = [f"{head} — {len(in_rem)} in REM (need {k}){who}; windows so far: {n_win}"]
    fc = group.get("forecast")
    if isinstance(fc, Mapping):
        lines.append("forecast: " + forecast_text(fc))
    return lines


def forecast_text(fc: Mapping[str, Any]) -> str:
    """One line describing a group forecast snapshot."""
    now = float(fc.get("now_s") or 0.0)
    start = fc.get("start_s") or {}
    med = start.get("0.5")
    p = fc.get("probability")
    horizon = fc.get("horizon_s")
    parts = []
    if med is not None:
        lo, hi = start.get("0.1"), start.get("0.9")
        rng = (f" (80 %: {format_clock(max(0.0, float(lo) - now))}-"
               f"{format_clock(max(0.0, float(hi) - now))})" if lo is not None and hi is not None
               else "")
        parts.append(f"next group window in ~{format_clock(max(0.0, float(med) - now))}{rng}")
    if p is not None:
        within = f" within {format_clock(float(horizon))}" if horizon else ""
        parts.append(f"p={float(p):.2f}{within}")
    members = fc.get("expected_members") or []
    if members:
        parts.append(f"likely: {', '.join(map(str, members))}")
    return "; ".join(parts) or "no window expected"


class StateView:
    """Shows live states: a rich Live display on a terminal, else a plain line every
    ``every_s`` seconds (and the final state). Subclasses say how: :meth:`render` and
    :meth:`line`.

    Parameters
    ----------
    console : rich.console.Console, optional
        Where to draw (default: stdout).
    live : bool or None
        Force the live display on/off (default: on when the console is a terminal).
    every_s : float
        Seconds between plain lines.
    """

    refresh_per_second = 4

    def __init__(self, console: Console | None = None, live: bool | None = None,
                 every_s: float = 5.0) -> None:
        self.console = console or Console()
        self.use_live = self.console.is_terminal if live is None else live
        self.every_s = every_s
        self._live: Live | None = None
        self._last = -1e9
        self.last_state: Mapping[str, Any] | None = None

    def render(self, state: Mapping[str, Any]) -> RenderableType:
        """The rich renderable of ``state``."""
        raise NotImplementedError

    def line(self, state: Mapping[str, Any]) -> str:
        """One plain progress line of ``state``."""
        raise NotImplementedError

    def __enter__(self) -> StateView:
        if self.use_live:
            self._live = Live(console=self.console, refresh_per_second=self.refresh_per_second,
                              transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def __call__(self, state: Mapping[str, Any]) -> None:
        """Show ``state``."""
        self.last_state = state
        if self._live is not None:
            self._live.update(self.render(state))
            return
        now = time.monotonic()
        if state.get("final") or now - self._last >= self.every_s:
            self._last = now
            self.console.print(self.line(state), highlight=False, markup=False, soft_wrap=True)
