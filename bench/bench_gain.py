"""Amplitude robustness on the real DREAMS excerpts: dreamband rules vs YASA, EEG rescaled.

Consumer headbands record at other sites and with other amplitude scales than a PSG's
C3-A1 / Cz-A1 (a forehead or temporal site can read 2-3x smaller, a loose reference larger).
Here every excerpt's EEG is multiplied by a fixed gain before staging, and both stagers are
scored on the same 30-s epochs as in ``bench_accuracy_dreams.py`` (pooled kappa and N3 F1,
with the paired subject-bootstrap interval of the kappa difference). A gain is a crude model
of a montage change — real montages also change the spectrum — but it isolates the one
question: does a stager read amplitude against the night itself, or against absolute µV?
dreamband's batch slow-wave threshold follows a night far from a PSG's amplitude
(:func:`dreamband.features.detectors.amplitude_factor`); the absolute-threshold column is
the same engine without that, for comparison.

    DREAMBAND_DATA=/path/to/data python bench/bench_gain.py [--no-append]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from bench_robustness import (  # same folder
    EPOCH,
    Perturb,
    dreamband_stages,
    score_pair,
    yasa_stages,
)

from dreamband.evaluation.eeg_datasets import iter_records
from dreamband.evaluation.eeg_eval import LABELS, NAMES
from dreamband.evaluation.metrics import classification_report
from dreamband.paths import data_dir

RESULTS = Path(__file__).with_name("RESULTS.md")
GAINS = (0.33, 0.5, 0.7, 1.0, 1.4, 2.0)


def _gain(g: float) -> Perturb:
    """The perturbation that multiplies the EEG by ``g``."""
    return lambda x, fs: (x * g, fs)


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
    lines = ["| EEG gain | dreamband kappa | dreamband F1 N3 | absolute threshold kappa / F1 N3 | "
             "YASA kappa | YASA F1 N3 | dreamband - YASA kappa (95 % interval, subjects "
             "resampled) |",
             "|---|---|---|---|---|---|---|"]
    for g in GAINS:
        ours = dreamband_stages(recs, _gain(g))
        absolute = dreamband_stages(recs, _gain(g), adapt_amplitude=False)
        a, b, d = score_pair(recs, ours, yasa_stages(recs, _gain(g)))
        fixed = classification_report(np.concatenate([r.labels for r in recs]),
                                      np.concatenate(absolute), LABELS, NAMES)
        lines.append(f"| x{g:g} | {a['kappa']:.3f} | {a['f1']['N3']:.2f} | "
                     f"{fixed['kappa']:.3f} / {fixed['f1']['N3']:.2f} | {b['kappa']:.3f} | "
                     f"{b['f1']['N3']:.2f} | {d.estimate:+.3f} ({d.low:+.3f} to {d.high:+.3f}) |")
        print(lines[-1], flush=True)
    sec = time.perf_counter() - t0
    text = "\n".join(lines)
    if args.no_append:
        return 0
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = (f"\n## bench_gain — {stamp}\n\n"
             "`DREAMBAND_DATA=$DREAMBAND_DATA python bench/bench_gain.py` (the 5 real DREAMS "
             "excerpts with hypnograms, each excerpt's EEG multiplied by the gain before "
             f"staging; 30-s epochs, {len(recs)} excerpts pooled; {sec:.0f} s)\n\n{text}\n")
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
