"""Accuracy on the real DREAMS excerpts: dreamband (rules, live rules, model LOSO) vs YASA.

Both stagers see the same EEG channel of each excerpt (C3-A1 or Cz-A1) and are scored on
the same epochs: 30-s epochs labelled by the centre 5-s label of the experts' scoring, and
the experts' own 20-s epochs (YASA stages 30-s epochs only; its 20-s figure maps each 20-s
epoch to the 30-s epoch holding its centre). YASA needs >= 80 Hz: excerpt 3 (50 Hz) is
upsampled to 100 Hz for it; dreamband uses the native rate.

    DREAMBAND_DATA=/path/to/data python bench/bench_accuracy_dreams.py
    DREAMBAND_DATA=/path/to/data python bench/bench_accuracy_dreams.py --no-append --epoch-length 30

The first form appends a dated block to ``bench/RESULTS.md``; ``--no-append`` only prints
(exploratory runs), ``--epoch-length`` runs one epoch length only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from dreamband.evaluation.eeg_datasets import iter_records
from dreamband.evaluation.eeg_eval import LABELS, NAMES, evaluate_eeg
from dreamband.evaluation.metrics import classification_report, pair_auroc
from dreamband.paths import data_dir

RESULTS = Path(__file__).with_name("RESULTS.md")


def yasa_predictions(
    epoch_length: float,
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], float]:
    """YASA's stages of every excerpt on our epoch grid, the labels, YASA's probabilities
    (columns W, N1, N2, N3, REM, same grid) and YASA's run time."""
    import mne
    import yasa
    from scipy.signal import resample_poly

    mne.set_log_level("ERROR")
    logging.getLogger("yasa").setLevel(logging.ERROR)
    ys, ps, probs, seconds = [], [], [], 0.0
    for rec in iter_records("dreams", None, epoch_length):
        ch = rec.recording.channels[0]
        x, fs = ch.data, ch.fs
        if fs < 80:
            x, fs = resample_poly(x, 2, 1), fs * 2
        raw = mne.io.RawArray(x[None] * 1e-6, mne.create_info([ch.name], fs, "eeg"))
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hyp = yasa.SleepStaging(raw, eeg_name=ch.name).predict()
        seconds += time.perf_counter() - t0
        p30 = np.asarray(hyp.as_int()).astype(int)  # 0 W, 1 N1, 2 N2, 3 N3, 4 REM
        centre = (np.arange(rec.labels.size) + 0.5) * epoch_length
        idx = np.minimum((centre // 30).astype(int), p30.size - 1)
        proba = hyp.proba[["WAKE", "N1", "N2", "N3", "REM"]].to_numpy()
        ys.append(rec.labels)
        ps.append(p30[idx])
        probs.append(proba[idx])
    return ys, ps, probs, seconds


def live_ablation(epoch_length: float) -> list[tuple[str, dict]]:
    """Rules with the live ingredients swapped one at a time, in both directions.

    Ingredients: causal detectors (forward filters, past-only detector thresholds, events
    counted when they are final), past-only context means, past-only per-night scaling
    (shrunk toward the literature priors), forward-only HMM (filtering instead of
    smoothing). First batch with one live ingredient swapped in, then live with one batch
    ingredient restored (what each live ingredient costs on its own, and what restoring
    it alone would win back), then batch evidence decided one epoch late (fixed-lag
    smoothing: the smoother's share when the evidence is the batch one).
    """
    from dreamband.evaluation.eeg_eval import align
    from dreamband.features.eeg import LIVE_PARTS, compute_evidence
    from dreamband.staging.rules import stage_rules

    recs = list(iter_records("dreams", None, epoch_length))
    # (name, live parts, forward-only smoothing, fixed lag)
    variants: list[tuple[str, tuple[str, ...], bool, int]] = [("batch", (), False, 0)]
    variants += [(f"batch + live {p}", (p,), False, 0) for p in LIVE_PARTS]
    variants += [("batch + forward-only HMM", (), True, 0)]
    variants += [("live evidence + batch smoother (forward-backward)", LIVE_PARTS, False, 0)]
    variants += [("live (all four)", LIVE_PARTS, True, 0)]
    variants += [(f"live with batch {p}", tuple(q for q in LIVE_PARTS if q != p), True, 0)
                 for p in LIVE_PARTS]
    variants += [("batch evidence, forward HMM decided 1 epoch late", (), True, 1)]
    evidence: dict[tuple[str, ...], list] = {}
    out = []
    for name, parts, fwd, lag in variants:
        if parts not in evidence:
            evidence[parts] = [
                compute_evidence(rec.recording.channels[0].data, rec.recording.channels[0].fs,
                                 epoch_length=epoch_length, live_parts=parts)
                for rec in recs
            ]
        ys, ps = [], []
        for rec, ev in zip(recs, evidence[parts], strict=True):
            p = stage_rules(ev, forward_only=fwd, lag=lag).probabilities.argmax(axis=1)
            rows, y = align(rec, p.size)
            ys.append(y)
            ps.append(p[rows])
        out.append((name, classification_report(np.concatenate(ys), np.concatenate(ps),
                                                LABELS, NAMES)))
    return out


def slow_wave_auroc(epoch_length: float) -> list[float]:
    """Per excerpt, how well the slow-wave fraction alone (batch evidence) ranks the
    experts' N3 epochs above their N2 ones (AUROC; a property of the recording and its
    scoring, not of a stager)."""
    from dreamband.evaluation.eeg_eval import align, record_evidence

    out = []
    for rec in iter_records("dreams", None, epoch_length):
        ev = record_evidence(rec)
        rows, y = align(rec, ev.n_epochs)
        sw = ev["sw_fraction"][rows]
        score = np.zeros((y.size, 5))
        score[:, 3] = sw
        score[:, 2] = 1.0 - sw  # p[3] / (p[3] + p[2]) = sw: same ranking
        out.append(pair_auroc(y, score, 3, 2))
    return out


def interval_rows(rules: dict, live: dict, ys: list[np.ndarray], ps: list[np.ndarray]) -> list[str]:
    """Subject-bootstrap intervals of the pooled kappas and of the paired differences
    (rules - YASA, live - batch) on the same replicates."""
    from dreamband.evaluation.bootstrap import (
        DEFAULT_REPLICATES,
        confusions_from_records,
        paired_difference,
        score_intervals,
        subject_confusions,
    )

    subjects, batch_cms = confusions_from_records(rules["records"])
    _, live_cms = confusions_from_records(live["records"])
    _, yasa_cms = subject_confusions(ys, ps, [r["subject"] for r in rules["records"]], LABELS)
    rows = [
        f"\nSubject bootstrap: the {len(subjects)} excerpts (subjects) drawn with replacement, "
        f"{DEFAULT_REPLICATES:,} replicates, percentile 95 % intervals; differences paired "
        "on the same replicates (an interval excluding 0 holds across resampled subject "
        "sets):\n",
        "| measure | estimate | 95 % interval |",
        "|---|---|---|",
    ]
    for name, cms in (("rules (batch) kappa", batch_cms), ("rules live kappa", live_cms),
                      ("YASA kappa", yasa_cms)):
        iv = score_intervals(cms, NAMES)["kappa"]
        rows.append(f"| {name} | {iv.estimate:.3f} | {iv.low:.3f} to {iv.high:.3f} |")
    for name, a, b, score in (("rules - YASA, kappa", batch_cms, yasa_cms, "kappa"),
                              ("rules - YASA, macro-F1", batch_cms, yasa_cms, "macro_f1"),
                              ("live - batch, kappa", live_cms, batch_cms, "kappa")):
        iv = paired_difference(a, b, score=score)
        rows.append(f"| {name} | {iv.estimate:+.3f} | {iv.low:+.3f} to {iv.high:+.3f} |")
    return rows


def _row(name: str, rep: dict) -> str:
    f1 = " ".join(f"{k}={v:.2f}" for k, v in rep["f1"].items())
    return (f"| {name} | {rep['n']} | {rep['accuracy']:.3f} | {rep['kappa']:.3f} | "
            f"{rep['macro_f1']:.3f} | {f1} |")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; ``argv`` as on the command line (default ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-append", action="store_true",
                        help="print the figures only; do not append them to bench/RESULTS.md")
    parser.add_argument("--epoch-length", type=float, choices=(30.0, 20.0), action="append",
                        help="epoch length in s (repeat for both; default 30 and 20)")
    args = parser.parse_args(argv)
    if not (data_dir() / "dreams-spindles").is_dir():
        print("set DREAMBAND_DATA to the folder holding dreams-spindles/", file=sys.stderr)
        return 2
    lines = []
    summary = []
    for ep in args.epoch_length or (30.0, 20.0):
        t0 = time.perf_counter()
        rules = evaluate_eeg("dreams", "rules", epoch_length=ep)
        t_rules = time.perf_counter() - t0
        live = evaluate_eeg("dreams", "rules", epoch_length=ep, causal=True)
        live_lag1 = evaluate_eeg("dreams", "rules", epoch_length=ep, causal=True, lag=1)
        live_lag = evaluate_eeg("dreams", "rules", epoch_length=ep, causal=True, lag=2)
        warm = round(300 / ep)  # the live engine's first 5 min build its night statistics
        live_w = evaluate_eeg("dreams", "rules", epoch_length=ep, causal=True, skip_first=warm)
        batch_w = evaluate_eeg("dreams", "rules", epoch_length=ep, skip_first=warm)
        # the live spindle threshold starts after 5 min, from a night so far that is often
        # wake only: the gap sits in each excerpt's first 10 min (every excerpt starts cold)
        warm10 = round(600 / ep)
        live_w10 = evaluate_eeg("dreams", "rules", epoch_length=ep, causal=True,
                                skip_first=warm10)
        batch_w10 = evaluate_eeg("dreams", "rules", epoch_length=ep, skip_first=warm10)
        model = evaluate_eeg("dreams", "model", epoch_length=ep)
        ys, ps, yprobs, t_yasa = yasa_predictions(ep)
        sw_auc = slow_wave_auroc(ep)
        yasa_pooled = classification_report(np.concatenate(ys), np.concatenate(ps), LABELS, NAMES)
        lines.append(f"\n**{ep:.0f}-s epochs** (pooled over 5 excerpts)\n")
        lines.append("| stager | epochs | accuracy | kappa | macro-F1 | per-stage F1 |")
        lines.append("|---|---|---|---|---|---|")
        lines.append(_row("dreamband rules (batch)", rules["pooled"]))
        lines.append(_row("dreamband rules (live, past-only)", live["pooled"]))
        lines.append(_row("dreamband rules (live, decided 1 epoch late)", live_lag1["pooled"]))
        lines.append(_row("dreamband rules (live, decided 2 epochs late)", live_lag["pooled"]))
        lines.append(_row("rules batch, first 5 min of each excerpt not scored", batch_w["pooled"]))
        lines.append(_row("rules live, first 5 min of each excerpt not scored", live_w["pooled"]))
        lines.append(_row("rules batch, first 10 min of each excerpt not scored",
                          batch_w10["pooled"]))
        lines.append(_row("rules live, first 10 min of each excerpt not scored",
                          live_w10["pooled"]))
        lines.append(_row("dreamband model (LightGBM, leave-one-excerpt-out)", model["pooled"]))
        lines.append(_row("yasa.SleepStaging (pretrained)", yasa_pooled))
        lines += interval_rows(rules, live, ys, ps)
        lines.append(f"\nPer excerpt, {ep:.0f}-s (kappa; F1 N2/N3; N2/N3 AUROC = chance that "
                     "an expert-N3 epoch gets a higher p(N3)/(p(N2)+p(N3)) than an expert-N2 "
                     "one, 0.5 = none; last column: the same AUROC for the epoch's slow-wave "
                     "fraction, the AASM N3 criterion, i.e. whether the experts' N3 epochs "
                     "carry more slow waves than their N2 ones on this channel):\n")
        lines.append("| excerpt | expert N3 epochs | rules kappa | rules F1 N2/N3 | "
                     "rules N2/N3 AUROC | live kappa | live F1 N2/N3 | live N2/N3 AUROC | "
                     "yasa kappa | yasa F1 N2/N3 | yasa N2/N3 AUROC | slow-wave fraction AUROC |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for i, rec in enumerate(rules["records"]):
            yr = classification_report(ys[i], ps[i], LABELS, NAMES)
            r = rec["report"]
            lr = live["records"][i]["report"]
            y_auc = pair_auroc(ys[i], yprobs[i], 3, 2)
            lines.append(
                f"| {rec['name']} | {r['support']['N3']} | {r['kappa']:.3f} | "
                f"{r['f1']['N2']:.2f}/{r['f1']['N3']:.2f} | {r['n2_n3_auroc']:.2f} | "
                f"{lr['kappa']:.3f} | {lr['f1']['N2']:.2f}/{lr['f1']['N3']:.2f} | "
                f"{lr['n2_n3_auroc']:.2f} | {yr['kappa']:.3f} | "
                f"{yr['f1']['N2']:.2f}/{yr['f1']['N3']:.2f} | {y_auc:.2f} | {sw_auc[i]:.2f} |"
            )
        if ep == 30.0:
            lines.append("\nLive/batch gap, 30-s, rules engine: batch with each live ingredient "
                         "swapped in alone, live with each batch ingredient restored alone "
                         "(pooled):\n")
            lines.append("| variant | epochs | accuracy | kappa | macro-F1 | per-stage F1 |")
            lines.append("|---|---|---|---|---|---|")
            lines += [_row(name, rep) for name, rep in live_ablation(ep)]
        lines.append(f"\nWall time of this evaluation, {ep:.0f}-s (file reading and first-call "
                     f"warm-up included, so not a speed comparison; that is bench_stage.py): "
                     f"dreamband rules {t_rules:.2f} s for 5 excerpts, YASA {t_yasa:.2f} s.")
        summary.append(f"{ep:.0f}s: rules kappa {rules['pooled']['kappa']:.3f} vs yasa "
                       f"{yasa_pooled['kappa']:.3f} (live {live['pooled']['kappa']:.3f}, "
                       f"model {model['pooled']['kappa']:.3f})")
    text = "\n".join(lines)
    print(text)
    print("\n".join(summary))
    if args.no_append:
        return 0
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = (f"\n## bench_accuracy_dreams — {stamp}\n\n"
             f"`DREAMBAND_DATA=$DREAMBAND_DATA python bench/bench_accuracy_dreams.py`\n{text}\n")
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
