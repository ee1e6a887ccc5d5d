"""Map a band's clock onto the host clock: online offset + drift, robust to delayed packets.

A packet whose last sample was taken at device time ``d`` reaches the host at
``h = a + (1 + b)·d + delay`` with ``delay ≥ 0``: radio links delay notifications, never
deliver them early. So the true line is the *lower envelope* of the points ``(d, h − d)``.
We estimate it as in Moon, Skelly & Towsley (1999, "Estimation and removal of clock skew
from network delay measurements"): among lines lying under every point, the one closest to
them on average — an edge of the lower convex hull, the one spanning the mean of ``d``.
Points are first reduced to per-bin minima, and only a sliding window is kept, so the
mapping follows slow wander. The window's hull is kept incrementally
(:class:`firmware_bridge.hull.WindowHull`): a refit costs O(log hull) and a slide of the
window usually O(1), with results bit for bit those of the monotone chain run from scratch
over the window (:func:`lower_envelope_fit`).

Mapped host times are ``d + a + b·d − latency``: de-jittered, and ``latency`` (the link's
minimal delay, unknowable from one-way timing) is a constant the caller may subtract.
"""

from __future__ import annotations

import math
import sys
from bisect import bisect_left
from collections import deque
from itertools import islice

import numpy as np

from firmware_bridge.hull import WindowHull, chain, edge_at

__all__ = ["ClockMapper", "lower_envelope_fit"]

_EPS = sys.float_info.epsilon
_RESUM_EVERY = 128  # running-sum updates between exact re-summations of the bins' times


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
    xs_a = d[order]
    xs, ys = xs_a.tolist(), r[order].tolist()  # Python floats: same IEEE arithmetic, faster
    hx: list[float] = []  # lower hull (monotone chain), as coordinates
    hy: list[float] = []
    chain(hx, hy, xs, ys)
    if len(hx) == 1:
        return float(hy[0]), 0.0
    got = edge_at(hx, hy, float(xs_a.mean()))
    if got is not None:
        return got
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
        # While bins are in increasing time order (``_sorted``), the hull of every bin but
        # the last is kept up to date (unless ``_hull_ok`` is False: rebuilt at the next
        # refit), and so is a running sum of the bins' device times (rounding error at
        # most ``_dsum_err``), and the number of neighbouring bins with different delays
        # (``_n_steps``: 0 on a link without jitter, as virtual bands have; the chain then
        # keeps the two ends only). Out of order, refits sort from scratch until the next reset.
        self._sorted = True
        self._hull = WindowHull()
        self._hull_ok = True
        self._dsum = 0.0
        self._dsum_err = 0.0
        self._dsum_ops = 0
        self._n_steps = 0

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
        bins = self._bins
        if bins and bid < bins[-1][0] - self.window_s / self.bin_s:
            self.reset()  # device clock jumped back far: a new session
            bins = self._bins
        self.n_observations += 1
        if bins and bins[-1][0] == bid:
            last = bins[-1]
            if r < last[2]:
                if self._sorted:
                    self._add_d(-last[1])
                    self._add_d(device_time)
                    if len(bins) > 1:
                        prev = bins[-2][2]
                        self._n_steps += (1 if r != prev else 0) - (1 if last[2] != prev else 0)
                last[1], last[2] = device_time, r
                self._dirty = True
        else:
            if bins and bid < bins[-1][0]:
                self._sorted = False  # out of order: refits sort from scratch
            elif bins and self._sorted and self._hull_ok:
                self._hull.push(bins[-1][1], bins[-1][2])  # the last bin is final now
            if self._sorted and bins:
                self._n_steps += 1 if r != bins[-1][2] else 0
            bins.append([bid, device_time, r])
            if self._sorted:
                self._add_d(device_time)
            self._dirty = True
            oldest = bid - self.window_s / self.bin_s
            popped = 0
            while bins and bins[0][0] < oldest:
                gone = bins.popleft()
                popped += 1
                if self._sorted:
                    self._add_d(-gone[1])
                    self._n_steps -= 1 if gone[2] != bins[0][2] else 0
            if popped and self._sorted and self._hull_ok:
                if self._n_steps == 0 or 2 * popped > len(self._hull):
                    # no hull needed, or most of the window left: rebuild when needed
                    self._hull_ok = False
                else:
                    for _ in range(popped):
                        self._hull.popleft()
        if math.isnan(self._a):
            self._a = r

    def _add_d(self, x: float) -> None:
        """Add ``x`` to the running sum of the bins' device times, bounding its error."""
        s = self._dsum + x
        self._dsum = s
        self._dsum_err += math.ulp(s)  # ≥ twice this addition's rounding error
        self._dsum_ops += 1

    def _refit_if_needed(self) -> None:
        if not self._dirty or not self._bins:
            return
        got = self._fit_sorted() if self._sorted else None
        if got is None:
            arr = np.array(self._bins, dtype=np.float64)
            a, b = lower_envelope_fit(arr[:, 1], arr[:, 2])
        else:
            a, b = got
        if abs(b) > self.max_drift:
            arr = np.array(self._bins, dtype=np.float64)
            b = math.copysign(self.max_drift, b)
            a = float(np.min(arr[:, 2] - b * arr[:, 1]))
        self._a, self._b = a, b
        self._dirty = False

    def _fit_sorted(self) -> tuple[float, float] | None:
        """:func:`lower_envelope_fit` of the bins (in time order), bit for bit, from the
        hull kept of every bin but the last and the running sum of device times.

        The edge spanning the mean of ``d`` is found by bisection at the running mean.
        Only when a hull vertex lies within the bound on the distance between that mean
        and numpy's (summation error of both, division roundings) is numpy's mean
        computed, as :func:`lower_envelope_fit` does, to pick the same edge. When every
        bin has the same delay, every turn of the chain is exactly 0 and it keeps the two
        ends only: their edge is returned without the hull.
        """
        bins = self._bins
        n = len(bins)
        if n < 2:
            return None
        if self._n_steps == 0 and math.isfinite(bins[0][2]):  # one delay: the chain keeps
            px, py = bins[0][1], bins[0][2]  # the ends only, every turn being exactly 0
            qx, qy = bins[-1][1], bins[-1][2]
            b = (qy - py) / (qx - px)
            return float(py - b * px), float(b)
        hull = self._hull
        if not self._hull_ok:
            hull.clear()
            for b in islice(bins, n - 1):
                hull.push(b[1], b[2])
            self._hull_ok = True
            self._dsum_ops = _RESUM_EVERY
        if self._dsum_ops >= _RESUM_EVERY:
            self._dsum = math.fsum(b[1] for b in bins)  # correctly rounded
            self._dsum_err = math.ulp(self._dsum)
            self._dsum_ops = 0
        lx, ly = bins[-1][1], bins[-1][2]
        t = hull.kept_under(lx, ly)  # the hull of all bins: sx[:t] then (lx, ly)
        sx, sy = hull.sx, hull.sy
        xm = self._dsum / n
        tol = 2.0 * (
            self._dsum_err / n + (n + 2) * _EPS * max(abs(bins[0][1]), abs(lx)) + 4.0 * math.ulp(xm)
        )
        i = bisect_left(sx, xm, 1, t)  # the edge ends at the first vertex >= mean (or last)
        if (i < t and sx[i] - xm <= tol) or (i > 1 and xm - sx[i - 1] <= tol):
            d = np.fromiter((b[1] for b in bins), dtype=np.float64, count=n)
            i = bisect_left(sx, float(d.mean()), 1, t)
        px, py = sx[i - 1], sy[i - 1]
        qx, qy = (sx[i], sy[i]) if i < t else (lx, ly)
        if qx == px:
            return None  # pragma: no cover - bins in order have increasing times
        b = (qy - py) / (qx - px)
        return float(py - b * px), float(b)

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
