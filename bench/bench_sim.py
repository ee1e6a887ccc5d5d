"""Speed and memory of the virtual sleeper (simulated signals: plumbing figures, no accuracy).

Fixed input: a synthetic 8-h hypnogram of five 96-minute sleep cycles (no data needed).
Prints the figures and appends a dated block with the command to ``bench/RESULTS.md``.

    python bench/bench_sim.py
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dreamband.core import Hypnogram
from dreamband.sim import VirtualSleeper, write_edf

W, N1, N2, N3, R = 0, 1, 2, 3, 4


def eight_hour_night() -> Hypnogram:
    """960 epochs: 20 min awake, five cycles with N3 shrinking and REM growing, wake at end."""
    stages = [W] * 40
    for c in range(5):
        n3 = max(0, 50 - 12 * c)
        rem = 16 + 8 * c
        stages += [N1] * 8 + [N2] * (120 - n3 - rem - 8 - 2) + [N3] * n3 + [W] * 2 + [R] * rem
    stages = (stages + [W] * 960)[:960]
    return Hypnogram(np.array(stages, dtype=np.int8), source="bench 8-h synthetic night")


def timed(fn):
    """Run ``fn``; return its CPU seconds (wall time is unreliable on a shared machine)."""
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def stream(sleeper: VirtualSleeper, chunk_s: float, stop_s: float | None = None) -> int:
    n = 0
    for _, block in sleeper.chunks(chunk_s, stop_s=stop_s):
        n += next(iter(block.values())).size
    return n


def main() -> None:
    hyp = eight_hour_night()
    hours = hyp.duration / 3600
    rows = []

    for preset in ("muse", "psg"):
        sleeper = VirtualSleeper(hyp, channels=preset, seed=1)
        dt, _ = timed(lambda s=sleeper: stream(s, 3600.0))
        rows.append((f"whole {hours:.0f}-h night, {preset} 4 ch @ {sleeper.fs:g} Hz, "
                     "1-h chunks", f"{dt:.2f} s", f"{hyp.duration / dt:,.0f}x real time"))

    sleeper = VirtualSleeper(hyp, channels="muse", seed=2)
    dt, _ = timed(lambda: stream(sleeper, 1.0, stop_s=3600.0))
    rows.append(("streaming muse 4 ch @ 256 Hz in 1-s chunks (first hour)", f"{dt:.2f} s",
                 f"{3600 / dt:,.0f}x real time"))

    sleeper = VirtualSleeper(hyp, channels="muse", seed=3)
    tracemalloc.start()
    stream(sleeper, 30.0)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    rows.append(("peak traced memory, whole night muse in 30-s chunks", f"{peak:.1f} MB", ""))

    sleeper = VirtualSleeper(hyp, channels="psg", seed=4)
    dt, beats = timed(sleeper.beats)
    rows.append((f"heart beats of the night ({len(beats)} beats)", f"{dt:.2f} s", ""))

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "SIM-PSG.edf"
        dt, _ = timed(lambda: write_edf(VirtualSleeper(hyp, channels="psg", seed=5), path))
        size = path.stat().st_size / 1e6
    rows.append(("write whole night as EDF (psg 4 ch @ 100 Hz)", f"{dt:.2f} s",
                 f"{size:.1f} MB"))

    sleepers = [VirtualSleeper(hyp, channels="muse", seed=100 + i) for i in range(10)]
    dt, _ = timed(lambda: [stream(s, 5.0, stop_s=600.0) for s in sleepers])
    rows.append(("10 sleepers, muse 4 ch @ 256 Hz, 10 min each in 5-s chunks", f"{dt:.2f} s",
                 f"{10 * 600 / dt:,.0f}x real time per sleeper-second"))

    width = max(len(r[0]) for r in rows)
    lines = [f"{a:<{width}}  {b:>9}  {c}" for a, b, c in rows]
    print("\n".join(lines))
    cpu = platform.processor() or platform.machine()
    block = [
        f"## bench_sim — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        "Command: `python bench/bench_sim.py` (virtual sleeper; simulated signals are for "
        "plumbing and load, never an accuracy figure)",
        f"Machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}, load average at the end "
        f"{os.getloadavg()[0]:.1f} (machine shared with other jobs)",
        "",
        "Times are CPU seconds of this process (`time.process_time`).",
        "",
        "| measure | CPU time | rate |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
    ]
    results = Path(__file__).resolve().parent / "RESULTS.md"
    with results.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(block) + "\n")


if __name__ == "__main__":
    main()
