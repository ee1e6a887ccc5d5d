"""Benchmark of the synchronizer: group windows at scale, live updates, forecast accuracy.

Fixed inputs: participants are real Sleep-EDF expert hypnograms (``$DREAMBAND_DATA/sleep-edf``,
cropped to their in-bed window) drawn with a fixed seed and shifted by up to +-60 min, on a
10-h night of 30-s epochs (1,200 epochs). Group windows use k = max(2, n // 5), per-participant
gap closing 2 epochs, group bridging 2 epochs, minimum 4 epochs (2 min). The forecast is scored
leave-one-subject-out on all 33 nights against the fixed-90-minute baseline.

Prints the figures and appends a dated block with the command to ``bench/RESULTS.md``.
Run: ``DREAMBAND_DATA=/path/to/data python bench/bench_sync.py``
"""

from __future__ import annotations

import os
import platform
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from dreamband.sync.evaluate import leave_one_subject_out
from dreamband.sync.files import read_hypnogram, subject_of
from dreamband.sync.schedule import LiveScheduler
from dreamband.sync.timeline import night_codes, rem_state_from_stages
from dreamband.sync.windows import LiveGroupWindows, WindowRule, find_windows

N_EPOCHS = 1200
SIZES = (10, 100, 1000, 10000)


def _population(nights: list[np.ndarray], n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.full((n, N_EPOCHS), -1, dtype=np.int8)
    pick = rng.integers(0, len(nights), n)
    shift = rng.integers(-120, 121, n)
    for i in range(n):
        night = nights[pick[i]]
        start = 120 + shift[i]  # in-bed start on the 10-h grid: 1 h +- 1 h
        seg = night[: N_EPOCHS - start]
        out[i, start: start + seg.size] = seg
    return out


def _time(fn, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> int:
    data = Path(os.environ.get("DREAMBAND_DATA", "")) / "sleep-edf"
    paths = sorted(data.glob("SC4*-Hypnogram.edf"))
    if not paths:
        print("set DREAMBAND_DATA to the shared data folder (needs sleep-edf/)", file=sys.stderr)
        return 2
    hyps = [read_hypnogram(p) for p in paths]
    states = [rem_state_from_stages(h.crop_in_bed()) for h in hyps]
    rows = []
    for n in SIZES:
        pop = _population(states, n)
        rule = WindowRule(k=max(2, n // 5), gap=2, bridge=2, min_epochs=4)
        names = tuple(f"p{i}" for i in range(n))
        found = find_windows(pop, rule, names)
        sec = _time(lambda pop=pop, rule=rule, names=names: find_windows(pop, rule, names))
        tracemalloc.start()
        find_windows(pop, rule, names)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        rows.append((f"batch group windows, {n:,} participants x {N_EPOCHS} epochs "
                     f"(k={rule.k}, {len(found)} windows)", f"{sec * 1000:.1f} ms",
                     f"peak {peak:.1f} MB"))
        print(rows[-1])
    n = SIZES[-1]
    pop = _population(states, n)
    rule = WindowRule(k=n // 5, gap=2, bridge=2, min_epochs=4)
    live = LiveGroupWindows([f"p{i}" for i in range(n)], rule)
    per = np.empty(N_EPOCHS)
    for t in range(N_EPOCHS):
        col = pop[:, t]
        t0 = time.perf_counter()
        live.update(col)
        per[t] = time.perf_counter() - t0
    live.finish()
    same = live.windows == find_windows(pop, rule, live.names)
    rows.append((f"live update per epoch, {n:,} participants (equals batch: {same})",
                 f"mean {per.mean() * 1000:.2f} ms", f"p99 {np.quantile(per, 0.99) * 1000:.2f} ms, "
                 f"max {per.max() * 1000:.2f} ms"))
    print(rows[-1])
    nights = [night_codes(h) for h in hyps]
    codes = _population([night_codes(h.crop_in_bed()) for h in hyps], 10, seed=1)
    sched = LiveScheduler([f"p{i}" for i in range(10)], WindowRule(k=3, min_epochs=4),
                          n_draws=300)
    for t in range(480):  # four hours into the night
        sched.update(codes[:, t])
    sec = _time(sched.schedule)
    plan = sched.schedule()
    rows.append(("live schedule (group forecast, 300 Monte Carlo draws, 4-h horizon), "
                 "10 participants", f"{sec * 1000:.0f} ms",
                 f"{sum(s.status == 'proposed' for s in plan.sessions)} sessions proposed"))
    print(rows[-1])
    t0 = time.perf_counter()
    score = leave_one_subject_out(nights, [subject_of(p) for p in paths]).summary()
    sec = time.perf_counter() - t0
    rows.append(("next-REM-onset MAE, leave-one-subject-out, 33 Sleep-EDF nights "
                 f"(n={score['n']} epochs)", f"model {score['mae_min']} min",
                 f"90-min baseline {score['baseline_mae_min']} min ({sec:.1f} s)"))
    print(rows[-1])
    d = score["difference_min"]
    rows.append(("  ... model - baseline, 95 % interval resampling the "
                 f"{d['n_subjects']} subjects", f"{d['estimate']:+.2f} min",
                 f"{d['ci95'][0]:+.2f} to {d['ci95'][1]:+.2f} min"))
    print(rows[-1])
    for label, b in score["by_hour"].items():
        if b["n"]:
            rows.append((f"  ... {label} after sleep onset (n={b['n']})",
                         f"model {b['mae_min']} min", f"baseline {b['baseline_mae_min']} min"))
            print(rows[-1])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = [
        f"\n## bench_sync — {stamp}\n",
        "Command: `DREAMBAND_DATA=/work/shared/data python bench/bench_sync.py` "
        "(participants = real Sleep-EDF hypnograms resampled with a fixed seed and shifted "
        "+-60 min; forecast scored subject-wise on real nights)",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, numpy {np.__version__}\n",
        "| measure | value | detail |",
        "|---|---|---|",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
    ]
    results = Path(__file__).resolve().parent / "RESULTS.md"
    with results.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(block) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
