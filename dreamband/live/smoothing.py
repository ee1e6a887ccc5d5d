"""Fixed-lag smoothing of a live HMM filter: decide each epoch ``lag`` epochs late.

The forward filter gives ``P(stage_t | obs_1..t)`` as soon as epoch ``t`` ends. Waiting
``lag`` more epochs and running the backward recursion over them gives
``P(stage_t | obs_1..t+lag)`` (the same quantity as :func:`dreamband.staging.hmm.fixed_lag`),
which recovers much of the benefit of whole-night forward-backward smoothing at a fixed,
known delay. Memory: ``lag`` epochs of filter state. ``lag = 0`` passes the filtered
posteriors through unchanged.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

__all__ = ["FixedLag"]


class FixedLag:
    """Delay-and-smooth buffer for one participant.

    Parameters
    ----------
    trans : numpy.ndarray
        ``(k, k)`` transition matrix of the filter (rows = from).
    lag : int
        Epochs of look-ahead (>= 0).
    """

    def __init__(self, trans: np.ndarray, lag: int) -> None:
        if lag < 0:
            raise ValueError(f"lag must be >= 0 epochs; got {lag}")
        self.trans = np.asarray(trans, dtype=float)
        self.lag = int(lag)
        self._buf: deque[tuple[np.ndarray, np.ndarray, Any]] = deque()

    def push(self, filtered: np.ndarray, likelihood: np.ndarray,
             payload: Any) -> list[tuple[Any, np.ndarray]]:
        """Add epoch ``t`` (its filtered posterior and emission likelihood); return the
        ``(payload, smoothed posterior)`` of the epoch now ``lag`` epochs old, if any."""
        self._buf.append((np.asarray(filtered, float), np.asarray(likelihood, float), payload))
        if len(self._buf) <= self.lag:
            return []
        return [self._pop()]

    def flush(self) -> list[tuple[Any, np.ndarray]]:
        """End of the stream: the remaining epochs, smoothed over what exists."""
        out = []
        while self._buf:
            out.append(self._pop())
        return out

    def _pop(self) -> tuple[Any, np.ndarray]:
        alpha, _, payload = self._buf[0]
        beta = np.ones_like(alpha)
        for i in range(len(self._buf) - 1, 0, -1):
            lik = np.maximum(self._buf[i][1], 1e-300)
            beta = self.trans @ (lik * beta)
            beta /= beta.sum()
        self._buf.popleft()
        post = alpha * beta
        return payload, post / post.sum()
