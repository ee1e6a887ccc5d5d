"""``dreamband report DIR``: a static HTML report of a batch output folder."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand."""
    p = sub.add_parser(
        "report",
        help="write a static HTML report (opens offline) of a batch output folder",
        description="Per-night hypnograms with probabilities and REM periods, a sleep "
        "statistics table and group timelines, as HTML with PNG plots.",
    )
    p.add_argument("folder", type=Path, help="output folder of `dreamband batch`")
    p.add_argument("--out", type=Path, default=None, help="report folder (default FOLDER/report)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the report and print where it is."""
    from dreamband.report import write_report

    index = write_report(args.folder, args.out)
    print(f"report: {index}")
    return 0
