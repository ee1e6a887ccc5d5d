"""The faster batch-staging code gives exactly what the straightforward code gives."""

from __future__ import annotations

import numpy as np
import pytest

import dreamband.features.eeg as eeg
import dreamband.staging.rules as rules
from dreamband.features.detectors import _half_wave_extremes, _segment_max, decimate_to
from dreamband.signal.quality import _count_equal, epoch_extremes, epoch_quality
from dreamband.signal.resample import decimate_mean
from dreamband.staging.api import stage
from dreamband.staging.explain import LazyExplainTable, explain_table
from dreamband.staging.hmm import forward_backward

FS = 100.0


def _night(minutes: float, seed: int = 0) -> np.ndarray:
    """1/f-like EEG (µV) with slow-wave, spindle, clipped and flat stretches."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * FS)
    spec = np.fft.rfft(rng.standard_normal(n))
    spec /= np.maximum(np.fft.rfftfreq(n, 1 / FS), 0.3)
    x = np.fft.irfft(spec, n)
    x *= 30.0 / x.std()
    t = np.arange(n) / FS
    third = n // 3
    x[third : 2 * third] += 70 * np.sin(2 * np.pi * 0.9 * t[third : 2 * third])
    for s in range(1000, third, 1700):
        x[s : s + 100] += 25 * np.sin(2 * np.pi * 13 * t[:100]) * np.hanning(100)
    x[5 * 3000 : 6 * 3000] = np.clip(x[5 * 3000 : 6 * 3000], -8, 8)  # rails
    x[9 * 3000 : 10 * 3000] = 3.0  # a flat epoch
    return x


def test_segment_max_equals_reduceat_for_short_and_long_spans():
    rng = np.random.default_rng(1)
    v = rng.standard_normal(5000).astype(np.float32)
    # spans of 1 to 300 samples (some beyond the sparse table's top level)
    bounds = np.cumsum(np.concatenate([[3], rng.integers(1, 12, 300), [150, 300, 1, 2, 129]]))
    s, e = bounds[:-1], bounds[1:]
    expected = np.maximum.reduceat(v, bounds)[:-1]
    got = _segment_max(v.copy(), s, e)
    np.testing.assert_array_equal(got, expected)
    assert _segment_max(v.copy(), s[:0], e[:0]).size == 0


def test_half_wave_extremes_equal_the_where_reduceat_reading():
    rng = np.random.default_rng(2)
    y = np.cumsum(rng.standard_normal(4000)).astype(np.float32)
    amp = rng.standard_normal(4000).astype(np.float32) * 50
    sign = y >= 0
    zc = np.flatnonzero(sign[1:] != sign[:-1]) + 1
    assert zc.size > 20
    expected = np.maximum.reduceat(np.where(sign, amp, -amp), zc)[:-1]
    got = _half_wave_extremes(amp.copy(), sign, zc[:-1], zc[1:], np.empty_like(amp))
    np.testing.assert_array_equal(got, expected)


def test_count_equal_and_extremes_match_the_plain_counts():
    x = np.round(np.random.default_rng(3).standard_normal((40, 300)), 1).astype(np.float32)
    x[5, :50] = x[5].max()  # a clipped epoch
    hi, lo, at_hi, at_lo = epoch_extremes(x)
    np.testing.assert_array_equal(hi, x.max(axis=1))
    np.testing.assert_array_equal(lo, x.min(axis=1))
    np.testing.assert_array_equal(at_hi, np.count_nonzero(x == x.max(axis=1)[:, None], axis=1))
    np.testing.assert_array_equal(at_lo, np.count_nonzero(x == x.min(axis=1)[:, None], axis=1))
    np.testing.assert_array_equal(_count_equal(x, hi), at_hi)
    q1, q2 = epoch_quality(x), epoch_quality(x, extremes=(hi, lo, at_hi, at_lo))
    assert q1.clipped[5] and not q1.clipped[6]
    np.testing.assert_array_equal(q1.bad, q2.bad)


def test_decimate_mean_into_slices_equals_one_pass():
    x = np.random.default_rng(4).standard_normal(10_007)
    whole = decimate_mean(x, 2, np.float32)
    out = np.empty_like(whole)
    decimate_mean(x[:4000], 2, np.float32, out=out[:2000])
    decimate_mean(x[4000 : whole.size * 2], 2, np.float32, out=out[2000:])
    np.testing.assert_array_equal(out, whole)
    with pytest.raises(ValueError, match="shape"):
        decimate_mean(x, 2, np.float32, out=np.empty(3, np.float32))


@pytest.mark.parametrize("fs", [100.0, 128.0, 256.0])
def test_decimated_halves_equal_decimate_to(fs):
    x = np.random.default_rng(5).standard_normal(int(fs * 3700))
    ref: dict = {}
    xs_ref, fs_ref = decimate_to(x, fs, eeg.WORK_FS, ref)
    decimate_to(x, fs, 10.0, ref)
    cache: dict = {}
    xs, fs_s = eeg._decimated(x, fs, cache, threaded=True)
    assert fs_s == fs_ref and sorted(cache) == sorted(ref)
    np.testing.assert_array_equal(xs, xs_ref)
    for k in ref:
        np.testing.assert_array_equal(cache[k], ref[k])


@pytest.mark.parametrize("causal", [False, True])
def test_evidence_is_the_same_with_and_without_threads(monkeypatch, causal):
    x = _night(40)  # above PARALLEL_MIN_SECONDS, so the threaded path is taken
    monkeypatch.setattr(eeg, "_threads_allowed", lambda: False)
    one = eeg.compute_evidence(x, FS, causal=causal)
    monkeypatch.setattr(eeg, "_threads_allowed", lambda: True)
    two = eeg.compute_evidence(x, FS, causal=causal)
    assert one.names == two.names
    np.testing.assert_array_equal(one.values, two.values)
    np.testing.assert_array_equal(one.bad, two.bad)
    assert one.bad[5] and one.bad[9]  # the clipped and the flat epoch


def test_parallel_forward_backward_equals_serial():
    rng = np.random.default_rng(6)
    lik = rng.random((700, 5)) + 0.02
    trans = rng.random((5, 5)) + np.eye(5) * 5
    trans /= trans.sum(axis=1, keepdims=True)
    init = np.full(5, 0.2)
    np.testing.assert_array_equal(
        forward_backward(lik, trans, init, parallel=True), forward_backward(lik, trans, init)
    )


def test_stage_is_the_same_with_and_without_threads_and_explains_lazily(monkeypatch):
    x = _night(40, seed=7)
    for mod in (eeg, rules):
        monkeypatch.setattr(mod, "_threads_allowed", lambda: False)
    one = stage(x, FS)
    for mod in (eeg, rules):
        monkeypatch.setattr(mod, "_threads_allowed", lambda: True)
    two = stage(x, FS)
    np.testing.assert_array_equal(one.stages, two.stages)
    np.testing.assert_array_equal(one.probabilities, two.probabilities)
    lazy = two.meta["explain"]
    assert isinstance(lazy, LazyExplainTable) and "not built" in repr(lazy)
    ev = eeg.compute_evidence(x, FS)
    assert dict(lazy) == explain_table(ev, rules.stage_rules(ev))
    assert lazy["stage"] == two.labels() and len(lazy) == len(list(lazy))


def test_decimate_mean_in_pieces_equals_the_strided_sums():
    # longer than one piece of decimate_mean: the piece-wise result must be the plain one
    rng = np.random.default_rng(3)
    x = rng.standard_normal(5 * 40_001 + 3).astype(np.float32) * 50
    k = x.size // 5
    ref = x[0 : 5 * k : 5] + x[1 : 5 * k : 5]
    for i in range(2, 5):
        ref = ref + x[i : 5 * k : 5]
    ref *= np.float32(0.2)
    assert np.array_equal(decimate_mean(x, 5), ref)
    x64 = x.astype(np.float64)
    out = decimate_mean(x64, 5, np.float32)
    ref32 = np.add(x64[0 : 5 * k : 5], x64[1 : 5 * k : 5]).astype(np.float32)
    for i in range(2, 5):
        ref32 = np.add(ref32, x64[i : 5 * k : 5]).astype(np.float32)
    ref32 *= np.float32(0.2)
    assert np.array_equal(out, ref32)


def _signed_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Same values, NaNs and signs of zero."""
    return np.array_equal(a, b, equal_nan=True) and np.array_equal(np.signbit(a), np.signbit(b))


@pytest.mark.parametrize("seed", range(6))
def test_expanding_quartiles_and_live_scaling_equal_the_per_epoch_loop(seed):
    from dreamband.features.context import expanding_quartiles, robust_scale, robust_scale_last

    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(1, 150)), int(rng.integers(1, 5))
    v = rng.standard_normal((n, k)) * 10.0 ** rng.uniform(-3, 3)
    if seed % 2:
        v = np.round(v) * rng.choice([-0.0, 0.0, 1.0], size=v.shape)  # ties and signed zeros
    q = expanding_quartiles(v)
    ref = np.stack([np.percentile(v[: i + 1], [25, 50, 75], axis=0) for i in range(n)], axis=1)
    for got, want in zip(q, ref, strict=True):
        assert np.array_equal(got, want)
    prior = (np.array([np.nan, 0.5, 1.0, -2.0])[:k], np.array([1.0, np.nan, 0.3, 2.0])[:k])
    for kw in ({"prior": prior, "epoch_length": 20.0}, {"warmup": 5}, {}):
        loop = np.stack([robust_scale_last(v[: i + 1], **kw) for i in range(n)])
        assert np.array_equal(robust_scale(v, True, **kw), loop)


@pytest.mark.parametrize("seed", range(6))
def test_expanding_median_mad_equals_numpy_medians(seed):
    from dreamband.signal.quality import expanding_median_mad

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200))
    v = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3)
    if seed % 3 == 1:
        v = np.round(v) * rng.choice([-0.0, 0.0, 1.0], size=n)
    elif seed % 3 == 2:
        v = rng.choice([-0.0, 0.0, 2.5], size=n)
    med = np.array([np.median(v[: i + 1]) for i in range(n)])
    mad = np.array([np.median(np.abs(v[: i + 1] - med[i])) for i in range(n)])
    got_med, got_mad = expanding_median_mad(v)
    assert _signed_equal(got_med, med)
    assert _signed_equal(got_mad, mad)


def test_live_quality_flags_equal_the_per_epoch_medians():
    x = _night(60.0, seed=4)
    ep = x[: x.size // 3000 * 3000].reshape(-1, 3000)
    q = epoch_quality(ep, causal=True)
    var = ep.var(axis=1, dtype=np.float64)
    logp = np.log(var + 1e-12)
    med = np.array([np.median(logp[: i + 1]) for i in range(logp.size)])
    mad = np.array([1.4826 * np.median(np.abs(logp[: i + 1] - med[i])) for i in range(logp.size)])
    hi, lo = ep.max(axis=1), ep.min(axis=1)
    art = ((hi - lo) > 1000.0) | ((logp - med) / (mad + 1e-9) > 6.0)
    assert np.array_equal(q.artefact, art & ~q.flat)
