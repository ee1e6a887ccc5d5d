"""One timeline: every participant's REM state on a common epoch grid.

Each participant-epoch is in one of three states: :data:`REM`, :data:`NOT_REM` or
:data:`ABSENT` (not recording yet, dropped out, or unscored). Absence is kept distinct from
"not in REM"; :func:`dreamband.sync.windows.group_windows` decides how it counts.

Placement on the clock (``align``):

``"date"``
    Absolute wall-clock time (date and time of day) of each hypnogram's first epoch.
``"clock"``
    Time of day only, measured from the noon before the start, so hypnograms of different
    nights (Sleep-EDF subjects were recorded on different dates) overlap as if everyone slept
    the same night. The timeline's origin then carries a synthetic date (2000-01-01).
``"auto"``
    ``"date"`` when all starts lie within 24 h of each other, else ``"clock"``.

Hypnograms without a start time (a CSV) can only be placed when none has one: they are then
taken to have started together and are placed by their first epoch's offset (``"index"``).

An explicit per-participant offset (seconds, positive = later) is added after placement.
Epoch grids are snapped to one common grid: common epoch ``j`` covers
``[t0 + j L, t0 + (j + 1) L)`` and takes the state of the participant epoch that covers its
midpoint (absent when none does).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from dreamband.core.hypnogram import Hypnogram
from dreamband.core.stages import SleepStage, WearableStage

__all__ = [
    "ABSENT",
    "NOT_REM",
    "REM",
    "Hysteresis",
    "Timeline",
    "build_timeline",
    "hysteresis",
    "night_codes",
    "rem_state_from_stages",
]

logger = logging.getLogger(__name__)

#: Participant-epoch states.
ABSENT, NOT_REM, REM = -1, 0, 1
#: Night codes used by the forecaster: unscored/absent, wake, NREM sleep, REM sleep.
N_UNSCORED, N_WAKE, N_NREM, N_REM = -1, 0, 1, 2

_CLOCK_DATE = datetime(2000, 1, 1, 12, 0, 0)


@dataclass(frozen=True)
class Timeline:
    """Participants' REM states on one epoch grid.

    Parameters
    ----------
    names : tuple of str
        Participant names, one per row.
    states : numpy.ndarray
        ``(n_participants, n_epochs)`` ``int8``: :data:`REM`, :data:`NOT_REM`, :data:`ABSENT`.
    confidence : numpy.ndarray
        ``(n_participants, n_epochs)`` ``float64`` REM confidence (REM probability, or 1.0
        where an expert scored REM and no probability is known; 0 where not known).
    epoch_length : float
        Common epoch length in seconds.
    origin : datetime or None
        Wall-clock time of epoch 0's onset (synthetic date 2000-01-01 with ``align="clock"``).
    align : str
        How the participants were placed: ``"date"``, ``"clock"`` or ``"index"``.
    codes : numpy.ndarray or None
        ``(n_participants, n_epochs)`` ``int8`` night codes (-1 absent, 0 wake, 1 NREM, 2 REM)
        for the forecaster, or None when only REM states are known.
    """

    names: tuple[str, ...]
    states: np.ndarray
    confidence: np.ndarray
    epoch_length: float = 30.0
    origin: datetime | None = None
    align: str = "index"
    codes: np.ndarray | None = None

    def __post_init__(self) -> None:
        states = np.asarray(self.states)
        if states.ndim != 2:
            raise ValueError(
                f"timeline states must be 2-D (participants, epochs); got {states.shape}"
            )
        if states.size and not np.isin(states, (ABSENT, NOT_REM, REM)).all():
            raise ValueError("timeline states must be ABSENT (-1), NOT_REM (0) or REM (1)")
        names = tuple(str(n) for n in self.names)
        if len(names) != states.shape[0]:
            raise ValueError(f"{len(names)} names for {states.shape[0]} participant rows")
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"participant names must be unique; repeated: {dupes}")
        conf = np.asarray(self.confidence, dtype=np.float64)
        if conf.shape != states.shape:
            raise ValueError(f"confidence shape {conf.shape} differs from states {states.shape}")
        if not self.epoch_length > 0:
            raise ValueError(f"epoch_length must be positive; got {self.epoch_length}")
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "states", states.astype(np.int8))
        object.__setattr__(self, "confidence", conf)
        if self.codes is not None:
            codes = np.asarray(self.codes, dtype=np.int8)
            if codes.shape != states.shape:
                raise ValueError(f"codes shape {codes.shape} differs from states {states.shape}")
            object.__setattr__(self, "codes", codes)

    @property
    def n_participants(self) -> int:
        """Number of participants (rows)."""
        return int(self.states.shape[0])

    @property
    def n_epochs(self) -> int:
        """Number of epochs on the common grid."""
        return int(self.states.shape[1])

    @classmethod
    def from_arrays(
        cls,
        names: Sequence[str],
        states: np.ndarray,
        confidence: np.ndarray | None = None,
        epoch_length: float = 30.0,
        origin: datetime | None = None,
    ) -> Timeline:
        """Timeline from a ready state matrix (confidence 1.0 where in REM when not given)."""
        states = np.asarray(states)
        if confidence is None:
            confidence = (states == REM).astype(np.float64)
        return cls(tuple(names), states, confidence, epoch_length, origin, "index")

    def time_of(self, seconds: float) -> datetime | None:
        """Wall-clock time of ``seconds`` on the timeline, or None without an origin."""
        return None if self.origin is None else self.origin + timedelta(seconds=float(seconds))


def rem_state_from_stages(hyp: Hypnogram) -> np.ndarray:
    """Hard REM state per epoch of a hypnogram: REM, NOT_REM, or ABSENT where unscored."""
    rem_code = SleepStage.REM if hyp.scheme == "aasm" else WearableStage.REM
    out = np.where(hyp.stages == rem_code, REM, NOT_REM).astype(np.int8)
    out[hyp.stages < 0] = ABSENT
    return out


def night_codes(hyp: Hypnogram) -> np.ndarray:
    """Night code per epoch: -1 unscored, 0 wake, 1 NREM (N1-N3), 2 REM."""
    st = hyp.stages.astype(np.int8)
    rem_code = SleepStage.REM if hyp.scheme == "aasm" else WearableStage.REM
    out = np.where(st == rem_code, N_REM, np.where(st > 0, N_NREM, st)).astype(np.int8)
    return out


def _check_thresholds(p_on: float, p_off: float) -> None:
    if not (0.0 <= p_off <= p_on <= 1.0):
        raise ValueError(f"need 0 <= p_off <= p_on <= 1; got p_on={p_on}, p_off={p_off}")


class Hysteresis:
    """REM state from REM probability, one epoch at a time, for many participants at once.

    A participant enters REM when ``p >= p_on`` and leaves it when ``p < p_off``. A NaN
    probability marks the participant absent and resets them to "not in REM".

    Parameters
    ----------
    n : int
        Number of participants.
    p_on, p_off : float
        Entry and exit thresholds, ``0 <= p_off <= p_on <= 1``.
    """

    def __init__(self, n: int, p_on: float = 0.6, p_off: float = 0.4) -> None:
        _check_thresholds(p_on, p_off)
        self.p_on, self.p_off = float(p_on), float(p_off)
        self._in = np.zeros(int(n), dtype=bool)

    def step(self, p: np.ndarray) -> np.ndarray:
        """Feed one epoch of probabilities ``(n,)``; return the ``int8`` states."""
        p = np.asarray(p, dtype=np.float64)
        if p.shape != self._in.shape:
            raise ValueError(f"expected {self._in.size} probabilities; got shape {p.shape}")
        absent = np.isnan(p)
        with np.errstate(invalid="ignore"):
            now_in = np.where(self._in, p >= self.p_off, p >= self.p_on) & ~absent
        self._in = now_in
        out = now_in.astype(np.int8)
        out[absent] = ABSENT
        return out


def hysteresis(prob: np.ndarray, p_on: float = 0.6, p_off: float = 0.4) -> np.ndarray:
    """REM states ``(n, n_epochs)`` from REM probabilities with hysteresis (NaN = absent).

    Sweeps the epochs once, vectorised over participants; same rule as :class:`Hysteresis`.
    """
    prob = np.atleast_2d(np.asarray(prob, dtype=np.float64))
    h = Hysteresis(prob.shape[0], p_on, p_off)
    out = np.empty(prob.shape, dtype=np.int8)
    for j in range(prob.shape[1]):
        out[:, j] = h.step(prob[:, j])
    return out


def _rem_probability(hyp: Hypnogram) -> np.ndarray | None:
    if hyp.probabilities is None:
        return None
    return np.asarray(hyp.probabilities[:, len(hyp.classes) - 1], dtype=np.float64)


def _placement(
    hyps: Mapping[str, Hypnogram], align: str
) -> tuple[dict[str, float], datetime | None, str]:
    starts = {name: h.start_time for name, h in hyps.items()}
    missing = [n for n, s in starts.items() if s is None]
    if missing:
        if len(missing) < len(starts):
            raise ValueError(
                f"participant {missing[0]!r} has no start time while others do; "
                "give it an explicit offset or a start time"
            )
        # no clocks: recordings are taken to have started together
        return {n: float(h.offset) for n, h in hyps.items()}, None, "index"
    if align == "auto":
        span = (max(starts.values()) - min(starts.values())).total_seconds()
        align = "date" if span < 86400 else "clock"
        logger.info("placing hypnograms by %s (starts span %.1f h)", align, span / 3600)
    if align == "date":
        ref = min(starts.values())
        return {n: (s - ref).total_seconds() for n, s in starts.items()}, ref, "date"
    if align == "clock":
        out = {}
        for n, s in starts.items():
            since_noon = (s - s.replace(hour=12, minute=0, second=0, microsecond=0)).total_seconds()
            out[n] = since_noon % 86400.0
        return out, _CLOCK_DATE, "clock"
    raise ValueError(f"align must be one of 'auto', 'date', 'clock'; got {align!r}")


def build_timeline(
    hypnograms: Mapping[str, Hypnogram],
    *,
    align: str = "auto",
    offsets: Mapping[str, float] | None = None,
    epoch_length: float | None = None,
    use_probabilities: bool = False,
    p_on: float = 0.6,
    p_off: float = 0.4,
) -> Timeline:
    """Place participants' hypnograms on one clock and one epoch grid.

    Parameters
    ----------
    hypnograms : mapping of str to Hypnogram
        One hypnogram per participant name.
    align : {"auto", "date", "clock"}
        How start times are compared (see the module docstring).
    offsets : mapping of str to float, optional
        Extra shift in seconds per participant (positive = later on the timeline).
    epoch_length : float, optional
        Common epoch length in seconds; default the longest participant epoch.
    use_probabilities : bool
        Derive REM state from the REM probability column with hysteresis (``p_on``/``p_off``)
        instead of the hard stage; hypnograms without probabilities use their stages.
    p_on, p_off : float
        Hysteresis thresholds.

    Returns
    -------
    Timeline

    Raises
    ------
    ValueError
        On no participants, an unknown offset name, or a bad ``align``.
    """
    if not hypnograms:
        raise ValueError("need at least one hypnogram to build a timeline")
    _check_thresholds(p_on, p_off)
    offsets = dict(offsets or {})
    unknown = sorted(set(offsets) - set(hypnograms))
    if unknown:
        raise ValueError(f"offset given for unknown participant {unknown[0]!r}; "
                         f"participants: {', '.join(hypnograms)}")
    place, origin, mode = _placement(hypnograms, align)
    for n, off in offsets.items():
        place[n] += float(off)
    L = float(epoch_length or max(h.epoch_length for h in hypnograms.values()))
    if not L > 0:
        raise ValueError(f"epoch_length must be positive; got {L}")
    t0 = min(place.values())
    t_end = max(place[n] + h.duration for n, h in hypnograms.items())
    n_ep = max(0, math.ceil((t_end - t0) / L - 1e-9))
    mid = t0 + (np.arange(n_ep) + 0.5) * L
    names = tuple(hypnograms)
    states = np.full((len(names), n_ep), ABSENT, dtype=np.int8)
    conf = np.zeros((len(names), n_ep), dtype=np.float64)
    codes = np.full((len(names), n_ep), N_UNSCORED, dtype=np.int8)
    for row, name in enumerate(names):
        h = hypnograms[name]
        idx = np.floor((mid - place[name]) / h.epoch_length).astype(np.int64)
        ok = (idx >= 0) & (idx < h.n_epochs)
        hard = rem_state_from_stages(h)
        codes[row, ok] = night_codes(h)[idx[ok]]
        prob = _rem_probability(h)
        if use_probabilities and prob is not None:
            p = np.full(n_ep, np.nan)
            p[ok] = prob[idx[ok]]
            p[ok] = np.where(hard[idx[ok]] == ABSENT, np.nan, p[ok])
            states[row] = hysteresis(p[None, :], p_on, p_off)[0]
            conf[row] = np.nan_to_num(p, nan=0.0)
        else:
            states[row, ok] = hard[idx[ok]]
            if prob is not None:
                conf[row, ok] = prob[idx[ok]]
            else:
                conf[row, ok] = (hard[idx[ok]] == REM).astype(np.float64)
    if origin is not None:
        origin = origin + timedelta(seconds=t0)
    return Timeline(names, states, conf, L, origin, mode, codes)
