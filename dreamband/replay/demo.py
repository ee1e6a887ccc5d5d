"""The demo line-up: EEG bands and heart-rate bands from whatever data is at hand.

- EEG bands: real Sleep-EDF PSGs when fetched; otherwise virtual sleepers driven by the real
  Sleep-EDF expert hypnograms of the data folder (labelled SIMULATED); with no data at all,
  virtual sleepers driven by nights from the built-in generator (labelled generated).
- Heart-rate bands: real slpdb heart beats (records with REM first); with no slpdb folder,
  the beats of virtual sleepers (labelled SIMULATED), as long as a heart model was trained
  on this machine before. The heart stager is trained from slpdb (no model ships): with
  neither slpdb nor a trained model, the heart-rate slots become more EEG virtual sleepers,
  and a note says how to get slpdb.

:func:`demo_sources` also returns plain sentences saying what is used, for the CLI to print.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from dreamband.errors import DreambandError
from dreamband.replay.hypnogen import generate_hypnogram
from dreamband.replay.sources import (
    ReplaySource,
    resolve_source,
    sleeper_heart_source,
    sleeper_source,
)

__all__ = ["HEART_RECORDS", "demo_sources", "find_data_folder"]

logger = logging.getLogger(__name__)

#: slpdb records tried in this order (slp32, slp66 and slp67x have no REM).
HEART_RECORDS = ("slp03", "slp04", "slp14", "slp37", "slp41", "slp48", "slp59", "slp60",
                 "slp61", "slp01a", "slp02a")


def find_data_folder(data_dir: str | os.PathLike | None = None) -> Path | None:
    """``data_dir`` -> ``$DREAMBAND_DATA`` -> the user data folder; None when none exists."""
    from dreamband.paths import data_dir as resolve

    folder = resolve(data_dir)
    return folder if folder.is_dir() else None


def _sleep_edf_records(folder: Path | None) -> list[str]:
    if folder is None or not (folder / "sleep-edf").is_dir():
        return []
    names = sorted(p.name[:6] for p in (folder / "sleep-edf").rglob("SC4*-Hypnogram.edf"))
    # one night per subject first (SC4001, SC4011, ...), then the second nights
    return sorted(dict.fromkeys(names), key=lambda r: (r[5], r))


def _slpdb_records(folder: Path | None) -> list[str]:
    if folder is None or not (folder / "slpdb").is_dir():
        return []
    return [r for r in HEART_RECORDS if (folder / "slpdb" / f"{r}.hea").is_file()
            and (folder / "slpdb" / f"{r}.ecg").is_file()]


def demo_sources(data_dir: str | os.PathLike | None = None, n_eeg: int = 3, n_heart: int = 3,
                 seed: int = 0) -> tuple[list[ReplaySource], list[str]]:
    """Participants of the demo and sentences saying what they are made of.

    Parameters
    ----------
    data_dir : path, optional
        Data folder (default ``$DREAMBAND_DATA``, then the user data folder).
    n_eeg, n_heart : int
        Number of EEG and heart-rate bands.
    seed : int
        Seed of virtual sleepers and generated nights.

    Returns
    -------
    sources : list of ReplaySource
    notes : list of str
    """
    if n_eeg < 0 or n_heart < 0 or n_eeg + n_heart < 1:
        raise DreambandError(f"need at least one participant; got {n_eeg} EEG + {n_heart} heart")
    folder = find_data_folder(data_dir)
    notes = [f"data folder: {folder}" if folder else
             "data folder: none found (set $DREAMBAND_DATA or --data-dir); using built-in "
             "generated nights"]
    sources: list[ReplaySource] = []
    from dreamband.staging.heart_store import ensure_heart_model, is_trained

    heart = _slpdb_records(folder)
    if n_heart and heart:
        # the live model (trained on first use) is ready before any band starts
        ensure_heart_model("rr", live=True, data_dir=folder)
    elif n_heart and not is_trained("rr", live=True):
        notes.append(f"heart-rate bands: none, {n_heart} more EEG bands instead (the heart "
                     "stager is trained from PhysioNet slpdb, which is not here: "
                     "`dreamband fetch slpdb --purpose heart-staging`)")
        n_eeg, n_heart = n_eeg + n_heart, 0
    records = _sleep_edf_records(folder)
    for i in range(n_eeg):
        if records:
            rec = records[i % len(records)]
            src = resolve_source(f"sleep-edf:{rec}", name=f"eeg{i + 1}-{rec}", data_dir=folder,
                                 seed=seed + i)
        else:
            hyp = generate_hypnogram(seed + i)
            src = sleeper_source(hyp, f"eeg{i + 1}-gen{seed + i}", f"virtual:generated:{seed + i}",
                                 seed + i, f"built-in generated night #{seed + i}")
        sources.append(src)
    for i in range(n_heart):
        if heart:
            rec = heart[i % len(heart)]
            src = resolve_source(f"slpdb:{rec}", name=f"hr{i + 1}-{rec}", data_dir=folder)
        else:
            k = seed + 100 + i
            src = sleeper_heart_source(generate_hypnogram(k), f"hr{i + 1}-gen{k}",
                                       f"virtual:generated:{k}", k,
                                       f"built-in generated night #{k}")
        sources.append(src)
    n_real_eeg = sum(1 for s in sources if s.kind == "eeg" and not s.simulated)
    if n_eeg:
        if n_real_eeg == n_eeg:
            notes.append(f"EEG bands: {n_eeg} real Sleep-EDF PSGs")
        elif records:
            notes.append(f"EEG bands: {n_eeg - n_real_eeg} SIMULATED virtual sleepers driven by "
                         "real Sleep-EDF expert hypnograms (PSGs not fetched: "
                         "`dreamband fetch sleep-edf`)"
                         + (f", {n_real_eeg} real PSGs" if n_real_eeg else ""))
        else:
            notes.append(f"EEG bands: {n_eeg} SIMULATED virtual sleepers driven by built-in "
                         "generated nights (no Sleep-EDF hypnograms found)")
    if n_heart:
        notes.append(f"heart-rate bands: {n_heart} real slpdb heart-beat recordings" if heart
                     else f"heart-rate bands: {n_heart} SIMULATED beat series (no slpdb folder)")
    notes.append("simulated signals are for plumbing and demos: never an accuracy figure")
    return sources, notes
