"""Live heart staging with the heart stager's fixed-lag models: decisions ``lag`` epochs late.

The fixed-lag heart models (``stage_heart(..., live=True, lag=L)``; shipped for RR with
``L = 40``, i.e. 20 min) look up to ``L`` epochs ahead, which buys most of the batch
stager's agreement with expert scorings. Their features use night-so-far statistics, so
this stager keeps the samples of the night (RR intervals or 1-Hz heart rate: well under
1 MB for a night) and, when epoch ``k`` ends, stages the night so far and announces epoch
``k - L``, whose values are final by then (the library guarantees that epoch ``j`` depends
only on samples up to the end of epoch ``j + L``). The cost grows with the night (tens of
milliseconds per epoch late in a night: well below 1 % of a core). The fixed-lag models'
``hr_hp_sd`` (:mod:`dreamband.features.heart_walch_causal`) comes with that whole-prefix
computation, so it needs no incremental state here. So does the smoothing: a model whose
sidecar asks for the cycle-aware HMM is smoothed by
:func:`~dreamband.staging.heart_cycle.cycle_fixed_lag_smooth` over the staged prefix, which
is final for epochs ``<= k - lag`` as well (0.06-0.08 s CPU per call late in a night).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from dreamband.core.beats import BeatSeries
from dreamband.live.heart import coverage
from dreamband.staging.heart import load_heart_model, stage_heart

__all__ = ["HeartLagStager"]


class HeartLagStager:
    """Fixed-lag heart staging of one participant.

    Parameters
    ----------
    kind : {"rr", "hr"}
        RR intervals (s, stamped at the closing beat) or heart rate (bpm).
    origin : float
        Host time of the onset of grid epoch 0 (s).
    lag : int
        Decision delay in epochs; a model for it must exist (trained: 40 and 60, for RR and
        HR; 60 splits 50 epochs of feature look-ahead + 10 of smoothing).
    model_dir : path, optional
        Folder of the heart models.

    Raises
    ------
    ModelError
        If no fixed-lag model of that delay exists for ``kind``.
    """

    def __init__(self, kind: str, origin: float, lag: int, model_dir=None) -> None:
        if kind not in ("rr", "hr"):
            raise ValueError(f"heart input kind must be 'rr' or 'hr'; got {kind!r}")
        if lag < 1:
            raise ValueError(f"a fixed-lag heart model needs lag >= 1 epoch; got {lag}")
        load_heart_model(kind, True, model_dir, lag)  # fail early when there is none
        self.kind, self.origin, self.lag, self.model_dir = kind, float(origin), int(lag), model_dir
        self._t: list[np.ndarray] = []
        self._v: list[np.ndarray] = []
        self._last = -np.inf
        self._t0: float | None = None

    def add(self, t: np.ndarray, values: np.ndarray) -> None:
        """Append samples (times in s, increasing; RR in s or HR in bpm)."""
        t = np.asarray(t, dtype=float).ravel()
        v = np.asarray(values, dtype=float).ravel()
        keep = t > self._last
        t, v = t[keep], v[keep]
        if t.size == 0:
            return
        if self._t0 is None:  # time origin of the staged series, on the 0.5-s feature grid
            first = t[0] - (v[0] if self.kind == "rr" and np.isfinite(v[0]) else 0.0)
            self._t0 = float(np.floor(min(first, self.origin) * 2.0) / 2.0)
        self._t.append(t)
        self._v.append(v)
        self._last = float(t[-1])

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self._t) > 1:  # compact
            self._t, self._v = [np.concatenate(self._t)], [np.concatenate(self._v)]
        if not self._t:
            return np.empty(0), np.empty(0)
        return self._t[0], self._v[0]

    def coverage(self, start: float, end: float) -> float:
        """Fraction of ``[start, end)`` covered by the samples received (0-1)."""
        t, v = self._arrays()
        return coverage(self.kind, t, v, start, end)

    def stage_until(self, k: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Stages (int codes) and probabilities of grid epochs ``0..k`` from the night up to
        the end of epoch ``k``; epochs ``<= k - lag`` are final. None before enough samples."""
        t, v = self._arrays()
        if t.size < 3 or self._t0 is None:
            return None
        if self.kind == "rr":
            beats = np.concatenate([[t[0] - v[0]], t]) - self._t0
            ok = np.concatenate([[True], np.diff(beats) > 0])
            data = BeatSeries(beats[ok], None, source="live RR")
        else:
            data = SimpleNamespace(times=t - self._t0, hr=v, source="live heart rate")
        try:
            # min_coverage=0: the participant decides which epochs are scored, from the
            # intervals as received (self.coverage)
            hyp = stage_heart(data, live=True, n_epochs=k + 1, offset=self.origin - self._t0,
                              model_dir=self.model_dir, lag=self.lag, min_coverage=0.0)
        except ValueError:  # too little signal so far
            return None
        return hyp.stages.astype(int), hyp.probabilities
