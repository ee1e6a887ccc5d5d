"""The slow-wave table file and a night's slow-wave summary."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dreamband.core.stages import SleepStage
from dreamband.events.search import event_summary, stage_label, write_event_rows
from dreamband.slowwaves.detect import SlowWaves

__all__ = ["SLOW_WAVE_COLUMNS", "slow_wave_summary", "write_slow_waves_csv"]

#: Columns of the slow-wave CSV; times in seconds from the recording start.
SLOW_WAVE_COLUMNS = (
    "start", "end", "duration", "neg_peak", "pos_peak", "neg_amplitude", "pos_amplitude",
    "ptp", "frequency", "slope", "stage", "channel",
)


def _num(v: float, fmt: str) -> str:
    return format(v, fmt) if np.isfinite(v) else ""


def write_slow_waves_csv(tables: Sequence[SlowWaves], path: str | os.PathLike) -> Path:
    """Write slow waves as CSV, one row per wave, sorted by start (channels interleaved).

    Parameters
    ----------
    tables : sequence of SlowWaves
        One table per channel searched.
    path : str or PathLike
        The CSV file to write.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    rows = []
    for t in tables:
        for i in range(len(t)):
            rows.append((t.start[i], [
                f"{t.start[i]:.2f}", f"{t.end[i]:.2f}", f"{t.duration[i]:.2f}",
                f"{t.neg_peak[i]:.3f}", f"{t.pos_peak[i]:.3f}",
                f"{t.neg_amplitude[i]:.2f}", f"{t.pos_amplitude[i]:.2f}", f"{t.ptp[i]:.2f}",
                f"{t.frequency[i]:.3f}", _num(t.slope[i], ".1f"), stage_label(t.stage[i]),
                t.channel,
            ]))
    return write_event_rows(path, SLOW_WAVE_COLUMNS, rows)


def slow_wave_summary(
    sw: SlowWaves, stages: np.ndarray | None, epoch_length: float = 30.0
) -> dict:
    """A night's slow-wave figures: count, density per minute of N2 and N3, means.

    Parameters
    ----------
    sw : SlowWaves
        The night's slow waves (their ``stage`` set from ``stages``).
    stages : numpy.ndarray, optional
        Stage codes of the night's epochs, for the densities.
    epoch_length : float
        Epoch length of ``stages`` in seconds.

    Returns
    -------
    dict
        ``count``, ``density`` (stage label → slow waves per minute of that stage, for
        N2 and N3 when the night holds them), ``ptp`` (µV) and ``frequency`` (Hz) means.
    """
    return event_summary(sw, stages, epoch_length, (SleepStage.N2, SleepStage.N3),
                         {"ptp": sw.ptp, "frequency": sw.frequency})
