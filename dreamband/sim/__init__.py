"""Virtual sleepers: physiologically plausible EEG/EOG/EMG, heart beats and movement.

A :class:`VirtualSleeper` turns a real hypnogram (a Sleep-EDF expert night, or any
:class:`~dreamband.core.Hypnogram`) into signals with stage-dependent spectra (alpha in
relaxed wake, theta in N1 and REM, spindles and K-complexes in N2, slow waves in N3, sawtooth
waves, rapid eye movements and atonia in REM), heart beats with stage-dependent rate and
variability, a wristband's 1-Hz heart rate and movement, and artefacts (electrode pops,
movement bursts, flat-line dropouts). It is seeded, reproducible and generated in chunks.

**For plumbing, load, replay and demos — NEVER an accuracy figure.** The signals are made
from the very hypnogram a stager would be scored against; an accuracy measured on them means
nothing. Calibration constants come from the literature (:mod:`dreamband.sim.params`).
"""

from dreamband.sim.artefacts import NO_ARTEFACTS, ArtefactConfig
from dreamband.sim.params import CHANNELS, PRESETS
from dreamband.sim.recording import simulate_recording, write_edf
from dreamband.sim.sleeper import SIMULATED_NOTE, VirtualSleeper

__all__ = [
    "CHANNELS",
    "NO_ARTEFACTS",
    "PRESETS",
    "SIMULATED_NOTE",
    "ArtefactConfig",
    "VirtualSleeper",
    "simulate_recording",
    "write_edf",
]
