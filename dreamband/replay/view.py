"""Terminal view of a replay: a live rich table on a terminal, plain progress lines otherwise.

Per participant: what is replayed (REAL or SIMULATED), current stage, p(REM), signal quality,
gaps and disconnects, scored epochs; then the group state (open REM window, members) and the
group forecast. The state comes from :func:`dreamband.replay.session.replay`'s ``on_update``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group
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

__all__ = ["ReplayView", "format_clock", "participant_snapshot", "render_state"]


def _gaps(st: Any, snap: Mapping[str, Any]) -> str:
    n = snap.get("gaps", st.gaps)
    if isinstance(n, Mapping):
        n = sum(int(v) for v in n.values() if isinstance(v, int | float))
    drops = f", {st.drops} drop{'s' * (st.drops != 1)}" if st.drops else ""
    return f"{n}{drops}"


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
        stage = stage_label(snap.get("stage"))
        kind = f"{'SIM' if st.simulated else 'REAL'} {st.kind}"
        lat = snap.get("last_latency_s", snap.get("latency_s"))
        table.add_row(st.name, Text(kind, style="yellow" if st.simulated else "green"),
                      Text(stage, style=STAGE_STYLE.get(stage, "")), p_bar(snap.get("p_rem")),
                      number(snap.get("quality"), ".2f"), _gaps(st, snap),
                      str(snap.get("n_epochs", "-")),
                      number(None if lat is None else float(lat) * 1000, ".0f"))
    group = Text("\n".join(group_lines(snapshot)))
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
        p_rem, quality = number(snap.get("p_rem"), ".2f"), number(snap.get("quality"), ".2f")
        parts.append(f"{st.name} {stage_label(snap.get('stage'))} p(REM)={p_rem} q={quality} "
                     f"gaps={_gaps(st, snap)}")
    parts.append(group_lines(snapshot)[0])
    return " | ".join(parts)


class ReplayView(StateView):
    """Shows replay states: a rich Live table on a terminal, else a line every ``every_s``
    (see :class:`dreamband.live.display.StateView`)."""

    def render(self, state: Mapping[str, Any]) -> Group:
        """The replay table (:func:`render_state`)."""
        return render_state(state)

    def line(self, state: Mapping[str, Any]) -> str:
        """The replay progress line (:func:`plain_line`)."""
        return plain_line(state)
