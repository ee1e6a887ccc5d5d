"""Artefacts of the virtual sleeper: electrode pops, movement bursts and flat-line dropouts.

Movements are shared by all channels (and by the accelerometer and the heart), drawn per
epoch: one at most transitions from sleep to wake, others at a rate during wake and, rarer,
during sleep. Pops and dropouts are drawn per channel from a generator keyed by the channel
name, so asking for a subset of channels does not change the others.

Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dreamband.sim.events import Event, overlap

__all__ = [
    "DEFAULT_ARTEFACTS",
    "NO_ARTEFACTS",
    "ArtefactConfig",
    "draw_channel_artefacts",
    "draw_movements",
    "movement_waveform",
    "pop_waveform",
    "render_channel_artefacts",
    "render_movements",
]


@dataclass(frozen=True)
class ArtefactConfig:
    """Artefact rates of a virtual sleeper (all rates per hour of recording).

    Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.

    Parameters
    ----------
    pops_per_hour : float
        Electrode pops per channel (steep step then exponential decay, 100-400 µV).
    movement_at_wake : float
        Probability of a movement burst at a transition from sleep to wake.
    movements_per_hour_wake, movements_per_hour_sleep : float
        Further movement bursts (2-10 s, all channels) while awake / asleep.
    dropouts_per_hour : float
        Flat-line dropouts per channel (the channel reads exactly 0).
    dropout_max_s : float
        Longest dropout in seconds (at most 20).
    """

    pops_per_hour: float = 1.0
    movement_at_wake: float = 0.8
    movements_per_hour_wake: float = 20.0
    movements_per_hour_sleep: float = 2.0
    dropouts_per_hour: float = 0.3
    dropout_max_s: float = 10.0

    def __post_init__(self) -> None:
        for name in ("pops_per_hour", "movements_per_hour_wake", "movements_per_hour_sleep",
                     "dropouts_per_hour"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise ValueError(f"artefact rate {name} must be >= 0; got {v}")
        if not 0.0 <= self.movement_at_wake <= 1.0:
            raise ValueError(f"movement_at_wake must be in [0, 1]; got {self.movement_at_wake}")
        if not 1.0 <= self.dropout_max_s <= 20.0:
            raise ValueError(f"dropout_max_s must be in [1, 20] s; got {self.dropout_max_s}")


#: Default artefact rates.
DEFAULT_ARTEFACTS = ArtefactConfig()
#: No artefacts at all.
NO_ARTEFACTS = ArtefactConfig(0.0, 0.0, 0.0, 0.0, 0.0)


def draw_movements(rng: np.random.Generator, cfg: ArtefactConfig, t0: float, length: float,
                   *, awake: bool, woke_up: bool) -> list[Event]:
    """Movement bursts starting in one epoch (shared by every channel).

    Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.

    ``woke_up`` marks the first wake epoch after sleep. Each event carries a seed for its
    per-channel waveform and an acceleration amplitude in g.
    """
    out: list[Event] = []
    times: list[float] = []
    if woke_up and rng.random() < cfg.movement_at_wake:
        times.append(t0 + rng.uniform(0.0, min(10.0, length)))
    rate = cfg.movements_per_hour_wake if awake else cfg.movements_per_hour_sleep
    n = rng.poisson(rate * length / 3600.0) if rate > 0 else 0
    times.extend(t0 + rng.uniform(0.0, length, n))
    for t in sorted(times):
        out.append(Event("movement", float(t), rng.uniform(2.0, 10.0),
                         {"seed": int(rng.integers(2**31)), "g": rng.uniform(0.05, 0.5),
                          "bpm": rng.uniform(5.0, 15.0)}))
    return out


def draw_channel_artefacts(rng: np.random.Generator, cfg: ArtefactConfig, t0: float,
                           length: float) -> list[Event]:
    """Pops and dropouts of one channel starting in one epoch (channel-keyed ``rng``).

    Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.
    """
    out: list[Event] = []
    n = rng.poisson(cfg.pops_per_hour * length / 3600.0) if cfg.pops_per_hour > 0 else 0
    for t in np.sort(t0 + rng.uniform(0.0, length, n)):
        tau = rng.uniform(0.1, 0.5)
        a = rng.uniform(100.0, 400.0) * (1 if rng.random() < 0.5 else -1)
        out.append(Event("pop", float(t), 5 * tau, {"a": a, "tau": tau}))
    rate = cfg.dropouts_per_hour
    n = rng.poisson(rate * length / 3600.0) if rate > 0 else 0
    for t in np.sort(t0 + rng.uniform(0.0, length, n)):
        out.append(Event("dropout", float(t), rng.uniform(1.0, cfg.dropout_max_s)))
    return out


def pop_waveform(event: Event, fs: float, n0: int) -> np.ndarray:
    """Electrode pop: a step to ``a`` µV decaying with time constant ``tau``.

    Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.
    """
    n = max(1, int(np.rint(event.duration * fs)))
    t = np.maximum((n0 + np.arange(n)) / fs - event.onset, 0.0)
    return event.params["a"] * np.exp(-t / event.params["tau"])


def movement_waveform(event: Event, fs: float, n0: int, channel_key: int, kind: str,
                      ) -> np.ndarray:
    """Movement burst on one channel: slow swings plus muscle noise under a smooth envelope.

    Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.

    ``channel_key`` (a stable hash of the channel name) makes channels differ; ``kind``
    (``eeg``/``eog``/``emg``) sets how much of the burst is swing and how much muscle.
    """
    n = max(1, int(np.rint(event.duration * fs)))
    t = (n0 + np.arange(n)) / fs - event.onset
    d = event.duration
    rng = np.random.default_rng([event.params["seed"], channel_key])
    env = np.sin(np.pi * np.clip(t / d, 0.0, 1.0)) ** 0.5
    swing = np.zeros(n)
    for _ in range(4):
        c, w = rng.uniform(0.1, 0.9) * d, rng.uniform(0.2, 1.0)
        swing += rng.uniform(-250.0, 250.0) * np.exp(-0.5 * ((t - c) / w) ** 2)
    muscle = rng.standard_normal(n)
    if kind == "emg":
        return env * (0.1 * swing + 120.0 * muscle)
    return env * (swing + 30.0 * muscle)


def render_movements(out: dict[str, np.ndarray], events: list[Event], fs: float, lo: int,
                     channels: dict[str, tuple[int, str]]) -> None:
    """Add movement bursts to ``out`` (samples from ``lo``) in place.

    ``channels[name]`` is ``(stable key, kind)`` of each channel.
    Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.
    """
    hi = lo + next(iter(out.values())).size
    for ev in events:
        span = overlap(ev, fs, lo, hi)
        if span is None:
            continue
        n0, a, z = span
        for name, x in out.items():
            key, kind = channels[name]
            x[a - lo:z - lo] += movement_waveform(ev, fs, n0, key, kind)[a - n0:z - n0]


def render_channel_artefacts(x: np.ndarray, events: list[Event], fs: float, lo: int) -> None:
    """Add pops to one channel's samples ``x`` (from ``lo``), then flatten dropouts to 0.

    Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.
    """
    hi = lo + x.size
    drops = []
    for ev in events:
        span = overlap(ev, fs, lo, hi)
        if span is None:
            continue
        n0, a, z = span
        if ev.kind == "dropout":
            drops.append((a, z))
        else:
            x[a - lo:z - lo] += pop_waveform(ev, fs, n0)[a - n0:z - n0]
    for a, z in drops:
        x[a - lo:z - lo] = 0.0
