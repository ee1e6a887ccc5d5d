"""DREAMS Sleep Spindles Database: one-channel EEG text files, 5-s hypnograms, spindle scorings.

Each excerpt lasts 1800 s. ``excerptN.txt`` holds a header line naming the channel
(``[C3-A1]``) then one sample per line in µV; the sampling rate is ``samples / 1800``.
``Hypnogram_excerptN.txt`` holds ``[Hypnogram]`` then one R&K label per 5 s (5 W, 4 REM,
3 S1, 2 S2, 1 S3, 0 S4, negative = movement/unknown). The experts scored in 20-s epochs, so
every change falls on a 20-s boundary.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dreamband.core.hypnogram import Hypnogram
from dreamband.core.recording import Channel, Recording
from dreamband.core.stages import from_dreams
from dreamband.errors import InputFileError

__all__ = [
    "EXCERPT_DURATION",
    "SpindleScoring",
    "read_dreams_eeg",
    "read_dreams_hypnogram",
    "read_dreams_spindles",
]

#: Duration in seconds of every DREAMS excerpt.
EXCERPT_DURATION = 1800.0
_LABEL_STEP = 5.0


@dataclass(frozen=True)
class SpindleScoring:
    """Spindles marked by one expert: onsets and durations in seconds from the excerpt start."""

    onsets: np.ndarray
    durations: np.ndarray
    channel: str
    source: str

    def __len__(self) -> int:
        return int(self.onsets.size)


def _header_and_values(path: Path, n_cols: int = 1) -> tuple[str, np.ndarray]:
    if not path.is_file():
        raise InputFileError(path, "no such file")
    with path.open(encoding="latin-1") as fh:
        first = fh.readline().strip()
        m = re.fullmatch(r"\[(.+)\]", first)
        if not m:
            raise InputFileError(path, f"expected a '[name]' header; got {first[:40]!r}", "line 1")
        rows = []
        for i, line in enumerate(fh, start=2):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != n_cols:
                raise InputFileError(
                    path, f"expected {n_cols} number(s), got {len(parts)}", f"line {i}"
                )
            try:
                rows.append([float(x) for x in parts])
            except ValueError:
                raise InputFileError(
                    path, f"not a number: {line.strip()[:40]!r}", f"line {i}"
                ) from None
    values = np.asarray(rows, dtype=float).reshape(-1, n_cols)
    return m.group(1), values


def read_dreams_eeg(path: str | os.PathLike) -> Recording:
    """Read a DREAMS ``excerptN.txt`` EEG file.

    Returns
    -------
    Recording
        One channel named from the header (``"C3-A1"``), in µV, ``fs = n_samples / 1800``;
        no start time (the excerpts carry none).

    Raises
    ------
    InputFileError
        If the header or a sample line is bad, or the sample count gives no whole rate.
    """
    path = Path(path)
    name, values = _header_and_values(path)
    data = values[:, 0]
    fs = data.size / EXCERPT_DURATION
    if data.size == 0 or abs(fs - round(fs)) > 1e-9:
        raise InputFileError(
            path, f"{data.size} samples is not a whole sampling rate over 1800 s", "length"
        )
    chan = Channel(name=name, data=data, fs=float(round(fs)), unit="uV", kind="eeg")
    return Recording(channels=[chan], source=str(path), participant=path.stem)


def read_dreams_hypnogram(path: str | os.PathLike, epoch_length: float = 30.0) -> Hypnogram:
    """Read a DREAMS ``Hypnogram_excerptN.txt`` (one label per 5 s).

    Parameters
    ----------
    path : str or PathLike
        The hypnogram file.
    epoch_length : float
        A multiple of 5 s. Each epoch takes the **centre** 5-s label of its window (the
        label covering the window's midpoint, e.g. the one starting 15 s into a 30-s
        window). 20 gives the experts' own epochs exactly (labels are constant within
        them). 30 (default) gives epochs that may straddle two expert epochs; the centre
        rule needs no tie-break, unlike a majority vote over 6 labels. A trailing window
        shorter than an epoch is dropped.

    Returns
    -------
    Hypnogram
        S3/S4 → N3; movement and unknown (negative codes) → UNSCORED; offset 0.

    Raises
    ------
    InputFileError
        If the header or a line is bad, a code is unknown, or ``epoch_length`` is not a
        multiple of 5 s.
    """
    path = Path(path)
    _, values = _header_and_values(path)
    codes = values[:, 0]
    if np.any(codes != np.round(codes)):
        i = int(np.flatnonzero(codes != np.round(codes))[0])
        raise InputFileError(path, f"stage code {codes[i]} is not an integer", f"line {i + 2}")
    ratio = epoch_length / _LABEL_STEP
    if not (ratio >= 1 and abs(ratio - round(ratio)) < 1e-9):
        raise ValueError(f"epoch_length must be a multiple of 5 s; got {epoch_length}")
    step = round(ratio)
    n = codes.size // step
    centre = (step * _LABEL_STEP / 2) // _LABEL_STEP  # index of the label covering the centre
    labels = np.empty(codes.size, dtype=np.int8)
    for k, code in enumerate(codes):
        try:
            labels[k] = from_dreams(int(code))
        except ValueError as exc:
            raise InputFileError(path, str(exc), f"line {k + 2}") from None
    stages = labels[np.arange(n) * step + int(centre)]
    return Hypnogram(
        stages=stages,
        epoch_length=float(epoch_length),
        offset=0.0,
        source=str(path),
        meta={"label_step": _LABEL_STEP, "n_labels": int(codes.size)},
    )


def read_dreams_spindles(path: str | os.PathLike) -> SpindleScoring:
    """Read a DREAMS ``Visual_scoringK_excerptN.txt`` spindle scoring (onset, duration in s).

    Raises
    ------
    InputFileError
        If the header or a line is bad, or a duration is not positive.
    """
    path = Path(path)
    name, values = _header_and_values(path, n_cols=2)
    if np.any(values[:, 1] <= 0):
        i = int(np.flatnonzero(values[:, 1] <= 0)[0])
        raise InputFileError(
            path, f"spindle duration must be positive; got {values[i, 1]}", f"line {i + 2}"
        )
    channel = name.split("/")[-1]
    return SpindleScoring(
        onsets=values[:, 0].copy(), durations=values[:, 1].copy(), channel=channel, source=str(path)
    )
