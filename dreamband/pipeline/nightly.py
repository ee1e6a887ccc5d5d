"""The ``nightly`` pipeline kind: a batch run described in a TOML file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dreamband.pipeline.spec import Field, Table

__all__ = ["SCHEMA", "run_nightly"]

SCHEMA = Table(
    {
        "kind": Field("str", required=True, choices=("nightly",)),
        "description": Field("str", default=""),
        "inputs": Field("list[str]", required=True,
                        help="files, folders (relative to this file) or dataset names"),
        "out": Field("path", required=True, help="output dataset folder"),
        "engine": Field("str", default="rules", choices=("rules", "model")),
        "session_stages": Field("str", default="raw", choices=("raw", "live"),
                                help="live sessions: restage from raw streams, or keep live"),
        "workers": Field("int", default=None, minimum=1),
        "scheduler": Field("str", default=None, help="Dask scheduler address, tcp://host:port"),
        "sessions": Field("path", default=None, must_exist=True, help="sessions TOML file"),
        "data_dir": Field("path", default=None, help="data folder for dataset names"),
        "force": Field("bool", default=False),
        "group": Table(
            {
                "k": Field("int", default=2, minimum=1),
                "min_duration_s": Field("float", default=60.0, minimum=0.0),
            }
        ),
    }
)


def _resolve_inputs(items: list[str], base: Path) -> list[str]:
    out = []
    for item in items:
        candidate = Path(item).expanduser()
        if not candidate.is_absolute() and (base / candidate).exists():
            candidate = base / candidate
        out.append(str(candidate) if candidate.exists() else item)
    return out


def run_nightly(cfg: dict[str, Any], source: Path, quiet: bool = False) -> int:
    """Perform a validated nightly pipeline; returns the exit code (1 if a night failed)."""
    import argparse

    from dreamband.cli import cmd_batch

    args = argparse.Namespace(
        inputs=_resolve_inputs(cfg["inputs"], source.parent),
        out=cfg["out"],
        workers=cfg["workers"],
        scheduler=cfg["scheduler"],
        sessions=cfg["sessions"],
        engine=cfg["engine"],
        session_stages=cfg["session_stages"],
        k=cfg["group"]["k"],
        min_duration=cfg["group"]["min_duration_s"],
        force=cfg["force"],
        data_dir=cfg["data_dir"],
        quiet=quiet,
    )
    return cmd_batch.run(args)
