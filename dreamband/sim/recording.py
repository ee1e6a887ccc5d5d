"""Whole simulated nights: a :class:`~dreamband.core.Recording`, or an EDF file like Sleep-EDF's.

For plumbing, load, replay and demos — NEVER an accuracy figure. Files written here say so in
their EDF header (recording field ``dreamband-virtual-sleeper``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np

from dreamband.core.hypnogram import Hypnogram
from dreamband.core.recording import Channel, Recording
from dreamband.errors import InputFileError
from dreamband.sim.params import CHANNELS
from dreamband.sim.sleeper import SIMULATED_NOTE, VirtualSleeper

__all__ = ["simulate_recording", "write_edf"]

logger = logging.getLogger(__name__)

_DEFAULT_START = datetime(2000, 1, 1, 22, 0, 0)


def _collect(sleeper: VirtualSleeper, chunk_s: float) -> dict[str, np.ndarray]:
    data = {name: np.empty(sleeper.n_samples, dtype=np.float32) for name in sleeper.channels}
    for t, block in sleeper.chunks(chunk_s):
        a = int(np.rint(t * sleeper.fs))
        for name, x in block.items():
            data[name][a:a + x.size] = x
    return data


def simulate_recording(
    hypnogram: Hypnogram,
    *,
    fs: float | None = None,
    channels: str | list[str] = "psg",
    seed: int = 0,
    participant: str = "",
    chunk_s: float = 3600.0,
    **options,
) -> Recording:
    """Simulate a whole night following ``hypnogram`` as a :class:`Recording`.

    For plumbing, load, replay and demos — NEVER an accuracy figure (``meta["note"]`` says
    so, and ``meta["simulated"]`` is True).

    Parameters
    ----------
    hypnogram : Hypnogram
        The night to follow; see :class:`VirtualSleeper`.
    fs, channels, seed, participant
        As for :class:`VirtualSleeper`.
    chunk_s : float
        Seconds generated per step (memory only; the samples do not depend on it).
    **options
        Further :class:`VirtualSleeper` arguments (``artefacts``, ``ectopics_per_hour``).

    Returns
    -------
    Recording
        float32 channels in µV, ``start_time`` from the hypnogram, ``meta`` holding the
        hypnogram, the seed and the heart beats (:class:`~dreamband.core.BeatSeries`).
    """
    sleeper = VirtualSleeper(hypnogram, fs=fs, channels=channels, seed=seed,
                             participant=participant, **options)
    data = _collect(sleeper, chunk_s)
    chans = [Channel(name, data[name], sleeper.fs, "uV", CHANNELS[name].kind)
             for name in sleeper.channels]
    return Recording(
        chans,
        start_time=hypnogram.start_time,
        source=f"virtual:{hypnogram.source or 'hypnogram'}",
        participant=participant,
        meta={"simulated": True, "note": SIMULATED_NOTE, "seed": seed,
              "hypnogram": replace(hypnogram, offset=0.0), "beats": sleeper.beats()},
    )


def _physical_range(x: np.ndarray) -> tuple[float, float]:
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    r = max(100.0, 50.0 * np.ceil(peak / 50.0))
    return -r, r


def write_edf(
    sleeper: VirtualSleeper,
    path: str | os.PathLike,
    *,
    hypnogram_path: str | os.PathLike | None = None,
    chunk_s: float = 3600.0,
) -> Path:
    """Write a simulated night as an EDF file with Sleep-EDF channel names.

    For plumbing, load, replay and demos — NEVER an accuracy figure; the EDF recording field
    names the simulator and the seed.

    Parameters
    ----------
    sleeper : VirtualSleeper
        The sleeper to write (its ``"psg"`` preset uses Sleep-EDF's names: ``EEG Fpz-Cz``,
        ``EEG Pz-Oz``, ``EOG horizontal``, ``EMG submental``).
    path : str or PathLike
        Output ``.edf`` file (the folder must exist).
    hypnogram_path : str or PathLike, optional
        Also write the hypnogram there as an annotation-only EDF+ file (Sleep-EDF layout).
    chunk_s : float
        Seconds generated per step.

    Returns
    -------
    Path
        The written signal file.

    Raises
    ------
    InputFileError
        If the output folder does not exist.
    """
    import edfio

    path = Path(path)
    if not path.parent.is_dir():
        raise InputFileError(path, "output folder does not exist")
    data = _collect(sleeper, chunk_s)
    signals = []
    for name in sleeper.channels:
        x = data[name].astype(np.float64)
        signals.append(edfio.EdfSignal(
            x, sleeper.fs, label=name, physical_dimension="uV",
            physical_range=_physical_range(x), transducer_type="simulated",
            prefiltering="virtual sleeper",
        ))
    start = sleeper.hypnogram.start_time or _DEFAULT_START
    start = start.replace(microsecond=0)
    edf = edfio.Edf(
        signals,
        patient=edfio.Patient(code="X", sex="X", name="virtual_sleeper"),
        recording=edfio.Recording(startdate=start.date(), hospital_administration_code="X",
                                  investigator_technician_code="X",
                                  equipment_code="dreamband-virtual-sleeper",
                                  additional=(f"seed={sleeper.seed}",)),
        starttime=start.time(),
        data_record_duration=1.0 if float(sleeper.fs).is_integer() else None,
    )
    edf.write(path)
    logger.info("wrote simulated night (%s) to %s", SIMULATED_NOTE, path)
    if hypnogram_path is not None:
        from dreamband.io.hypnogram_files import write_edf_hypnogram

        hyp = replace(sleeper.hypnogram, offset=0.0, start_time=start)
        write_edf_hypnogram(hyp, hypnogram_path)
    return path
