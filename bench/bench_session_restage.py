"""Batch restaging of a live session from its raw band streams, on real EEG.

Each of the five DREAMS excerpts (real EEG, expert hypnograms) is written as an EDF and
played as a Muse band (virtual BLE, real packets, 256 Hz) into one replay session, as a lab
run would record it; then ``dreamband batch`` analyses the session folder twice: keeping
the stages the live engine announced (``--session-stages live``) and staging the raw
streams again with the batch engine (``--session-stages raw``, the default). Both are scored
against the experts on the same epochs, beside the batch stager run on the original file
(no BLE path). Runs clean and with impaired links (1 % of notifications lost and a 2-min
drop per band): epochs the band lost more than 20 % of are unscored in every variant.

    DREAMBAND_DATA=/path/to/data python bench/bench_session_restage.py [--no-append]

Prints the figures and appends them with the command to ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from dreamband.cli import main as cli
from dreamband.evaluation.bootstrap import paired_difference, score_intervals, subject_confusions
from dreamband.evaluation.eeg_datasets import iter_records
from dreamband.evaluation.eeg_eval import LABELS, NAMES
from dreamband.evaluation.metrics import classification_report
from dreamband.paths import data_dir
from dreamband.replay.impair import Impairments
from dreamband.replay.session import ReplayOptions, run_replay
from dreamband.replay.sources import resolve_source
from dreamband.staging.api import select_inputs, stage_recording

RESULTS = Path(__file__).with_name("RESULTS.md")
VARIANTS = ("live stages", "batch from raw streams", "batch on the original file")


def _write_edf(channel, path: Path) -> None:
    import edfio

    x = np.asarray(channel.data, dtype=np.float64)
    peak = float(np.ceil(np.max(np.abs(x)) + 1.0))
    edfio.Edf([edfio.EdfSignal(x, channel.fs, label=f"EEG {channel.name}"[:16],
                               physical_dimension="uV", physical_range=(-peak, peak))],
              data_record_duration=1.0).write(path)


def _stages(out: Path, who: str, n: int, origin: float) -> np.ndarray:
    t = ds.dataset(out / "epochs", partitioning="hive").to_table().to_pandas()
    t = t[t.participant == who]
    got = np.full(n, -1, dtype=int)
    k = np.round((t.onset_s.to_numpy() - origin) / 30.0).astype(int)
    ok = (k >= 0) & (k < n)
    got[k[ok]] = t.stage_code.to_numpy()[ok]
    return got


def _spindle_scores(out: Path, records: list, origin: float) -> dict[str, dict[str, float]]:
    """Pooled event F1 (overlap >= 0.2) of the spindles batch found in the raw streams and
    of those found on the original files, against each DREAMS expert."""
    from dreamband.evaluation.events import match_intervals
    from dreamband.spindles import detect_spindles, read_event_intervals
    from dreamband.staging.night_events import SPINDLE_STAGES

    table = ds.dataset(out / "spindles", partitioning="hive").to_table().to_pandas()
    folder = data_dir(None) / "dreams-spindles"
    sums: dict[str, dict[str, list[float]]] = {}
    for r in records:
        mine = table[table.participant == r.name]
        ch = select_inputs(r.recording).eeg
        stages = stage_recording(r.recording, eeg=ch.name, eog="none", emg="none").stages
        direct = detect_spindles(ch.data, ch.fs, stages=stages, include=SPINDLE_STAGES)
        found = {"batch from raw streams": (mine.start_s.to_numpy() - origin,
                                            mine.end_s.to_numpy() - origin),
                 "batch on the original file": (direct.start, direct.end)}
        for k in (1, 2):
            path = folder / f"Visual_scoring{k}_{r.name}.txt"
            if not path.exists():
                continue
            ref = read_event_intervals(path)
            for v, (a, b) in found.items():
                m = match_intervals(*ref, a, b)
                acc = sums.setdefault(v, {}).setdefault(f"expert {k}", [0.0, 0.0])
                acc[0] += 2 * m["matched"]
                acc[1] += m["n_detected"] + m["n_reference"]
    return {v: {e: a[0] / a[1] for e, a in d.items()} for v, d in sums.items()}


def run(impaired: bool, tmp: Path, records: list) -> dict[str, dict]:
    sources = [resolve_source(str(tmp / f"{r.name}.edf"), name=r.name) for r in records]
    impair = Impairments(default={"loss": 0.01, "disconnects": [(600.0, 120.0)]}) \
        if impaired else None
    session = tmp / ("impaired" if impaired else "clean")
    run_replay(sources, options=ReplayOptions(speed="max"), session_dir=session,
               impairments=impair)
    import json

    origin = float(json.loads((session / "session.json").read_text())["origin"])
    preds = {}
    for mode in ("live", "raw"):
        out = tmp / f"batch-{session.name}-{mode}"
        code = cli.main(["batch", str(session), "--out", str(out), "--quiet",
                         "--session-stages", mode, "--workers", "1"])
        assert code == 0, f"batch {mode} failed"
        preds["live stages" if mode == "live" else "batch from raw streams"] = [
            _stages(out, r.name, r.labels.size, origin) for r in records]
    preds["batch on the original file"] = [
        stage_recording(r.recording, eeg=select_inputs(r.recording).eeg.name, eog="none",
                        emg="none").stages[: r.labels.size] for r in records]
    # the same epochs for every variant: expert-scored and scored by all three
    truth, pred = [], {v: [] for v in VARIANTS}
    for i, r in enumerate(records):
        ok = r.labels >= 0
        for v in VARIANTS:
            p = preds[v][i]
            p = np.pad(p, (0, max(0, r.labels.size - p.size)), constant_values=-1)
            ok &= p[: r.labels.size] >= 0
        truth.append(r.labels[ok])
        for v in VARIANTS:
            pred[v].append(np.asarray(preds[v][i])[: r.labels.size][ok])
    subjects = [r.subject for r in records]
    out = {}
    cms = {}
    for v in VARIANTS:
        rep = classification_report(np.concatenate(truth), np.concatenate(pred[v]), LABELS,
                                    NAMES)
        _, cms[v] = subject_confusions(truth, pred[v], subjects, LABELS)
        iv = score_intervals(cms[v], NAMES)["kappa"]
        out[v] = {"n": int(rep["n"]), "kappa": rep["kappa"], "iv": iv,
                  "f1": rep["f1"], "macro_f1": rep["macro_f1"]}
    out["spindles"] = _spindle_scores(tmp / f"batch-{session.name}-raw", records, origin)
    out["diff"] = paired_difference(cms["batch from raw streams"], cms["live stages"])
    out["diff_file"] = paired_difference(cms["batch from raw streams"],
                                         cms["batch on the original file"])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-append", action="store_true", help="print only")
    args = ap.parse_args(argv)
    records = list(iter_records("dreams", data_dir(None), 30.0))
    t0 = time.perf_counter()
    lines = ["| links | stages | epochs | kappa (95 % interval, subjects resampled) | macro-F1 "
             "| F1 W / N1 / N2 / N3 / REM |", "|---|---|---|---|---|---|"]
    notes = []
    spin = ["| links | spindles from the raw streams: F1 against expert 1 / expert 2 | on the "
            "original files |", "|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for r in records:
            _write_edf(select_inputs(r.recording).eeg, tmp / f"{r.name}.edf")
        for impaired in (False, True):
            res = run(impaired, tmp, records)
            links = "1 % lost, a 2-min drop per band" if impaired else "clean"
            for v in VARIANTS:
                x = res[v]
                f1 = " / ".join(f"{x['f1'][n]:.2f}" for n in NAMES)
                lines.append(f"| {links} | {v} | {x['n']} | {x['kappa']:.3f} ({x['iv'].low:.2f}-"
                             f"{x['iv'].high:.2f}) | {x['macro_f1']:.3f} | {f1} |")
            sp = res["spindles"]
            spin.append(f"| {links} | " + " | ".join(
                f"{sp[v]['expert 1']:.3f} / {sp[v]['expert 2']:.3f}"
                for v in ("batch from raw streams", "batch on the original file")) + " |")
            d, f = res["diff"], res["diff_file"]
            notes.append(f"{links}: batch from raw minus live kappa {d.estimate:+.3f} "
                         f"({d.low:+.3f} to {d.high:+.3f}); batch from raw minus batch on the "
                         f"original file {f.estimate:+.3f} ({f.low:+.3f} to {f.high:+.3f})")
    sec = time.perf_counter() - t0
    text = "\n".join(lines + [""] + [f"- {n}" for n in notes] + [
        "", "Spindles (`spindles` table of the batch output, N1-N3 epochs, on the session's "
        "clock), pooled F1 of one-to-one matches at overlap >= 0.2:", ""] + spin)
    print(text)
    if not args.no_append:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
        cmd = "DREAMBAND_DATA=$DREAMBAND_DATA python bench/bench_session_restage.py"
        block = (f"\n## bench_session_restage — {stamp} UTC\n\n`{cmd}` (the 5 real DREAMS "
                 "excerpts, EEG channel only, replayed as Muse bands into one session, then "
                 "`dreamband batch` on it; 30-s epochs scored by the experts and by every "
                 f"variant; {os.cpu_count()} cores, {sec:.0f} s)\n\n{text}\n")
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write(block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
