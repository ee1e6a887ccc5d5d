"""Clock mapping: drift, jitter and loss; the mapped time stays within 5 ms of the truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from firmware_bridge.clock import ClockMapper, lower_envelope_fit


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
