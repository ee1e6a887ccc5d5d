"""Run a lab session with its terminal view and print a short summary.

Shared by ``dreamband lab`` and the ``lab`` pipeline kind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console

from dreamband.lab.participants import LabParticipant
from dreamband.lab.resume import ResumePlan
from dreamband.lab.run import LabOptions, LabResult, run_lab
from dreamband.lab.view import LabView
from dreamband.live.session import warm_up_text

__all__ = ["print_summary", "run_and_show"]


def run_and_show(people: Sequence[LabParticipant], out: Path, options: LabOptions,
                 band_options: dict[str, Any], timebase: Any, live: bool | None, quiet: bool,
                 events_out: str | None = None, event_stages: bool = True,
                 resume: bool | ResumePlan = False) -> LabResult:
    """Run the lab session with the terminal view (none when ``quiet``); return its result
    (``resume``: continue the session that crashed in ``out``; a plan already loaded)."""
    # events on standard output: the view goes to standard error
    console = Console(stderr=events_out == "-")
    view = None if quiet else LabView(console, live=live)
    kwargs = {"session_dir": out, "options": options, "band_options": band_options,
              "timebase": timebase, "events_out": events_out, "event_stages": event_stages,
              "resume": resume}
    if view is None:
        return asyncio.run(run_lab(people, **kwargs))
    with view:
        return asyncio.run(run_lab(people, on_update=view, **kwargs))


def print_summary(result: LabResult, out: TextIO) -> None:
    """Per band: profile, address, scored epochs, REM minutes, gaps and reconnects; then the
    number of group REM windows."""
    parts = result.engine_summary.get("participants", {})
    print(f"session {result.session_dir} (started {result.wall_origin:%Y-%m-%d %H:%M:%S})",
          file=out)
    for name, band in result.bands.items():
        p = parts.get(name, {})
        print(f"  {name}: {band.get('profile')} {band.get('address')}  epochs "
              f"{p.get('n_scored', 0)}/{p.get('n_epochs', 0)} scored  REM "
              f"{p.get('rem_min', 0.0):.1f} min  gaps {band.get('gaps', 0)}  reconnects "
              f"{band.get('reconnects', 0)}", file=out)
    windows = result.engine_summary.get("group_windows", [])
    print(f"  group REM windows: {len(windows)}", file=out)
    for r in result.resumes:
        print(f"  resumed {r.get('wall_time')} at epoch {r.get('first_epoch')} "
              f"({r.get('gap_s', 0.0):g} s of epochs absent; {warm_up_text(r)})", file=out)

