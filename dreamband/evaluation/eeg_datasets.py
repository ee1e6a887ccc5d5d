"""Labelled EEG recordings of the datasets dreamband can evaluate and train on."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dreamband.errors import InputFileError
from dreamband.paths import data_dir

__all__ = ["EEG_DATASETS", "LabelledRecord", "dataset_folder", "iter_records"]

logger = logging.getLogger(__name__)

#: Datasets with EEG and expert hypnograms, and their folder names in the data folder.
EEG_DATASETS: dict[str, str] = {"dreams": "dreams-spindles", "sleep-edf": "sleep-edf"}


@dataclass(frozen=True)
class LabelledRecord:
    """One recording with its expert stages on the chosen epoch grid."""

    name: str
    subject: str
    recording: object  # dreamband.core.Recording
    labels: np.ndarray  # SleepStage codes, -1 unscored
    epoch_length: float
    offset: float = 0.0  # seconds from the recording start of label 0


def dataset_folder(dataset: str, data: str | Path | None = None) -> Path:
    """Folder of a dataset inside the data folder (``--data-dir`` → ``$DREAMBAND_DATA``)."""
    if dataset not in EEG_DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(EEG_DATASETS)}; got {dataset!r}")
    root = data_dir(data)
    folder = root / EEG_DATASETS[dataset]
    if not folder.is_dir():
        raise InputFileError(folder, f"dataset folder missing; run 'dreamband fetch {dataset}'")
    return folder


def _dreams(folder: Path, epoch_length: float) -> Iterator[LabelledRecord]:
    from dreamband.io.dreams import read_dreams_eeg, read_dreams_hypnogram

    files = sorted(folder.glob("excerpt*.txt"), key=lambda p: int(re.sub(r"\D", "", p.stem)))
    if not files:
        raise InputFileError(folder, "no excerptN.txt files")
    for f in files:
        hyp_path = folder / f"Hypnogram_{f.stem}.txt"
        if not hyp_path.exists():
            logger.warning("%s: no hypnogram %s, skipped", f, hyp_path.name)
            continue
        hyp = read_dreams_hypnogram(hyp_path, epoch_length=epoch_length)
        yield LabelledRecord(f.stem, f.stem, read_dreams_eeg(f), hyp.stages, epoch_length)


def _sleep_edf(folder: Path, epoch_length: float) -> Iterator[LabelledRecord]:
    from dreamband.io.edf import read_edf
    from dreamband.io.sleepedf import find_hypnogram, read_sleepedf_hypnogram

    if abs(epoch_length - 30.0) > 1e-9:
        raise ValueError("Sleep-EDF is scored in 30-s epochs; use --epoch 30")
    psgs = sorted(folder.glob("SC*-PSG.edf")) + sorted(folder.glob("ST*-PSG.edf"))
    if not psgs:
        raise InputFileError(
            folder, "no *-PSG.edf recordings (only hypnograms); run 'dreamband fetch sleep-edf'"
        )
    for psg in psgs:
        rec = read_edf(psg, channels=["EEG Fpz-Cz", "EOG horizontal", "EMG submental"])
        hyp = read_sleepedf_hypnogram(find_hypnogram(psg), psg_duration=rec.duration)
        hyp = hyp.crop_in_bed()
        yield LabelledRecord(
            psg.name[:7], psg.name[3:5], rec, hyp.stages, 30.0, offset=hyp.offset
        )


def iter_records(
    dataset: str, data: str | Path | None = None, epoch_length: float = 30.0
) -> Iterator[LabelledRecord]:
    """Yield the labelled recordings of a dataset.

    Parameters
    ----------
    dataset : {"dreams", "sleep-edf"}
    data : path, optional
        Data folder (default ``$DREAMBAND_DATA`` or the user data folder).
    epoch_length : float
        30 (or 20 for DREAMS, whose experts scored 20-s epochs).

    Raises
    ------
    InputFileError
        If the dataset folder or its recordings are missing.
    """
    folder = dataset_folder(dataset, data)
    if dataset == "dreams":
        yield from _dreams(folder, epoch_length)
    else:
        yield from _sleep_edf(folder, epoch_length)
