"""``dreamband replay SOURCE...``: play recordings or virtual sleepers as virtual bands."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_common", "options_from_args", "parse_speed", "register", "run"]


def parse_speed(text: str) -> float | str:
    """``"max"`` or a number > 0 (argparse type)."""
    if text == "max":
        return "max"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0 or 'max', got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"speed must be > 0, got {text}")
    return value


def add_common(p: argparse.ArgumentParser, minutes_default: float | None,
               start_default: float) -> None:
    """Options shared by ``replay`` and ``demo``."""
    p.add_argument("--speed", type=parse_speed, default="max",
                   help="1 = real time, N = N times real time, max = as fast as possible "
                   "(default)")
    p.add_argument("--impair", type=Path, default=None, metavar="FILE",
                   help="TOML of per-band clock offset, drift, jitter, loss and disconnects")
    p.add_argument("--align", choices=("lights-off", "clock"), default="lights-off",
                   help="start everyone at lights-off (default) or at their clock time of night")
    p.add_argument("--start-min", type=float, default=start_default,
                   help=f"start this many minutes after lights-off (default {start_default:g})")
    p.add_argument("--minutes", type=float, default=minutes_default,
                   help="minutes of night to replay" + (
                       f" (default {minutes_default:g})" if minutes_default else
                       " (default: to the end)"))
    p.add_argument("--data-dir", default=None, help="data folder for dataset records")
    p.add_argument("--seed", type=int, default=0, help="seed of sleepers and link impairments")
    p.add_argument("--no-live", action="store_true",
                   help="plain progress lines instead of the live table")
    p.add_argument("--quiet", action="store_true", help="only the summary")


def options_from_args(args: argparse.Namespace):  # -> ReplayOptions
    """Replay options from parsed arguments."""
    from dreamband.replay.session import ReplayOptions

    if args.minutes is not None and not args.minutes > 0:
        raise argparse.ArgumentTypeError("--minutes must be > 0")
    return ReplayOptions(speed=args.speed, align=args.align, start_s=max(0.0, args.start_min) * 60,
                         duration_s=None if args.minutes is None else args.minutes * 60,
                         seed=args.seed)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``replay`` subcommand."""
    p = sub.add_parser(
        "replay",
        help="play recordings or virtual sleepers as virtual bands through the live engine",
        description=(
            "Play each SOURCE as a virtual BLE band (real packets, decoders, clock mapping, "
            "gaps) into the live engine. A SOURCE is a file (EDF/BDF, slpdb record, RR CSV, "
            "hypnogram), a dataset record (slpdb:slp03, sleep-edf:SC4001) or "
            "virtual:HYPNOGRAM (a virtual sleeper following that hypnogram; "
            "virtual:generated:SEED for a built-in night). Simulated participants are "
            "labelled: plumbing and demos, never an accuracy figure."
        ),
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE")
    p.add_argument("--out", required=True, type=Path, help="session folder")
    add_common(p, None, 0.0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Resolve the sources, replay, print the summary."""
    from dreamband.replay.console import run_and_show
    from dreamband.replay.impair import load_impairments
    from dreamband.replay.sources import resolve_source

    impair = load_impairments(args.impair) if args.impair else None
    options = options_from_args(args)
    sources = []
    seen: dict[str, int] = {}
    for i, spec in enumerate(args.sources):
        src = resolve_source(spec, data_dir=args.data_dir, seed=args.seed + i)
        if src.name in seen:
            seen[src.name] += 1
            src.name = f"{src.name}-{seen[src.name]}"
        else:
            seen[src.name] = 1
        sources.append(src)
    run_and_show(sources, options=options, impairments=impair, out=args.out,
                 live=False if args.no_live else None, quiet=args.quiet)
    return 0
