"""The :class:`Hypnogram`: one stage per fixed-length epoch, with optional probabilities."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

import numpy as np

from dreamband.core.stages import (
    FIVE_CLASS,
    THREE_CLASS,
    SleepStage,
    WearableStage,
    to_wearable,
)

__all__ = ["Hypnogram"]

Scheme = Literal["aasm", "wearable"]


@dataclass(frozen=True)
class Hypnogram:
    """A sequence of sleep stages on a regular epoch grid.

    Parameters
    ----------
    stages : numpy.ndarray
        ``int8`` stage codes, one per epoch: :class:`SleepStage` values for the ``"aasm"``
        scheme, :class:`WearableStage` values for the ``"wearable"`` scheme. -1 = unscored.
    epoch_length : float
        Epoch length in seconds (30 by default; 20 for legacy scorings).
    start_time : datetime or None
        Absolute wall-clock time of the first epoch's onset (naive = local clock of the
        recording), or None when unknown.
    offset : float
        Onset of the first epoch in seconds from the start of the recording it belongs to.
    probabilities : numpy.ndarray or None
        ``(n_epochs, n_classes)`` per-stage probabilities in the column order of
        :data:`FIVE_CLASS` or :data:`THREE_CLASS`; rows sum to 1.
    source : str
        Who scored it: a scorer/file name or ``"dreamband <engine> <version>"``.
    scheme : {"aasm", "wearable"}
        Five-class AASM stages or three-class wearable stages.
    """

    stages: np.ndarray
    epoch_length: float = 30.0
    start_time: datetime | None = None
    offset: float = 0.0
    probabilities: np.ndarray | None = None
    source: str = ""
    scheme: Scheme = "aasm"
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        stages = np.asarray(self.stages)
        if stages.ndim != 1:
            raise ValueError(f"hypnogram stages must be 1-D; got shape {stages.shape}")
        if stages.size and not np.issubdtype(stages.dtype, np.integer):
            raise ValueError(f"hypnogram stages must be integer codes; got dtype {stages.dtype}")
        stages = stages.astype(np.int8)
        if self.scheme not in ("aasm", "wearable"):
            raise ValueError(f"scheme must be one of 'aasm', 'wearable'; got {self.scheme!r}")
        enum = SleepStage if self.scheme == "aasm" else WearableStage
        valid = [s.value for s in enum]
        bad = ~np.isin(stages, valid)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"invalid stage code {int(stages[i])} at epoch {i} for scheme {self.scheme!r}; "
                f"expected one of {valid}"
            )
        if not (self.epoch_length > 0):
            raise ValueError(f"epoch_length must be positive; got {self.epoch_length}")
        object.__setattr__(self, "stages", stages)
        if self.probabilities is not None:
            p = np.asarray(self.probabilities, dtype=float)
            n_cls = len(self.classes)
            if p.shape != (stages.size, n_cls):
                raise ValueError(
                    f"probabilities must have shape ({stages.size}, {n_cls}); got {p.shape}"
                )
            object.__setattr__(self, "probabilities", p)

    # ------------------------------------------------------------------ basics
    @property
    def classes(self) -> tuple[SleepStage, ...] | tuple[WearableStage, ...]:
        """Scored classes of this scheme in probability column order."""
        return FIVE_CLASS if self.scheme == "aasm" else THREE_CLASS

    @property
    def n_epochs(self) -> int:
        """Number of epochs."""
        return int(self.stages.size)

    def __len__(self) -> int:
        return self.n_epochs

    @property
    def duration(self) -> float:
        """Covered duration in seconds."""
        return self.n_epochs * self.epoch_length

    @property
    def onsets(self) -> np.ndarray:
        """Epoch onsets in seconds from the recording start."""
        return self.offset + np.arange(self.n_epochs) * self.epoch_length

    def labels(self) -> list[str]:
        """Stage labels (``W``, ``N1``, ..., ``REM``, ``NREM``, ``?``) per epoch."""
        enum = SleepStage if self.scheme == "aasm" else WearableStage
        names = {s.value: s.label for s in enum}
        return [names[int(v)] for v in self.stages]

    # --------------------------------------------------------------- statistics
    def minutes_per_stage(self) -> dict[str, float]:
        """Minutes spent in each stage, unscored included under ``"?"``."""
        enum = SleepStage if self.scheme == "aasm" else WearableStage
        out: dict[str, float] = {}
        for s in (*self.classes, enum.UNSCORED):
            out[s.label] = float(np.count_nonzero(self.stages == s.value)) * self.epoch_length / 60
        return out

    # ------------------------------------------------------------ transforms
    def to_wearable(self) -> Hypnogram:
        """Collapse to three classes (N1-N3 -> NREM); probabilities are summed accordingly."""
        if self.scheme == "wearable":
            return self
        lut = np.array([to_wearable(SleepStage(v)).value for v in range(-1, 5)], dtype=np.int8)
        stages = lut[self.stages.astype(int) + 1]
        probs = None
        if self.probabilities is not None:
            p = self.probabilities
            probs = np.column_stack([p[:, 0], p[:, 1:4].sum(axis=1), p[:, 4]])
        return replace(self, stages=stages, probabilities=probs, scheme="wearable")

    def slice_epochs(self, start: int, stop: int) -> Hypnogram:
        """Epochs ``start:stop`` as a new hypnogram with offset and start time moved."""
        start = min(max(0, int(start)), self.n_epochs)
        stop = max(start, min(self.n_epochs, int(stop)))
        shift = start * self.epoch_length
        start_time = self.start_time
        if start_time is not None:
            start_time = start_time + timedelta(seconds=shift)
        return replace(
            self,
            stages=self.stages[start:stop],
            offset=self.offset + shift,
            start_time=start_time,
            probabilities=None if self.probabilities is None else self.probabilities[start:stop],
        )

    def crop_in_bed(self, margin: float = 1800.0) -> Hypnogram:
        """Crop to the in-bed window used throughout the Sleep-EDF literature.

        From ``margin`` seconds (30 min) before the first scored non-wake epoch to ``margin``
        seconds after the end of the last one, snapped to the epoch grid and clipped to the
        hypnogram.

        Raises
        ------
        ValueError
            If the hypnogram has no sleep epoch.
        """
        sleep = np.flatnonzero(self.stages > 0)
        if sleep.size == 0:
            raise ValueError(f"hypnogram {self.source or ''} has no sleep epoch to crop around")
        pad = round(margin / self.epoch_length)
        return self.slice_epochs(sleep[0] - pad, sleep[-1] + 1 + pad)
