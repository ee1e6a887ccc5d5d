"""Streaming R-peak detection and ECG heart participants (synthetic ECG: plumbing only)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_live_helpers import rr_blocks, sleeper

from dreamband.live.engine import LiveEngine
from dreamband.live.epocher import EpochGrid
from dreamband.live.rpeaks import StreamingRPeaks
from firmware_bridge.types import SampleBlock

FS = 130.0


def synthetic_ecg(beats: np.ndarray, duration: float, seed: int = 0) -> np.ndarray:
    """QRS spikes and T waves at the beat times, with baseline wander and noise (µV)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration * FS)) / FS
    x = 150 * np.sin(2 * np.pi * 0.2 * t) + rng.normal(0, 15, t.size)
    for b in beats:
        i0, i1 = np.searchsorted(t, [b - 0.1, b + 0.5])
        seg = t[i0:i1] - b
        x[i0:i1] += 1000 * np.exp(-(seg / 0.012) ** 2) - 150 * np.exp(-((seg + 0.03) / 0.01) ** 2)
        x[i0:i1] += 250 * np.exp(-((seg - 0.25) / 0.05) ** 2)
    return x


def detect(x: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    det = StreamingRPeaks(FS)
    t = np.arange(x.size) / FS
    edges = np.unique(np.r_[0, cuts, x.size])
    return np.concatenate([det.push(x[a:b], t[a:b]) for a, b in itertools.pairwise(edges)])


def test_r_peaks_are_found_whatever_the_chunking() -> None:
    beats = sleeper(12, seed=3).beats().times
    x = synthetic_ecg(beats, 360.0)
    a = detect(x, np.arange(0, x.size, 73))
    b = detect(x, np.sort(np.random.default_rng(1).choice(x.size, 300, replace=False)))
    np.testing.assert_array_equal(a, b)
    truth = beats[(beats > 3.0) & (beats < 359.0)]
    i = np.abs(a[:, None] - truth[None, :]).argmin(axis=0)
    lag = a[i] - truth                              # the causal filter delays every beat alike
    assert 0.0 <= np.median(lag) < 0.06
    assert np.mean(np.abs(lag - np.median(lag)) <= 1.5 / FS) >= 0.98
    inside = a[(a > 3.0) & (a < 359.0 + 0.06)]
    assert inside.size <= truth.size + 3           # hardly any false beats


def test_bad_ecg_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="50 Hz"):
        StreamingRPeaks(20.0)


@pytest.mark.usefixtures("heart_models")
def test_an_ecg_band_is_staged_like_its_rr_intervals() -> None:
    sl = sleeper(40, seed=6)
    beats = sl.beats().times
    x = synthetic_ecg(beats, sl.duration)

    def run(kind: str) -> list:
        events: list = []
        eng = LiveEngine(EpochGrid(0.0), forecast_every=0, on_events=events.extend)
        if kind == "ecg":
            eng.add_participant("p", "heart", ("ECG",), FS)
            t = np.arange(x.size) / FS
            for i, a in enumerate(range(0, x.size, 73)):
                eng.push("p", SampleBlock("h10", "ecg", ("ECG",), FS, x[None, a:a + 73],
                                          t[a:a + 73], t[a:a + 73], i, a))
        else:
            eng.add_participant("p", "heart", ("rr",), None)
            for b in rr_blocks(beats, 0.0, 2):
                eng.push("p", b)
        eng.close()
        return [e for e in events if e.kind == "stage"]

    ecg, rr = run("ecg"), run("rr")
    assert len(ecg) >= 39 and all(e.data["scored"] for e in ecg)
    same = [a.data["stage"] == b.data["stage"] for a, b in zip(ecg, rr)]
    assert np.mean(same) >= 0.9
