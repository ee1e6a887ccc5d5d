"""``dreamband demo``: six participants through the whole live path, in a few minutes."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from dreamband.cli.cmd_replay import add_common, options_from_args

__all__ = ["DEFAULT_MINUTES", "DEFAULT_START_MIN", "register", "run"]

#: Minutes of night replayed by default and where (after lights-off) they start: the first
#: three sleep cycles, with their REM periods (about a minute of wall time at max speed).
DEFAULT_MINUTES = 240.0
DEFAULT_START_MIN = 30.0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    p = sub.add_parser(
        "demo",
        help="the demo: EEG and heart-rate bands replayed at high speed through the live engine",
        description=(
            "Replay at least six participants at high speed through the whole live path "
            "(virtual BLE bands -> decoders -> clock mapping -> epochs -> stager -> REM -> "
            "group windows): EEG bands from Sleep-EDF (real PSGs when fetched, otherwise "
            "virtual sleepers driven by the real expert hypnograms, labelled SIMULATED) and "
            "heart-rate bands replaying real slpdb heart beats. Without a data folder, "
            "virtual sleepers follow built-in generated nights. Writes a session folder and "
            "prints a summary."
        ),
    )
    p.add_argument("--eeg", type=int, default=3, help="EEG bands (default 3)")
    p.add_argument("--heart", type=int, default=3, help="heart-rate bands (default 3)")
    p.add_argument("--out", type=Path, default=None,
                   help="session folder (default ./dreamband-demo-YYYYmmdd-HHMMSS)")
    add_common(p, DEFAULT_MINUTES, DEFAULT_START_MIN)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Pick the participants, replay, print the summary."""
    from dreamband.replay.console import run_and_show
    from dreamband.replay.demo import demo_sources
    from dreamband.replay.impair import load_impairments

    impair = load_impairments(args.impair) if args.impair else None
    options = options_from_args(args)
    sources, notes = demo_sources(args.data_dir, args.eeg, args.heart, args.seed)
    out = args.out or Path(f"dreamband-demo-{datetime.now():%Y%m%d-%H%M%S}")
    run_and_show(sources, options=options, impairments=impair, out=out, notes=notes,
                 live=False if args.no_live else None, quiet=args.quiet)
    return 0
