"""Live heart-rate staging (wake / NREM / REM), one epoch at a time, with bounded memory.

The same numbers as ``stage_heart(..., live=True)``: intervals are cleaned with the causal
rules of :mod:`dreamband.heart.rr` (carrying the previous intervals as reference), each
epoch's trailing-window features are computed from the last few minutes of intervals only,
the night-so-far z-scores from running sums, the 5-min context and trends from the last 22
epochs of z-scores, then the shipped live LightGBM model, one forward step of the sticky HMM
and the calibration; for HR input also the causal ``hr_hp_sd``
(:class:`~dreamband.features.heart_walch_causal.CausalHpSd`: a recursive high-pass with
carried state, running sums over the last 10 min and a histogram of the night). When the
model's sidecar asks for the cycle-aware smoother
(:mod:`dreamband.staging.heart_cycle`) the forward step is that of
:class:`~dreamband.staging.heart_cycle.CycleFilter`; :attr:`HeartLiveStager.transitions`
then gives the sticky matrix of the same ``stay``, which an engine's extra fixed-lag
smoothing uses as an approximation. Memory: about 7 minutes of intervals and a few dozen
feature rows, whatever the length of the night.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from dreamband.features.heart import BASE_FEATURES, EPOCH, base_features
from dreamband.features.heart_context import _CONTEXT, _RAW, _SCALED, _WIDE, uses_causal_hp_sd
from dreamband.features.heart_walch_causal import CausalHpSd
from dreamband.heart.grid import GRID_FS, HeartSeries
from dreamband.heart.rr import clean_hr, clean_rr
from dreamband.live.eeg import StepResult
from dreamband.staging.heart import load_heart_model, model_cycle_prior
from dreamband.staging.heart_cycle import CycleFilter
from dreamband.staging.heart_model import STAY, _transitions, apply_calibration

__all__ = ["HEART_CLASSES", "HeartLiveStager", "coverage"]

#: Probability columns of the heart stager (WearableStage order).
HEART_CLASSES: tuple[str, ...] = ("W", "NREM", "REM")

_KEEP_S = 420.0     # seconds of intervals kept (longest window 300 s + hold + margin)
_REFERENCE = 9      # intervals of history the cleaning rules look back on
_MIN_COUNT = 10     # night_scaled(live=True) default


def coverage(kind: str, t: np.ndarray, v: np.ndarray, start: float, end: float) -> float:
    """Fraction of ``[start, end)`` covered by received heart samples (0-1).

    RR (``kind="rr"``, ``v`` in s, ``t`` the closing beats): the union of the intervals; HR:
    the 2-Hz grid points with a sample at most 3 s old (as the feature grid holds them).
    """
    if kind == "rr":
        lo = np.maximum(t - v, start)
        hi = np.minimum(t, end)
        return float(np.clip(np.clip(hi - lo, 0, None).sum() / (end - start), 0, 1))
    grid = np.arange(np.ceil(start * GRID_FS), np.ceil(end * GRID_FS)) / GRID_FS
    if grid.size == 0 or t.size == 0:
        return 0.0
    idx = np.searchsorted(t, grid, side="right") - 1
    ok = idx >= 0
    age = np.where(ok, grid - t[np.maximum(idx, 0)], np.inf)
    return float(np.mean(age <= 3.0))


class HeartLiveStager:
    """Causal heart staging of one participant from RR intervals or heart-rate samples.

    Parameters
    ----------
    kind : {"rr", "hr"}
        RR intervals in seconds (time = closing beat) or heart-rate samples in bpm.
    origin : float
        Time (s, on the samples' clock) of the onset of epoch 0.
    model_dir : path, optional
        Folder of the heart models (default: the shipped ones).
    """

    def __init__(self, kind: str, origin: float = 0.0, model_dir=None) -> None:
        if kind not in ("rr", "hr"):
            raise ValueError(f"heart input kind must be 'rr' or 'hr'; got {kind!r}")
        self.kind = kind
        self.origin = float(origin)
        self.booster, meta = load_heart_model(kind, live=True, model_dir=model_dir)
        self.stay = float(meta.get("smoothing", {}).get("stay", STAY))
        self.calibration = meta.get("calibration")
        self._trans = _transitions(self.stay)
        prior = model_cycle_prior(meta, model_dir)
        self._cycle = None if prior is None else CycleFilter(prior, self.stay)
        self._t = np.empty(0)
        self._v = np.empty(0)       # RR (s) or HR (bpm) as received
        self._valid = np.empty(0, dtype=bool)
        self._col = {k: i for i, k in enumerate(BASE_FEATURES)}
        n_s = len(_SCALED)
        self._s1 = np.zeros(n_s)
        self._s2 = np.zeros(n_s)
        self._n = np.zeros(n_s)
        self._zctx: deque[np.ndarray] = deque(maxlen=2 * _WIDE + 2)
        self._past: deque[np.ndarray] = deque(maxlen=_WIDE + 2)
        self._alpha: np.ndarray | None = None
        self._hp_sd = CausalHpSd(self.origin) if uses_causal_hp_sd(kind) else None
        self.n_epochs = 0

    def add(self, t: np.ndarray, values: np.ndarray) -> None:
        """Append samples (times in s, increasing; RR in s or HR in bpm) and clean them."""
        t = np.asarray(t, dtype=float).ravel()
        v = np.asarray(values, dtype=float).ravel()
        if t.shape != v.shape:
            raise ValueError(f"{t.size} times for {v.size} heart samples")
        if t.size == 0:
            return
        if self._t.size:
            keep = t > self._t[-1]  # duplicates / out-of-order samples are dropped
            t, v = t[keep], v[keep]
            if t.size == 0:
                return
        ref = self._v[-_REFERENCE:]
        both = np.concatenate([ref, v])
        ok = clean_rr(both) if self.kind == "rr" else clean_hr(both)
        self._t = np.concatenate([self._t, t])
        self._v = np.concatenate([self._v, v])
        self._valid = np.concatenate([self._valid, ok[ref.size:]])

    def coverage(self, start: float, end: float) -> float:
        """Fraction of ``[start, end)`` covered by the samples received (see :func:`coverage`)."""
        return coverage(self.kind, self._t, self._v, start, end)

    def _base_row(self, end: float) -> np.ndarray:
        shift = np.floor(max(end - _KEEP_S, 0.0) * GRID_FS) / GRID_FS
        sel = self._t > shift
        t = self._t[sel] - shift
        v = self._v[sel]
        valid = self._valid[sel]
        with np.errstate(divide="ignore", invalid="ignore"):
            rr = v if self.kind == "rr" else np.where(valid, 60.0 / v, np.nan)
        hs = HeartSeries(self.kind, t, rr, valid, float(t[-1]) if t.size else 0.0)
        return base_features(hs, 1, offset=end - EPOCH - shift)[0]

    def _forget(self, end: float) -> None:
        cut = np.searchsorted(self._t, end - _KEEP_S, side="right")
        cut = min(cut, max(self._t.size - _REFERENCE, 0))
        if cut > 0:
            self._t, self._v, self._valid = self._t[cut:], self._v[cut:], self._valid[cut:]

    def features(self, k: int) -> np.ndarray:
        """Live feature row of epoch ``k`` (the epochs must be taken in order)."""
        end = self.origin + EPOCH * (k + 1)
        base = self._base_row(end)
        c = self._col
        raw = base[[c[n] for n in _RAW]]
        x = base[[c[n] for n in _SCALED]]
        fin = np.isfinite(x)
        self._s1 += np.where(fin, x, 0.0)
        self._s2 += np.where(fin, x * x, 0.0)
        self._n += fin
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = self._s1 / self._n
            sd = np.sqrt(np.clip(self._s2 / self._n - mean * mean, 0, None))
            z = (x - mean) / np.where(sd > 1e-9, sd, np.nan)
        z = np.where(self._n >= _MIN_COUNT, z, np.nan)
        zc = dict(zip(_SCALED, z))
        zctx = np.array([zc[n] for n in _CONTEXT])
        self._zctx.append(zctx)
        recent = np.array(list(self._zctx)[-(_WIDE + 1):])
        with np.errstate(invalid="ignore", divide="ignore"):
            fin = np.isfinite(recent)
            ctx = np.where(fin, recent, 0.0).sum(axis=0) / fin.sum(axis=0)
        self._past.append(ctx)
        lag = self._past[0] if len(self._past) == _WIDE + 2 else np.full(ctx.size, np.nan)
        i_hr, i_sd = _CONTEXT.index("hr_150"), _CONTEXT.index("sdnn")
        trend = [zctx[i_hr] - lag[i_hr], zctx[i_sd] - lag[i_sd]]
        extra = [] if self._hp_sd is None else [self._hp_sd_value(k)]
        self._forget(end)
        return np.concatenate([raw, z, ctx, trend, extra])

    def _hp_sd_value(self, k: int) -> float:
        valid = self._valid
        t = self._t[valid]
        with np.errstate(divide="ignore", invalid="ignore"):
            hr = 60.0 / self._v[valid] if self.kind == "rr" else 60.0 / (60.0 / self._v[valid])
        return self._hp_sd.step(k, t, hr)

    def step(self, k: int, scored: bool = True) -> StepResult:
        """Stage epoch ``k`` (every epoch is computed, so the filter follows the night; an
        epoch with too little signal is reported unscored)."""
        self.n_epochs += 1
        row = self.features(k)
        p = np.clip(self.booster.predict(row[None, :], num_threads=1)[0], 1e-9, None)
        if self._cycle is not None:
            a = self._cycle.step(p)
        elif self._alpha is None:
            a = p / p.sum()
        else:
            a = (self._alpha @ self._trans) * p
            a /= a.sum()
        self._alpha = a
        return StepResult(int(np.argmax(a)), a, scored, likelihood=p)

    @property
    def transitions(self) -> np.ndarray:
        """Transition matrix of the sticky forward filter."""
        return self._trans

    def finalise(self, posterior: np.ndarray) -> tuple[int, np.ndarray]:
        """Stage code (argmax of the posterior) and the calibrated probabilities."""
        probs = posterior
        if self.calibration:
            # as predict_night: a temperature only (it does not move the argmax)
            probs = apply_calibration(posterior[None, :], self.calibration["temperature"])[0]
        return int(np.argmax(posterior)), probs
