"""``dreamband spindles INPUT --out spindles.csv``: sleep spindles of a night, one row each.

The recording is staged with the rules engine (or ``--hypnogram`` is read) and the
spindles of its NREM epochs are listed: ``start,end,duration,peak,amplitude,rms,
frequency,oscillations,symmetry,stage,channel`` (seconds from the recording start, µV, Hz).
``--compare`` scores them against an expert's spindles (one-to-one matches with an
intersection over union ≥ 0.2).
"""

from __future__ import annotations

import argparse
import sys

from dreamband.cli.event_args import add_event_arguments, load_event_night, stage_codes, write_table

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``spindles`` subcommand."""
    p = subparsers.add_parser(
        "spindles",
        help="sleep spindles of a night (timing, amplitude, frequency, stage)",
        description=__doc__.split("\n\n")[0].split(": ", 1)[-1],
    )
    add_event_arguments(p, "spindles")
    p.add_argument("--compare", metavar="FILE",
                   help="expert scoring to compare with: DREAMS Visual_scoring .txt or a CSV "
                        "with start and end (or duration) columns")
    p.add_argument("--out", metavar="FILE", help="spindle CSV (default: stdout)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Detect the spindles and write the table; returns the exit code."""
    from dreamband.spindles import (
        detect_spindles,
        read_event_intervals,
        spindle_summary,
        write_spindles_csv,
    )

    include = stage_codes(args.stages, "spindles")
    _, channels, hyp = load_event_night(args, "spindles")
    reference = read_event_intervals(args.compare) if args.compare else None
    tables = []
    for ch in channels:
        try:
            sp = detect_spindles(ch.data, ch.fs, channel=ch.name, stages=hyp.stages,
                                 epoch_length=hyp.epoch_length, offset=hyp.offset,
                                 include=include)
        except ValueError as exc:
            raise SystemExit(f"dreamband spindles: {args.input}, channel {ch.name}: {exc}") \
                from None
        tables.append(sp)
        s = spindle_summary(sp, hyp.stages, hyp.epoch_length)
        dens = ", ".join(f"{k} {v:.2f}/min" for k, v in s["density"].items()) or "no NREM"
        msg = f"{ch.name}: {s['count']} spindle(s); density {dens}"
        if s["count"]:
            msg += (f"; mean {s['duration']:.2f} s, {s['frequency']:.1f} Hz, "
                    f"{s['amplitude']:.0f} µV peak to peak")
        print(msg, file=sys.stderr)
        if reference is not None:
            _print_comparison(ch.name, reference, sp)
    write_table(tables, args.out, write_spindles_csv, "spindles.csv")
    return 0


def _print_comparison(channel: str, reference, sp) -> None:
    from dreamband.evaluation.events import MIN_OVERLAP, match_intervals

    m = match_intervals(reference[0], reference[1], sp.start, sp.end)
    fmt = lambda v: "n/a" if v != v else f"{v:.3f}"  # noqa: E731 - NaN when undefined
    print(f"{channel} against the reference ({m['n_reference']} events, matches with "
          f"overlap >= {MIN_OVERLAP:g}): {m['matched']} matched; precision "
          f"{fmt(m['precision'])}, recall {fmt(m['recall'])}, F1 {fmt(m['f1'])}",
          file=sys.stderr)
