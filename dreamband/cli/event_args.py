"""What ``dreamband spindles`` and ``dreamband slow-waves`` share: their arguments, the
night to search (recording, channels, hypnogram) and writing the table."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["add_event_arguments", "load_event_night", "stage_codes", "write_table"]

_NREM = ("N1", "N2", "N3")


def add_event_arguments(p: argparse.ArgumentParser, what: str) -> None:
    """The arguments of an event command (``what``: ``"spindles"``, ``"slow waves"``)."""
    p.add_argument("input", metavar="INPUT", help="recording: EDF/BDF, DREAMS .txt or .npz")
    p.add_argument("--eeg", metavar="CH[,CH...]",
                   help="EEG channel(s) to search (default: the channel staging picks)")
    p.add_argument("--hypnogram", metavar="FILE", help="use this hypnogram instead of staging")
    p.add_argument("--stages", default=",".join(_NREM), metavar="LIST",
                   help=f"keep {what} in these stages (default N1,N2,N3; 'all' keeps every "
                        "one, unscored epochs included)")


def stage_codes(text: str, command: str) -> tuple[int, ...] | None:
    """Stage codes of a ``--stages`` list; None for ``all``."""
    from dreamband.core.stages import parse_stage

    if text.strip().lower() == "all":
        return None
    try:
        return tuple(int(parse_stage(s.strip())) for s in text.split(",") if s.strip())
    except ValueError as exc:
        raise SystemExit(f"dreamband {command}: --stages: {exc}") from None


def load_event_night(args: argparse.Namespace, what: str) -> tuple[Any, list, Any]:
    """The recording, the channels to search and the night's hypnogram (staged with the
    rules engine on the first channel unless ``--hypnogram`` is given).

    Raises
    ------
    InputFileError
        For a heart input (events are found in EEG) or an unreadable recording.
    ChannelNotFoundError
        For a ``--eeg`` channel the recording lacks.
    """
    from dreamband.errors import InputFileError
    from dreamband.io.dispatch import read_hypnogram
    from dreamband.staging.api import select_inputs, stage_recording
    from dreamband.staging.inputs import read_recording

    path = Path(args.input)
    if path.suffix.lower() in (".csv", ".hea", ".ecg"):
        raise InputFileError(path, f"{what} are found in EEG; this is a heart input (RR, "
                             "heart rate or beats): give an EDF/BDF, DREAMS .txt or .npz")
    rec = read_recording(path)
    names = [c.strip() for c in args.eeg.split(",") if c.strip()] if args.eeg else []
    channels = [rec.channel(n) for n in names] if names else [select_inputs(rec).eeg]
    if args.hypnogram:
        hyp = read_hypnogram(args.hypnogram)
    else:
        hyp = stage_recording(rec, eeg=channels[0].name)
    return rec, channels, hyp


def write_table(
    tables: Sequence[Any], out: str | None, writer: Callable[[Sequence[Any], Path], Path],
    name: str,
) -> None:
    """Write the tables to ``out``, or to stdout when it is None."""
    if out:
        writer(tables, Path(out))
        print(f"wrote {out}", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as tmp:
        sys.stdout.write(writer(tables, Path(tmp) / name).read_text("utf-8"))
