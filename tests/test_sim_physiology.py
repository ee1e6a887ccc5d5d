"""Stage-dependent properties of the virtual sleeper's signals and heart beats.

These check that the simulator has the physiology it claims (for plumbing, load, replay and
demos). They never measure a stager's accuracy: simulated signals must never give one.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, hilbert, sosfiltfilt, welch

from dreamband.core import Hypnogram, SleepStage
from dreamband.sim import NO_ARTEFACTS, VirtualSleeper

W, N1, N2, N3, R = (
    int(s) for s in (SleepStage.W, SleepStage.N1, SleepStage.N2, SleepStage.N3, SleepStage.REM)
)
FS = 100.0
CHANNELS = [
    "EEG Fpz-Cz",
    "EEG Pz-Oz",
    "EEG C3-A2",
    "EOG horizontal",
    "EOG LOC",
    "EOG ROC",
    "EMG submental",
]


@pytest.fixture(scope="module")
def night():
    stages = [W] * 14 + [N1] * 6 + [N2] * 24 + [N3] * 24 + [N2] * 4 + [R] * 24 + [W] * 4
    hyp = Hypnogram(np.array(stages), source="synthetic")
    sleeper = VirtualSleeper(hyp, fs=FS, channels=CHANNELS, seed=21, artefacts=NO_ARTEFACTS)
    data = {k: v.astype(float) for k, v in sleeper.generate(0, hyp.duration).items()}
    stages = hyp.stages
    interior = np.ones(stages.size, bool)
    interior[1:] &= stages[1:] == stages[:-1]
    interior[:-1] &= stages[:-1] == stages[1:]
    return hyp, sleeper, data, interior


def epochs(night, channel, stage):
    hyp, _, data, interior = night
    n = int(30 * FS)
    idx = np.flatnonzero((hyp.stages == stage) & interior)
    return data[channel][: hyp.n_epochs * n].reshape(hyp.n_epochs, n)[idx]


def band_power(x, lo, hi, relative=False, average=np.median):
    f, p = welch(x, FS, nperseg=int(4 * FS), axis=-1)
    band = p[..., (f >= lo) & (f < hi)].sum(-1)
    if relative:
        band = band / p[..., (f >= 0.5) & (f < 30)].sum(-1)
    return float(average(band))


def test_alpha_is_higher_in_relaxed_wake_than_in_n3(night):
    alpha_w = band_power(epochs(night, "EEG Pz-Oz", W), 8, 12, relative=True)
    alpha_n3 = band_power(epochs(night, "EEG Pz-Oz", N3), 8, 12, relative=True)
    alpha_n2 = band_power(epochs(night, "EEG Pz-Oz", N2), 8, 12, relative=True)
    assert alpha_w > 3 * alpha_n3 and alpha_w > 2 * alpha_n2


def test_delta_power_orders_n3_above_n2_above_wake(night):
    d = {s: band_power(epochs(night, "EEG Fpz-Cz", s), 0.5, 4) for s in (W, N2, N3)}
    assert d[N3] > 2 * d[N2] > 2 * d[W]


def test_theta_is_relatively_stronger_in_n1_and_rem_than_in_wake(night):
    th = {s: band_power(epochs(night, "EEG C3-A2", s), 4, 8, relative=True) for s in (W, N1, R)}
    assert th[N1] > th[W] and th[R] > th[W]


def test_slow_waves_over_75_uv_cover_more_than_a_fifth_of_n3_epochs(night):
    sos = butter(2, [0.5, 2.0], btype="band", fs=FS, output="sos")

    def coverage(stage):
        x = epochs(night, "EEG Fpz-Cz", stage)
        ptp = 2 * np.abs(hilbert(sosfiltfilt(sos, x, axis=-1), axis=-1))
        return (ptp > 75.0).mean(axis=1)

    assert np.mean(coverage(N3) > 0.2) >= 0.75
    assert np.mean(coverage(N2) > 0.2) <= 0.2
    assert np.mean(coverage(W) > 0.2) == 0.0


def _spindle_count(x):
    sos = butter(4, [11.0, 16.0], btype="band", fs=FS, output="sos")
    env = np.abs(hilbert(sosfiltfilt(sos, x)))
    k = int(0.2 * FS)
    env = np.convolve(env, np.ones(k) / k, mode="same")
    return env


def test_spindle_bursts_are_frequent_in_n2_and_rare_in_wake_and_rem(night):
    hyp, _, data, interior = night
    env = _spindle_count(data["EEG C3-A2"])
    thr = 2.5 * np.median(env)
    above = np.concatenate([[False], env > thr, [False]])
    starts = np.flatnonzero(~above[:-1] & above[1:])
    stops = np.flatnonzero(above[:-1] & ~above[1:])
    dur = (stops - starts) / FS
    keep = (dur >= 0.4) & (dur <= 2.5)
    mid_epoch = ((starts + stops) // 2 // int(30 * FS))[keep]
    per_min = {}
    for s in (W, N2, R):
        ok = (hyp.stages == s) & interior
        per_min[s] = np.isin(mid_epoch, np.flatnonzero(ok)).sum() / (ok.sum() / 2)
    assert per_min[N2] > 1.5
    assert per_min[N2] > 4 * max(per_min[W], per_min[R], 0.1)


def test_rapid_eye_movements_in_rem_are_opposite_phase_on_loc_and_roc(night):
    # mean over epochs: tonic REM epochs may hold no eye movement at all
    rem_h = band_power(epochs(night, "EOG horizontal", R), 1, 3, average=np.mean)
    n2_h = band_power(epochs(night, "EOG horizontal", N2), 1, 3, average=np.mean)
    n3_h = band_power(epochs(night, "EOG horizontal", N3), 1, 3, average=np.mean)
    assert rem_h > 5 * n2_h and rem_h > 3 * n3_h
    sos = butter(2, [1.0, 3.0], btype="band", fs=FS, output="sos")
    loc, roc = (sosfiltfilt(sos, epochs(night, c, R).ravel()) for c in ("EOG LOC", "EOG ROC"))
    assert np.corrcoef(loc, roc)[0, 1] < -0.3
    loc3, roc3 = (epochs(night, c, N3).ravel() for c in ("EOG LOC", "EOG ROC"))
    assert np.corrcoef(loc3, roc3)[0, 1] > 0.3  # frontal slow waves leak in phase


def test_slow_eye_movements_appear_in_n1(night):
    sem_n1 = band_power(epochs(night, "EOG horizontal", N1), 0.1, 0.6)
    sem_n2 = band_power(epochs(night, "EOG horizontal", N2), 0.1, 0.6)
    assert sem_n1 > 3 * sem_n2


def test_chin_emg_is_lowest_in_rem_and_highest_in_wake(night):
    rms = {
        s: float(np.median(epochs(night, "EMG submental", s).std(axis=1)))
        for s in (W, N1, N2, N3, R)
    }
    assert rms[R] < 0.6 * min(rms[N2], rms[N3])
    assert rms[W] > max(rms[N1], rms[N2], rms[N3], rms[R])
    # phasic twitches: REM EMG has bursts far above its own median level
    x = epochs(night, "EMG submental", R)
    assert np.max(np.abs(x)) > 8 * np.median(np.abs(x))


def _rr_by_stage(sleeper, hyp):
    beats = sleeper.beats()
    rr, t = beats.rr, beats.rr_times
    normal = (beats.symbols[1:] == "N") & (beats.symbols[:-1] == "N")
    ep = np.minimum((t // hyp.epoch_length).astype(int), hyp.n_epochs - 1)
    return {s: rr[(hyp.stages[ep] == s) & normal] for s in (W, N1, N2, N3, R)}


def test_heart_rate_is_highest_awake_lowest_in_n3_and_most_variable_in_rem(night):
    hyp, sleeper, _, _ = night
    rr = _rr_by_stage(sleeper, hyp)
    hr = {s: 60.0 / np.mean(v) for s, v in rr.items()}
    assert hr[W] > hr[R] > hr[N3]
    assert hr[N2] > hr[N3]
    assert np.std(rr[R]) > np.std(rr[N3])
    assert all(40 < h < 100 for h in hr.values())


def test_respiratory_sinus_arrhythmia_dominates_n3_rr_variability(night):
    hyp, sleeper, _, _ = night
    beats = sleeper.beats()
    grid = np.arange(0, hyp.duration, 0.25)
    rr = np.interp(grid, beats.rr_times, beats.rr)
    ep = (grid // 30).astype(int)

    def hf_fraction(stage):
        x = rr[hyp.stages[ep] == stage]
        f, p = welch(x - x.mean(), 4.0, nperseg=512)
        return p[(f >= 0.15) & (f < 0.4)].sum() / p[(f >= 0.04) & (f < 0.4)].sum()

    assert hf_fraction(N3) > 0.6
    assert hf_fraction(N3) > hf_fraction(R) + 0.15


def test_ectopic_beats_are_premature_with_a_compensatory_pause():
    hyp = Hypnogram(np.array([N2] * 40))
    beats = VirtualSleeper(hyp, seed=1, ectopics_per_hour=120).beats()
    v = np.flatnonzero(beats.symbols == "V")
    v = v[(v > 1) & (v < len(beats) - 2)]
    assert v.size >= 10
    t = beats.times
    before = t[v - 1] - t[v - 2]
    assert np.all(t[v] - t[v - 1] < 0.85 * before)
    assert np.all(t[v + 1] - t[v] > 1.05 * before)
