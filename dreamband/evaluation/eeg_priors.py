"""Population priors of the per-night evidence statistics, from the literature simulator.

The live (past-only) path scales each epoch's evidence against the night so far; early in
a night those statistics rest on a handful of epochs. :func:`dreamband.features.context.
robust_scale` therefore shrinks them toward population priors (median and robust SD of
each evidence column over a typical night). The priors shipped in
:data:`dreamband.features.context.EVIDENCE_PRIORS` are produced here, from:

- nights drawn from the shipped stage-transition table (``hmm_transitions_v1.json``,
  estimated from the Sleep-EDF expert hypnograms, ODC-By 1.0), 30-s epochs;
- signals of the virtual sleeper (:mod:`dreamband.sim`), whose per-stage spectra, event
  rates and amplitudes are literature constants (:mod:`dreamband.sim.params`: AASM manual,
  Carskadon & Dement, Purcell 2017, Halász 2005, ...) at a central derivation (C3-A2),
  with the horizontal EOG and chin EMG of the same preset;
- the batch evidence of those nights (whole-night statistics, as the batch path uses).

Nothing here reads DREAMS (its licence forbids derived works, and it is the test set).
Regenerate with ``python -m dreamband.evaluation.eeg_priors``.
"""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["build_priors", "simulated_night_evidence"]

_EEG, _EOG, _EMG = "EEG C3-A2", "EOG horizontal", "EMG submental"


def _draw_hypnogram(rng: np.random.Generator, n_epochs: int) -> np.ndarray:
    from dreamband.staging.transitions import load_transitions

    trans, _ = load_transitions(30.0)
    cum = np.cumsum(trans, axis=1)
    s = np.empty(n_epochs, dtype=np.int8)
    s[0] = 0  # lights off: awake
    u = rng.random(n_epochs)
    for t in range(1, n_epochs):
        s[t] = min(int(np.searchsorted(cum[s[t - 1]], u[t], side="right")), 4)
    return s


def simulated_night_evidence(seed: int, hours: float = 8.0):
    """Batch evidence (EEG only, and EEG + EOG + EMG) of one simulated night.

    Returns
    -------
    (Evidence, Evidence)
    """
    from dreamband.core.hypnogram import Hypnogram
    from dreamband.features.eeg import compute_evidence
    from dreamband.sim.recording import simulate_recording

    rng = np.random.default_rng(seed)
    hyp = Hypnogram(stages=_draw_hypnogram(rng, round(hours * 120)), epoch_length=30.0,
                    source=f"transition table draw {seed}")
    rec = simulate_recording(hyp, fs=100.0, channels=[_EEG, _EOG, _EMG], seed=seed)
    eeg, eog, emg = (rec.channel(n).data for n in (_EEG, _EOG, _EMG))
    only = compute_evidence(eeg, 100.0, epoch_length=30.0)
    full = compute_evidence(eeg, 100.0, eog=eog, emg=emg, epoch_length=30.0)
    return only, full


def build_priors(nights: int = 6, hours: float = 8.0) -> dict[str, list[float]]:
    """Median and robust SD (IQR / 1.349) of every context feature over simulated nights.

    Returns
    -------
    dict
        ``{feature: [median, robust_sd]}`` for the EEG-only evidence, plus
        ``emg@emg`` and ``rem_count@eog`` for the chin-EMG and EOG versions.
    """
    from dreamband.features.eeg import CONTEXT_FEATURES

    only, full = [], []
    for seed in range(nights):
        a, b = simulated_night_evidence(seed, hours)
        only.append(a.select(CONTEXT_FEATURES))
        full.append(b.select(["emg", "rem_count"]))
    v = np.concatenate(only)
    w = np.concatenate(full)

    def stats(col: np.ndarray) -> list[float]:
        q1, med, q3 = np.percentile(col, [25, 50, 75])
        return [round(float(med), 4), round(float((q3 - q1) / 1.349), 4)]

    out = {k: stats(v[:, j]) for j, k in enumerate(CONTEXT_FEATURES)}
    out["emg@emg"] = stats(w[:, 0])
    out["rem_count@eog"] = stats(w[:, 1])
    return out


if __name__ == "__main__":  # pragma: no cover - maintenance script
    import json

    json.dump(build_priors(), sys.stdout, indent=1)
    print()
