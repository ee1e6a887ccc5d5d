"""Heart beats of the virtual sleeper: stage-dependent heart rate, HRV and ectopic beats.

The instantaneous heart rate (bpm) is modelled on a 8-Hz grid over the whole night as

    resting HR + smoothed stage offset + slow decline across the night
    + respiratory sinus arrhythmia (breathing ~0.25 Hz) + 0.04-0.15 Hz fluctuations
    + surges at movements,

with the per-stage levels of :data:`dreamband.sim.params.HEART` (wake highest, then REM and
N1, N2, N3 lowest and most regular with the strongest RSA; REM most variable). Beats fall
where the integrated rate crosses whole numbers; a few are made premature (ectopic, symbol
``"V"``) with a full compensatory pause. A night is ~30,000 beats, so they are computed once
(a few ms) and served by slices, which makes any chunking give the same beats.

Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import butter, sosfiltfilt

from dreamband.core.stages import SleepStage
from dreamband.sim.params import HEART

__all__ = ["GRID_HZ", "simulate_beats", "wristband_hr"]

GRID_HZ = 8.0


def _band_noise(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    sos = butter(2, [lo, hi], btype="band", fs=GRID_HZ, output="sos")
    x = sosfiltfilt(sos, rng.standard_normal(n + 2000))[1000:-1000]
    return x / (np.std(x) + 1e-12)


def simulate_beats(
    stages: np.ndarray,
    epoch_length: float,
    rng: np.random.Generator,
    *,
    rest_hr: float,
    movements: list[tuple[float, float]] = (),
    ectopics_per_hour: float = 3.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Beat times of a whole night.

    Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.

    Parameters
    ----------
    stages : numpy.ndarray
        Stage code per epoch (UNSCORED is treated as wake).
    epoch_length : float
        Epoch length in seconds.
    rng : numpy.random.Generator
        The sleeper's heart generator.
    rest_hr : float
        The sleeper's resting heart rate in bpm.
    movements : sequence of (onset_s, bpm)
        Movement bursts raising the rate by ``bpm`` for ~10 s.
    ectopics_per_hour : float
        Premature beats per hour.

    Returns
    -------
    times : numpy.ndarray
        Beat times in s from the recording start, strictly increasing.
    symbols : numpy.ndarray
        ``"N"`` or ``"V"`` per beat.
    grid_t, grid_hr : numpy.ndarray
        The 8-Hz instantaneous heart-rate model in bpm (for inspection).
    """
    codes = np.where(stages < 0, SleepStage.W, stages).astype(int)
    duration = codes.size * epoch_length
    n = int(np.ceil(duration * GRID_HZ)) + 1
    t = np.arange(n) / GRID_HZ
    table = {f: np.array([getattr(HEART[SleepStage(c)], f) for c in range(5)])
             for f in ("hr_offset", "rsa", "lf", "resp_hz", "resp_jitter")}
    # Stage effects build up over ~15 s: smooth on a 1-Hz grid, then interpolate.
    t1 = np.arange(int(np.ceil(duration)) + 1, dtype=float)
    ep1 = np.minimum((t1 / epoch_length).astype(int), codes.size - 1)
    level = {f: np.interp(t, t1, gaussian_filter1d(v[codes[ep1]].astype(float), 15.0,
                                                   mode="nearest"))
             for f, v in table.items()}
    sleep = np.flatnonzero((codes >= SleepStage.N1) & (codes <= SleepStage.REM))
    onset = sleep[0] * epoch_length if sleep.size else 0.0
    decline = -np.clip((t - onset) / 3600.0, 0.0, None) * 0.8  # bpm per hour [Trinder]
    resp_var = _band_noise(rng, n, 0.005, 0.05)
    resp_hz = level["resp_hz"] * (1.0 + level["resp_jitter"] * resp_var)
    resp_phase = 2 * np.pi * np.cumsum(resp_hz) / GRID_HZ + rng.uniform(0, 2 * np.pi)
    lf = _band_noise(rng, n, 0.04, 0.15) * level["lf"]
    vlf = _band_noise(rng, n, 0.003, 0.03) * 1.5
    hr = rest_hr + level["hr_offset"] + decline + level["rsa"] * np.sin(resp_phase) + lf + vlf
    for onset_s, bpm in movements:
        a, z = np.searchsorted(t, [onset_s - 20.0, onset_s + 30.0])
        hr[a:z] += bpm * np.exp(-0.5 * ((t[a:z] - onset_s - 5.0) / 5.0) ** 2)
    hr = np.clip(hr, 35.0, 180.0)
    phase = np.concatenate([[0.0], np.cumsum(0.5 * (hr[1:] + hr[:-1]) / 60.0 / GRID_HZ)])
    phase += rng.uniform(0.0, 1.0)
    k = np.arange(np.ceil(phase[0]), np.floor(phase[-1]) + 1)
    times = np.interp(k, phase, t)
    times = times[times < duration]
    symbols = np.full(times.size, "N")
    n_ect = rng.poisson(ectopics_per_hour * duration / 3600.0) if ectopics_per_hour > 0 else 0
    if times.size > 3 and n_ect:
        idx = np.unique(rng.integers(1, times.size - 1, n_ect))
        idx = idx[np.diff(np.concatenate([[-10], idx])) > 2]  # never two in a row
        prematurity = rng.uniform(0.6, 0.75, idx.size)
        times[idx] = times[idx - 1] + prematurity * (times[idx] - times[idx - 1])
        symbols[idx] = "V"
    return times, symbols, t, hr


def wristband_hr(beat_times: np.ndarray, seconds: np.ndarray, n_intervals: int = 4) -> np.ndarray:
    """Heart rate as a band reports it once per second: bpm over the last RR intervals.

    Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.

    Parameters
    ----------
    beat_times : numpy.ndarray
        All beat times in s, increasing.
    seconds : numpy.ndarray
        Report times in s.
    n_intervals : int
        RR intervals averaged (the latest ones completed at each report time).

    Returns
    -------
    numpy.ndarray
        Whole bpm as a BLE Heart Rate Service sends them (float; NaN before two beats).
    """
    j = np.searchsorted(beat_times, seconds, side="right") - 1
    j0 = np.maximum(j - n_intervals, 0)
    ok = j >= 1
    out = np.full(seconds.shape, np.nan)
    span = beat_times[j[ok]] - beat_times[j0[ok]]
    out[ok] = np.round(60.0 * (j[ok] - j0[ok]) / span)
    return out
