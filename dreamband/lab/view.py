"""Terminal view of a lab run: a live rich table on a terminal, plain lines otherwise.

Per participant: band profile and link (up/down, reconnects, battery), current stage,
p(REM), signal quality, gaps and scored epochs; then the group state and forecast. The
state comes from :func:`dreamband.lab.run.run_lab`'s ``on_update``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from dreamband.live.display import (
    STAGE_STYLE,
    StateView,
    format_clock,
    group_lines,
    number,
    p_bar,
    participant_snapshot,
    stage_label,
)

__all__ = ["LabView", "lab_line", "render_lab"]


def _link(band: Mapping[str, Any]) -> Text:
    up = band.get("connected")
    text = Text("up" if up else "down", style="green" if up else "bold red")
    if band.get("reconnects"):
        text += Text(f" ↻{band['reconnects']}", style="yellow")
    return text


def _head(state: Mapping[str, Any]) -> str:
    origin = state.get("wall_origin")
    since = f"started {origin:%Y-%m-%d %H:%M}" if origin is not None else ""
    return f"dreamband lab  {since}  elapsed {format_clock(float(state['elapsed_s']))}"


def render_lab(state: Mapping[str, Any]) -> Group:
    """A rich renderable of a lab state."""
    snapshot = state.get("snapshot") or {}
    table = Table(expand=False, show_edge=False, pad_edge=False, header_style="bold")
    for col in ("participant", "band", "link", "battery", "stage", "p(REM)", "quality", "gaps",
                "epochs"):
        table.add_column(col, justify="right" if col in ("quality", "gaps", "epochs") else "left")
    for name, band in state.get("bands", {}).items():
        snap = participant_snapshot(snapshot, name)
        stage = stage_label(snap.get("stage"))
        battery = band.get("battery")
        table.add_row(name, str(band.get("profile") or "?"), _link(band),
                      "-" if battery is None else f"{battery}%",
                      Text(stage, style=STAGE_STYLE.get(stage, "")), p_bar(snap.get("p_rem")),
                      number(snap.get("quality"), ".2f"), str(snap.get("gaps", 0)),
                      str(snap.get("n_epochs", "-")))
    group = Text("\n".join(group_lines(snapshot)))
    return Group(Text(_head(state), style="bold"), table,
                 Panel(group, expand=False, border_style="magenta"))


def lab_line(state: Mapping[str, Any]) -> str:
    """One progress line for non-interactive output."""
    snapshot = state.get("snapshot") or {}
    parts = [f"[lab {format_clock(float(state['elapsed_s']))}]"]
    for name, band in state.get("bands", {}).items():
        snap = participant_snapshot(snapshot, name)
        link = "up" if band.get("connected") else "DOWN"
        parts.append(f"{name} {link} {stage_label(snap.get('stage'))} "
                     f"p(REM)={number(snap.get('p_rem'), '.2f')} "
                     f"q={number(snap.get('quality'), '.2f')} gaps={snap.get('gaps', 0)}")
    parts.append(group_lines(snapshot)[0])
    return " | ".join(parts)


class LabView(StateView):
    """Shows lab states: a rich Live table on a terminal, else a line every ``every_s``
    (default 60 s; see :class:`dreamband.live.display.StateView`)."""

    refresh_per_second = 2

    def __init__(self, console: Console | None = None, live: bool | None = None,
                 every_s: float = 60.0) -> None:
        super().__init__(console, live, every_s)

    def render(self, state: Mapping[str, Any]) -> Group:
        """The lab table (:func:`render_lab`)."""
        return render_lab(state)

    def line(self, state: Mapping[str, Any]) -> str:
        """The lab progress line (:func:`lab_line`)."""
        return lab_line(state)
