"""Map a band's clock onto the host clock: online offset + drift, robust to delayed packets.

A packet whose last sample was taken at device time ``d`` reaches the host at
``h = a + (1 + b)·d + delay`` with ``delay ≥ 0``: radio links delay notifications, never
deliver them early. So the true line is the *lower envelope* of the points ``(d, h − d)``.
We estimate it as in Moon, Skelly & Towsley (1999, "Estimation and removal of clock skew
from network delay measurements"): among lines lying under every point, the one closest to
them on average — an edge of the lower convex hull, the one spanning the mean of ``d``.
Points are first reduced to per-bin minima, and only a sliding window is kept, so the
mapping follows slow wander and costs O(window / bin) per refit.

Mapped host times are ``d + a + b·d − latency``: de-jittered, and ``latency`` (the link's
minimal delay, unknowable from one-way timing) is a constant the caller may subtract.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

__all__ = ["ClockMapper", "lower_envelope_fit"]


def lower_envelope_fit(d: np.ndarray, r: np.ndarray) -> tuple[float, float]:
    """Fit ``r ≈ a + b·d`` from below: the lower-hull edge spanning the mean of ``d``.

    Parameters
    ----------
    d : ndarray
        Device times (s).
    r : ndarray
        Host minus device times (s), same length.

    Returns
    -------
    a, b : float
        Intercept (s) and slope (relative drift) of the line; every point lies on or above it.
    """
    d = np.asarray(d, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    if d.size == 0:
        raise ValueError("need at least one observation")
    if d.size == 1 or np.ptp(d) == 0:
        return float(r.min()), 0.0
    order = np.argsort(d, kind="stable")
    xs_a, ys_a = d[order], r[order]
    xs, ys = xs_a.tolist(), ys_a.tolist()  # Python floats: same IEEE arithmetic, no boxing
    hull: list[int] = []
    for i in range(len(xs)):
        xi, yi = xs[i], ys[i]
        while len(hull) >= 2:
            o, a = hull[-2], hull[-1]
            cross = (xs[a] - xs[o]) * (yi - ys[o]) - (ys[a] - ys[o]) * (xi - xs[o])
            if cross <= 0:
                hull.pop()
            else:
                break
        hull.append(i)
    if len(hull) == 1:
        return float(ys[hull[0]]), 0.0
    xm = float(xs_a.mean())
    for j in range(len(hull) - 1):
        p, q = hull[j], hull[j + 1]
        if xs[q] >= xm or j == len(hull) - 2:
            if xs[q] == xs[p]:
                continue
            b = (ys[q] - ys[p]) / (xs[q] - xs[p])
            return float(ys[p] - b * xs[p]), float(b)
    return float(min(ys)), 0.0  # pragma: no cover - unreachable for distinct xs


class ClockMapper:
    """Online device-to-host clock mapping.

    Parameters
    ----------
    window_s : float
        Device-time span of observations kept for the fit (s).
    bin_s : float
        Observations are reduced to their minimum delay per bin of this length (s).
    latency_s : float
        Constant minimal link latency subtracted from mapped times (s).
    max_drift : float
        Fitted slopes are clipped to ±``max_drift`` (1e-3 = 1000 ppm).
    """

    def __init__(
        self,
        window_s: float = 60.0,
        bin_s: float = 0.5,
        latency_s: float = 0.0,
        max_drift: float = 1e-3,
    ) -> None:
        if window_s <= 0 or bin_s <= 0 or window_s < 2 * bin_s:
            raise ValueError(f"need window_s >= 2 * bin_s > 0, got {window_s}, {bin_s}")
        self.window_s = float(window_s)
        self.bin_s = float(bin_s)
        self.latency_s = float(latency_s)
        self.max_drift = float(max_drift)
        self.reset()

    def reset(self) -> None:
        """Forget every observation (after the device's clock restarted)."""
        self._bins: deque[list[float]] = deque()  # [bin id, d at min, min r]
        self._a = math.nan
        self._b = 0.0
        self._dirty = False
        self.n_observations = 0

    @property
    def ready(self) -> bool:
        """True once at least one observation was made."""
        return self.n_observations > 0

    @property
    def drift(self) -> float:
        """Current drift estimate: host seconds per device second, minus one."""
        self._refit_if_needed()
        return self._b

    @property
    def offset(self) -> float:
        """Current offset estimate ``a`` (s): host − device time at device time 0."""
        self._refit_if_needed()
        return self._a

    def update(self, device_time: float, host_time: float) -> None:
        """Add one observation: a packet whose last sample has ``device_time`` arrived at
        ``host_time``."""
        if not (math.isfinite(device_time) and math.isfinite(host_time)):
            raise ValueError(f"clock observation must be finite, got {device_time}, {host_time}")
        r = host_time - device_time
        bid = math.floor(device_time / self.bin_s)
        if self._bins and bid < self._bins[-1][0] - self.window_s / self.bin_s:
            self.reset()  # device clock jumped back far: a new session
        self.n_observations += 1
        if self._bins and self._bins[-1][0] == bid:
            last = self._bins[-1]
            if r < last[2]:
                last[1], last[2] = device_time, r
                self._dirty = True
        else:
            self._bins.append([bid, device_time, r])
            self._dirty = True
            oldest = bid - self.window_s / self.bin_s
            while self._bins and self._bins[0][0] < oldest:
                self._bins.popleft()
        if math.isnan(self._a):
            self._a = r

    def _refit_if_needed(self) -> None:
        if not self._dirty or not self._bins:
            return
        arr = np.array(self._bins, dtype=np.float64)
        a, b = lower_envelope_fit(arr[:, 1], arr[:, 2])
        if abs(b) > self.max_drift:
            b = math.copysign(self.max_drift, b)
            a = float(np.min(arr[:, 2] - b * arr[:, 1]))
        self._a, self._b = a, b
        self._dirty = False

    def coefficients(self) -> tuple[float, float]:
        """Current ``(offset, drift)``: :meth:`map` computes ``d + offset + drift·d −
        latency_s`` with them (refits first if observations changed)."""
        if not self.ready:
            raise ValueError("clock mapper has no observation yet")
        self._refit_if_needed()
        return self._a, self._b

    def map(self, device_time: np.ndarray | float) -> np.ndarray:
        """Host times (s) of samples taken at ``device_time`` (s)."""
        if not self.ready:
            raise ValueError("clock mapper has no observation yet")
        self._refit_if_needed()
        d = np.asarray(device_time, dtype=np.float64)
        return d + self._a + self._b * d - self.latency_s
