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
    xs_a = d[order]
    xs, ys = xs_a.tolist(), r[order].tolist()  # Python floats: same IEEE arithmetic, faster
    hx: list[float] = []  # lower hull (monotone chain), as coordinates
    hy: list[float] = []
    _chain(hx, hy, xs, ys)
    if len(hx) == 1:
        return float(hy[0]), 0.0
    got = _edge_at(hx, hy, float(xs_a.mean()))
    if got is not None:
        return got
    return float(min(ys)), 0.0  # pragma: no cover - unreachable for distinct xs


def _chain(hx: list[float], hy: list[float], xs: list[float], ys: list[float]) -> None:
    """Extend the lower hull ``(hx, hy)`` (monotone chain, collinear points dropped) with
    the points ``xs, ys`` (sorted by x, right of the hull)."""
    n = len(hx)  # stack top; the lists are padded so that pushes overwrite in place
    pad = [0.0] * len(xs)
    hx.extend(pad)
    hy.extend(pad)
    for xi, yi in zip(xs, ys, strict=True):
        while n >= 2:
            ox = hx[n - 2]
            oy = hy[n - 2]
            if (hx[n - 1] - ox) * (yi - oy) - (hy[n - 1] - oy) * (xi - ox) <= 0:
                n -= 1
            else:
                break
        hx[n] = xi
        hy[n] = yi
        n += 1
    del hx[n:]
    del hy[n:]


def _edge_at(hx: list[float], hy: list[float], xm: float) -> tuple[float, float] | None:
    """Intercept and slope of the hull edge spanning ``xm`` (the last edge if none)."""
    last = len(hx) - 2
    for j in range(last + 1):
        px, qx = hx[j], hx[j + 1]
        if qx >= xm or j == last:
            if qx == px:
                continue
            b = (hy[j + 1] - hy[j]) / (qx - px)
            return float(hy[j] - b * px), float(b)
    return None


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
        # Hull of every bin but the last, reused by the next refit while the oldest bin
        # stays (bins are in increasing time order unless ``_sorted`` is False).
        self._sorted = True
        self._base: tuple[float, int, list[float], list[float]] | None = None

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
            if self._bins and bid < self._bins[-1][0]:
                self._sorted = False  # out of order: refits sort from scratch
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
        """:func:`lower_envelope_fit` of the bins (in time order), continuing the hull of
        the previous refit: bins other than the last never change, so the monotone chain
        over them is the same — and so is the result, bit for bit."""
        bins = self._bins
        n = len(bins)
        if n < 2:
            return None
        base = self._base
        if base is not None and base[0] == bins[0][0] and base[1] <= n - 1:
            _, done, hx, hy = base
        else:
            done, hx, hy = 0, [], []
        if done < n - 1:
            new = [bins[i] for i in range(done, n - 1)]
            _chain(hx, hy, [b[1] for b in new], [b[2] for b in new])
        self._base = (bins[0][0], n - 1, hx, hy)
        hx, hy = hx[:], hy[:]
        _chain(hx, hy, [bins[-1][1]], [bins[-1][2]])
        d = np.fromiter((b[1] for b in bins), dtype=np.float64, count=n)
        return _edge_at(hx, hy, float(d.mean()))

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
