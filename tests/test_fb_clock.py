"""Clock mapping: drift, jitter and loss; the mapped time stays within 5 ms of the truth."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.clock import ClockMapper, lower_envelope_fit
from firmware_bridge.hull import WindowHull


def _simulate(
    drift_ppm: float,
    seed: int,
    fs: float = 256.0,
    per_packet: int = 12,
    duration: float = 90.0,
    loss: float = 0.1,
    jitter_s: float = 0.015,
):
    """Device counts samples at a drifting rate; packets arrive late, sometimes very late."""
    rng = np.random.default_rng(seed)
    n_packets = int(duration * fs / per_packet)
    last_index = (np.arange(n_packets) + 1) * per_packet - 1
    device_t = last_index / fs  # device clock: its own counter over the nominal rate
    offset = rng.uniform(-1000, 1000)  # host clock reads device time + offset at start
    true_host = offset + device_t * (1 + drift_ppm * 1e-6)
    delay = rng.exponential(jitter_s, n_packets)
    late = rng.random(n_packets) < 0.02
    delay[late] += rng.uniform(0.05, 0.5, late.sum())  # congestion bursts
    arrival = true_host + delay
    keep = rng.random(n_packets) >= loss
    return device_t[keep], arrival[keep], offset, drift_ppm * 1e-6


@pytest.mark.parametrize("drift_ppm", [-200.0, -37.0, 0.0, 120.0, 200.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_mapped_time_within_5ms_after_one_minute(drift_ppm: float, seed: int) -> None:
    d, h, offset, drift = _simulate(drift_ppm, seed)
    mapper = ClockMapper()
    errors = []
    for di, hi in zip(d, h):
        mapper.update(di, hi)
        if di > 60.0:
            # map every sample of this packet, compared with when it was really taken
            sample_d = di - np.arange(12)[::-1] / 256.0
            truth = offset + sample_d * (1 + drift)
            errors.append(np.abs(mapper.map(sample_d) - truth).max())
    assert len(errors) > 100
    assert max(errors) < 0.005


def test_mapping_follows_a_slow_polar_like_stream() -> None:
    # 73 samples per frame at 130 Hz: under two packets a second
    d, h, offset, drift = _simulate(150.0, 3, fs=130.0, per_packet=73, duration=120.0)
    mapper = ClockMapper()
    for di, hi in zip(d, h):
        mapper.update(di, hi)
    probe = np.array([100.0, 110.0, 119.0])
    assert np.abs(mapper.map(probe) - (offset + probe * (1 + drift))).max() < 0.005
    assert abs(mapper.drift - drift) < 100e-6  # two packets a second: drift is looser


def test_lower_envelope_lies_under_every_point() -> None:
    rng = np.random.default_rng(5)
    d = np.sort(rng.uniform(0, 100, 300))
    r = 2.0 + 1e-4 * d + rng.exponential(0.01, d.size)
    a, b = lower_envelope_fit(d, r)
    assert np.all(r - (a + b * d) >= -1e-12)
    assert abs(b - 1e-4) < 2e-5


def test_mapper_rejects_non_finite_and_unready_use() -> None:
    mapper = ClockMapper()
    with pytest.raises(ValueError, match="no observation"):
        mapper.map(1.0)
    with pytest.raises(ValueError, match="finite"):
        mapper.update(float("nan"), 1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_incremental_refits_equal_a_fit_from_scratch_bit_for_bit(seed: int) -> None:
    """The mapper reuses the hull between refits; every (offset, drift) it reports must be
    exactly what lower_envelope_fit (with the drift clip) gives on its current bins."""
    rng = np.random.default_rng(seed)
    m = ClockMapper(window_s=20.0, bin_s=0.5, max_drift=1e-3 if seed else 1e-5)
    d = 100.0
    checked = 0
    for k in range(3000):
        d += 12 / 256 * (1 + (k % 97 == 0) * 30)  # packets, and now and then an outage
        if k == 1500:
            d -= 3.0  # device time steps back a little: bins out of order
        h = 5.0 + d * (1 + 150e-6) + rng.exponential(0.01) + (rng.random() < 0.02) * 0.5
        m.update(d, h)
        a, b = m.coefficients()
        arr = np.array(m._bins, dtype=np.float64)
        ra, rb = lower_envelope_fit(arr[:, 1], arr[:, 2])
        if abs(rb) > m.max_drift:
            rb = math.copysign(m.max_drift, rb)
            ra = float(np.min(arr[:, 2] - rb * arr[:, 1]))
        assert (a, b) == (ra, rb), k
        checked += 1
    assert checked == 3000


# The mapper as it was before its hull was kept incrementally: the lower hull (monotone
# chain) rebuilt from scratch over the window at every refit. The oracle of the tests below.


def _ref_chain(xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
    hx: list[float] = []
    hy: list[float] = []
    for x, y in zip(xs, ys):
        while len(hx) >= 2 and (
            (hx[-1] - hx[-2]) * (y - hy[-2]) - (hy[-1] - hy[-2]) * (x - hx[-2]) <= 0
        ):
            hx.pop()
            hy.pop()
        hx.append(x)
        hy.append(y)
    return hx, hy


class _RefMapper:
    def __init__(self, window_s: float, bin_s: float, max_drift: float) -> None:
        self.window_s, self.bin_s, self.max_drift = window_s, bin_s, max_drift
        self.bins: list[list[float]] = []  # [bin id, d at min, min r], in arrival order

    def update(self, d: float, h: float) -> None:
        r, bid = h - d, math.floor(d / self.bin_s)
        if self.bins and bid < self.bins[-1][0] - self.window_s / self.bin_s:
            self.bins = []  # device clock restarted
        if self.bins and self.bins[-1][0] == bid:
            if r < self.bins[-1][2]:
                self.bins[-1] = [bid, d, r]
            return
        self.bins.append([bid, d, r])
        while self.bins[0][0] < bid - self.window_s / self.bin_s:
            self.bins.pop(0)

    def coefficients(self) -> tuple[float, float]:
        arr = np.array(self.bins, dtype=np.float64)
        d, r = arr[:, 1], arr[:, 2]
        order = np.argsort(d, kind="stable")
        a, b = float(r.min()), 0.0
        if d.size > 1 and np.ptp(d) > 0:
            hx, hy = _ref_chain(d[order].tolist(), r[order].tolist())
            xm = float(d[order].mean())
            for j in range(len(hx) - 1):  # the edge spanning the mean (or the last one)
                if (hx[j + 1] >= xm or j == len(hx) - 2) and hx[j + 1] != hx[j]:
                    b = (hy[j + 1] - hy[j]) / (hx[j + 1] - hx[j])
                    a = hy[j] - b * hx[j]
                    break
            else:
                a = float(hy[0]) if len(hx) == 1 else float(min(hy))
        if abs(b) > self.max_drift:
            b = math.copysign(self.max_drift, b)
            a = float(np.min(r - b * d))
        return float(a), float(b)


def _stream(seed: int, n: int, window_s: float, kind: str, p: tuple[float, ...]):
    """Packets (device, host time): steady, with outages, steps back (bins out of order),
    device resets (far back), bursts delivered at once, outliers; delays exponential,
    zero (points on one line but for rounding), on a coarse host clock, or one constant
    delay exactly (a virtual band's link without jitter: every turn of the chain is 0)."""
    p_gap, p_back, p_reset, p_burst, p_outlier = p
    rng = np.random.default_rng(seed)
    d, h_prev = rng.uniform(0.0, 1e4), -math.inf
    offset, drift = rng.uniform(-1e3, 1e3), rng.choice([0.0, 1e-4, -3e-4, 2e-3])
    step = rng.choice([12 / 256, 73 / 130, 0.1, 0.37])
    for _ in range(n):
        u = rng.random()
        if u < p_gap:
            d += rng.uniform(0.5, 2.5 * window_s)
        elif u < p_gap + p_back:
            d -= rng.uniform(0.0, window_s)
        elif u < p_gap + p_back + p_reset:
            d = rng.uniform(0.0, 50.0)
        else:
            d += step
        h = offset + d * (1 + drift)
        if kind == "flat":
            d = round(d * 256) / 256
            h = d + 0.5
        elif kind == "jitter":
            h += rng.exponential(0.01)
        elif kind == "coarse":
            h = math.ceil(h * 64) / 64
        if rng.random() < p_outlier:
            h += rng.uniform(0.05, 2.0)
        if rng.random() < p_burst:
            h = max(h, h_prev)  # held back, delivered with the previous packet
        h_prev = h
        yield float(d), float(h)


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 300),
    window_s=st.sampled_from([1.0, 2.5, 6.0, 60.0]),
    bin_s=st.sampled_from([0.25, 0.5]),
    max_drift=st.sampled_from([1e-3, 1e-5]),
    kind=st.sampled_from(["jitter", "exact", "coarse", "flat"]),
    p=st.tuples(
        st.sampled_from([0.0, 0.01, 0.1]),
        st.sampled_from([0.0, 0.0, 0.003, 0.03]),
        st.sampled_from([0.0, 0.005]),
        st.sampled_from([0.0, 0.2]),
        st.sampled_from([0.0, 0.02]),
    ),
)
def test_incremental_hull_maps_exactly_like_a_rebuild_from_scratch(
    seed: int, n: int, window_s: float, bin_s: float, max_drift: float, kind: str, p: tuple
) -> None:
    if window_s < 2 * bin_s:
        window_s = 2 * bin_s
    mapper = ClockMapper(window_s=window_s, bin_s=bin_s, max_drift=max_drift, latency_s=0.01)
    ref = _RefMapper(window_s, bin_s, max_drift)
    for d, h in _stream(seed, n, window_s, kind, p):
        mapper.update(d, h)
        ref.update(d, h)
        a, b = ref.coefficients()
        assert mapper.coefficients() == (a, b)
        probe = d - np.array([0.0, 0.3, 5.0])
        assert np.array_equal(mapper.map(probe), probe + a + b * probe - 0.01)


def test_window_hull_equals_the_chain_from_scratch_on_nearly_collinear_points() -> None:
    """Points on a line but for one-ulp nudges make the chain's float turns disagree with
    exact geometry; sliding the window must still give the stack of a fresh chain (seed 130
    reaches the rerun after a turn that differs once the old root is gone)."""
    for seed in range(200):
        rng = np.random.default_rng(seed)
        x = np.cumsum(rng.choice([0.1, 0.25, 0.5, 0.7], 40)) + rng.uniform(0, 100)
        y = rng.uniform(-10, 10) + rng.choice([1e-4, 1 / 3, 0.1]) * x
        nudge = np.where(rng.random(40) < 0.5, -np.inf, np.inf)
        y = np.where(rng.random(40) < 0.5, np.nextafter(y, nudge), y)
        hull = WindowHull()
        for i in range(40):
            hull.push(float(x[i]), float(y[i]))
            if len(hull) > 6:
                hull.popleft()
            want = _ref_chain(x[hull.first : hull.end].tolist(), y[hull.first : hull.end].tolist())
            assert (hull.sx, hull.sy) == want, (seed, i)
