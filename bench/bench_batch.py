"""Benchmark of ``dreamband batch``: nights per minute, pool vs Dask, 1 and 2 workers, resume.

Fixed inputs (100 full-length nights):
- the 16 real slpdb heart records present in ``$DREAMBAND_DATA/slpdb`` (R-peaks from ECG,
  staged by the heart-rate stager);
- 84 EDF nights written from virtual sleepers (``dreamband.sim``, "psg" preset: Fpz-Cz,
  Pz-Oz, horizontal EOG, chin EMG at 100 Hz, seed = index) driven by the real Sleep-EDF
  expert hypnograms cropped to their in-bed window (the 33 nights cycled). Simulated
  signals: this measures speed and memory, never accuracy.

The EDF files are generated once into ``$DREAMBAND_BENCH_CACHE`` (default
``/tmp/dreamband-bench-batch``) and reused. Every run writes into a fresh output folder.
Prints the figures and appends a dated block with the command to ``bench/RESULTS.md``.

Run: ``DREAMBAND_DATA=/path/to/data python bench/bench_batch.py [--nights 100]``
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from dreamband.batch.discover import NightInput, discover_inputs
from dreamband.batch.runner import BatchOptions, run_nights
from dreamband.io import read_hypnogram

RESULTS = Path(__file__).with_name("RESULTS.md")


def _edf_nights(data: Path, cache: Path, n: int) -> list[NightInput]:
    from dreamband.sim import VirtualSleeper
    from dreamband.sim.recording import write_edf

    cache.mkdir(parents=True, exist_ok=True)
    hyps = sorted((data / "sleep-edf").glob("SC4*-Hypnogram.edf"))
    made = []
    for i in range(n):
        src = hyps[i % len(hyps)]
        path = cache / f"sim{i:03d}-{src.name[:6]}.edf"
        if not path.exists():
            hyp = read_hypnogram(src).crop_in_bed()
            sleeper = VirtualSleeper(hyp, channels="psg", seed=i, participant=path.stem)
            tmp = path.with_suffix(".tmp.edf")
            write_edf(sleeper, tmp)
            os.replace(tmp, path)
        made.append(path)
    return discover_inputs(made)


def _run(label: str, nights, out: Path, workers: int, scheduler=None) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    outcomes = run_nights(nights, out, BatchOptions(), workers=workers, scheduler=scheduler)
    elapsed = time.perf_counter() - t0
    failed = [o for o in outcomes if o.status != "done"]
    t1 = time.perf_counter()
    again = run_nights(nights, out, BatchOptions(), workers=workers, scheduler=scheduler)
    resume = time.perf_counter() - t1
    return {
        "label": label,
        "nights": len(nights),
        "seconds": elapsed,
        "per_min": 60 * len(nights) / elapsed,
        "failed": len(failed),
        "errors": sorted({o.error for o in failed})[:3],
        "peak_rss_mb": max((o.peak_rss_mb for o in outcomes), default=0.0),
        "resume_s": resume,
        "resume_skipped": sum(o.status == "skipped" for o in again),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=100)
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args()
    data = Path(os.environ.get("DREAMBAND_DATA", ""))
    if not (data / "slpdb").is_dir():
        print("set DREAMBAND_DATA to the shared data folder", file=sys.stderr)
        return 2
    cache = Path(os.environ.get("DREAMBAND_BENCH_CACHE", "/tmp/dreamband-bench-batch"))
    heart = discover_inputs(sorted((data / "slpdb").glob("slp*.hea")))
    n_edf = max(0, args.nights - len(heart))
    t0 = time.perf_counter()
    nights = heart + _edf_nights(data, cache, n_edf)
    prep = time.perf_counter() - t0
    print(f"{len(nights)} nights ({len(heart)} slpdb heart, {n_edf} simulated EDF); "
          f"inputs ready in {prep:.0f} s")
    from dreamband.staging.heart_store import ensure_heart_model

    for kind in ("rr", "hr"):  # trained once from slpdb on first use; not part of the timing
        ensure_heart_model(kind)
    hours = 0.0
    out_root = cache / "out"
    rows = [
        _run("process pool, 1 worker", nights, out_root / "pool1", 1),
        _run("process pool, 2 workers", nights, out_root / "pool2", 2),
    ]
    if not args.no_dask:
        from distributed import LocalCluster

        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster:
                rows.append(_run(f"Dask LocalCluster, {workers} worker(s)", nights,
                                 out_root / f"dask{workers}", workers, cluster.scheduler_address))
    from dreamband.storage.results import read_table

    nights_table = read_table(out_root / "pool2", "nights")
    hours = sum(nights_table["tib_min"].to_pylist()) / 60.0 if nights_table.num_rows else 0.0
    lines = [
        "| engine | nights | time (s) | nights/min | failed | peak RSS/worker (MB) | resume (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['label']} | {r['nights']} | {r['seconds']:.1f} | {r['per_min']:.1f} | "
            f"{r['failed']} | {r['peak_rss_mb']:.0f} | {r['resume_s']:.2f} "
            f"({r['resume_skipped']} skipped) |"
        )
    pool2 = next(r for r in rows if r["label"] == "process pool, 2 workers")
    dask2 = next((r for r in rows if r["label"].startswith("Dask") and "2" in r["label"]), None)
    notes = [f"Recorded hours analysed (in-bed): {hours:.0f} h."]
    if dask2:
        notes.append(f"Dask overhead over the pool (2 workers): "
                     f"{100 * (dask2['seconds'] / pool2['seconds'] - 1):+.0f} %.")
    for r in rows:
        if r["errors"]:
            notes.append(f"{r['label']} errors: {r['errors']}")
    text = "\n".join([*lines, "", *notes])
    print(text)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    cmd = "DREAMBAND_DATA=... python bench/bench_batch.py " + " ".join(sys.argv[1:])
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(f"\n## bench_batch — {stamp}\n\n`{cmd.strip()}` on {platform.node()} "
                 f"({os.cpu_count()} cores). Inputs: {len(heart)} real slpdb heart records + "
                 f"{n_edf} simulated EDF nights (speed only, never accuracy).\n\n{text}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
