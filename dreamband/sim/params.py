"""Literature constants of the virtual sleeper: per-stage EEG spectra, events, EMG, heart.

Every number here comes from published descriptions of normal adult sleep, never from a
dataset shipped or read by dreamband (in particular nothing here is computed from the DREAMS
excerpts, whose licence forbids derived works; a test only *checks* at run time that the
simulated relative band powers fall in the same range as those excerpts).

The simulator built on these constants is for plumbing, load, replay and demos,
never an accuracy figure: an accuracy measured on its signals means nothing.

References
----------
.. [AASM] Berry RB et al. The AASM Manual for the Scoring of Sleep and Associated Events,
   v2.6, 2020 (spindles 11-16 Hz >= 0.5 s; K-complex >= 0.5 s; slow waves 0.5-2 Hz,
   > 75 µV peak-to-peak frontal; N3 when they cover > 20 % of the epoch; REM atonia).
.. [Carskadon] Carskadon MA, Dement WC. Normal human sleep: an overview. In: Principles and
   Practice of Sleep Medicine, 6th ed., 2017 (alpha in relaxed wake, theta in N1 and REM,
   sawtooth waves, stage proportions).
.. [Purcell] Purcell SM et al. Characterizing sleep spindles in 11,630 individuals from the
   National Sleep Research Resource. Nat Commun 2017;8:15930 (N2 spindle density 2-7 /min,
   duration 0.5-2 s, slow 11-13.5 Hz / fast 13.5-16 Hz).
.. [Halasz] Halász P. K-complex, a reactive EEG graphoelement of NREM sleep. Sleep Med Rev
   2005;9:391-412 (biphasic, 100-200 µV, ~1-3 /min in N2, often followed by a spindle).
.. [Lendner] Lendner JD et al. An electrophysiological marker of arousal level in humans.
   eLife 2020;9:e55092 (aperiodic 1/f exponent steeper in N3 and REM than in wake).
.. [Ogilvie] Ogilvie RD. The process of falling asleep. Sleep Med Rev 2001;5:247-270
   (alpha drop-out, theta rise and slow eye movements at sleep onset).
.. [DeGennaro] De Gennaro L et al. Slow eye movements and EEG power spectra during wake-sleep
   transition. Clin Neurophysiol 2000;111:2107-2115 (SEM 0.1-0.6 Hz, drowsy wake and N1).
.. [Takahashi] Takahashi K, Atsumi Y. Precise measurement of individual rapid eye movements in
   REM sleep of humans. Sleep 1997;20:743-752 (REM bursts, 10-30 movements/min in phasic REM).
.. [Frauscher] Frauscher B et al. Normative EMG values during REM sleep for the diagnosis of
   REM sleep behavior disorder. Sleep 2012;35:835-847 (phasic chin twitches in normal REM).
.. [Trinder] Trinder J et al. Autonomic activity during human sleep as a function of time and
   sleep stage. J Sleep Res 2001;10:253-264 (HR: wake > REM > N2 > N3; HR falls across the
   night; respiratory sinus arrhythmia largest in N3).
.. [Bonnet] Bonnet MH, Arand DL. Heart rate variability: sleep stage, time of night, and
   arousal influences. Electroencephalogr Clin Neurophysiol 1997;102:390-396 (REM: higher,
   more variable HR; NREM: regular, vagal).
.. [Borbely] Borbély AA. A two process model of sleep regulation. Hum Neurobiol 1982;1:195-204
   (slow-wave activity decays across the night).
"""

from __future__ import annotations

from dataclasses import dataclass

from dreamband.core.stages import SleepStage

__all__ = [
    "CHANNELS",
    "HEART",
    "PRESETS",
    "STAGES",
    "ChannelSpec",
    "HeartProfile",
    "StageProfile",
]


@dataclass(frozen=True)
class StageProfile:
    """Signal parameters of one sleep stage (reference site: frontal/central bipolar, µV).

    Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.

    Background components are band-limited Gaussian noises given as RMS amplitude in µV;
    event rates are per minute of that stage.
    """

    aperiodic_rms: float  # broadband 1/f background
    aperiodic_exponent: float  # PSD ~ 1 / (f^2 + 1)^(exponent / 2)   [Lendner]
    delta_rms: float  # 0.5-2 Hz slow waves, peak ~0.9 Hz               [AASM]
    theta_rms: float  # 4-8 Hz                                            [Carskadon]
    alpha_rms: float  # 8-12 Hz (occipital > frontal)                     [Carskadon]
    sigma_rms: float  # 11-16 Hz background between discrete spindles
    beta_rms: float  # 16-30 Hz
    spindles_per_min: float  # [Purcell]
    kcomplexes_per_min: float  # [Halasz]
    sawtooth_per_min: float  # REM sawtooth-wave trains [Carskadon]
    rems_per_min: float  # rapid eye movements (REM) or saccades (eyes-open wake) [Takahashi]
    blinks_per_min: float
    sem_probability: float  # chance an epoch holds a slow-eye-movement episode [DeGennaro]
    emg_rms: float  # chin EMG tone, µV RMS [AASM, Frauscher]
    twitches_per_min: float  # phasic chin EMG twitches [Frauscher]


# Relaxed wake is taken with eyes closed half of the time (alpha on) and open otherwise
# (alpha blocked, saccades and blinks); see VirtualSleeper for the per-epoch draw.
STAGES: dict[SleepStage, StageProfile] = {
    SleepStage.W: StageProfile(
        aperiodic_rms=9.0, aperiodic_exponent=1.6, delta_rms=4.0, theta_rms=3.0,
        alpha_rms=7.5, sigma_rms=1.5, beta_rms=3.0, spindles_per_min=0.0,
        kcomplexes_per_min=0.0, sawtooth_per_min=0.0, rems_per_min=12.0, blinks_per_min=12.0,
        sem_probability=0.05, emg_rms=18.0, twitches_per_min=0.0,
    ),
    SleepStage.N1: StageProfile(
        aperiodic_rms=9.0, aperiodic_exponent=1.8, delta_rms=6.0, theta_rms=6.0,
        alpha_rms=3.5, sigma_rms=1.5, beta_rms=2.0, spindles_per_min=0.2,
        kcomplexes_per_min=0.2, sawtooth_per_min=0.0, rems_per_min=0.5, blinks_per_min=1.0,
        sem_probability=0.6, emg_rms=10.0, twitches_per_min=0.0,
    ),
    SleepStage.N2: StageProfile(
        aperiodic_rms=10.0, aperiodic_exponent=2.0, delta_rms=10.0, theta_rms=5.5,
        alpha_rms=3.0, sigma_rms=2.0, beta_rms=1.5, spindles_per_min=4.0,
        kcomplexes_per_min=1.5, sawtooth_per_min=0.0, rems_per_min=0.0, blinks_per_min=0.0,
        sem_probability=0.05, emg_rms=7.0, twitches_per_min=0.0,
    ),
    SleepStage.N3: StageProfile(
        aperiodic_rms=10.0, aperiodic_exponent=2.0, delta_rms=33.0, theta_rms=10.0,
        alpha_rms=4.0, sigma_rms=3.5, beta_rms=2.5, spindles_per_min=1.5,
        kcomplexes_per_min=0.5, sawtooth_per_min=0.0, rems_per_min=0.0, blinks_per_min=0.0,
        sem_probability=0.0, emg_rms=6.0, twitches_per_min=0.0,
    ),
    SleepStage.REM: StageProfile(
        aperiodic_rms=8.0, aperiodic_exponent=2.0, delta_rms=5.0, theta_rms=6.0,
        alpha_rms=3.0, sigma_rms=1.0, beta_rms=2.0, spindles_per_min=0.0,
        kcomplexes_per_min=0.0, sawtooth_per_min=1.0, rems_per_min=8.0, blinks_per_min=0.0,
        sem_probability=0.05, emg_rms=2.5, twitches_per_min=4.0,
    ),
}


@dataclass(frozen=True)
class ChannelSpec:
    """How one output channel sees the sources (dimensionless gains, then ``scale``).

    Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.

    ``eeg`` multiplies every cortical background component, ``alpha`` and ``delta`` adjust
    those two on top (posterior alpha, frontal slow waves), ``events`` the spindles,
    K-complexes and sawtooth waves; ``eye_h`` / ``blink`` are the gains of horizontal eye
    movements (sign = polarity) and vertical blinks; ``emg`` the muscle leak; ``noise`` an
    independent per-channel noise in µV RMS; ``scale`` a final amplitude factor (dry-electrode
    headbands record smaller amplitudes than gel PSG electrodes).
    """

    kind: str
    eeg: float = 0.0
    alpha: float = 1.0
    delta: float = 1.0
    events: float = 0.0
    eye_h: float = 0.0
    blink: float = 0.0
    emg: float = 0.0
    noise: float = 1.0
    scale: float = 1.0


# Gains follow the usual topography: alpha is occipital (Pz-Oz > Fpz-Cz), slow waves and
# K-complexes frontal, spindles central; electrodes near the eyes see eye movements
# (LOC/ROC in opposite phase for horizontal movements), temporal sites (TP9/TP10) muscle.
CHANNELS: dict[str, ChannelSpec] = {
    "EEG Fpz-Cz": ChannelSpec("eeg", eeg=1.0, alpha=0.6, delta=1.1, events=0.9, eye_h=0.08,
                              blink=0.4, emg=0.05, noise=1.0),
    "EEG Pz-Oz": ChannelSpec("eeg", eeg=0.8, alpha=1.6, delta=0.6, events=0.6, eye_h=0.0,
                             blink=0.02, emg=0.03, noise=1.0),
    "EEG C3-A2": ChannelSpec("eeg", eeg=1.2, alpha=0.8, delta=1.0, events=1.1, eye_h=0.03,
                             blink=0.1, emg=0.03, noise=1.0),
    "EOG horizontal": ChannelSpec("eog", eeg=0.15, events=0.15, eye_h=2.0, blink=0.2,
                                  emg=0.05, noise=2.0),
    "EOG LOC": ChannelSpec("eog", eeg=0.5, events=0.6, eye_h=1.0, blink=0.6, emg=0.05,
                           noise=2.0),
    "EOG ROC": ChannelSpec("eog", eeg=0.5, events=0.6, eye_h=-1.0, blink=0.6, emg=0.05,
                           noise=2.0),
    "EMG submental": ChannelSpec("emg", emg=1.0, noise=0.5),
    # Muse-like dry headband, reference Fpz: smaller amplitudes, more noise.
    "TP9": ChannelSpec("eeg", eeg=0.9, alpha=1.2, delta=0.8, events=0.7, eye_h=0.05,
                       blink=0.05, emg=0.35, noise=3.0, scale=0.6),
    "AF7": ChannelSpec("eeg", eeg=0.9, alpha=0.5, delta=1.1, events=0.8, eye_h=0.5,
                       blink=0.8, emg=0.15, noise=3.0, scale=0.6),
    "AF8": ChannelSpec("eeg", eeg=0.9, alpha=0.5, delta=1.1, events=0.8, eye_h=-0.5,
                       blink=0.8, emg=0.15, noise=3.0, scale=0.6),
    "TP10": ChannelSpec("eeg", eeg=0.9, alpha=1.2, delta=0.8, events=0.7, eye_h=-0.05,
                        blink=0.05, emg=0.35, noise=3.0, scale=0.6),
}

#: Named channel sets and their default sampling rate in Hz.
PRESETS: dict[str, tuple[tuple[str, ...], float]] = {
    "psg": (("EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal", "EMG submental"), 100.0),
    "muse": (("TP9", "AF7", "AF8", "TP10"), 256.0),
    "full": (
        ("EEG Fpz-Cz", "EEG Pz-Oz", "EEG C3-A2", "EOG LOC", "EOG ROC", "EMG submental"),
        256.0,
    ),
}


@dataclass(frozen=True)
class HeartProfile:
    """Heart-rate model of one stage [Trinder, Bonnet].

    Part of the virtual sleeper: for plumbing, load, replay and demos, never an accuracy figure.

    ``hr_offset`` (bpm) is added to the sleeper's resting HR; ``rsa`` is the respiratory
    sinus arrhythmia half-amplitude (bpm); ``lf`` the RMS (bpm) of slower 0.04-0.15 Hz
    fluctuations (sympathetic; largest in REM and wake); ``resp_hz`` the breathing rate and
    ``resp_jitter`` its relative variability (regular in N3, irregular in REM).
    """

    hr_offset: float
    rsa: float
    lf: float
    resp_hz: float
    resp_jitter: float


HEART: dict[SleepStage, HeartProfile] = {
    SleepStage.W: HeartProfile(hr_offset=8.0, rsa=2.0, lf=3.0, resp_hz=0.27, resp_jitter=0.15),
    SleepStage.N1: HeartProfile(hr_offset=4.0, rsa=2.5, lf=2.5, resp_hz=0.26, resp_jitter=0.1),
    SleepStage.N2: HeartProfile(hr_offset=1.0, rsa=2.8, lf=1.8, resp_hz=0.25, resp_jitter=0.05),
    SleepStage.N3: HeartProfile(hr_offset=-2.0, rsa=3.0, lf=0.6, resp_hz=0.24, resp_jitter=0.03),
    SleepStage.REM: HeartProfile(hr_offset=4.0, rsa=2.0, lf=4.0, resp_hz=0.27, resp_jitter=0.2),
}
