"""``dreamband export``: a session's raw band streams as EDF+ and heart CSV files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``export`` subcommand."""
    p = subparsers.add_parser(
        "export",
        help="write a session's raw band streams as EDF+ (EEG, ECG) and RR/HR CSV files",
        description="Write the raw streams of a lab run, replay or `dreamband record` folder "
        "(closed or crashed) as files other tools read: one EDF+ per participant and "
        "signal stream (samples the band never delivered are zeros under a BAD_ACQ_SKIP "
        "annotation), RR intervals and heart rate as the CSV files `dreamband stage` reads. "
        "Time zero is the session's epoch grid, so epoch k of a file is epoch k of the session.",
    )
    p.add_argument("session", type=Path, metavar="SESSION", help="session or record folder")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    p.add_argument("--participant", action="append", metavar="NAME",
                   help="only this participant (repeatable; default: everyone)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Export and list the files written; returns the exit code."""
    from dreamband.storage.export import export_session

    files = export_session(args.session, args.out, participants=args.participant)
    for f in files:
        what = f"{f.n_values} samples per channel" if f.path.suffix == ".edf" else \
            f"{f.n_values} rows"
        extra = ""
        if f.gaps:
            extra += f", {f.gaps} gap(s) of {f.gap_s:.1f} s in all marked BAD_ACQ_SKIP"
        if f.dropped:
            extra += f", {f.dropped} impossible value(s) left out"
        print(f"wrote {f.path} ({f.participant}, {f.stream}: {what}{extra})", file=sys.stderr)
        if f.eeg:
            print(f"  stage it as the session did: dreamband stage {f.path} --eeg '{f.eeg}'",
                  file=sys.stderr)
    return 0
