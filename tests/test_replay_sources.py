"""Virtual-band inputs used by replay: chunked sources, beat-driven heart-rate bands, the
batched Muse encoder."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.profiles import heart_rate, muse
from firmware_bridge.virtual import BeatSource, ChunkedSource, SineSource
from firmware_bridge.virtual.peripherals import BeatHeartRateEmitter, MuseEegEmitter


def _signal(lo: int, hi: int) -> np.ndarray:
    idx = np.arange(lo, hi, dtype=float)
    return np.vstack([np.sin(idx / 7.0), np.cos(idx / 3.0)])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 700), min_size=1, max_size=12), st.integers(-50, 50))
def test_chunked_source_is_chunking_invariant_and_zero_outside(sizes, offset):
    n_total = 1000
    src = ChunkedSource(_signal, 2, n_total, block=128, offset=offset)
    start = 0
    for n in sizes:
        got = src(start, n)
        idx = np.arange(start, start + n) + offset
        inside = (idx >= 0) & (idx < n_total)
        expect = np.zeros((2, n))
        expect[:, inside] = _signal(0, n_total)[:, idx[inside]]
        np.testing.assert_array_equal(got, expect)
        start += n


def test_batched_muse_encoder_sends_the_same_bytes_as_the_profile_encoder():
    src = SineSource(4, muse.EEG_FS, amplitude=3000.0)  # also exercises clipping
    em = MuseEegEmitter(src)
    for _ in range(150):
        k = em.k
        got = [payload for _, payload in em.pop()]
        x = src(k * 12, 12)
        assert got == [muse.encode_eeg(k % muse.INDEX_MODULO, x[i]) for i in range(4)]
    em.skip_to(700.0)
    k = em.k
    got = [payload for _, payload in em.pop()]
    assert got == [muse.encode_eeg(k % muse.INDEX_MODULO, src(k * 12, 12)[i]) for i in range(4)]


def _decode_all(em: BeatHeartRateEmitter, seconds: int) -> list[heart_rate.HeartRateMeasurement]:
    out = []
    while em.next_time <= seconds:
        ((_, payload),) = em.pop()
        out.append(heart_rate.decode_measurement(payload))
    return out


def test_beat_emitter_sends_each_real_interval_once_in_1024ths():
    rng = np.random.default_rng(3)
    beats = np.cumsum(rng.uniform(0.6, 1.4, 400)) + 0.3
    beats = np.insert(beats, 200, beats[199] + 0.5)  # a short interval
    beats[201:] += 70.0  # a 70-s pause in the annotations: too long for the protocol
    ms = _decode_all(BeatHeartRateEmitter(BeatSource(beats)), int(beats[-1]) + 1)
    rr = np.array([r for m in ms for r in m.rr_s])
    real = np.diff(beats)
    keep = real <= 0xFFFF / 1024
    assert rr.size == int(keep.sum()) == beats.size - 2
    np.testing.assert_allclose(rr, real[keep], atol=0.5 / 1024 + 1e-12)
    assert all(30 <= m.heart_rate <= 110 for m in ms if m.rr_s)


def test_beat_emitter_skips_the_beats_of_a_disconnect():
    beats = np.arange(1, 200) * 0.8
    em = BeatHeartRateEmitter(BeatSource(beats))
    first = _decode_all(em, 10)
    em.skip_to(50.2)  # link down from 10 s to 50.2 s
    later = _decode_all(em, 60)
    assert em.j == 61 and len(first) == 10 and len(later) == 10
    # the first interval after the outage ends at the first beat of second 51
    assert later[0].rr_s[0] == round(0.8 * 1024) / 1024
    n_after = np.count_nonzero((beats > 50) & (beats <= 60))
    assert sum(len(m.rr_s) for m in later) == n_after
