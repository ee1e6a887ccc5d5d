"""``dreamband sync``: group REM windows of several participants' hypnograms."""

from __future__ import annotations

import argparse
import logging

from dreamband.errors import DreambandError

logger = logging.getLogger(__name__)

_EPILOG = """\
Participants are named by file stem and placed on one timeline by clock time.
--align date uses each recording's date and time; --align clock uses the time of day only
(measured from the noon before the start), so nights recorded on different dates (e.g.
Sleep-EDF subjects) overlap as if slept the same night; --align auto (default) picks date when
all starts lie within 24 h, else clock. --offsets shifts a participant later (seconds) after
that. Output times are seconds from the timeline start (the earliest first epoch).
"""


def _offsets(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        name, sep, value = item.rpartition("=")
        try:
            if not sep or not name:
                raise ValueError
            out[name] = float(value)
        except ValueError:
            raise DreambandError(f"--offsets: expected NAME=SECONDS; got {item!r}") from None
    return out


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sync`` subcommand."""
    p = subparsers.add_parser(
        "sync", help="find windows when at least k participants are in REM together",
        description="Find group REM windows across participants' hypnograms.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("hypnograms", nargs="+", metavar="HYPNOGRAM",
                   help="one hypnogram per participant (staging CSV, Sleep-EDF EDF+, ...)")
    p.add_argument("--k", type=int, required=True, help="minimum participants in REM together")
    p.add_argument("--min-duration", type=float, default=0.0, metavar="S",
                   help="minimum window duration in seconds (default one epoch)")
    p.add_argument("--gap", type=float, default=0.0, metavar="S",
                   help="per-participant REM breaks shorter than S seconds are closed")
    p.add_argument("--bridge", type=float, default=0.0, metavar="S",
                   help="group criterion breaks shorter than S seconds do not split a window")
    p.add_argument("--required", nargs="*", default=[], metavar="NAME",
                   help="participants who must all be in REM")
    p.add_argument("--absent", choices=("not_rem", "reduce"), default="not_rem",
                   help="absent participants count as not in REM, or reduce n (default not_rem)")
    p.add_argument("--offsets", nargs="*", default=[], metavar="NAME=SECONDS",
                   help="shift a participant later by SECONDS on the common timeline")
    p.add_argument("--align", choices=("auto", "date", "clock"), default="auto",
                   help="place recordings by date and time, or by time of day only")
    p.add_argument("--in-bed", action="store_true",
                   help="crop each hypnogram to its in-bed window (30 min around sleep)")
    p.add_argument("--probabilities", action="store_true",
                   help="REM from the REM probability column with hysteresis (--p-on/--p-off)")
    p.add_argument("--p-on", type=float, default=0.6)
    p.add_argument("--p-off", type=float, default=0.4)
    p.add_argument("--out", required=True, metavar="CSV", help="windows table to write")
    p.add_argument("--plot", metavar="PNG", help="timeline plot to write")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``dreamband sync``; returns the exit code."""
    from dreamband.sync.files import participant_name, read_hypnogram, write_windows_csv
    from dreamband.sync.timeline import build_timeline
    from dreamband.sync.windows import WindowRule, group_windows

    hyps = {}
    for path in args.hypnograms:
        name = participant_name(path)
        if name in hyps:
            raise DreambandError(f"{path}: participant {name!r} given twice (same file stem)")
        hyp = read_hypnogram(path)
        if args.in_bed:
            try:
                hyp = hyp.crop_in_bed()
            except ValueError as exc:
                raise DreambandError(f"{path}: {exc}") from None
        hyps[name] = hyp
    try:
        tl = build_timeline(hyps, align=args.align, offsets=_offsets(args.offsets),
                            use_probabilities=args.probabilities, p_on=args.p_on,
                            p_off=args.p_off)
        rule = WindowRule.from_seconds(
            args.k, tl.epoch_length, min_duration=args.min_duration, gap=args.gap,
            bridge=args.bridge, required=tuple(args.required), absent=args.absent)
        windows = group_windows(tl, rule)
    except ValueError as exc:
        raise DreambandError(str(exc)) from None
    write_windows_csv(windows, args.out)
    if args.plot:
        from dreamband.sync.plot import plot_timeline

        plot_timeline(tl, windows, args.plot)
    total = sum(w.duration for w in windows) / 60.0
    start = f", timeline starts {tl.origin:%H:%M:%S}" if tl.origin is not None else ""
    print(f"{len(windows)} group windows (k={args.k} of {tl.n_participants}, {total:.1f} min "
          f"in total; aligned by {tl.align}{start}) -> {args.out}")
    return 0
