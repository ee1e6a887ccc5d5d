"""Run-time check of the virtual sleeper's calibration against the real DREAMS excerpts.

The simulator's constants come from the literature only. This test reads the DREAMS excerpts
(skipped when they are absent) and checks that the simulated per-stage relative band powers
and amplitudes fall in the same range as the real ones. Nothing derived from DREAMS is
written anywhere (its licence forbids derived works). Simulated signals are for plumbing and
demos: no accuracy is measured here.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import welch

from dreamband.core import Hypnogram, SleepStage
from dreamband.sim import NO_ARTEFACTS, VirtualSleeper

pytestmark = pytest.mark.data

BANDS = ((0.5, 4.0), (4.0, 8.0), (8.0, 12.0), (12.0, 16.0), (16.0, 30.0))
NAMES = ("delta", "theta", "alpha", "sigma", "beta")
DREAMS_TO_STAGE = {
    5: SleepStage.W,
    4: SleepStage.REM,
    3: SleepStage.N1,
    2: SleepStage.N2,
    1: SleepStage.N3,
    0: SleepStage.N3,
}
SEGMENT_S = 5.0  # DREAMS hypnograms label 5-s segments


def segment_features(x: np.ndarray, fs: float) -> np.ndarray:
    """Relative band powers (0.5-30 Hz) and standard deviation per 5-s segment."""
    n = round(SEGMENT_S * fs)
    segs = x[: x.size // n * n].reshape(-1, n)
    f, p = welch(segs, fs, nperseg=int(4 * fs), axis=-1)
    total = p[:, (f >= 0.5) & (f < 30)].sum(1)
    rel = [p[:, (f >= lo) & (f < hi)].sum(1) / total for lo, hi in BANDS]
    return np.column_stack([*rel, segs.std(1)])


def read_excerpt(folder, n):
    sig = folder / f"excerpt{n}.txt"
    hyp = folder / f"Hypnogram_excerpt{n}.txt"
    if not (sig.is_file() and hyp.is_file()):
        return None
    x = np.loadtxt(sig, skiprows=1)
    labels = np.loadtxt(hyp, skiprows=1).astype(int)
    return x, x.size / 1800.0, labels


@pytest.fixture(scope="module")
def real_ranges(dreams_dir):
    per_stage: dict[SleepStage, list[np.ndarray]] = {}
    for n in (1, 2, 3, 4, 5, 6, 7, 8):
        got = read_excerpt(dreams_dir, n)
        if got is None:
            continue
        x, fs, labels = got
        feats = segment_features(x, fs)
        k = min(len(feats), labels.size)
        stages = np.array([DREAMS_TO_STAGE.get(int(v), SleepStage.UNSCORED) for v in labels[:k]])
        for s in (SleepStage.W, SleepStage.N1, SleepStage.N2, SleepStage.N3):
            sel = feats[:k][stages == s]
            if len(sel) >= 10:
                per_stage.setdefault(s, []).append(np.median(sel, axis=0))
    if not per_stage:
        pytest.skip("no DREAMS excerpt with a hypnogram found")
    return {s: (np.min(v, 0), np.max(v, 0)) for s, v in per_stage.items() if len(v) >= 2}


@pytest.fixture(scope="module")
def simulated():
    stages = (
        [SleepStage.W] * 16 + [SleepStage.N1] * 12 + [SleepStage.N2] * 16 + [SleepStage.N3] * 16
    )
    hyp = Hypnogram(np.array([int(s) for s in stages]))
    fs = 100.0
    x = VirtualSleeper(hyp, fs=fs, channels=["EEG C3-A2"], seed=0, artefacts=NO_ARTEFACTS).generate(
        0, hyp.duration
    )["EEG C3-A2"]
    feats = segment_features(x.astype(float), fs).reshape(hyp.n_epochs, 6, -1)
    out = {}
    for s in (SleepStage.W, SleepStage.N1, SleepStage.N2, SleepStage.N3):
        idx = np.flatnonzero(hyp.stages == s)[1:-1]  # away from transitions
        out[s] = np.median(feats[idx].reshape(-1, feats.shape[-1]), axis=0)
    return out


def test_simulated_relative_band_powers_are_in_the_range_of_real_eeg(real_ranges, simulated):
    checked = 0
    for stage, (lo, hi) in real_ranges.items():
        sim = simulated[stage]
        for i, name in enumerate(NAMES):
            assert 0.5 * lo[i] <= sim[i] <= min(1.0, 1.5 * hi[i]), (
                f"{stage.label} {name}: simulated {sim[i]:.3f} outside "
                f"[{0.5 * lo[i]:.3f}, {1.5 * hi[i]:.3f}]"
            )
            checked += 1
    assert checked >= 10


def test_simulated_amplitudes_are_in_the_range_of_real_eeg(real_ranges, simulated):
    for stage, (lo, hi) in real_ranges.items():
        assert 0.5 * lo[-1] <= simulated[stage][-1] <= 2.0 * hi[-1], stage.label
