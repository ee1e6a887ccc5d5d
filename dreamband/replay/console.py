"""Run a replay with the terminal view and print what was used and a short summary.

Shared by ``dreamband replay``, ``dreamband demo`` and the ``replay``/``demo`` pipelines.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rich.console import Console

from dreamband.replay.impair import Impairments
from dreamband.replay.session import ReplayOptions, ReplayResult, run_replay
from dreamband.replay.sources import ReplaySource
from dreamband.replay.view import ReplayView, format_clock

__all__ = ["run_and_show", "summary_lines", "window_members"]


def summary_lines(result: ReplayResult) -> list[str]:
    """A short plain-text summary of a replay."""
    lines = [f"replayed {format_clock(result.replay_s)} of night in {result.wall_s:.1f} s wall "
             f"({result.x_real_time:,.0f}x real time, speed {result.speed}), "
             f"{len(result.participants)} participants"]
    per = result.engine_summary.get("participants") or {}
    for st in result.participants:
        ev = st.events
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(st.gap_reasons.items()))
        scored = (per.get(st.name) or {}).get("n_scored", len(st.stages))
        lines.append(
            f"  {st.name:<16} {'SIM ' if st.simulated else 'REAL'} {st.kind:<5} "
            f"epochs scored {scored:>4}/{ev.get('stage', 0):<4}  "
            f"REM periods {ev.get('rem_start', 0):>2}  "
            f"gaps {st.gaps}{f' ({reasons})' if reasons else ''}  drops {st.drops}  "
            f"lost packets {st.lost_packets}")
    for st in result.participants:
        if st.agreement and st.agreement["n"] >= 20:  # fewer epochs say nothing
            a = st.agreement
            note = (" (in-sample: the heart model was trained on this record; "
                    "subject-wise figures: bench/RESULTS.md)" if a.get("in_sample") else "")
            lines.append(f"  {st.name}: live vs expert stages (REAL recording, wake/NREM/REM): "
                         f"kappa {a['kappa']:.2f}, accuracy {a['accuracy']:.2f} over "
                         f"{a['n']} epochs{note}")
    windows = result.engine_summary.get("group_windows") or []
    lines.append(f"group REM windows: {len(windows)}")
    for w in windows[:8]:
        start, end = w.get("start_s"), w.get("end_s")
        if start is not None and end is not None:
            lines.append(f"  {format_clock(float(start))}-{format_clock(float(end))} "
                         f"({(float(end) - float(start)) / 60:.1f} min): {window_members(w)}")
    lat = result.latencies
    if lat.size:
        lines.append(f"engine processing per decided epoch: p50 "
                     f"{np.quantile(lat, 0.5) * 1000:.0f} ms, p99 "
                     f"{np.quantile(lat, 0.99) * 1000:.0f} ms over {lat.size} epochs")
    if result.session_dir is not None:
        lines.append(f"session folder: {result.session_dir}")
    if any(st.simulated for st in result.participants):
        lines.append("note: SIMULATED participants are for plumbing and demos, never an "
                     "accuracy figure")
    return lines


def run_and_show(sources: Sequence[ReplaySource], *, options: ReplayOptions,
                 impairments: Impairments | None, out: Path | None, notes: Sequence[str] = (),
                 live: bool | None = None, quiet: bool = False,
                 console: Console | None = None) -> ReplayResult:
    """Print what is replayed, run with the live view, print the summary."""
    console = console or Console()
    for note in notes:
        console.print(note, highlight=False, markup=False, soft_wrap=True)
    for s in sources:
        console.print(f"  {s.name}: {s.label}", highlight=False, markup=False, soft_wrap=True)
    if impairments is not None and (impairments.default or impairments.bands):
        console.print(f"impairments: {impairments.source or 'inline'}", highlight=False,
                      markup=False)
    view = ReplayView(console, live=False if quiet else live)
    with view:
        result = run_replay(sources, options=options, impairments=impairments, session_dir=out,
                            on_update=None if quiet else view)
    for line in summary_lines(result):
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    return result


def window_members(window: dict) -> str:
    """Who was in a group window: everyone in REM during it, and for those in REM only part
    of it (others handed over to them) a note saying so.

    Parameters
    ----------
    window : dict
        A group window as the engine's summary gives it (``members``: in REM throughout;
        ``involved``: in REM at some epoch).

    Returns
    -------
    str
        E.g. ``"ann, bob (part), cy (part)"``.
    """
    members = [str(m) for m in window.get("members") or []]
    involved = [str(m) for m in window.get("involved") or members]
    return ", ".join(m if m in members else f"{m} (part)" for m in involved)
