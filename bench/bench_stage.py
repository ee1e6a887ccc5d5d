"""Speed of staging a whole night: dreamband (rules) vs yasa.SleepStaging, best of N runs.

The night is 8 h of real EEG built by concatenating the five DREAMS excerpts (resampled to
100 Hz) over and over; with no data folder, a synthetic 1/f signal of the same length is
used (timing only: no accuracy is measured here). Staging time excludes file reading;
peak memory is tracemalloc's peak during one staging call (Python allocations, numpy
included). CPU time counts every thread of the process; ``--malloc-tuned`` re-runs the
script with glibc's malloc keeping freed memory (the same setting for both stagers).

    DREAMBAND_DATA=/path/to/data python bench/bench_stage.py [--hours 8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from dreamband.paths import data_dir
from dreamband.signal.resample import resample
from dreamband.staging.api import stage

RESULTS = Path(__file__).with_name("RESULTS.md")
FS = 100.0
MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
MALLOC_VALUES = (str(256 * 2**20), str(2**30))


def build_night(hours: float) -> tuple[np.ndarray, str]:
    """An EEG night at 100 Hz from the real DREAMS excerpts (or synthetic without data)."""
    n = round(hours * 3600 * FS)
    folder = data_dir() / "dreams-spindles"
    if folder.is_dir():
        from dreamband.io.dreams import read_dreams_eeg

        parts = []
        for i in (1, 2, 3, 4, 7):
            ch = read_dreams_eeg(folder / f"excerpt{i}.txt").channels[0]
            parts.append(resample(ch.data, ch.fs, FS))
        one = np.concatenate(parts)
        x = np.tile(one, int(np.ceil(n / one.size)))[:n]
        return x, "real DREAMS excerpts concatenated and repeated, 100 Hz"
    rng = np.random.default_rng(0)
    spec = np.fft.rfft(rng.standard_normal(n))
    spec /= np.maximum(np.fft.rfftfreq(n, 1 / FS), 0.5)
    x = np.fft.irfft(spec, n)
    return x / x.std() * 25.0, "synthetic 1/f noise (timing only)"


def _best(fn, repeat: int) -> tuple[float, float, float]:
    """Best wall time, best CPU time (all threads of this process) and peak memory."""
    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return min(times), min(cpu), peak / 2**20


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--malloc-tuned", action="store_true",
                    help="run both stagers with glibc malloc keeping freed memory "
                         "(no page faults on reused arrays; same setting for both)")
    args = ap.parse_args(argv)
    if args.malloc_tuned and MALLOC_ENV[0] not in os.environ:
        # glibc reads these at start-up: re-run this script with them set
        env = dict(os.environ, **dict(zip(MALLOC_ENV, MALLOC_VALUES)))
        argv_ = sys.argv[1:] if argv is None else list(argv)
        os.execve(sys.executable, [sys.executable, __file__, *argv_], env)
    x, what = build_night(args.hours)
    rows = []
    from dreamband.features.eeg import _threads_allowed

    threads = "2 threads (a core was idle)" if _threads_allowed() else "1 thread (machine busy)"
    t_db, c_db, m_db = _best(lambda: stage(x, FS, ch_names=["C3-A1"]), args.repeat)
    rows.append(("dreamband rules (batch)", t_db, c_db, m_db))
    t_live, c_live, m_live = _best(
        lambda: stage(x, FS, ch_names=["C3-A1"], causal=True), args.repeat
    )
    rows.append(("dreamband rules (live path, whole night)", t_live, c_live, m_live))
    t_y = c_y = m_y = float("nan")
    try:
        import mne
        import yasa

        mne.set_log_level("ERROR")
        logging.getLogger("yasa").setLevel(logging.ERROR)
        raw = mne.io.RawArray(x[None] * 1e-6, mne.create_info(["C3-A1"], FS, "eeg"))

        def run_yasa():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yasa.SleepStaging(raw, eeg_name="C3-A1").predict()

        run_yasa()  # load the classifier once, outside the timing
        t_y, c_y, m_y = _best(run_yasa, args.repeat)
        rows.append((f"yasa.SleepStaging {yasa.__version__}", t_y, c_y, m_y))
    except ImportError:
        print("yasa not installed: pip install '.[bench]'", file=sys.stderr)
    try:
        load = f"{os.getloadavg()[0]:.1f}"
    except OSError:  # pragma: no cover
        load = "n/a"
    lines = [
        f"Night: {args.hours:g} h ({x.size} samples), {what}; best of {args.repeat} runs; "
        f"staging only (no file reading). dreamband evidence: {threads}; "
        f"{os.cpu_count()} cores, 1-min load average {load} at the end. Allocator: "
        + ("glibc malloc keeping freed memory (" + ", ".join(
            f"{k}={os.environ[k]}" for k in MALLOC_ENV) + "), the same for both stagers."
           if MALLOC_ENV[0] in os.environ else "default glibc malloc."),
        "",
        "| stager | wall time (s) | CPU time (s, all threads) | peak memory (MiB, tracemalloc) |",
        "|---|---|---|---|",
    ]
    lines += [f"| {n} | {t:.3f} | {c:.3f} | {m:.0f} |" for n, t, c, m in rows]
    lines.append("")
    lines.append(f"Speed-up of dreamband rules over YASA: {t_y / t_db:.1f}x wall, "
                 f"{c_y / c_db:.1f}x CPU")
    text = "\n".join(lines)
    print(text)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cmd = "python bench/bench_stage.py " + " ".join(argv if argv is not None else sys.argv[1:])
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(f"\n## bench_stage — {stamp}\n\n`DREAMBAND_DATA=$DREAMBAND_DATA {cmd.strip()}`\n\n"
                 f"{text}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
