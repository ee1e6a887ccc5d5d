"""Robustness on the real DREAMS excerpts: dreamband rules vs YASA under what bands do.

Each excerpt's EEG goes through one perturbation of the kind consumer headbands and open
amplifier boards produce, then both stagers stage it and are scored on the same 30-s
epochs as in ``bench_accuracy_dreams.py`` (pooled kappa, W and N3 F1, and the paired
subject-bootstrap interval of the kappa difference). Amplitude gains are in
``bench_gain.py``.

* another sampling rate (128 Hz, 256 Hz: Muse, OpenBCI);
* mains hum at 50 or 60 Hz (unfiltered streams);
* a DC offset and a slow drift (amplifiers without a high-pass);
* white noise; inverted polarity (a montage read the other way round).

    DREAMBAND_DATA=/path/to/data python bench/bench_robustness.py [--no-append]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from dreamband.evaluation.bootstrap import paired_difference, subject_confusions
from dreamband.evaluation.eeg_datasets import iter_records
from dreamband.evaluation.eeg_eval import LABELS, NAMES, align
from dreamband.evaluation.metrics import classification_report
from dreamband.paths import data_dir

RESULTS = Path(__file__).with_name("RESULTS.md")
EPOCH = 30.0
Perturb = Callable[[np.ndarray, float], tuple[np.ndarray, float]]


def _rate(fs_out: int) -> Perturb:
    return lambda x, fs: (resample_poly(x, fs_out, int(fs)), float(fs_out))


def _hum(f0: float, amp: float, fs_out: int | None = None) -> Perturb:
    def go(x: np.ndarray, fs: float) -> tuple[np.ndarray, float]:
        if fs_out is not None:
            x, fs = _rate(fs_out)(x, fs)
        return x + amp * np.sin(2 * np.pi * f0 * np.arange(x.size) / fs), fs
    return go


def _noise(sd: float) -> Perturb:
    rng = np.random.default_rng(0)
    return lambda x, fs: (x + rng.normal(0.0, sd, x.size), fs)


PERTURBATIONS: list[tuple[str, Perturb]] = [
    ("none (as recorded: 50 / 100 / 200 Hz)", lambda x, fs: (x, fs)),
    ("resampled to 128 Hz", _rate(128)),
    ("resampled to 256 Hz", _rate(256)),
    ("50-Hz hum, 100 µV", _hum(50.0, 100.0)),
    ("60-Hz hum, 50 µV, at 256 Hz", _hum(60.0, 50.0, 256)),
    ("DC offset 800 µV", lambda x, fs: (x + 800.0, fs)),
    ("drift 300 µV at 0.01 Hz",
     lambda x, fs: (x + 300.0 * np.sin(2 * np.pi * 0.01 * np.arange(x.size) / fs), fs)),
    ("white noise 5 µV RMS", _noise(5.0)),
    ("polarity inverted", lambda x, fs: (-x, fs)),
]


def dreamband_stages(recs: list, perturb: Perturb, **evidence: object) -> list[np.ndarray]:
    """The rules engine's batch stages of every perturbed excerpt (``evidence``: options
    of :func:`~dreamband.features.eeg.compute_evidence`)."""
    from dreamband.features.eeg import compute_evidence
    from dreamband.staging.rules import stage_rules

    out = []
    for rec in recs:
        ch = rec.recording.channels[0]
        x, fs = perturb(np.asarray(ch.data, dtype=float), ch.fs)
        ev = compute_evidence(x, fs, epoch_length=EPOCH, **evidence)
        p = stage_rules(ev).probabilities.argmax(1)
        rows, _ = align(rec, p.size)
        out.append(p[rows])
    return out


def yasa_stages(recs: list, perturb: Perturb) -> list[np.ndarray]:
    """YASA's stages of every perturbed excerpt (>= 80 Hz: 50-Hz input doubled first)."""
    import mne
    import yasa

    mne.set_log_level("ERROR")
    logging.getLogger("yasa").setLevel(logging.ERROR)
    out = []
    for rec in recs:
        ch = rec.recording.channels[0]
        x, fs = perturb(np.asarray(ch.data, dtype=float), ch.fs)
        if fs < 80:
            x, fs = resample_poly(x, 2, 1), fs * 2
        raw = mne.io.RawArray(x[None] * 1e-6, mne.create_info([ch.name], fs, "eeg"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hyp = yasa.SleepStaging(raw, eeg_name=ch.name).predict()
        p30 = np.asarray(hyp.as_int()).astype(int)
        out.append(p30[np.minimum(np.arange(rec.labels.size), p30.size - 1)])
    return out


def score_pair(recs: list, ours: list[np.ndarray], theirs: list[np.ndarray]):
    """Pooled reports of two stagers' stages of the excerpts and the paired
    subject-bootstrap interval of their kappa difference (ours - theirs)."""
    ys = [r.labels for r in recs]
    subjects = [r.subject for r in recs]
    y_all = np.concatenate(ys)
    a = classification_report(y_all, np.concatenate(ours), LABELS, NAMES)
    b = classification_report(y_all, np.concatenate(theirs), LABELS, NAMES)
    d = paired_difference(subject_confusions(ys, ours, subjects, LABELS)[1],
                          subject_confusions(ys, theirs, subjects, LABELS)[1])
    return a, b, d


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; ``argv`` as on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-append", action="store_true",
                        help="print only; do not append to bench/RESULTS.md")
    args = parser.parse_args(argv)
    if not (data_dir() / "dreams-spindles").is_dir():
        print("set DREAMBAND_DATA to the folder holding dreams-spindles/", file=sys.stderr)
        return 2
    recs = list(iter_records("dreams", None, EPOCH))
    t0 = time.perf_counter()
    lines = ["| perturbation | dreamband kappa | dreamband F1 W / N3 | YASA kappa | "
             "YASA F1 W / N3 | dreamband - YASA kappa (95 % interval, subjects resampled) |",
             "|---|---|---|---|---|---|"]
    for name, perturb in PERTURBATIONS:
        a, b, d = score_pair(recs, dreamband_stages(recs, perturb), yasa_stages(recs, perturb))
        lines.append(f"| {name} | {a['kappa']:.3f} | {a['f1']['W']:.2f} / {a['f1']['N3']:.2f} "
                     f"| {b['kappa']:.3f} | {b['f1']['W']:.2f} / {b['f1']['N3']:.2f} | "
                     f"{d.estimate:+.3f} ({d.low:+.3f} to {d.high:+.3f}) |")
        print(lines[-1], flush=True)
    sec = time.perf_counter() - t0
    if args.no_append:
        return 0
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = (f"\n## bench_robustness — {stamp}\n\n"
             "`DREAMBAND_DATA=$DREAMBAND_DATA python bench/bench_robustness.py` (the 5 real "
             "DREAMS excerpts with hypnograms, each excerpt's EEG perturbed before staging; "
             f"30-s epochs pooled; {sec:.0f} s)\n\n" + "\n".join(lines) + "\n")
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
