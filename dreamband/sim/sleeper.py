"""The :class:`VirtualSleeper`: a real hypnogram turned into EEG/EOG/EMG, beats and movement.

For plumbing, load, replay and demos — NEVER an accuracy figure. The signals are
physiologically plausible (stage spectra, spindles, K-complexes, slow waves, alpha, rapid
eye movements, atonia, heart-rate changes, artefacts) but they are generated from the very
hypnogram a stager would be scored against; any agreement measured on them is meaningless.

Design: the night is cut into the hypnogram's epochs. Everything random about epoch ``k``
comes from generators seeded by ``(seed, stream, k)``, background noise is synthesised per
block and overlap-added (:mod:`dreamband.sim.spectra`), and transients are rendered on
absolute sample indices (:mod:`dreamband.sim.events`). A chunk of the night is therefore the
same numbers whatever chunking produced it, and only a few epochs are ever held in memory.
"""

from __future__ import annotations

import logging
import math
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from dreamband.core.beats import BeatSeries
from dreamband.core.hypnogram import Hypnogram
from dreamband.core.stages import SleepStage, WearableStage
from dreamband.errors import ChannelNotFoundError
from dreamband.sim.artefacts import (
    DEFAULT_ARTEFACTS,
    ArtefactConfig,
    draw_channel_artefacts,
    draw_movements,
    render_channel_artefacts,
    render_movements,
)
from dreamband.sim.events import MAX_EVENT_S, Event, draw_events, render_events
from dreamband.sim.heart import simulate_beats, wristband_hr
from dreamband.sim.params import CHANNELS, PRESETS, STAGES
from dreamband.sim.spectra import COMPONENTS, SpectralBasis, sine_window

__all__ = ["SIMULATED_NOTE", "VirtualSleeper"]

logger = logging.getLogger(__name__)

#: Label carried by everything the simulator produces.
SIMULATED_NOTE = (
    "simulated by dreamband's virtual sleeper from a real hypnogram: for plumbing, load, "
    "replay and demos only, never an accuracy figure"
)

_TRAITS, _STATE, _BLOCK, _CHAN, _MOVE, _ART, _HEART, _ACT = range(1, 9)
_CACHE = 3  # blocks kept: an epoch needs blocks k - 1, k, k + 1


def _key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


@dataclass(frozen=True)
class _EpochState:
    stage: SleepStage
    eyes_open: bool
    phasic: bool
    drowsy: bool
    factors: dict
    events: list
    movements: list


class VirtualSleeper:
    """A simulated participant whose night follows a given hypnogram.

    For plumbing, load, replay and demos — NEVER an accuracy figure.

    Parameters
    ----------
    hypnogram : Hypnogram
        The night to follow (``aasm`` scheme; a ``wearable`` one is read as W / N2 / REM).
        Unscored epochs are simulated as wake. Time 0 of the simulation is the onset of the
        hypnogram's first epoch.
    fs : float or None
        Sampling rate in Hz; None takes the preset's (256 Hz ``muse``/``full``, 100 Hz
        ``psg``). ``fs * epoch_length`` must be a whole number of samples.
    channels : str or sequence of str
        A preset (``"psg"``: Sleep-EDF names; ``"muse"``: TP9/AF7/AF8/TP10; ``"full"``) or
        names from :data:`dreamband.sim.params.CHANNELS`.
    seed : int
        Seed of every random draw; the same seed gives the same night.
    artefacts : ArtefactConfig or None
        Artefact rates; None for a clean night.
    ectopics_per_hour : float
        Premature heart beats per hour.
    participant : str
        Identifier carried into recordings.

    Raises
    ------
    ValueError
        Bad hypnogram, sampling rate or seed.
    ChannelNotFoundError
        A channel name the simulator does not know.
    """

    def __init__(
        self,
        hypnogram: Hypnogram,
        *,
        fs: float | None = None,
        channels: str | Sequence[str] = "psg",
        seed: int = 0,
        artefacts: ArtefactConfig | None = DEFAULT_ARTEFACTS,
        ectopics_per_hour: float = 3.0,
        participant: str = "",
    ) -> None:
        if not isinstance(hypnogram, Hypnogram):
            raise TypeError(f"hypnogram must be a Hypnogram; got {type(hypnogram).__name__}")
        if hypnogram.n_epochs == 0:
            raise ValueError(f"hypnogram {hypnogram.source or ''} has no epochs to simulate")
        if isinstance(channels, str):
            if channels not in PRESETS:
                raise ValueError(
                    f"channels must be one of {sorted(PRESETS)} or a list of channel names; "
                    f"got {channels!r}"
                )
            names, default_fs = PRESETS[channels]
        else:
            names, default_fs = tuple(channels), 256.0
            for name in names:
                if name not in CHANNELS:
                    raise ChannelNotFoundError("virtual sleeper", name, list(CHANNELS))
            if len(set(names)) != len(names) or not names:
                raise ValueError(f"channels must be distinct and non-empty; got {list(names)}")
        fs = default_fs if fs is None else float(fs)
        if not (math.isfinite(fs) and fs > 0):
            raise ValueError(f"fs must be a positive number of Hz; got {fs}")
        hop = fs * hypnogram.epoch_length
        if abs(hop - round(hop)) > 1e-6 or round(hop) < 2:
            raise ValueError(
                f"fs * epoch_length must be a whole number of samples; got {fs} Hz x "
                f"{hypnogram.epoch_length} s"
            )
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
        if not (math.isfinite(ectopics_per_hour) and ectopics_per_hour >= 0):
            raise ValueError(f"ectopics_per_hour must be >= 0; got {ectopics_per_hour}")
        self.hypnogram = hypnogram
        self.fs = fs
        self.channels: tuple[str, ...] = names
        self.seed = int(seed)
        self.artefacts = artefacts
        self.ectopics_per_hour = float(ectopics_per_hour)
        self.participant = participant
        self.epoch_length = float(hypnogram.epoch_length)
        self._hop = int(np.rint(hop))
        self._h0 = self._hop // 2
        self._n_epochs = hypnogram.n_epochs
        self._stages = self._codes(hypnogram)
        traits = np.random.default_rng([self.seed, _TRAITS])
        self.alpha_hz = float(np.clip(traits.normal(10.0, 0.6), 8.5, 11.5))
        self.sigma_hz = float(traits.uniform(12.0, 14.0))
        self.amplitude = float(np.clip(traits.lognormal(0.0, 0.15), 0.7, 1.4))
        self.rest_hr = float(np.clip(traits.normal(60.0, 5.0), 48.0, 75.0))
        specs = {name: CHANNELS[name] for name in names}
        self._gains = {
            name: {"cortex": spec.events * self.amplitude * spec.scale,
                   "eye_h": spec.eye_h * spec.scale, "blink": spec.blink * spec.scale,
                   "emg": spec.emg * spec.scale}
            for name, spec in specs.items()
        }
        self._basis = SpectralBasis(2 * self._hop, fs, self.alpha_hz, self.sigma_hz)
        self._window = sine_window(2 * self._hop)
        sleep = np.flatnonzero((self._stages >= 1) & (self._stages <= 4))
        self._sleep_onset = float(sleep[0]) * self.epoch_length if sleep.size else math.inf
        self._states: OrderedDict[int, _EpochState] = OrderedDict()
        self._blocks: OrderedDict[int, dict[str, np.ndarray]] = OrderedDict()
        self._epochs: OrderedDict[int, dict[str, np.ndarray]] = OrderedDict()
        self._keys = {name: (_key(name), spec.kind) for name, spec in specs.items()}
        self._chan_art: OrderedDict[tuple[int, str], list[Event]] = OrderedDict()
        self._beats: tuple[np.ndarray, np.ndarray] | None = None
        self._lookback = math.ceil(MAX_EVENT_S / self.epoch_length)

    def __repr__(self) -> str:
        return (
            f"VirtualSleeper(seed={self.seed}, {len(self.channels)} channels @ {self.fs:g} Hz, "
            f"{self._n_epochs} epochs of {self.epoch_length:g} s; simulated, never an "
            "accuracy figure)"
        )

    # ------------------------------------------------------------------ basics
    @staticmethod
    def _codes(hyp: Hypnogram) -> np.ndarray:
        s = hyp.stages.astype(int)
        if hyp.scheme == "wearable":
            lut = {WearableStage.W: SleepStage.W, WearableStage.NREM: SleepStage.N2,
                   WearableStage.REM: SleepStage.REM, WearableStage.UNSCORED: SleepStage.W}
            return np.array([lut[WearableStage(v)] for v in s], dtype=int)
        return np.where(s < 0, SleepStage.W, s)

    @property
    def duration(self) -> float:
        """Simulated duration in seconds (the hypnogram's)."""
        return self._n_epochs * self.epoch_length

    @property
    def n_samples(self) -> int:
        """Samples per channel over the whole night."""
        return self._n_epochs * self._hop

    def kind(self, channel: str) -> str:
        """Signal kind of a channel: ``eeg``, ``eog`` or ``emg``."""
        return CHANNELS[channel].kind

    def _stage(self, k: int) -> SleepStage:
        return SleepStage(int(self._stages[min(max(k, 0), self._n_epochs - 1)]))

    def _check_span(self, start_s: float, stop_s: float) -> tuple[int, int]:
        if not (math.isfinite(start_s) and math.isfinite(stop_s)):
            raise ValueError(f"start_s and stop_s must be finite; got {start_s}, {stop_s}")
        if start_s < 0 or stop_s > self.duration + 1e-9 or stop_s < start_s:
            raise ValueError(
                f"span [{start_s}, {stop_s}) s is outside the simulated night "
                f"[0, {self.duration}) s"
            )
        return int(np.rint(start_s * self.fs)), int(np.rint(stop_s * self.fs))

    @staticmethod
    def _remember(cache: OrderedDict, key, value, size: int = _CACHE):
        cache[key] = value
        while len(cache) > size:
            cache.popitem(last=False)
        return value

    # ------------------------------------------------------------ per epoch
    def _state(self, k: int) -> _EpochState:
        if k in self._states:
            return self._states[k]
        stage = self._stage(k)
        prev, nxt = self._stage(k - 1), self._stage(k + 1)
        awake = stage == SleepStage.W
        drowsy = awake and (prev != SleepStage.W or nxt != SleepStage.W)
        rng = np.random.default_rng([self.seed, _STATE, k + 1])
        eyes_open = awake and rng.random() < (0.2 if drowsy else 0.5)
        phasic = stage == SleepStage.REM and rng.random() < 0.5
        factors = {c: float(rng.lognormal(0.0, 0.15)) for c in COMPONENTS}
        if eyes_open:
            factors["alpha"] *= 0.25
            factors["beta"] *= 1.5
        elif drowsy:
            factors["alpha"] *= 0.7
            factors["theta"] *= 1.3
        t0 = k * self.epoch_length
        # Slow-wave activity decays across the night [Borbely].
        if t0 >= self._sleep_onset:
            factors["delta"] *= 0.9 + 0.3 * math.exp(-(t0 - self._sleep_onset) / 9000.0)
        events = draw_events(rng, STAGES[stage], t0, self.epoch_length, sigma_hz=self.sigma_hz,
                             eyes_open=eyes_open, phasic=phasic, drowsy=drowsy)
        state = _EpochState(stage, eyes_open, phasic, drowsy, factors, events,
                            self._movements(k))
        return self._remember(self._states, k, state, 4 * (self._lookback + 2))

    def _movements(self, k: int) -> list[Event]:
        if self.artefacts is None:
            return []
        awake = self._stage(k) == SleepStage.W
        woke_up = awake and k > 0 and self._stage(k - 1) != SleepStage.W
        rng = np.random.default_rng([self.seed, _MOVE, k + 1])
        return draw_movements(rng, self.artefacts, k * self.epoch_length, self.epoch_length,
                              awake=awake, woke_up=woke_up)

    def _channel_artefacts(self, k: int, channel: str) -> list[Event]:
        if self.artefacts is None:
            return []
        key = (k, channel)
        if key not in self._chan_art:
            rng = np.random.default_rng([self.seed, _ART, k + 1, _key(channel)])
            arts = draw_channel_artefacts(rng, self.artefacts, k * self.epoch_length,
                                          self.epoch_length)
            self._remember(self._chan_art, key, arts, 4 * len(self.channels) * (self._lookback + 2))
        return self._chan_art[key]

    def _block(self, b: int) -> dict[str, np.ndarray]:
        if b in self._blocks:
            return self._blocks[b]
        st = self._state(min(max(b, 0), self._n_epochs - 1))
        prof = STAGES[st.stage]
        f = st.factors
        rms = {
            "aperiodic": prof.aperiodic_rms, "delta": prof.delta_rms, "theta": prof.theta_rms,
            "alpha": prof.alpha_rms, "sigma": prof.sigma_rms, "beta": prof.beta_rms,
            "emg": prof.emg_rms,
        }
        expo = prof.aperiodic_exponent
        # The posterior dominant rhythm of wake (and REM alpha bursts) is occipital; sleep
        # "alpha" in NREM is not [Carskadon].
        posterior_alpha = st.stage in (SleepStage.W, SleepStage.N1, SleepStage.REM)
        rng = np.random.default_rng([self.seed, _BLOCK, b + 1])
        coefs = {c: self._basis.coefficients(rng, c, expo) for c in COMPONENTS}
        out = {}
        for name in self.channels:
            spec = CHANNELS[name]
            s = np.zeros(self._basis.n_freq, dtype=complex)
            for c in COMPONENTS:
                if c == "emg":
                    gain = spec.emg
                else:
                    gain = spec.eeg * self.amplitude
                    if c == "delta":
                        gain *= spec.delta
                    elif c == "alpha" and posterior_alpha:
                        gain *= spec.alpha
                self._basis.add_into(s, c, coefs[c], gain * rms[c] * f[c], expo)
            crng = np.random.default_rng([self.seed, _CHAN, b + 1, _key(name)])
            self._basis.add_into(s, "aperiodic", self._basis.coefficients(crng, "aperiodic", 1.0),
                                 spec.noise, 1.0)
            out[name] = self._basis.to_time(s) * self._window * spec.scale
        return self._remember(self._blocks, b, out)

    def _render_epoch(self, k: int) -> dict[str, np.ndarray]:
        if k in self._epochs:
            return self._epochs[k]
        hop, h0 = self._hop, self._h0
        out = {name: np.zeros(hop) for name in self.channels}
        for b, e0, e1, b0 in ((k - 1, 0, hop - h0, hop + h0), (k, 0, hop, h0),
                              (k + 1, hop - h0, hop, 0)):
            if e1 <= e0:
                continue
            blk = self._block(b)
            for name in self.channels:
                out[name][e0:e1] += blk[name][b0:b0 + e1 - e0]
        lo = k * hop
        j0 = max(0, k - self._lookback)
        for j in range(j0, k + 1):
            st = self._state(j)
            render_events(out, st.events, self.fs, lo, self._gains)
            render_movements(out, st.movements, self.fs, lo, self._keys)
        if self.artefacts is not None:
            for name in self.channels:
                arts = [ev for j in range(j0, k + 1) for ev in self._channel_artefacts(j, name)]
                render_channel_artefacts(out[name], arts, self.fs, lo)
        return self._remember(self._epochs, k, out, 1)

    # ----------------------------------------------------------------- public
    def generate(self, start_s: float, stop_s: float,
                 dtype: type = np.float32) -> dict[str, np.ndarray]:
        """Samples of every channel over ``[start_s, stop_s)`` s, in µV.

        For plumbing, load, replay and demos — NEVER an accuracy figure. Sample ``i`` of the
        night lies at ``i / fs`` s; the span covers samples ``round(start_s * fs)`` to
        ``round(stop_s * fs)``. Any chunking of the night gives exactly the same samples.

        Parameters
        ----------
        start_s, stop_s : float
            Span in seconds from the start of the simulated night.
        dtype : numpy dtype
            Output dtype (float32 by default; computations are float64).

        Returns
        -------
        dict of str to numpy.ndarray
            One 1-D array per channel, in :attr:`channels` order.

        Raises
        ------
        ValueError
            If the span is not inside ``[0, duration]``.
        """
        a, z = self._check_span(start_s, stop_s)
        out = {name: np.empty(z - a, dtype=dtype) for name in self.channels}
        if z <= a:
            return out
        hop = self._hop
        for k in range(a // hop, (z - 1) // hop + 1):
            ep = self._render_epoch(k)
            lo, hi = max(a, k * hop), min(z, (k + 1) * hop)
            for name in self.channels:
                out[name][lo - a:hi - a] = ep[name][lo - k * hop:hi - k * hop]
        return out

    def chunks(self, chunk_s: float = 30.0, start_s: float = 0.0,
               stop_s: float | None = None) -> Iterator[tuple[float, dict[str, np.ndarray]]]:
        """Stream the night as ``(chunk start in s, samples)`` pairs of ``chunk_s`` seconds.

        For plumbing, load, replay and demos — NEVER an accuracy figure.
        """
        if not (math.isfinite(chunk_s) and chunk_s > 0):
            raise ValueError(f"chunk_s must be a positive number of seconds; got {chunk_s}")
        stop = self.duration if stop_s is None else stop_s
        self._check_span(start_s, stop)
        t = start_s
        while t < stop - 1e-9:
            nxt = min(stop, t + chunk_s)
            yield t, self.generate(t, nxt)
            t = nxt

    def _all_beats(self) -> tuple[np.ndarray, np.ndarray]:
        if self._beats is None:
            moves = []
            if self.artefacts is not None:
                for k in range(self._n_epochs):
                    moves.extend((ev.onset, ev.params["bpm"]) for ev in self._movements(k))
            rng = np.random.default_rng([self.seed, _HEART])
            times, symbols, _, _ = simulate_beats(
                self._stages, self.epoch_length, rng, rest_hr=self.rest_hr, movements=moves,
                ectopics_per_hour=self.ectopics_per_hour)
            self._beats = (times, symbols)
        return self._beats

    def beats(self, start_s: float = 0.0, stop_s: float | None = None) -> BeatSeries:
        """Heart beats (R-peak times, s from the night's start) in ``[start_s, stop_s)``.

        For plumbing, load, replay and demos — NEVER an accuracy figure. Symbols are ``"N"``
        for normal and ``"V"`` for premature (ectopic) beats.
        """
        stop = self.duration if stop_s is None else stop_s
        self._check_span(start_s, stop)
        times, symbols = self._all_beats()
        i, j = np.searchsorted(times, [start_s, stop])
        return BeatSeries(times[i:j].copy(), symbols[i:j].copy(),
                          start_time=self.hypnogram.start_time, source="virtual sleeper",
                          participant=self.participant, meta={"note": SIMULATED_NOTE})

    def heart_rate(self, start_s: float = 0.0,
                   stop_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Once-per-second heart rate as a wristband reports it, in ``[start_s, stop_s)``.

        For plumbing, load, replay and demos — NEVER an accuracy figure.

        Returns
        -------
        times : numpy.ndarray
            Whole seconds from the night's start.
        bpm : numpy.ndarray
            Whole beats per minute over the last four RR intervals (NaN before two beats).
        """
        stop = self.duration if stop_s is None else stop_s
        self._check_span(start_s, stop)
        secs = np.arange(math.ceil(start_s), math.ceil(stop), dtype=float)
        return secs, wristband_hr(self._all_beats()[0], secs)

    def activity(self, start_s: float = 0.0,
                 stop_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Once-per-second movement magnitude (g, gravity removed) as a wrist band gives it.

        For plumbing, load, replay and demos — NEVER an accuracy figure. Small fidgets while
        awake, near-stillness asleep, bursts at movements (shared with the EEG artefacts and
        the heart-rate surges).

        Returns
        -------
        times : numpy.ndarray
            Whole seconds from the night's start.
        g : numpy.ndarray
            Movement magnitude in g.
        """
        stop = self.duration if stop_s is None else stop_s
        self._check_span(start_s, stop)
        secs = np.arange(math.ceil(start_s), math.ceil(stop), dtype=float)
        out = np.zeros(secs.size)
        if secs.size == 0:
            return secs, out
        e = self.epoch_length
        k_first = int(secs[0] // e)
        k_last = int(secs[-1] // e)
        for k in range(k_first, k_last + 1):
            grid = np.arange(math.ceil(k * e), math.ceil((k + 1) * e), dtype=float)
            rng = np.random.default_rng([self.seed, _ACT, k + 1])
            base = 0.01 if self._stage(k) == SleepStage.W else 0.002
            vals = base * np.abs(rng.standard_normal(grid.size))
            for j in range(max(0, k - self._lookback), k + 1):
                for ev in self._state(j).movements:
                    x = np.clip((grid - ev.onset) / ev.duration, 0.0, 1.0)
                    vals += ev.params["g"] * np.sin(np.pi * x)
            sel = (grid >= secs[0]) & (grid <= secs[-1])
            out[np.searchsorted(secs, grid[sel])] = vals[sel]
        return secs, out
