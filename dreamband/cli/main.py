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
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from dreamband import __version__
from dreamband.errors import DreambandError
from dreamband.paths import DATA_ENV

# Subcommand modules, in the order --help lists them.
COMMANDS: tuple[str, ...] = (
    "info",
    "fetch",
    "stage",
    "rem",
    "spindles",
    "slow-waves",
    "evaluate",
    "train",
    "models",
    "sync",
    "forecast",
    "scan",
    "record",
    "lab",
    "batch",
    "export",
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
        # a command name may hold hyphens (slow-waves); its module, underscores
        module = importlib.import_module(f"dreamband.cli.cmd_{name.replace('-', '_')}")
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
    # --data-dir is the data folder of everything this command does (e.g. training a heart
    # model on first use deep inside a replay), as $DREAMBAND_DATA would be
    data_dir = getattr(args, "data_dir", None)
    saved = os.environ.get(DATA_ENV)
    if data_dir:
        os.environ[DATA_ENV] = str(Path(data_dir).expanduser())
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
    finally:
        if data_dir:
            if saved is None:
                os.environ.pop(DATA_ENV, None)
            else:
                os.environ[DATA_ENV] = saved


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
