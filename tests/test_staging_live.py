"""LiveStager: a stream pushed in any chunking announces what one causal pass gives."""

from __future__ import annotations

import numpy as np
import pytest

from dreamband.staging.api import stage
from dreamband.staging.live import LiveStager

FS = 100.0
RNG = np.random.default_rng(21)


def _night(minutes: float) -> np.ndarray:
    n = round(minutes * 60 * FS)
    x = np.cumsum(RNG.standard_normal(n))
    x = (x - np.convolve(x, np.ones(200) / 200, mode="same")) * 2.0
    t = np.arange(n) / FS
    x[n // 3 :] += 60 * np.sin(2 * np.pi * 0.9 * t[n // 3 :]) * (np.sin(t[n // 3 :] / 40) > 0)
    for s in range(n // 4, n, 1700):
        x[s : s + 110] += 35 * np.sin(2 * np.pi * 13 * t[:110]) * np.hanning(110)
    return x


@pytest.mark.parametrize("lag", [0, 2])
def test_chunked_live_staging_equals_one_causal_pass(lag):
    x = _night(12)
    ref = stage(x, FS, causal=True, lag=lag)
    live = LiveStager(FS, lag=lag)
    got = []
    edges = np.sort(RNG.integers(0, x.size, 9))
    for a, b in zip(np.r_[0, edges], np.r_[edges, x.size]):
        got += live.push(x[a:b])
    assert [e.index for e in got] == list(range(ref.n_epochs - lag))
    probs = np.array([e.probabilities for e in got])
    np.testing.assert_allclose(probs, ref.probabilities[: ref.n_epochs - lag], atol=1e-9)
    assert [e.stage for e in got] == ref.stages[: ref.n_epochs - lag].tolist()


def test_nothing_is_announced_before_an_epoch_completes():
    live = LiveStager(FS)
    assert live.push(np.zeros(round(29 * FS))) == []
    out = live.push(RNG.standard_normal(round(2 * FS)))
    assert [e.index for e in out] == [0] and out[0].onset == 0.0
    with pytest.raises(ValueError, match="lag"):
        LiveStager(FS, lag=-1)
