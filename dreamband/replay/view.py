"""Terminal view of a replay: a live rich table on a terminal, plain progress lines otherwise.

Per participant: what is replayed (REAL or SIMULATED), current stage, p(REM), signal quality,
gaps and disconnects, scored epochs; then the group state (open REM window, members) and the
group forecast. The state comes from :func:`dreamband.replay.session.replay`'s ``on_update``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

__all__ = ["ReplayView", "format_clock", "participant_snapshot", "render_state"]

_STAGE_STYLE = {"W": "bold yellow", "N1": "cyan", "N2": "blue", "N3": "bold blue",
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


def _num(x: Any, fmt: str) -> str:
    try:
        return format(float(x), fmt)
    except (TypeError, ValueError):
        return "-"


def _stage(x: Any) -> str:
    if x is None:
        return "-"
    name = getattr(x, "name", None) or str(x)
    return {"UNSCORED": "?", "R": "REM"}.get(name, name)


def _bar(p: Any, width: int = 10) -> Text:
    try:
        v = min(1.0, max(0.0, float(p)))
    except (TypeError, ValueError):
        return Text("-", style="dim")
    n = round(v * width)
    return Text("█" * n, style="magenta") + Text("░" * (width - n), style="dim") + Text(
        f" {v:4.2f}")


def _gaps(st: Any, snap: Mapping[str, Any]) -> str:
    n = snap.get("gaps", st.gaps)
    if isinstance(n, Mapping):
        n = sum(int(v) for v in n.values() if isinstance(v, int | float))
    drops = f", {st.drops} drop{'s' * (st.drops != 1)}" if st.drops else ""
    return f"{n}{drops}"


def _group_lines(snapshot: Mapping[str, Any], now_s: float | None = None) -> list[str]:
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
        lines.append("forecast: " + _forecast_text(fc))
    return lines


def _forecast_text(fc: Mapping[str, Any]) -> str:
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


def render_state(state: Mapping[str, Any]) -> Group:
    """A rich renderable of a replay state."""
    snapshot = state.get("snapshot") or {}
    start = float(state.get("start_s", 0.0))
    ref = "lights-off" if state.get("align", "lights-off") == "lights-off" else "first lights-off"
    head = Text.assemble(
        ("dreamband replay  ", "bold"),
        f"{ref} + {format_clock(start + state['replay_s'])}  "
        f"(replayed {format_clock(state['replay_s'])} of {format_clock(state['total_s'])})  ",
        f"wall {state['wall_s']:.0f} s  ",
        (f"{state['replay_s'] / max(state['wall_s'], 1e-9):,.0f}× real time", "green"),
        f"  (speed {state['speed']})",
    )
    table = Table(expand=False, show_edge=False, pad_edge=False, header_style="bold")
    for col, kw in (("participant", {}), ("source", {}), ("stage", {}), ("p(REM)", {}),
                    ("quality", {"justify": "right"}), ("gaps", {"justify": "right"}),
                    ("epochs", {"justify": "right"}), ("lat. ms", {"justify": "right"})):
        table.add_column(col, **kw)
    for st in state["stats"]:
        snap = participant_snapshot(snapshot, st.name)
        stage = _stage(snap.get("stage"))
        kind = f"{'SIM' if st.simulated else 'REAL'} {st.kind}"
        lat = snap.get("last_latency_s", snap.get("latency_s"))
        table.add_row(st.name, Text(kind, style="yellow" if st.simulated else "green"),
                      Text(stage, style=_STAGE_STYLE.get(stage, "")), _bar(snap.get("p_rem")),
                      _num(snap.get("quality"), ".2f"), _gaps(st, snap),
                      str(snap.get("n_epochs", "-")),
                      _num(None if lat is None else float(lat) * 1000, ".0f"))
    group = Text("\n".join(_group_lines(snapshot)))
    legend = Text("SIM = virtual sleeper driven by a real (or generated) hypnogram: plumbing and "
                  "demo only, never an accuracy figure", style="dim")
    parts = [head, table, Panel(group, expand=False, border_style="magenta")]
    if any(st.simulated for st in state["stats"]):
        parts.append(legend)
    return Group(*parts)


def plain_line(state: Mapping[str, Any]) -> str:
    """One progress line for non-interactive output."""
    snapshot = state.get("snapshot") or {}
    rate = state["replay_s"] / max(state["wall_s"], 1e-9)
    night = float(state.get("start_s", 0.0)) + state["replay_s"]
    parts = [f"[lights-off+{format_clock(night)} replayed {format_clock(state['replay_s'])}/"
             f"{format_clock(state['total_s'])} {rate:,.0f}x]"]
    for st in state["stats"]:
        snap = participant_snapshot(snapshot, st.name)
        p_rem, quality = _num(snap.get("p_rem"), ".2f"), _num(snap.get("quality"), ".2f")
        parts.append(f"{st.name} {_stage(snap.get('stage'))} p(REM)={p_rem} q={quality} "
                     f"gaps={_gaps(st, snap)}")
    parts.append(_group_lines(snapshot)[0])
    return " | ".join(parts)


class ReplayView:
    """Shows replay states: a rich Live table on a terminal, else a line every ``every_s``.

    Parameters
    ----------
    console : rich.console.Console, optional
        Where to draw (default: stdout).
    live : bool or None
        Force the live table on/off (default: on when the console is a terminal).
    every_s : float
        Wall seconds between plain progress lines.
    """

    def __init__(self, console: Console | None = None, live: bool | None = None,
                 every_s: float = 5.0) -> None:
        self.console = console or Console()
        self.use_live = self.console.is_terminal if live is None else live
        self.every_s = every_s
        self._live: Live | None = None
        self._last = -1e9
        self.last_state: Mapping[str, Any] | None = None

    def __enter__(self) -> ReplayView:
        if self.use_live:
            self._live = Live(console=self.console, refresh_per_second=4, transient=False)
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
            self._live.update(render_state(state))
            return
        now = time.monotonic()
        if state.get("final") or now - self._last >= self.every_s:
            self._last = now
            self.console.print(plain_line(state), highlight=False, markup=False, soft_wrap=True)
