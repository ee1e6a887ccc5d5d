"""sleep-accel (Walch 2019) per-epoch feature files: ``outputs/features/<id>_<kind>.out``.

One float per line, one line per *valid* 30-s epoch, six kinds per subject; the PSG label
file codes 0 wake, 1 N1, 2 N2, 3 N3, 4 R&K S4, 5 REM.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dreamband.core.hypnogram import Hypnogram
from dreamband.core.stages import SleepStage
from dreamband.errors import InputFileError
from dreamband.io.text import text_lines

__all__ = [
    "FEATURE_KINDS",
    "SleepAccelSubject",
    "features_dir",
    "list_subjects",
    "read_feature_file",
    "read_sleep_accel_labels",
    "read_sleep_accel_subject",
    "sleep_accel_stages",
]

#: The feature kinds of a subject, besides ``psg_labels``.
FEATURE_KINDS: tuple[str, ...] = (
    "hr_feature",
    "count_feature",
    "time_feature",
    "cosine_feature",
    "circadian_feature",
)
_EPOCH = 30.0
_LUT = np.array(
    [SleepStage.W, SleepStage.N1, SleepStage.N2, SleepStage.N3, SleepStage.N3, SleepStage.REM],
    dtype=np.int8,
)
_LABEL_FILE = re.compile(r"^(?P<id>\d+)_psg_labels\.out$")


@dataclass(frozen=True)
class SleepAccelSubject:
    """One subject's valid epochs.

    Attributes
    ----------
    subject : str
        Subject id.
    features : dict of str to numpy.ndarray
        The five feature kinds (:data:`FEATURE_KINDS`), one value per valid epoch.
    labels : numpy.ndarray
        Raw PSG codes 0..5 per valid epoch.
    stages : numpy.ndarray
        :class:`SleepStage` codes per valid epoch (0→W, 1→N1, 2→N2, 3/4→N3, 5→REM).
    """

    subject: str
    features: dict[str, np.ndarray]
    labels: np.ndarray
    stages: np.ndarray

    @property
    def n_epochs(self) -> int:
        """Number of valid epochs."""
        return int(self.labels.size)

    @property
    def onsets(self) -> np.ndarray:
        """Epoch onsets in seconds since the first valid epoch (from ``time_feature``)."""
        return np.round(self.features["time_feature"] * 3600.0 / _EPOCH) * _EPOCH


def features_dir(folder: str | os.PathLike) -> Path:
    """The ``outputs/features`` folder under a sleep-accel folder (or the folder itself)."""
    p = Path(folder)
    for cand in (p / "outputs" / "features", p / "features", p):
        if cand.is_dir() and any(cand.glob("*_psg_labels.out")):
            return cand
    raise InputFileError(p, "no sleep-accel '<id>_psg_labels.out' files found")


def list_subjects(folder: str | os.PathLike) -> list[str]:
    """Subject ids that have a label file, in numeric order."""
    d = features_dir(folder)
    ids = [m.group("id") for f in d.iterdir() if (m := _LABEL_FILE.match(f.name))]
    return sorted(ids, key=int)


def read_feature_file(path: str | os.PathLike) -> np.ndarray:
    """Read one ``.out`` file (one float per line) as a float array.

    Raises
    ------
    InputFileError
        Naming the line that is not a number, or the value that is not finite.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file")
    out = []
    with text_lines(path) as fh:
        for i, line in enumerate(fh, start=1):
            text = line.strip()
            if not text:
                continue
            try:
                out.append(float(text))
            except ValueError:
                raise InputFileError(path, f"not a number: {text[:40]!r}", f"line {i}") from None
    values = np.asarray(out, dtype=float)
    if not np.all(np.isfinite(values)):
        i = int(np.flatnonzero(~np.isfinite(values))[0])
        raise InputFileError(path, "not a finite number", f"value {i + 1}")
    return values


def sleep_accel_stages(labels: np.ndarray, path: str | os.PathLike = "labels") -> np.ndarray:
    """Convert sleep-accel PSG codes (0..5) to :class:`SleepStage` codes.

    Raises
    ------
    InputFileError
        If a code is not an integer in 0..5.
    """
    labels = np.asarray(labels, dtype=float)
    bad = (labels != np.round(labels)) | (labels < 0) | (labels > 5)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputFileError(path, f"PSG label must be 0..5; got {labels[i]:g}", f"line {i + 1}")
    return _LUT[labels.astype(int)]


def read_sleep_accel_subject(folder: str | os.PathLike, subject: str) -> SleepAccelSubject:
    """Read one subject's six files.

    Raises
    ------
    InputFileError
        If a file is missing or malformed, or the files differ in length.
    """
    d = features_dir(folder)
    label_path = d / f"{subject}_psg_labels.out"
    labels = read_feature_file(label_path)
    stages = sleep_accel_stages(labels, label_path)
    feats = {}
    for kind in FEATURE_KINDS:
        f = d / f"{subject}_{kind}.out"
        values = read_feature_file(f)
        if values.size != labels.size:
            raise InputFileError(f, f"{values.size} lines but {labels.size} labels", "length")
        feats[kind] = values
    return SleepAccelSubject(subject=str(subject), features=feats, labels=labels, stages=stages)


def read_sleep_accel_labels(path: str | os.PathLike) -> Hypnogram:
    """Read ``<id>_psg_labels.out`` as a 30-s hypnogram from the first valid epoch.

    When ``<id>_time_feature.out`` sits next to it, epochs are placed by its times and
    the invalid epochs between them are UNSCORED; otherwise the valid epochs are taken as
    consecutive.

    Raises
    ------
    InputFileError
        If a label is not 0..5 or the time file disagrees.
    """
    path = Path(path)
    labels = read_feature_file(path)
    stages = sleep_accel_stages(labels, path)
    times = path.with_name(path.name.replace("_psg_labels.out", "_time_feature.out"))
    if times != path and times.is_file():
        t = read_feature_file(times)
        if t.size != labels.size:
            raise InputFileError(times, f"{t.size} lines but {labels.size} labels", "length")
        idx = np.round((t - t[0]) * 3600.0 / _EPOCH).astype(int) if t.size else t.astype(int)
        if idx.size and np.any(np.diff(idx) <= 0):
            raise InputFileError(times, "epoch times are not increasing", "time_feature")
        full = np.full(int(idx[-1]) + 1 if idx.size else 0, SleepStage.UNSCORED, dtype=np.int8)
        full[idx] = stages
        stages = full
    return Hypnogram(stages=stages, epoch_length=_EPOCH, source=str(path))
