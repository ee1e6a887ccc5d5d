"""Labelled nights of the heart datasets as feature matrices (for training and evaluation).

* ``slpdb``: MIT-BIH Polysomnographic Database beat annotations, our own features
  (:func:`dreamband.features.heart_context.heart_features`). Each record is one night
  as the database gives it; records slp01a/slp01b and slp02a/slp02b (segments of one
  night each) are one subject for the folds. (Joining those segments on one timeline was
  tried: pooled LOSO kappa 0.428 vs 0.453, REM F1 0.23 vs 0.38, a sign of how unstable REM
  is on these 14 apnoea patients.) ``kind="hr"`` turns the beats into a 1-Hz heart-rate
  stream first, the signal a wristband without RR gives.
* ``sleep-accel``: the Walch 2019 Apple Watch study's own per-epoch features (HR
  variability proxy, activity counts, clock proxies), *not* computed by our pipeline.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dreamband.core.beats import BeatSeries
from dreamband.errors import InputFileError

__all__ = [
    "DATASETS",
    "SLEEP_ACCEL_FEATURES",
    "NightFeatures",
    "beats_features",
    "load_nights",
    "slpdb_subject",
]

logger = logging.getLogger(__name__)

DATASETS: tuple[str, ...] = ("slpdb", "sleep-accel")
#: The study's feature files used as model inputs, in column order.
SLEEP_ACCEL_FEATURES: tuple[str, ...] = (
    "hr_feature", "count_feature", "cosine_feature", "circadian_feature", "time_feature",
)


@dataclass(frozen=True)
class NightFeatures:
    """One labelled night.

    Attributes
    ----------
    record : str
        Record/night identifier.
    subject : str
        Subject identifier (folds are formed by subject).
    X : numpy.ndarray
        ``(n_epochs, n_features)`` features.
    y : numpy.ndarray
        WearableStage codes (-1 = unscored).
    names : list of str
        Feature names.
    """

    record: str
    subject: str
    X: np.ndarray
    y: np.ndarray
    names: list[str]


def slpdb_subject(record: str) -> str:
    """Subject of an slpdb record: ``slp01a``/``slp01b`` -> ``slp01``, else the record."""
    return record[:5] if record[:5] in ("slp01", "slp02") and len(record) == 6 else record


def beats_features(
    beats: BeatSeries, n_epochs: int, offset: float, live: bool, kind: str = "rr",
    lag: int = 0,
) -> tuple[np.ndarray, list[str]]:
    """Features of a beat series, from its RR intervals (``rr``) or as a 1-Hz HR stream (``hr``);
    ``lag`` as in :func:`dreamband.features.heart_context.heart_features`."""
    from dreamband.features.heart_context import heart_features
    from dreamband.heart.grid import beats_to_hr, prepare_beats, prepare_hr

    if kind == "rr":
        hs = prepare_beats(beats.times, beats.symbols)
    elif kind == "hr":
        t, hr = beats_to_hr(beats.times)
        hs = prepare_hr(t, hr)
    else:
        raise ValueError(f"kind must be one of 'rr', 'hr'; got {kind!r}")
    return heart_features(hs, n_epochs, offset, live=live, lag=lag)


def _slpdb_nights(folder: Path, live: bool, kind: str, lag: int = 0) -> list[NightFeatures]:
    from dreamband.io.slpdb import read_slpdb_beats, read_slpdb_stages

    headers = sorted(folder.glob("slp*.hea"))
    if not headers:
        raise InputFileError(folder, "no slpdb record headers (slp*.hea) found")
    nights = []
    for h in headers:
        if not h.with_suffix(".ecg").is_file() or not h.with_suffix(".st").is_file():
            logger.info("%s: no .ecg or .st annotations, skipped", h)
            continue
        beats = read_slpdb_beats(h)
        hyp = read_slpdb_stages(h).to_wearable()
        X, names = beats_features(beats, hyp.n_epochs, hyp.offset, live, kind, lag)
        rec = h.stem
        nights.append(NightFeatures(rec, slpdb_subject(rec), X, hyp.stages.astype(int), names))
    return nights


def _sleep_accel_nights(folder: Path) -> list[NightFeatures]:
    from dreamband.core.stages import to_wearable
    from dreamband.io.sleep_accel import list_subjects, read_sleep_accel_subject

    lut = np.array([to_wearable(v).value for v in range(-1, 5)], dtype=int)
    nights = []
    for sid in list_subjects(folder):
        s = read_sleep_accel_subject(folder, sid)
        X = np.column_stack([s.features[k] for k in SLEEP_ACCEL_FEATURES])
        y = lut[s.stages.astype(int) + 1]
        nights.append(NightFeatures(sid, sid, X, y, list(SLEEP_ACCEL_FEATURES)))
    return nights


def load_nights(
    dataset: str, data_dir: str | os.PathLike | None = None, live: bool = False,
    kind: str = "rr",
    lag: int = 0,
) -> list[NightFeatures]:
    """Feature matrices and labels of every night of a heart dataset.

    Parameters
    ----------
    dataset : {"slpdb", "sleep-accel"}
        Dataset name.
    data_dir : path, optional
        Data folder holding ``<dataset>/`` (default: :func:`dreamband.paths.data_dir`), or
        the dataset folder itself.
    live : bool
        Causal features (slpdb only; the sleep-accel study features are fixed).
    kind : {"rr", "hr"}
        slpdb input: beat-to-beat intervals or a 1-Hz HR stream derived from them.
    lag : int
        With ``live`` (slpdb): decision delay in epochs; fixed-lag features with its feature
        share (:func:`dreamband.features.heart_lag.split_lag`).

    Returns
    -------
    list of NightFeatures

    Raises
    ------
    ValueError
        For an unknown dataset.
    InputFileError
        If the dataset folder or its files are missing or malformed.
    """
    from dreamband.paths import data_dir as resolve

    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}; got {dataset!r}")
    root = resolve(data_dir)
    folder = root if root.name == dataset else root / dataset
    if not folder.is_dir():
        raise InputFileError(folder, f"dataset folder for {dataset!r} not found")
    if dataset == "slpdb":
        return _slpdb_nights(folder, live, kind, lag)
    return _sleep_accel_nights(folder)
