"""Entry point of the ``dreamband`` command.

Each subcommand lives in its own module ``dreamband.cli.cmd_<name>`` exposing
``register(subparsers)``, which adds a parser whose ``func`` default takes the parsed
arguments and returns an exit code. Errors that are dreamband's own (bad input, missing
channel, checksum mismatch) are printed as one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from dreamband import __version__
from dreamband.errors import DreambandError

# Subcommand modules, in the order --help lists them.
COMMANDS: tuple[str, ...] = (
    "info",
    "fetch",
    "stage",
    "rem",
    "evaluate",
    "train",
    "sync",
    "forecast",
    "scan",
    "record",
    "lab",
    "batch",
    "report",
    "run",
    "replay",
    "demo",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="dreamband",
        description="Sleep-signal pipeline for wearable bands: read, stage, find group REM.",
    )
    parser.add_argument("--version", action="version", version=f"dreamband {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"dreamband.cli.cmd_{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except DreambandError as exc:
        print(f"dreamband: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"dreamband: error: {exc.filename}: no such file or directory", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dreamband: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
