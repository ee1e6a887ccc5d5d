"""Transient events of the virtual sleeper: their per-epoch draws and their waveforms.

Events are drawn per epoch from that epoch's own random generator, so any chunk of the
night sees the same events. Each event has an absolute onset (seconds from the start of the
simulated recording), a duration and a waveform evaluated on absolute sample indices, so the
part of it that falls in a chunk is always the same numbers.

Graphoelements follow the AASM manual and the references in :mod:`dreamband.sim.params`:
waxing-waning spindles (11-16 Hz, 0.5-2 s), biphasic K-complexes, REM sawtooth trains, rapid
eye movements (sharp steps seen through a 0.3-Hz EOG high-pass, opposite phase on LOC/ROC),
blinks, slow rolling eye movements (0.15-0.5 Hz) and phasic chin twitches.

Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import sawtooth

from dreamband.sim.params import StageProfile

__all__ = ["MAX_EVENT_S", "TARGET", "Event", "draw_events", "overlap", "render_events", "waveform"]

#: Longest event the renderer must look back for, in seconds.
MAX_EVENT_S = 20.0

# Where each event kind is seen: "cortex" (EEG events gain), "eye_h" (horizontal eye
# movement gain), "blink", "emg".
TARGET = {
    "spindle": "cortex",
    "kcomplex": "cortex",
    "sawtooth": "cortex",
    "rem": "eye_h",
    "sem": "eye_h",
    "blink": "blink",
    "twitch": "emg",
}


@dataclass(frozen=True)
class Event:
    """One transient: kind, absolute onset and duration in s, and waveform parameters.

    Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.
    """

    kind: str
    onset: float
    duration: float
    params: dict = field(default_factory=dict)


def _poisson_times(rng: np.random.Generator, rate_per_min: float, t0: float,
                   length: float) -> np.ndarray:
    n = rng.poisson(rate_per_min * length / 60.0) if rate_per_min > 0 else 0
    return np.sort(t0 + rng.uniform(0.0, length, n)) if n else np.empty(0)


def draw_events(rng: np.random.Generator, profile: StageProfile, t0: float, length: float,
                *, sigma_hz: float, eyes_open: bool, phasic: bool, drowsy: bool) -> list[Event]:
    """Draw the transients of one epoch.

    Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.

    Parameters
    ----------
    rng : numpy.random.Generator
        The epoch's own generator (draw order is fixed).
    profile : StageProfile
        Parameters of the epoch's stage.
    t0, length : float
        Epoch onset (s from the recording start) and length (s).
    sigma_hz : float
        The sleeper's spindle frequency in Hz.
    eyes_open, phasic, drowsy : bool
        Wake with eyes open; phasic REM; drowsy wake next to sleep.

    Returns
    -------
    list of Event
        In draw order (the rendering order).
    """
    ev: list[Event] = []
    # Spindles [Purcell]: duration mostly 0.5-1.5 s, frequency around the sleeper's own.
    for t in _poisson_times(rng, profile.spindles_per_min, t0, length):
        dur = float(np.clip(rng.lognormal(np.log(0.9), 0.3), 0.5, 2.0))
        f = float(np.clip(sigma_hz + rng.normal(0.0, 0.5), 11.0, 16.0))
        ev.append(Event("spindle", t, dur, {"f": f, "a": rng.uniform(12.0, 35.0),
                                            "phase": rng.uniform(0, 2 * np.pi)}))
    # K-complexes [Halasz], a third of them followed by a spindle.
    for t in _poisson_times(rng, profile.kcomplexes_per_min, t0, length):
        ev.append(Event("kcomplex", t, 1.4, {"a": rng.uniform(70.0, 150.0)}))
        if rng.random() < 0.33:
            f = float(np.clip(sigma_hz + rng.normal(0.0, 0.5), 11.0, 16.0))
            ev.append(Event("spindle", t + 0.9, 1.0, {"f": f, "a": rng.uniform(12.0, 30.0),
                                                      "phase": rng.uniform(0, 2 * np.pi)}))
    # REM sawtooth trains, more in phasic REM.
    saw = profile.sawtooth_per_min * (1.5 if phasic else 0.5)
    for t in _poisson_times(rng, saw, t0, length):
        ev.append(Event("sawtooth", t, rng.uniform(2.0, 5.0),
                        {"f": rng.uniform(2.0, 4.0), "a": rng.uniform(15.0, 35.0)}))
    # Rapid eye movements in bursts (REM) or saccades (eyes-open wake).
    rate = profile.rems_per_min
    if profile.twitches_per_min > 0:  # REM: phasic vs tonic
        rate *= 2.0 if phasic else 0.15
    elif profile.blinks_per_min > 5:  # wake
        rate *= 1.0 if eyes_open else 0.1
    n = rng.poisson(rate * length / 60.0) if rate > 0 else 0
    if n:
        n_bursts = 1 + n // 6
        starts = np.sort(rng.uniform(0.0, length, n_bursts))
        which = rng.integers(0, n_bursts, n)
        gaps = rng.uniform(0.25, 1.2, n)
        sign = 1.0
        for i in range(n):
            k = int(which[i])
            starts[k] += gaps[i]
            if starts[k] >= length:
                continue
            sign = -sign if rng.random() < 0.7 else sign
            ev.append(Event("rem", t0 + float(starts[k]), 2.2,
                            {"a": sign * rng.uniform(50.0, 220.0),
                             "rise": rng.uniform(0.03, 0.08)}))
    # Blinks (wake, mostly eyes open).
    blink_rate = profile.blinks_per_min * (1.0 if eyes_open else 0.2)
    for t in _poisson_times(rng, blink_rate, t0, length):
        ev.append(Event("blink", t, 0.4, {"a": rng.uniform(80.0, 200.0)}))
    # Slow rolling eye movements at sleep onset [DeGennaro].
    p_sem = max(profile.sem_probability, 0.4 if drowsy else 0.0)
    if rng.random() < p_sem:
        dur = rng.uniform(4.0, 15.0)
        ev.append(Event("sem", t0 + rng.uniform(0.0, length - 2.0), dur,
                        {"f": rng.uniform(0.15, 0.5), "a": rng.uniform(40.0, 120.0),
                         "phase": rng.uniform(0, 2 * np.pi)}))
    # Phasic chin twitches (REM), clustered with phasic REM.
    tw = profile.twitches_per_min * (2.0 if phasic else 0.3)
    for t in _poisson_times(rng, tw, t0, length):
        ev.append(Event("twitch", t, rng.uniform(0.05, 0.25),
                        {"a": rng.uniform(4.0, 8.0) * profile.emg_rms,
                         "seed": int(rng.integers(2**31))}))
    return ev


def waveform(event: Event, fs: float, n0: int) -> np.ndarray:
    """Samples of ``event`` at absolute indices ``n0, n0 + 1, ...`` over its duration.

    Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.

    ``n0`` is ``round(onset * fs)``; times are taken from the exact onset so a waveform only
    depends on the event and ``fs``.
    """
    n = max(1, int(np.rint(event.duration * fs)))
    t = (n0 + np.arange(n)) / fs - event.onset
    p = event.params
    d = event.duration
    kind = event.kind
    if kind == "spindle":
        env = np.sin(np.pi * np.clip(t / d, 0.0, 1.0)) ** 2  # waxing-waning
        return p["a"] * env * np.sin(2 * np.pi * p["f"] * t + p["phase"])
    if kind == "kcomplex":  # sharp negative wave then slower positive one
        a = p["a"]
        return -a * np.exp(-0.5 * ((t - 0.35) / 0.11) ** 2) + 0.45 * a * np.exp(
            -0.5 * ((t - 0.85) / 0.2) ** 2)
    if kind == "sawtooth":
        env = np.sin(np.pi * np.clip(t / d, 0.0, 1.0)) ** 0.5
        return p["a"] * env * sawtooth(2 * np.pi * p["f"] * t, width=0.8)
    if kind == "rem":  # position step, rise ~50 ms, seen through a 0.3-Hz high-pass
        rise = p["rise"]
        step = 0.5 * (1.0 + np.tanh((t - 2 * rise) / (0.5 * rise)))
        return p["a"] * step * np.exp(-np.maximum(t - 2 * rise, 0.0) / 0.53)
    if kind == "blink":
        return p["a"] * np.exp(-0.5 * ((t - 0.15) / 0.05) ** 2)
    if kind == "sem":
        env = np.sin(np.pi * np.clip(t / d, 0.0, 1.0))
        return p["a"] * env * np.sin(2 * np.pi * p["f"] * t + p["phase"])
    if kind == "twitch":
        noise = np.random.default_rng(p["seed"]).standard_normal(n)
        env = np.sin(np.pi * np.clip(t / d, 0.0, 1.0))
        return p["a"] * env * noise
    raise ValueError(f"unknown event kind {kind!r}")


def overlap(event: Event, fs: float, lo: int, hi: int) -> tuple[int, int, int] | None:
    """Where ``event`` meets samples ``[lo, hi)``: ``(n0, a, z)`` or None.

    ``n0`` is the event's first absolute sample and ``[a, z)`` the shared samples.
    Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.
    """
    n0 = int(np.rint(event.onset * fs))
    n = max(1, int(np.rint(event.duration * fs)))
    if n0 + n <= lo or n0 >= hi:
        return None
    return n0, max(lo, n0), min(hi, n0 + n)


def render_events(out: dict[str, np.ndarray], events: list[Event], fs: float, lo: int,
                  gains: dict[str, dict[str, float]]) -> None:
    """Add the part of ``events`` that falls in ``out`` (samples from ``lo``) in place.

    ``gains[channel][target]`` is the channel's gain for each target of :data:`TARGET`.
    Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.
    """
    hi = lo + next(iter(out.values())).size
    for ev in events:
        span = overlap(ev, fs, lo, hi)
        if span is None:
            continue
        n0, a, z = span
        w = waveform(ev, fs, n0)[a - n0:z - n0]
        target = TARGET[ev.kind]
        for name, x in out.items():
            g = gains[name][target]
            if g:
                x[a - lo:z - lo] += g * w
