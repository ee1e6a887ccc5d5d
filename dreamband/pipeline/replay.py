"""The ``replay`` pipeline kind: sources, impairments, speed and outputs of a replay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dreamband.pipeline.spec import Field, Table

__all__ = ["SCHEMA", "check_pair", "check_speed", "impairments_of", "options_of", "run_replay"]


def check_speed(value: str) -> str | None:
    """``"max"`` or a positive number written as a string."""
    if value == "max":
        return None
    try:
        ok = float(value) > 0
    except ValueError:
        ok = False
    return None if ok else f"expected \"max\" or a number > 0 as a string (\"60\"), got {value!r}"


def check_pair(value: list[float]) -> str | None:
    """``[period, duration]`` with period > duration >= 0."""
    if len(value) != 2 or not value[0] > value[1] >= 0:
        return f"expected [period_s, duration_s] with period > duration >= 0, got {value!r}"
    return None


#: Keys shared by the replay and demo kinds.
COMMON: dict[str, Field | Table] = {
    "description": Field("str", default=""),
    "out": Field("path", required=True, help="session folder"),
    "speed": Field("str", default="max", check=check_speed,
                   help='"max" or N times real time as a string, e.g. "60"'),
    "align": Field("str", default="lights-off", choices=("lights-off", "clock")),
    "start_min": Field("float", default=0.0, minimum=0.0, help="minutes after lights-off"),
    "minutes": Field("float", default=None, minimum=0.1, help="minutes of night to replay"),
    "data_dir": Field("path", default=None, must_exist=True, help="data folder"),
    "impair": Field("path", default=None, must_exist=True, help="impairment TOML file"),
    "seed": Field("int", default=0, minimum=0),
    "live": Field("bool", default=True, help="live table on a terminal"),
}

PARTICIPANT = Table(
    {
        "source": Field("str", required=True,
                        help="file, slpdb:REC, sleep-edf:REC or virtual:HYPNOGRAM"),
        "name": Field("str", default=None, help="participant name"),
        "offset_s": Field("float", default=None, help="device clock at power-on, s"),
        "drift_ppm": Field("float", default=None, minimum=-1000.0, maximum=1000.0),
        "latency_s": Field("float", default=None, minimum=0.0, maximum=10.0),
        "jitter_s": Field("float", default=None, minimum=0.0, maximum=10.0),
        "loss": Field("float", default=None, minimum=0.0, maximum=0.99),
        "disconnect_at": Field("list[float]", default=None, minimum=0.0,
                               help="seconds after the band starts"),
        "disconnect_for_s": Field("float", default=30.0, minimum=0.0,
                                  help="duration of each disconnect_at drop, s"),
        "disconnect_every": Field("list[float]", default=None, check=check_pair,
                                  help="[period_s, duration_s]"),
    },
    required=True,
    many=True,
    help="[[participants]] tables, one per band",
)

SCHEMA = Table({"kind": Field("str", required=True, choices=("replay",)), **COMMON,
                "participants": PARTICIPANT})


def options_of(cfg: dict[str, Any]):  # -> ReplayOptions
    """Replay options of a validated configuration."""
    from dreamband.replay.session import ReplayOptions

    speed: float | str = cfg["speed"] if cfg["speed"] == "max" else float(cfg["speed"])
    minutes = cfg["minutes"]
    return ReplayOptions(speed=speed, align=cfg["align"], start_s=cfg["start_min"] * 60,
                         duration_s=None if minutes is None else minutes * 60, seed=cfg["seed"])


def impairments_of(cfg: dict[str, Any], names: list[str]):  # -> Impairments | None
    """The impairment file (if any) updated by the per-participant keys."""
    from dreamband.replay.impair import Impairments, load_impairments

    impair = load_impairments(cfg["impair"]) if cfg["impair"] else Impairments()
    keys = ("offset_s", "drift_ppm", "latency_s", "jitter_s", "loss")
    for part, name in zip(cfg.get("participants", []), names, strict=False):
        values = {k: part[k] for k in keys if part[k] is not None}
        if part["disconnect_at"]:
            values["disconnects"] = [(t, part["disconnect_for_s"]) for t in part["disconnect_at"]]
        if part["disconnect_every"]:
            values["disconnect_every"] = tuple(part["disconnect_every"])
        if values:
            impair.bands.append((name, values))
    return impair


def run_replay(cfg: dict[str, Any], source: Path, quiet: bool = False) -> int:
    """Perform a validated replay pipeline; returns the exit code."""
    from dreamband.errors import InputFileError
    from dreamband.replay.console import run_and_show
    from dreamband.replay.sources import resolve_source

    sources = []
    for i, part in enumerate(cfg["participants"]):
        spec = part["source"]
        prefix = spec.partition(":")[0]
        if prefix not in ("slpdb", "sleep-edf", "virtual") and not Path(spec).is_absolute():
            spec = str(source.parent / spec)  # files are relative to the pipeline file
        elif prefix == "virtual" and not spec.startswith("virtual:generated"):
            arg = Path(spec.partition(":")[2])
            spec = f"virtual:{arg if arg.is_absolute() else source.parent / arg}"
        try:
            sources.append(resolve_source(spec, name=part["name"], data_dir=cfg["data_dir"],
                                          seed=cfg["seed"] + i))
        except (InputFileError, ValueError) as exc:
            raise InputFileError(source, str(exc), f"key 'participants[{i}].source'") from None
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise InputFileError(source, f"participant names must be unique; got {names} (set "
                             "'name' in [[participants]])", "key 'participants'")
    run_and_show(sources, options=options_of(cfg), impairments=impairments_of(cfg, names),
                 out=cfg["out"], live=None if cfg["live"] else False, quiet=quiet)
    return 0
