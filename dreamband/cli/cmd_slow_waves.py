"""``dreamband slow-waves INPUT --out slow_waves.csv``: slow waves of a night, one row each.

The recording is staged with the rules engine (or ``--hypnogram`` is read) and the slow
waves of its NREM epochs are listed: ``start,end,duration,neg_peak,pos_peak,
neg_amplitude,pos_amplitude,ptp,frequency,slope,stage,channel`` (seconds from the
recording start, µV, Hz, µV/s). They are the waves the staging evidence counts.
"""

from __future__ import annotations

import argparse
import sys

from dreamband.cli.event_args import add_event_arguments, load_event_night, stage_codes, write_table

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``slow-waves`` subcommand."""
    p = subparsers.add_parser(
        "slow-waves",
        help="slow waves of a night (timing, peaks, amplitude, slope, stage)",
        description=__doc__.split("\n\n")[0].split(": ", 1)[-1],
    )
    add_event_arguments(p, "slow waves")
    p.add_argument("--out", metavar="FILE", help="slow-wave CSV (default: stdout)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Detect the slow waves and write the table; returns the exit code."""
    from dreamband.slowwaves import detect_slow_waves, slow_wave_summary, write_slow_waves_csv

    include = stage_codes(args.stages, "slow-waves")
    _, channels, hyp = load_event_night(args, "slow waves")
    tables = []
    for ch in channels:
        try:
            sw = detect_slow_waves(ch.data, ch.fs, channel=ch.name, stages=hyp.stages,
                                   epoch_length=hyp.epoch_length, offset=hyp.offset,
                                   include=include)
        except ValueError as exc:
            raise SystemExit(f"dreamband slow-waves: {args.input}, channel {ch.name}: {exc}") \
                from None
        tables.append(sw)
        s = slow_wave_summary(sw, hyp.stages, hyp.epoch_length)
        dens = ", ".join(f"{k} {v:.2f}/min" for k, v in s["density"].items()) or "no N2/N3"
        msg = f"{ch.name}: {s['count']} slow wave(s); density {dens}"
        if s["count"]:
            msg += f"; mean {s['ptp']:.0f} µV peak to peak, {s['frequency']:.2f} Hz"
        print(msg, file=sys.stderr)
    write_table(tables, args.out, write_slow_waves_csv, "slow_waves.csv")
    return 0
