"""``dreamband run FILE``: validate a pipeline file, then perform it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dreamband.errors import InputFileError
from dreamband.pipeline.spec import Table, load_pipeline, read_toml

__all__ = ["PIPELINE_KINDS", "register", "run"]


def _nightly() -> tuple[Table, Callable[..., int]]:
    from dreamband.pipeline.nightly import SCHEMA, run_nightly

    return SCHEMA, run_nightly


def _replay() -> tuple[Table, Callable[..., int]]:
    from dreamband.pipeline.replay import SCHEMA, run_replay

    return SCHEMA, run_replay


def _lab() -> tuple[Table, Callable[..., int]]:
    from dreamband.pipeline.lab import SCHEMA, run_lab_pipeline

    return SCHEMA, run_lab_pipeline


def _demo() -> tuple[Table, Callable[..., int]]:
    from dreamband.pipeline.demo import SCHEMA, run_demo

    return SCHEMA, run_demo


#: Pipeline kinds: the ``kind`` key of a file -> (schema, runner) loader.
PIPELINE_KINDS: dict[str, Callable[[], tuple[Table, Callable[..., int]]]] = {
    "nightly": _nightly,
    "replay": _replay,
    "lab": _lab,
    "demo": _demo,
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``run`` subcommand."""
    p = sub.add_parser(
        "run",
        help="validate and perform a pipeline file (pipelines/*.toml)",
        description="Validate a declarative pipeline file (unknown keys, wrong types and "
        "missing files are refused before anything starts), then perform it.",
    )
    p.add_argument("file", type=Path, help="pipeline TOML file")
    p.add_argument("--check", action="store_true", help="only validate the file")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def _kind(path: Path) -> str:
    data: dict[str, Any] = read_toml(path, "pipeline file")
    kind = data.get("kind")
    if kind not in PIPELINE_KINDS:
        allowed = ", ".join(repr(k) for k in PIPELINE_KINDS)
        raise InputFileError(path, f"expected one of {allowed}, got {kind!r}", "key 'kind'")
    return kind


def run(args: argparse.Namespace) -> int:
    """Validate, then run the pipeline."""
    kind = _kind(args.file)
    schema, runner = PIPELINE_KINDS[kind]()
    cfg = load_pipeline(args.file, schema)
    if args.check:
        print(f"{args.file}: valid {kind} pipeline")
        return 0
    return runner(cfg, args.file, quiet=args.quiet)
