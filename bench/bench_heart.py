"""Heart-rate staging (W / NREM / REM): leave-one-subject-out figures and timing.

* slpdb (MIT-BIH Polysomnographic Database, 16 records, 14 subjects: slp01a/b and
  slp02a/b are one subject each): our features from the beat annotations, LOSO, batch and
  live, from RR intervals and from a 1-Hz HR stream derived from the beats; live with
  decisions delayed by a fixed lag (5/10/20/30 min; trained: 20 and 30 min) reported
  separately. SleepECG's pretrained ``wrn-gru-mesa`` (trained on MESA, never on slpdb) is
  scored on the same epochs when ``sleepecg`` and a Keras backend can be imported.
* sleep-accel (Walch 2019): our model family on the **study's own per-epoch features**
  (not computed by our pipeline), LOSO over 31 subjects.
* smoother: batch and fixed-lag rows use the cycle-aware HMM (sleep-cycle prior from
  Sleep-EDF hypnograms, :mod:`dreamband.staging.heart_cycle`; fixed-lag for the lag rows),
  live rows the sticky HMM; each is also shown with the other smoother, and the rr rows over
  three LightGBM seeds (mean, range).
* timing: features + staging of one whole slpdb night (slp41, 6.5 h), models loaded.

    DREAMBAND_DATA=/path/to/data python bench/bench_heart.py [--no-append] [--heart-only]

``--no-append`` prints the figures without appending them to ``bench/RESULTS.md`` (for
exploratory runs); ``--heart-only`` skips SleepECG, sleep-accel and the timing.

SleepECG comes from the environment (``pip install sleepecg`` plus a Keras backend;
``KERAS_BACKEND`` defaults to ``jax``). Optionally ``DREAMBAND_SLEEPECG_PATH`` names an extra
``pip install --target`` folder appended to ``sys.path``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from dreamband.evaluation.heart import loso_predictions, report_nights
from dreamband.evaluation.metrics import classification_report, format_report
from dreamband.features.heart_lag import split_lag
from dreamband.paths import data_dir
from dreamband.staging.heart_data import load_nights
from dreamband.staging.heart_model import CLASS_NAMES, apply_calibration, fit_calibration

RESULTS = Path(__file__).with_name("RESULTS.md")
LABELS = (0, 1, 2)
SEEDS = (7, 11, 23)  # 7 = the trained models' seed


def row(name: str, rep: dict, extra: str = "") -> str:
    f1 = rep["f1"]
    return (f"| {name} | {rep['n']} | {rep['accuracy']:.3f} | {rep['kappa']:.3f} | "
            f"{rep['macro_f1']:.3f} | {f1['W']:.3f} | {f1['NREM']:.3f} | {f1['REM']:.3f} | "
            f"{extra} |")


def seed_row(name: str, reps: list[dict]) -> str:
    """Mean and range over seeds of kappa and the per-stage F1."""
    def stat(vals: list[float]) -> str:
        return f"{np.mean(vals):.3f} [{min(vals):.3f}-{max(vals):.3f}]"
    k = [r["kappa"] for r in reps]
    f1 = {c: [r["f1"][c] for r in reps] for c in CLASS_NAMES}
    return (f"| {name} | {reps[0]['n']} | | {stat(k)} | | {stat(f1['W'])} | "
            f"{stat(f1['NREM'])} | {stat(f1['REM'])} | LOSO, mean [min-max] over LightGBM "
            f"seeds {', '.join(map(str, SEEDS))} |")


def nested_calibrated_decision(preds) -> dict:
    """Pooled report of argmax(calibrated p), calibration fitted on the *other* subjects'
    out-of-subject probabilities (accuracy-oriented decision, honest)."""
    ys, ps = [], []
    for p in preds:
        others = [q for q in preds if q.subject != p.subject]
        cal = fit_calibration(np.vstack([q.smooth for q in others]),
                              np.concatenate([q.y for q in others]))
        ps.append(apply_calibration(p.smooth, cal["temperature"], cal["bias"]).argmax(axis=1))
        ys.append(p.y)
    return classification_report(np.concatenate(ys), np.concatenate(ps), LABELS, CLASS_NAMES)


def sleepecg_slpdb(folder: Path) -> tuple[dict | None, str]:
    """wrn-gru-mesa on every slpdb record, scored on our epochs; (report, note)."""
    extra = os.environ.get("DREAMBAND_SLEEPECG_PATH")
    if extra:
        sys.path.append(extra)
    os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import sleepecg
            from sleepecg import SleepRecord, SubjectData
    except Exception as exc:  # ImportError, or a keras backend failing to import
        return None, f"sleepecg not importable ({type(exc).__name__}: {exc})"
    from dreamband.io.slpdb import read_slpdb_beats, read_slpdb_header, read_slpdb_stages

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = sleepecg.load_classifier("wrn-gru-mesa", "SleepECG")
    to_ours = np.array([-1, 1, 2, 0])  # sleepecg wake-rem-nrem: 0 undefined, 1 NREM, 2 REM, 3 W
    ys, ps, notes = [], [], []
    for h in sorted(folder.glob("slp*.hea")):
        beats = read_slpdb_beats(h)
        hyp = read_slpdb_stages(h).to_wearable()
        header = read_slpdb_header(h)
        age = header.comments[0].split()[0] if header.comments else "x"
        start = header.start_time.time() if header.start_time else dt.time(0, 0)
        if header.start_time is None:
            notes.append(f"{h.stem}: no start time in header, 00:00 assumed")
        first = round(hyp.offset / 30)
        n = first + hyp.n_epochs
        rec = SleepRecord(
            sleep_stages=np.full(n, 2),  # placeholder: only the length is used for staging
            sleep_stage_duration=30, id=h.stem, recording_start_time=start,
            heartbeat_times=beats.times,
            subject_data=SubjectData(gender=1, age=None if age == "x" else int(age)),
        )
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")  # keras progress bars and backend warnings
            pred = np.asarray(sleepecg.stage(clf, rec, return_mode="int")).astype(int)
        pred = np.concatenate([pred, np.zeros(max(0, n - pred.size), int)])
        ys.append(hyp.stages.astype(int))
        ps.append(to_ours[pred[first:n]])
    rep = classification_report(np.concatenate(ys), np.concatenate(ps), LABELS, CLASS_NAMES)
    return rep, f"sleepecg {sleepecg.__version__}, KERAS_BACKEND={os.environ['KERAS_BACKEND']}" + (
        "; " + "; ".join(notes) if notes else "")


def time_one_night(folder: Path) -> tuple[float, float, float, int, int]:
    """Median wall and CPU seconds, and max wall seconds, of features + staging of slp41
    (models loaded, warm). CPU time is the figure to trust on a shared machine."""
    from dreamband.io.slpdb import read_slpdb_beats
    from dreamband.staging.heart import stage_heart

    beats = read_slpdb_beats(folder / "slp41.hea")
    stage_heart(beats)  # load the model once
    wall, cpu = [], []
    for _ in range(15):
        t0, c0 = time.perf_counter(), time.process_time()
        hyp = stage_heart(beats)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return (float(np.median(wall)), float(np.median(cpu)), float(np.max(wall)), len(beats),
            hyp.n_epochs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-append", action="store_true",
                    help="print only; do not append to bench/RESULTS.md")
    ap.add_argument("--heart-only", action="store_true",
                    help="slpdb rows only: skip SleepECG, sleep-accel and the timing")
    args = ap.parse_args(argv)
    root = data_dir()
    slpdb = root / "slpdb"
    lines = ["| variant | epochs | accuracy | kappa | macro-F1 | F1 W | F1 NREM | F1 REM | note |",
             "|---|---|---|---|---|---|---|---|---|"]
    text = []
    t_all = time.perf_counter()
    for kind in ("rr", "hr"):
        for live in (False, True):
            t0 = time.perf_counter()
            nights = load_nights("slpdb", root, live=live, kind=kind)
            preds = loso_predictions(nights, live)
            rep = report_nights(preds)
            raw = report_nights(preds, smoothed=False)["pooled"]
            name = f"slpdb {kind} {'live' if live else 'batch'}"
            sec = time.perf_counter() - t0
            smoother = "sticky HMM" if live else "cycle-aware HMM"
            lines.append(row(name, rep["pooled"], f"LOSO, {smoother} (default; {sec:.0f} s)"))
            other = loso_predictions(nights, live, cycle=live)
            lines.append(row(f"  {name}, {'cycle-aware' if live else 'sticky'} HMM instead",
                             report_nights(other)["pooled"],
                             "LOSO, same classifiers, other smoother"))
            lines.append(row(f"  {name}, classifier alone", raw, "LOSO, no smoothing"))
            if kind == "rr":
                text.append(format_report(rep["pooled"], f"{name} (LOSO, pooled)"))
                reps = [rep["pooled"]] + [
                    report_nights(loso_predictions(nights, live, seed=s))["pooled"]
                    for s in SEEDS[1:]]
                lines.append(seed_row(f"  {name}, seed spread", reps))
    for kind, lag in (("rr", 10), ("rr", 20), ("rr", 40), ("rr", 60), ("hr", 40), ("hr", 60)):
        t0 = time.perf_counter()
        nights = load_nights("slpdb", root, live=True, kind=kind, lag=lag)
        preds = loso_predictions(nights, True, lag=lag)
        rep = report_nights(preds)["pooled"]
        sec = time.perf_counter() - t0
        f, s = split_lag(lag)
        lines.append(row(f"slpdb {kind} live, fixed lag {lag} epochs ({lag // 2} min)", rep,
                         f"LOSO; epoch k decided at the end of epoch k+{lag}: features "
                         f"{f} + cycle-aware smoothing {s} epochs ahead ({sec:.0f} s)"))
        if (kind, lag) in (("rr", 40), ("rr", 60)):
            lines.append(row(f"  slpdb rr live, fixed lag {lag}, sticky HMM instead",
                             report_nights(loso_predictions(nights, True, lag=lag,
                                                            cycle=False))["pooled"],
                             "LOSO, same classifiers, sticky fixed-lag smoother"))
            text.append(format_report(rep, f"slpdb rr live, fixed lag {lag} (LOSO, pooled)"))
            reps = [rep] + [report_nights(loso_predictions(nights, True, lag=lag, seed=s))[
                "pooled"] for s in SEEDS[1:]]
            lines.append(seed_row(f"  slpdb rr live, fixed lag {lag}, seed spread", reps))
    if args.heart_only:
        print("\n".join(lines))
        print()
        print("\n\n".join(text))
        return 0
    secg, note = sleepecg_slpdb(slpdb)
    if secg is not None:
        lines.append(row("slpdb SleepECG wrn-gru-mesa", secg, note))
        text.append(format_report(secg, "SleepECG wrn-gru-mesa on slpdb"))
    else:
        lines.append(f"| slpdb SleepECG wrn-gru-mesa | - | - | - | - | - | - | - | {note} |")
    t0 = time.perf_counter()
    preds = loso_predictions(load_nights("sleep-accel", root), live=False)
    rep = report_nights(preds)["pooled"]
    sec = time.perf_counter() - t0
    lines.append(row("sleep-accel, study's features", rep,
                     f"LOSO 31 subjects, balanced decision ({sec:.0f} s)"))
    lines.append(row("sleep-accel, study's features", nested_calibrated_decision(preds),
                     "LOSO, calibrated decision (calibration fit on other subjects)"))
    med, cpu, worst, n_beats, n_ep = time_one_night(slpdb)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines.append(f"| timing: slp41 whole night ({n_beats} beats, {n_ep} epochs) | | | | | | | | "
                 f"features + staging median {1000 * med:.1f} ms wall, {1000 * cpu:.1f} ms CPU, "
                 f"max {1000 * worst:.1f} ms wall (load average {load:.1f}) |")
    total = time.perf_counter() - t_all
    print("\n".join(lines))
    print()
    print("\n\n".join(text))
    if args.no_append:
        return 0
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = [
        f"## bench_heart — {stamp}",
        "",
        "Command: `DREAMBAND_DATA=/work/shared/data KERAS_BACKEND=jax "
        "python bench/bench_heart.py` (real data; every slpdb and sleep-accel figure is "
        "leave-one-subject-out; sleep-accel uses the Walch 2019 study's own features, not ours; "
        "SleepECG's model is pretrained on MESA and scored as is)",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, numpy {np.__version__}; total {total:.0f} s",
        "",
        *lines,
        "",
        "```",
        "\n\n".join(text),
        "```",
        "",
    ]
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write("\n" + "\n".join(block) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
