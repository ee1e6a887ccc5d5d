"""Per-participant REM forecast: next REM onset and offset from the night so far.

The model is a renewal model of the ultradian cycle whose parameters are learned from expert
hypnograms by :func:`fit` (never hard-coded):

* REM *periods* are REM epochs merged when fewer than ``merge_gap_s`` seconds of non-REM lie
  between them. The *night* starts at the first sleep epoch after a wake run of at least
  ``reset_wake_s`` (or the recording start).
* ``interval[c]``: quantiles of the time from the reference point of cycle ``c`` to the next
  REM onset — sleep onset to first REM onset (``c = 0``, first-REM latency), then REM onset
  ``c`` to REM onset ``c + 1``; cycles from ``len(interval) - 1`` on share the last table.
* ``after_rem[c]``: quantiles of the time from the end of REM period ``c`` (1-based) to the
  next REM onset: once a REM period has ended, its length no longer blurs the cycle.
* ``duration[c]``: quantiles of the length of REM period ``c`` (1-based), showing how REM
  periods grow across the night.

A forecast conditions on what the past already rules out: the next onset comes after now and
at least ``merge_gap_s`` after the last REM epoch. Before the first REM it is measured from
sleep onset (``interval[0]``), after a finished REM period from its end (``after_rem``), and
during a REM period by sampling the period's end (``duration``, conditioned on its length so
far) and then ``after_rem`` (seeded Monte Carlo, so forecasts are reproducible). Its
quantile at level ``q`` is ``Q(F(x0) + (1 - F(x0)) q)`` with ``x0`` the elapsed lower bound
(the conditional median minimises the absolute error). Past the table's support the forecast is
``x0 + tail_excess_s``.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dreamband.errors import ModelError
from dreamband.paths import models_dir
from dreamband.sync.timeline import N_NREM, N_REM, N_UNSCORED, N_WAKE
from dreamband.sync.types import RemForecast

__all__ = [
    "DEFAULT_MODEL",
    "ForecastModel",
    "NightTracker",
    "fit",
    "load_model",
    "night_periods",
]

logger = logging.getLogger(__name__)

#: File name of the shipped parameters in :func:`dreamband.paths.models_dir`.
DEFAULT_MODEL = "rem_forecast_v1.json"
_FORMAT = "dreamband-rem-forecast"
LEVELS = np.linspace(0.0, 1.0, 101)


@dataclass
class NightTracker:
    """The night so far of one participant, updated one epoch at a time (past only).

    Parameters
    ----------
    epoch_length : float
        Seconds per epoch.
    merge_gap_s, reset_wake_s : float
        REM merge gap and night-reset wake run, in seconds (see the module docstring).
    """

    epoch_length: float = 30.0
    merge_gap_s: float = 900.0
    reset_wake_s: float = 3600.0
    t: int = -1
    sleep_onset: int | None = None
    onsets: list[int] = field(default_factory=list)
    last_rem_end: int | None = None
    wake_run: int = 0

    @property
    def _merge(self) -> int:
        return max(1, round(self.merge_gap_s / self.epoch_length))

    def update(self, code: int) -> None:
        """Feed the next epoch's night code (-1 unscored, 0 wake, 1 NREM, 2 REM)."""
        self.t += 1
        code = int(code)
        if code == N_WAKE:
            self.wake_run += 1
            if self.wake_run * self.epoch_length >= self.reset_wake_s:
                self.sleep_onset, self.onsets, self.last_rem_end = None, [], None
            return
        if code == N_UNSCORED:
            return
        if code not in (N_NREM, N_REM):
            raise ValueError(f"night code must be -1, 0, 1 or 2; got {code}")
        self.wake_run = 0
        if self.sleep_onset is None:
            self.sleep_onset = self.t
        if code == N_REM:
            if self.last_rem_end is None or self.t - self.last_rem_end >= self._merge:
                self.onsets.append(self.t)
            self.last_rem_end = self.t + 1

    @property
    def now(self) -> float:
        """End of the last epoch fed, in seconds from the first epoch."""
        return (self.t + 1) * self.epoch_length

    @property
    def in_period(self) -> bool:
        """True while the last REM period may still continue (within the merge gap)."""
        return self.last_rem_end is not None and (self.t + 1 - self.last_rem_end) < self._merge

    def reference(self) -> tuple[int, float, float] | None:
        """``(cycle, reference time, lower bound of the next onset)`` in s, or None if awake."""
        if self.sleep_onset is None:
            return None
        L = self.epoch_length
        if not self.onsets:
            return 0, self.sleep_onset * L, self.now
        lb = max(self.now, (self.last_rem_end + self._merge) * L)
        return len(self.onsets), self.onsets[-1] * L, lb


def night_periods(
    codes: np.ndarray, epoch_length: float = 30.0, merge_gap_s: float = 900.0,
    reset_wake_s: float = 3600.0,
) -> tuple[int, int, list[tuple[int, int]]] | None:
    """Main sleep bout and its REM periods, with the same rules as :class:`NightTracker`.

    Returns
    -------
    (onset, end, periods) or None
        Epoch index of sleep onset, end (exclusive) of the last sleep epoch, and REM periods
        as ``(first epoch, end epoch exclusive)``; None when there is no sleep. The main bout
        is the one with the most sleep epochs among bouts separated by long wake runs.
    """
    codes = np.asarray(codes)
    sleep = np.flatnonzero((codes == N_NREM) | (codes == N_REM))
    if sleep.size == 0:
        return None
    reset = int(np.ceil(reset_wake_s / epoch_length - 1e-9))
    # a wake run of `reset` epochs between sleep epochs splits bouts (unscored does not count)
    wake_cum = np.concatenate(([0], np.cumsum(codes == N_WAKE)))
    between = wake_cum[sleep[1:]] - wake_cum[sleep[:-1] + 1]
    splits = np.flatnonzero(between >= reset) + 1
    bouts = np.split(sleep, splits)
    main = max(bouts, key=len)
    onset, end = int(main[0]), int(main[-1]) + 1
    merge = max(1, round(merge_gap_s / epoch_length))
    rem = np.flatnonzero(codes[onset:end] == N_REM) + onset
    periods: list[tuple[int, int]] = []
    for r in rem:
        if periods and r - periods[-1][1] < merge:
            periods[-1] = (periods[-1][0], int(r) + 1)
        else:
            periods.append((int(r), int(r) + 1))
    return onset, end, periods


def _cond_quantile(table: np.ndarray, x0: np.ndarray, q: float, tail: float) -> np.ndarray:
    """Quantile ``q`` of X given X >= x0 from a quantile table (levels :data:`LEVELS`)."""
    F = np.interp(x0, table, LEVELS, left=0.0, right=1.0)
    u = F + (1.0 - F) * q
    x = np.interp(u, LEVELS, table)
    beyond = F >= 1.0 - 1e-9
    return np.where(beyond, x0 + tail * (0.5 + q), np.maximum(x, x0))


@dataclass(frozen=True)
class ForecastModel:
    """Learned parameters (see the module docstring); load with :func:`load_model`."""

    interval: tuple[np.ndarray, ...]
    duration: tuple[np.ndarray, ...]
    after_rem: tuple[np.ndarray, ...]
    tail_excess_s: float
    merge_gap_s: float = 900.0
    reset_wake_s: float = 3600.0
    meta: dict = field(default_factory=dict, compare=False)

    def _table(self, tables: tuple[np.ndarray, ...], c: int) -> np.ndarray:
        return tables[min(max(c, 0), len(tables) - 1)]

    def next_onset(self, cycle: int, ref: float, lower: float, q: float = 0.5) -> float:
        """Quantile ``q`` of the next REM onset (s), given cycle, reference time, lower bound."""
        x = _cond_quantile(self._table(self.interval, cycle), np.asarray(lower - ref), q,
                           self.tail_excess_s)
        return float(ref + x)

    def predict_next_onset(self, tracker: NightTracker, q: float = 0.5) -> float | None:
        """Quantile ``q`` of the next REM onset (s) from a tracker's night so far.

        Returns None before sleep onset. The median (``q = 0.5``) minimises the expected
        absolute error and is what the evaluation scores.
        """
        ref = tracker.reference()
        if ref is None:
            return None
        cycle, r, lb = ref
        if cycle == 0:
            return self.next_onset(cycle, r, lb, q)
        if tracker.in_period:  # the period's end is unknown: integrate over it (seeded draws)
            drawn = self.sample_next(tracker, 1000, np.random.default_rng(0))
            return float(np.quantile(drawn[1], q))
        end = tracker.last_rem_end * tracker.epoch_length
        x = _cond_quantile(self._table(self.after_rem, cycle - 1), np.asarray(lb - end), q,
                           self.tail_excess_s)
        return float(end + x)

    def sample_interval(self, cycle: int, x0: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Draws of the onset-to-onset interval of ``cycle`` given ``>= x0``, from uniforms."""
        return _cond_quantile(self._table(self.interval, cycle), x0, u, self.tail_excess_s)

    def sample_after_rem(self, cycle: int, x0: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Draws of the time from the end of REM period ``cycle`` (>= 1) to the next onset."""
        return _cond_quantile(self._table(self.after_rem, cycle - 1), x0, u, self.tail_excess_s)

    def sample_duration(self, cycle: int, d0: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Draws of the duration of REM period ``cycle`` (1-based) given ``>= d0``."""
        return _cond_quantile(self._table(self.duration, cycle - 1), d0, u,
                              self.tail_excess_s / 4)

    def sample_next(
        self, tracker: NightTracker, n_draws: int, rng: np.random.Generator,
    ) -> tuple[np.ndarray | None, np.ndarray] | None:
        """Draws of ``(end of the current REM period or None, next REM onset)`` in seconds.

        Returns None before sleep onset.
        """
        ref = tracker.reference()
        if ref is None:
            return None
        cycle, r, lb = ref
        L = tracker.epoch_length
        if cycle == 0:
            return None, r + self.sample_interval(0, np.full(n_draws, lb - r),
                                                  rng.random(n_draws))
        cur = None
        if tracker.in_period:
            onset = tracker.onsets[-1] * L
            seen = tracker.last_rem_end * L
            cur = onset + self.sample_duration(cycle, np.full(n_draws, seen - onset),
                                               rng.random(n_draws))
            end = cur
        else:
            end = np.full(n_draws, tracker.last_rem_end * L)
        x0 = np.maximum(lb - end, self.merge_gap_s)
        return cur, end + self.sample_after_rem(cycle, x0, rng.random(n_draws))

    def forecast(
        self, tracker: NightTracker, participant: str = "",
        levels: Sequence[float] = (0.1, 0.5, 0.9), n_draws: int = 2000, seed: int = 0,
    ) -> RemForecast:
        """Forecast the next REM period (and the end of the current one) from a tracker."""
        rng = np.random.default_rng(seed)
        drawn = self.sample_next(tracker, n_draws, rng)
        if drawn is None:
            return RemForecast(participant, tracker.now, False, False, 0)
        cur, on = drawn
        cycle = len(tracker.onsets)
        off = on + self.sample_duration(cycle + 1, np.zeros(n_draws), rng.random(n_draws))

        def qs(x: np.ndarray) -> dict[float, float]:
            return {float(q): float(np.quantile(x, q)) for q in levels}

        return RemForecast(participant, tracker.now, True, cur is not None, cycle,
                           next_onset=qs(on), next_offset=qs(off),
                           current_offset={} if cur is None else qs(cur))

    def to_json(self) -> dict:
        """JSON-ready parameters (quantile tables in seconds)."""
        return {
            "format": _FORMAT,
            "version": 1,
            "levels": [round(float(x), 4) for x in LEVELS],
            "merge_gap_s": self.merge_gap_s,
            "reset_wake_s": self.reset_wake_s,
            "tail_excess_s": round(self.tail_excess_s, 1),
            "interval_s": [[round(float(v), 1) for v in t] for t in self.interval],
            "duration_s": [[round(float(v), 1) for v in t] for t in self.duration],
            "after_rem_s": [[round(float(v), 1) for v in t] for t in self.after_rem],
            **self.meta,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the parameters as JSON."""
        path = Path(path)
        doc = self.to_json()
        body = ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in doc.items())
        path.write_text("{\n" + body + "\n}\n", encoding="utf-8")
        return path


def load_model(path: str | os.PathLike | None = None) -> ForecastModel:
    """Read forecast parameters (default: the shipped ``rem_forecast_v1.json``).

    Raises
    ------
    ModelError
        If the file is missing or malformed, naming the file and field.
    """
    path = Path(path) if path is not None else models_dir() / DEFAULT_MODEL
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: forecast parameter file not found") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if doc.get("format") != _FORMAT:
        raise ModelError(f"{path}: field 'format' must be {_FORMAT!r}; got {doc.get('format')!r}")
    tables = {}
    for key in ("interval_s", "duration_s", "after_rem_s"):
        try:
            arr = [np.asarray(t, dtype=np.float64) for t in doc[key]]
        except (KeyError, TypeError, ValueError):
            raise ModelError(f"{path}: field {key!r} missing or not a list of tables") from None
        if not arr or any(a.shape != LEVELS.shape or np.any(np.diff(a) < 0) for a in arr):
            raise ModelError(f"{path}: field {key!r} needs non-decreasing tables of "
                             f"{LEVELS.size} quantiles")
        tables[key] = tuple(arr)
    meta = {k: v for k, v in doc.items() if k in ("provenance", "fit")}
    try:
        return ForecastModel(tables["interval_s"], tables["duration_s"], tables["after_rem_s"],
                             float(doc["tail_excess_s"]), float(doc["merge_gap_s"]),
                             float(doc["reset_wake_s"]), meta)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{path}: missing or bad numeric field {exc}") from None


def _pooled_tables(samples: dict[int, list[float]], min_n: int) -> tuple[np.ndarray, ...]:
    top = 0
    while len(samples.get(top + 1, ())) >= min_n:
        top += 1
    tables = []
    for c in range(top + 1):
        vals = [v for k, vs in samples.items() if k == c or (c == top and k > top) for v in vs]
        if not vals:
            raise ModelError(f"no samples to fit cycle {c}")
        tables.append(np.quantile(np.asarray(vals), LEVELS))
    return tuple(tables)


def fit(
    nights: Sequence[np.ndarray], epoch_length: float = 30.0, merge_gap_s: float = 900.0,
    reset_wake_s: float = 3600.0, min_n: int = 12,
) -> ForecastModel:
    """Learn the forecast parameters from expert-scored nights.

    Parameters
    ----------
    nights : sequence of numpy.ndarray
        Night codes per epoch (:func:`dreamband.sync.timeline.night_codes`), one per night.
    epoch_length : float
        Seconds per epoch.
    merge_gap_s, reset_wake_s : float
        Period and night rules (see the module docstring).
    min_n : int
        Cycles with fewer samples than this share the previous cycle's table.

    Returns
    -------
    ForecastModel

    Raises
    ------
    ModelError
        If the nights hold no REM period at all.
    """
    intervals: dict[int, list[float]] = {}
    durations: dict[int, list[float]] = {}
    after: dict[int, list[float]] = {}
    for codes in nights:
        found = night_periods(codes, epoch_length, merge_gap_s, reset_wake_s)
        if found is None:
            continue
        onset, _, periods = found
        refs = [onset] + [p[0] for p in periods]
        for c, (a, b) in enumerate(itertools.pairwise(refs)):
            intervals.setdefault(c, []).append((b - a) * epoch_length)
        for c, (a, b) in enumerate(periods, start=1):
            durations.setdefault(c - 1, []).append((b - a) * epoch_length)
        for c, (p, nxt) in enumerate(itertools.pairwise(periods)):
            after.setdefault(c, []).append((nxt[0] - p[1]) * epoch_length)
    if not intervals:
        raise ModelError("cannot fit the REM forecaster: no REM period in the given nights")
    interval = _pooled_tables(intervals, min_n)
    duration = _pooled_tables(durations, min_n)
    if not after:
        raise ModelError("cannot fit the REM forecaster: no night with two REM periods")
    after_rem = _pooled_tables(after, min_n)
    allv = np.concatenate([np.asarray(v) for v in intervals.values()])
    q90 = np.quantile(allv, 0.9)
    tail = float(np.median(allv[allv > q90] - q90)) if np.any(allv > q90) else 600.0
    meta = {"fit": {
        "n_nights": len(nights),
        "n_intervals": {str(c): len(v) for c, v in sorted(intervals.items())},
        "n_durations": {str(c + 1): len(v) for c, v in sorted(durations.items())},
        "n_after_rem": {str(c + 1): len(v) for c, v in sorted(after.items())},
        "min_n": min_n,
        "epoch_length": epoch_length,
    }}
    return ForecastModel(interval, duration, after_rem, max(tail, epoch_length), merge_gap_s,
                         reset_wake_s, meta)
