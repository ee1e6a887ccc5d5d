"""``dreamband rem INPUT --out rem.csv``: REM periods and rapid eye movements of a night.

INPUT is a recording (staged with the rules engine unless ``--hypnogram`` is given; eye
movements counted from its EOG) or a hypnogram file (periods only). The CSV has one row
per REM period: ``start,end,duration,cycle,eye_movements,density,confidence`` (seconds
from the recording start; density = eye movements per minute).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register", "run"]

_RECORDING_SUFFIXES = (".edf", ".bdf", ".npz")


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``rem`` subcommand."""
    p = subparsers.add_parser(
        "rem",
        help="REM periods (cycle, latency) and eye-movement density of a night",
        description=__doc__.split("\n\n")[0].split(": ", 1)[-1],
    )
    p.add_argument("input", metavar="INPUT", help="recording (EDF/BDF) or hypnogram file")
    p.add_argument("--hypnogram", metavar="FILE", help="use this hypnogram instead of staging")
    p.add_argument("--eog", metavar="CH", help="horizontal EOG or LOC channel")
    p.add_argument("--roc", metavar="CH", help="ROC channel (with --eog as LOC)")
    p.add_argument("--merge-gap", type=float, default=900.0, metavar="S",
                   help="bridge REM interruptions up to S seconds (default 900)")
    p.add_argument("--min-duration", type=float, default=120.0, metavar="S",
                   help="drop periods shorter than S seconds (default 120)")
    p.add_argument("--out", metavar="FILE", help="REM CSV (default: stdout)")
    p.set_defaults(func=run)
    return p


def _is_recording(path: Path) -> bool:
    if path.suffix.lower() in (".bdf", ".npz"):
        return True
    if path.suffix.lower() == ".edf":
        from dreamband.io.edf import read_edf_info

        return len(read_edf_info(path).channels) > 0  # annotation-only files are hypnograms
    if path.suffix.lower() == ".txt":
        return path.name.lower().startswith("excerpt")
    return False


def run(args: argparse.Namespace) -> int:
    """Find REM periods and write the table; returns the exit code."""
    from dreamband.io.dispatch import read_hypnogram
    from dreamband.rem import count_eye_movements, detect_eye_movements, rem_latency, rem_periods
    from dreamband.rem.table import write_rem_csv

    path = Path(args.input)
    times = None
    if _is_recording(path):
        from dreamband.staging.api import select_inputs, stage_recording
        from dreamband.staging.inputs import read_recording

        rec = read_recording(path)
        hyp = read_hypnogram(args.hypnogram) if args.hypnogram else stage_recording(rec)
        if args.eog:
            loc = rec.channel(args.eog)
            roc = rec.channel(args.roc) if args.roc else None
        else:
            inp = select_inputs(rec, eeg=None)
            loc, roc = inp.eog, inp.roc
        if loc is not None:
            r = None if roc is None else roc.data[: loc.data.size]
            times = detect_eye_movements(loc.data[: None if r is None else r.size], loc.fs, r)
        else:
            print("dreamband: note: no EOG channel; eye movements not counted", file=sys.stderr)
    else:
        hyp = read_hypnogram(path)
    periods = rem_periods(hyp, merge_gap=args.merge_gap, min_duration=args.min_duration)
    if times is not None:
        periods = count_eye_movements(periods, times)
    lat = rem_latency(hyp, periods)
    msg = f"{len(periods)} REM period(s); REM latency from sleep onset: "
    msg += "n/a" if lat is None else f"{lat / 60:.1f} min"
    print(msg, file=sys.stderr)
    if args.out:
        write_rem_csv(periods, args.out, times is not None)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            out = write_rem_csv(periods, Path(tmp) / "rem.csv", times is not None)
            sys.stdout.write(out.read_text("utf-8"))
    return 0
