"""The ``lab`` pipeline kind: who wears which band, the group criterion and the session folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dreamband.pipeline.spec import Field, Table

__all__ = ["SCHEMA", "run_lab_pipeline"]


def _check_profile(value: str) -> str | None:
    from firmware_bridge.profiles import PROFILES

    if value in PROFILES:
        return None
    return f"expected one of {', '.join(sorted(PROFILES))}, got {value!r}"


PARTICIPANT = Table(
    {
        "name": Field("str", required=True, help="participant name"),
        "band": Field("str", required=True, help="Bluetooth address or advertised name"),
        "profile": Field("str", default=None, check=_check_profile,
                         help="muse, ganglion, heart_rate or polar_h10 (default: guessed)"),
        "stream": Field("str", default=None, choices=("rr", "hr", "ecg"),
                        help="heart bands: the stream to stage"),
        "eeg": Field("str", default=None, help="EEG bands: EEG channel"),
        "eog": Field("str", default=None, help="EEG bands: EOG channel or \"none\""),
        "emg": Field("str", default=None, help="EEG bands: EMG channel or \"none\""),
    },
    required=True,
    many=True,
    help="[[participants]] tables, one per band",
)

SCHEMA = Table({
    "kind": Field("str", required=True, choices=("lab",)),
    "description": Field("str", default=""),
    "out": Field("path", required=True, help="session folder"),
    "minutes": Field("float", default=None, minimum=0.1,
                     help="stop after this many minutes (default: until Ctrl-C)"),
    "k": Field("int", default=None, minimum=1, help="participants in REM together"),
    "min_window_min": Field("float", default=1.0, minimum=0.1,
                            help="shortest group window, minutes"),
    "epoch_s": Field("float", default=30.0, minimum=1.0, help="epoch length, s"),
    "heart_lag": Field("int", default=0, minimum=0, help="heart decision delay, epochs"),
    "connect_timeout_s": Field("float", default=60.0, minimum=1.0,
                               help="seconds a band without a profile has to connect"),
    "live": Field("bool", default=True, help="live table on a terminal"),
    "events": Field("path", default=None, help="also write every event as JSON lines here"),
    "stage_events": Field("bool", default=True, help="include per-epoch stage events"),
    "participants": PARTICIPANT,
})


def run_lab_pipeline(cfg: dict[str, Any], source: Path, quiet: bool = False) -> int:
    """Perform a validated lab pipeline; returns the exit code."""
    from dreamband.errors import DreambandError, InputFileError
    from dreamband.lab.console import run_and_show
    from dreamband.lab.participants import LabParticipant
    from dreamband.lab.run import LabError, LabOptions

    people = []
    for i, part in enumerate(cfg["participants"]):
        try:
            people.append(LabParticipant(part["name"], part["band"], part["profile"],
                                         part["stream"], part["eeg"], part["eog"], part["emg"]))
        except ValueError as exc:
            raise InputFileError(source, str(exc), f"key 'participants[{i}]'") from None
    epoch = cfg["epoch_s"]
    options = LabOptions(
        duration_s=None if cfg["minutes"] is None else cfg["minutes"] * 60, epoch_length=epoch,
        k=cfg["k"], min_epochs=max(1, round(cfg["min_window_min"] * 60 / epoch)),
        heart_lag=cfg["heart_lag"], connect_timeout=cfg["connect_timeout_s"])
    try:
        run_and_show(people, cfg["out"], options, {}, None,
                     None if cfg["live"] else False, quiet,
                     None if cfg["events"] is None else str(cfg["events"]), cfg["stage_events"])
    except LabError as exc:
        raise DreambandError(f"{source}: {exc}") from None
    return 0
