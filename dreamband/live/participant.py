"""One live participant: sample blocks of its band -> epochs on the session grid -> stages.

:class:`EegParticipant` cuts the chosen EEG (and EOG/EMG) channels into epochs with a
:class:`~dreamband.live.epocher.RegularEpocher` and stages each with
:class:`~dreamband.live.eeg.EegLiveStager`; :class:`HeartParticipant` keeps the RR intervals
or heart-rate samples of its band and stages each epoch with
:class:`~dreamband.live.heart.HeartLiveStager` once a later sample (or the clock) closes it.
Both hand back :class:`Outcome` s, one per epoch from the first one the band reached, in
epoch order. Epochs before the band's first sample are *absent* (no outcome).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from dreamband.errors import ChannelNotFoundError
from dreamband.live.eeg import EEG_CLASSES, EegLiveStager
from dreamband.live.epocher import Epoch, EpochGrid, RegularEpocher
from dreamband.live.heart import HEART_CLASSES, HeartLiveStager
from dreamband.live.heart_lag import HeartLagStager
from dreamband.live.rpeaks import StreamingRPeaks
from dreamband.live.smoothing import FixedLag
from firmware_bridge.types import SampleBlock

__all__ = ["EegParticipant", "HeartParticipant", "Outcome"]

logger = logging.getLogger(__name__)

_ECG_DELAY = 0.5  # s: an R peak is confirmed this long after it (filters + end of the QRS)


@dataclass(frozen=True)
class Outcome:
    """The decision on one participant-epoch.

    Attributes
    ----------
    epoch : int
        Index on the session grid.
    onset : float
        Host time of the epoch start (s).
    scored : bool
        False when too much signal was missing (the participant is absent for the group).
    stage : int
        Stage code (``SleepStage`` for EEG, ``WearableStage`` for heart); -1 when unscored.
    probabilities : numpy.ndarray
        Stage probabilities in :attr:`classes` order (NaN when unscored).
    p_rem : float
        REM probability (NaN when unscored).
    missing : float
        Fraction of the epoch's signal that never arrived.
    last_sample_time : float
        Host time of the newest sample when the epoch was closed (s).
    """

    epoch: int
    onset: float
    scored: bool
    stage: int
    probabilities: np.ndarray
    p_rem: float
    missing: float
    last_sample_time: float


class EegParticipant:
    """EEG band participant.

    Parameters
    ----------
    grid : EpochGrid
        Session grid.
    channels : tuple of str
        Channel names the band sends.
    fs : float
        Sampling rate (Hz).
    roles : dict of str to str
        Channel per role (``eeg`` required; ``eog``, ``roc``, ``emg`` optional).
    max_missing : float
        Largest missing fraction of a scored epoch.
    context : int
        Epochs of signal the evidence is computed over.
    """

    kind = "eeg"
    classes = EEG_CLASSES
    scheme = "aasm"

    def __init__(self, grid: EpochGrid, channels: tuple[str, ...], fs: float,
                 roles: dict[str, str], max_missing: float = 0.2, context: int = 12,
                 lag: int = 0) -> None:
        self.grid = grid
        self.channels = tuple(channels)
        self.fs = float(fs)
        self.roles = {r: c for r, c in roles.items() if c}
        for role, ch in self.roles.items():
            if ch not in self.channels:
                raise ChannelNotFoundError(f"participant {role} channel", ch, list(self.channels))
        self.order = tuple(self.roles)
        self.epocher = RegularEpocher(grid, fs, len(self.order), max_missing)
        self.stager = EegLiveStager(fs, self.order, grid.epoch_length, context=context)
        self.lagger = FixedLag(self.stager.transitions, lag)
        self.streams = ("eeg",)
        self._rows: dict[tuple[str, ...], np.ndarray] = {}
        self.next_epoch = 0          # first epoch not yet announced (absent before the band)
        self._computed = 0           # first epoch not yet staged
        self.last_time = -math.inf
        self.dropped_before_origin = 0

    def _pick(self, block: SampleBlock) -> np.ndarray:
        rows = self._rows.get(block.channels)
        if rows is None:
            missing = [c for c in self.roles.values() if c not in block.channels]
            if missing:
                raise ChannelNotFoundError(f"band {block.device}", missing[0],
                                           list(block.channels))
            rows = np.array([block.channels.index(self.roles[r]) for r in self.order])
            self._rows[block.channels] = rows
        return rows

    def push(self, block: SampleBlock) -> list[Outcome]:
        """Add a block of the band's EEG stream; return the epochs it completed."""
        x = np.asarray(block.samples, dtype=float)[self._pick(block)]
        t = np.asarray(block.host_time, dtype=float)
        early = t < self.grid.origin
        if early.any():
            self.dropped_before_origin += int(early.sum())
            x, t = x[:, ~early], t[~early]
        if t.size == 0:
            return []
        self.last_time = max(self.last_time, float(t[-1]))
        return self._decide(self.epocher.push(x, t))

    def start_at(self, epoch: int) -> None:
        """Announce nothing before ``epoch`` (a resumed session: earlier epochs belong to
        the run that crashed)."""
        self._computed = self.next_epoch = max(self.next_epoch, int(epoch))

    def drop_held(self) -> None:
        """Forget the epochs staged but not yet announced (the fixed-lag buffer): after a
        resumed session's earlier samples were replayed, whose epochs are journaled."""
        self.lagger.flush()

    def flush(self, now: float, grace: float) -> list[Outcome]:
        """Close the epochs that ended before ``now - grace`` (a silent band)."""
        if self.epocher._current is None:  # never heard from: absent so far
            self._computed = self.next_epoch = max(self.next_epoch,
                                                   int(self.grid.index(now - grace)))
            return []
        return self._decide(self.epocher.flush(now, grace))

    def finish(self) -> list[Outcome]:
        """End of the session: close the epoch in progress if its last sample arrived, and
        announce the epochs still held back by the lag."""
        out = []
        if self.epocher._current is not None:
            out = self._decide(self.epocher.flush(self.last_time + 1.5 / self.fs))
        return out + _announce(self, self.lagger.flush())

    def _decide(self, epochs: list[Epoch]) -> list[Outcome]:
        out = []
        for ep in epochs:
            if ep.index < max(self._computed, 0):
                continue  # already given up on as absent (the band came back late)
            data = None
            if ep.data is not None and np.isfinite(ep.data).all():
                data = dict(zip(self.order, ep.data))
            elif ep.data is not None:
                logger.warning("epoch %d: non-finite samples; left unscored", ep.index)
            try:
                res = self.stager.step(data)
            except ValueError as exc:  # a bad epoch must not end a live session
                logger.warning("epoch %d: cannot be staged (%s); left unscored", ep.index, exc)
                res = self.stager.step(None)
            self._computed = ep.index + 1
            meta = (ep.index, ep.start, res.scored, ep.missing, ep.last_sample_time)
            out += _announce(self, self.lagger.push(res.probabilities, res.likelihood, meta))
        return out


class HeartParticipant:
    """Heart band participant (RR intervals in s, heart rate in bpm, or an ECG).

    Parameters
    ----------
    grid : EpochGrid
        Session grid (30-s epochs: the heart models are trained on them).
    stream : {"rr", "hr", "ecg"}
        Which stream of the band is staged; an ECG goes through a streaming R-peak
        detector and is staged from its RR intervals.
    max_missing : float
        Largest missing fraction of a scored epoch.
    fs : float, optional
        ECG sampling rate (Hz), required for ``"ecg"``.
    lag : int
        Fixed-lag smoothing of the causal model's filter (epochs).
    model_lag : int
        Use the heart stager's fixed-lag model of this delay instead (epochs; e.g. 40):
        each epoch is announced ``model_lag`` epochs late (``lag`` is then ignored).
    """

    kind = "heart"
    classes = HEART_CLASSES
    scheme = "wearable"

    def __init__(self, grid: EpochGrid, stream: str = "rr", max_missing: float = 0.2,
                 model_dir=None, fs: float | None = None, lag: int = 0,
                 model_lag: int = 0) -> None:
        if abs(grid.epoch_length - 30.0) > 1e-9:
            raise ValueError(f"heart staging needs 30-s epochs; grid has {grid.epoch_length} s")
        self.grid = grid
        self.max_missing = float(max_missing)
        self.detector = None
        if stream == "ecg":
            if fs is None:
                raise ValueError("an ECG heart stream needs its sampling rate fs (Hz)")
            self.detector = StreamingRPeaks(fs)
            self._counts: dict[int, int] = {}
            self._last_beat: float | None = None
        kind = "rr" if stream == "ecg" else stream
        self.stager = HeartLiveStager(kind, grid.origin, model_dir)
        self.lagger = FixedLag(self.stager.transitions, 0 if model_lag else lag)
        self.lag_stager = (HeartLagStager(kind, grid.origin, model_lag, model_dir)
                           if model_lag else None)
        self._held: dict[int, tuple] = {}
        self.streams = (stream,)
        self.next_epoch = 0          # first epoch not yet announced
        self._computed = 0           # first epoch not yet staged
        self.started = False
        self.last_time = -math.inf

    def push(self, block: SampleBlock) -> list[Outcome]:
        """Add a block of RR intervals (s) or heart-rate samples (bpm)."""
        t = np.asarray(block.host_time, dtype=float)
        v = np.asarray(block.samples, dtype=float)[0]
        keep = t >= self.grid.origin
        t, v = t[keep], v[keep]
        if t.size == 0:
            return []
        if self.detector is not None:
            return self._push_ecg(v, t)
        if not self.started:
            first = t[0] - (v[0] if self.stager.kind == "rr" and np.isfinite(v[0]) else 0.0)
            self._computed = self.next_epoch = max(
                self.next_epoch, int(self.grid.index(max(first, self.grid.origin))))
            self.started = True
        self._add(t, v)
        self.last_time = max(self.last_time, float(t[-1]))
        return self._until(self.last_time)

    def _add(self, t: np.ndarray, v: np.ndarray) -> None:
        if self.lag_stager is not None:
            self.lag_stager.add(t, v)
        else:
            self.stager.add(t, v)

    def _push_ecg(self, v: np.ndarray, t: np.ndarray) -> list[Outcome]:
        if not self.started:
            self._computed = self.next_epoch = max(self.next_epoch,
                                                   int(self.grid.index(t[0])))
            self.started = True
        idx, n = np.unique(self.grid.index(t), return_counts=True)
        for j, c in zip(idx.tolist(), n.tolist()):
            self._counts[j] = self._counts.get(j, 0) + c
        beats = self.detector.push(v, t)
        if beats.size:
            prev = [] if self._last_beat is None else [self._last_beat]
            allb = np.concatenate([prev, beats])
            self._add(allb[1:], np.diff(allb))
            self._last_beat = float(beats[-1])
        self.last_time = max(self.last_time, float(t[-1]))
        return self._until(self.last_time - _ECG_DELAY)

    def start_at(self, epoch: int) -> None:
        """Announce nothing before ``epoch`` (a resumed session: earlier epochs belong to
        the run that crashed)."""
        self._computed = self.next_epoch = max(self.next_epoch, int(epoch))

    def drop_held(self) -> None:
        """Forget the epochs staged but not yet announced (the fixed-lag buffer or the
        fixed-lag model's held epochs): see :meth:`EegParticipant.drop_held`."""
        self.lagger.flush()
        self._held.clear()

    def flush(self, now: float, grace: float) -> list[Outcome]:
        """Close the epochs that ended before ``now - grace``."""
        if not self.started:
            self._computed = self.next_epoch = max(self.next_epoch,
                                                   int(self.grid.index(now - grace)))
            return []
        return self._until(now - grace)

    def finish(self) -> list[Outcome]:
        """End of the session: close the epochs covered by the samples received, and
        announce the epochs still held back by the lag."""
        out = self._until(self.last_time) if self.started else []
        if self.lag_stager is not None and self._held:
            return out + self._release(self._computed - 1, final=True)
        return out + _announce(self, self.lagger.flush())

    def _until(self, t: float) -> list[Outcome]:
        out = []
        L = self.grid.epoch_length
        while self.grid.start(self._computed + 1) <= t:
            j = self._computed
            s = self.grid.start(j)
            if self.detector is not None:
                got = self._counts.pop(j, 0)
                missing = max(0.0, 1.0 - got / (self.detector.fs * L))
            else:
                src = self.lag_stager or self.stager
                missing = 1.0 - src.coverage(s, s + L)
            scored = missing <= self.max_missing
            self._computed = j + 1
            meta = (j, s, scored, missing, self.last_time)
            if self.lag_stager is not None:
                self._held[j] = meta
                continue
            res = self.stager.step(j, scored)
            out += _announce(self, self.lagger.push(res.probabilities, res.likelihood, meta))
        if self.lag_stager is not None and self._held:
            out += self._release(self._computed - 1, final=False)  # one staging pass
        if self.detector is not None:
            for j in [j for j in self._counts if j < self._computed]:  # late samples
                del self._counts[j]
        return out

    def _release(self, k: int, final: bool) -> list[Outcome]:
        """Fixed-lag model: announce the held epochs that are final once epoch ``k`` ended
        (all of them at the end of the session)."""
        if self.lag_stager is None:
            return []
        upto = k if final else k - self.lag_stager.lag
        ready = sorted(j for j in self._held if j <= upto)
        if not ready:
            return []
        res = self.lag_stager.stage_until(k)
        out = []
        for j in ready:
            _, onset, scored, missing, last = self._held.pop(j)
            if res is None or not scored:
                stage, probs, scored = -1, np.full(len(self.classes), np.nan), False
            else:
                stage, probs = int(res[0][j]), np.asarray(res[1][j], dtype=float)
            out.append(Outcome(j, onset, scored, stage, probs, float(probs[-1]), missing, last))
            self.next_epoch = j + 1
        return out


def _announce(p: EegParticipant | HeartParticipant,
              ready: list[tuple[tuple, np.ndarray]]) -> list[Outcome]:
    """Outcomes of the epochs released by the lag buffer (in epoch order)."""
    out = []
    for (j, onset, scored, missing, last), post in ready:
        if scored:
            stage, probs = p.stager.finalise(post)
        else:
            stage, probs = -1, np.full(len(p.classes), np.nan)
        out.append(Outcome(j, onset, scored, stage, probs, float(probs[-1]), missing, last))
        p.next_epoch = j + 1
    return out
