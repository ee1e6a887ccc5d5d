"""Counter unwrapping: wraps, long outages, duplicates, timestamp rounding."""

from __future__ import annotations

from firmware_bridge.sequence import CounterTracker


def test_contiguous_packets_have_no_gap_across_the_wrap() -> None:
    tr = CounterTracker(256.0, 65536 * 12)
    m = 65536 * 12
    first = [tr.place((m - 24 + 12 * k) % m, 12, k * 12 / 256).first_index for k in range(4)]
    assert first == [m - 24, m - 12, m, m + 12]


def test_lost_packets_become_missing_samples() -> None:
    tr = CounterTracker(256.0, 65536 * 12)
    tr.place(0, 12, 0.0)
    p = tr.place(36, 12, 47 / 256)
    assert (p.first_index, p.missing) == (36, 24)


def test_outage_longer_than_the_counter_period_uses_host_time() -> None:
    tr = CounterTracker(200.0, 201)
    tr.place(0, 1, 0.0)
    # 5 cycles (1005 samples) + 4 more later, the next packet starts at cycle position 5
    p = tr.place(5, 2, (1 + 1005 + 4 + 1) / 200.0 + 0.03)  # arrival late by jitter
    assert p.missing == 1005 + 4
    assert p.first_index == 1 + 1005 + 4


def test_duplicate_packet_is_flagged_negative_and_not_consumed() -> None:
    tr = CounterTracker(256.0, 65536 * 12)
    tr.place(0, 12, 0.0)
    tr.place(12, 12, 0.05)
    dup = tr.place(12, 12, 0.051)
    assert dup.missing < 0
    assert tr.place(24, 12, 0.1).missing == 0


def test_timestamp_positions_tolerate_one_sample_of_rounding() -> None:
    tr = CounterTracker(130.0, None, tolerance=1)
    tr.place(1000, 73, 0.0)
    assert tr.place(1073 + 1, 73, 0.56).missing == 0
    assert tr.place(1146 + 73, 73, 1.7).missing == 73
