"""The ``demo`` pipeline kind: ``dreamband demo`` described in a TOML file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dreamband.pipeline.replay import COMMON, impairments_of, options_of
from dreamband.pipeline.spec import Field, Table

__all__ = ["SCHEMA", "run_demo"]

SCHEMA = Table({
    "kind": Field("str", required=True, choices=("demo",)),
    **COMMON,
    "eeg": Field("int", default=3, minimum=0, help="EEG bands"),
    "heart": Field("int", default=3, minimum=0, help="heart-rate bands"),
})


def run_demo(cfg: dict[str, Any], source: Path, quiet: bool = False) -> int:
    """Perform a validated demo pipeline; returns the exit code."""
    from dreamband.errors import InputFileError
    from dreamband.replay.console import run_and_show
    from dreamband.replay.demo import demo_sources

    if cfg["eeg"] + cfg["heart"] < 1:
        raise InputFileError(source, "needs at least one participant", "key 'eeg'")
    sources, notes = demo_sources(cfg["data_dir"], cfg["eeg"], cfg["heart"], cfg["seed"])
    impair = impairments_of(cfg, [])
    run_and_show(sources, options=options_of(cfg), impairments=impair, out=cfg["out"],
                 notes=notes, live=None if cfg["live"] else False, quiet=quiet)
    return 0
