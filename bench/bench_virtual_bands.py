"""Virtual bands through the real bleak client path.

1. Capacity: how many Muse-rate bands (256 Hz × 4 ch, four 20-byte notifications per
   12 samples) one process sustains in real time with no loss: every band through
   ``bleak.BleakClient`` (virtual backend) → ``Band`` (decode, clock mapping, gaps) → a
   consumer. After a 2-s warm-up (connections), a run passes when there is no gap, no
   overflow, and fewer than 0.1 % of packets (4 electrode notifications each) left the
   virtual radio more than 100 ms behind schedule. N doubles until a run fails.
2. Reconnect storm: one band of each profile dropping every 5 s for 1 s, over one hour of
   simulated time (as fast as the CPU allows); every gap must be marked and no sample
   duplicated (checked online: blocks and gaps must tile each stream's counter).

3. ``kill -9`` during ``record``: four virtual bands recorded in real time by a child
   process (batches flushed every second) are killed with SIGKILL; we report what reads back
   and, per stream, how many seconds before the kill the last readable sample lies (host
   monotonic clock, shared by both processes).

Prints the figures and appends them with the command to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware_bridge.band import Band
from firmware_bridge.timebase import RealTime, SimulatedTime
from firmware_bridge.types import Gap, SampleBlock
from firmware_bridge.virtual import LinkConfig, VirtualBleakClient, VirtualWorld

_CPU0 = (0.0, 0.0)


class Tiling:
    """Online check that blocks and gaps of each stream tile its sample counter."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}
        self.errors = 0
        self.samples = 0
        self.gaps = 0
        self.irregular = 0

    def see(self, item: SampleBlock | Gap) -> None:
        if isinstance(item, SampleBlock):
            if item.first_index < 0:
                self.irregular += item.n_samples
                return
            start, n = item.first_index, item.n_samples
            self.samples += n
        else:
            if item.missing < 0:
                return
            start, n = item.first_index, item.missing
            self.gaps += 1
        nxt = self.next.get(item.stream)
        if nxt is not None and start != nxt:
            self.errors += 1
        self.next[item.stream] = start + n


async def _run_bands(world: VirtualWorld, targets: list[str], seconds: float,
                     queue_size: int = 4096,
                     warmup: float = 0.0) -> tuple[list[Band], list[Tiling]]:
    bands = [Band(t, backend=VirtualBleakClient, backend_kwargs={"world": world},
                  timebase=world.timebase, queue_size=queue_size, seed=i)
             for i, t in enumerate(targets)]
    await asyncio.gather(*(b.start() for b in bands))
    tilings = [Tiling() for _ in bands]

    async def drain(b: Band, tiling: Tiling) -> None:
        async for item in b:
            tiling.see(item)

    tasks = [asyncio.ensure_future(drain(b, t)) for b, t in zip(bands, tilings)]
    if warmup:
        await world.timebase.sleep(warmup)
        for d in world.devices.values():
            d.reset_lateness()
        global _CPU0
        _CPU0 = (time.process_time(), time.perf_counter())
    await world.timebase.sleep(seconds)
    await asyncio.gather(*(b.stop() for b in bands))
    await asyncio.gather(*tasks)
    return bands, tilings


def capacity(seconds: float, max_n: int) -> tuple[int, list[str]]:
    lines: list[str] = []
    best = 0
    n = 8
    failed: int | None = None
    while n <= max_n:
        ok = _capacity_run(n, seconds, lines)
        if not ok:
            failed = n
            break
        best = n
        n *= 2
    if failed is not None and best:  # one bisection step between the last pass and the fail
        mid = (best + failed) // 2
        if _capacity_run(mid, seconds, lines):
            best = mid
    return best, lines


def _capacity_run(n: int, seconds: float, lines: list[str]) -> bool:
    """One real-time run of ``n`` Muse bands; appends its line and returns pass/fail."""
    world = VirtualWorld(RealTime())
    devs = [world.add_band("muse") for _ in range(n)]
    bands, tilings = asyncio.run(_run_bands(world, [d.address for d in devs], seconds,
                                            warmup=2.0))
    cpu = (time.process_time() - _CPU0[0]) / (time.perf_counter() - _CPU0[1])
    gaps = sum(b.status.gaps for b in bands)
    overflow = sum(b.status.overflow_blocks for b in bands)
    late = max(d.late_max for d in devs)
    n_late = sum(d.late_over_100ms for d in devs)
    n_sent = sum(d.late_n for d in devs)
    samples = sum(t.samples for t in tilings)
    ok = (gaps == 0 and overflow == 0 and n_late < 0.001 * n_sent
          and all(t.errors == 0 for t in tilings))
    line = (f"{n} Muse bands, {seconds:g} s real time after 2 s warm-up: "
            f"{samples / (seconds + 2) / n:.1f} samples/s per band (EEG 256 + accelerometer 52), "
            f"gaps {gaps}, "
            f"overflow {overflow}, {n_late}/{n_sent} packets sent > 100 ms late "
            f"(worst {late * 1e3:.0f} ms), CPU {cpu:.0%} of one core → "
            f"{'PASS' if ok else 'FAIL'}")
    print(line, flush=True)
    lines.append(line)
    return ok


def storm(hours: float) -> list[str]:
    world = VirtualWorld(SimulatedTime())
    link = LinkConfig(drift_ppm=120.0, jitter_s=0.01, loss=0.002, disconnect_every=(5.0, 1.0))
    devs = world.populate(4, link=link)
    t0 = time.perf_counter()
    bands, tilings = asyncio.run(_run_bands(world, [d.address for d in devs], hours * 3600.0))
    wall = time.perf_counter() - t0
    lines = []
    for d, b, t in zip(devs, bands, tilings):
        line = (f"storm {b.profile.name}: {d.drops} drops, {b.status.reconnects} reconnects, "
                f"{b.status.gaps} gaps marked ({b.status.missing_samples} samples), "
                f"{t.samples} counted + {t.irregular} irregular samples received, "
                f"tiling errors {t.errors}, "
                f"duplicates dropped {b.status.duplicates_dropped}")
        print(line, flush=True)
        lines.append(line)
    lines.append(f"storm: {hours:g} h of simulated time for 4 bands took {wall:.1f} s wall")
    print(lines[-1])
    return lines


def kill9(seconds: float) -> list[str]:
    import os
    import signal
    import subprocess
    import tempfile

    import numpy as np

    from dreamband.storage.raw import list_streams, read_stream

    root = Path(__file__).resolve().parents[1]
    out = Path(tempfile.mkdtemp(prefix="kill9-"))
    code = ("import asyncio; from pathlib import Path; "
            "from dreamband.cli.cmd_record import record; "
            f"asyncio.run(record([], Path({str(out)!r}), None, 4, '1', 1.0, status=False))")
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=root, env=env)
    time.sleep(seconds)
    t_kill = time.monotonic()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    lines = [f"kill -9 after {seconds:g} s of recording 4 virtual bands (flush every 1 s):"]
    worst = 0.0
    for band, stream in list_streams(out):
        t = read_stream(out, band, stream)
        host = t.column("host_time").to_numpy()
        lost = t_kill - float(np.max(host)) if t.num_rows else float("nan")
        worst = max(worst, lost)
        lines.append(f"  {band}/{stream}: {t.num_rows} rows readable, last sample {lost:.2f} s "
                     "before the kill")
    lines.append(f"kill -9: at most {worst:.2f} s lost per stream; no Parquet (no clean close), "
                 "segments read up to their last complete batch")
    for x in lines:
        print(x)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="real-time run per N")
    ap.add_argument("--max-bands", type=int, default=512)
    ap.add_argument("--storm-hours", type=float, default=1.0)
    ap.add_argument("--kill-after", type=float, default=8.0)
    ap.add_argument("--no-append", action="store_true", help="do not write bench/RESULTS.md")
    args = ap.parse_args()
    best, lines = capacity(args.seconds, args.max_bands)
    lines.append(f"capacity: {best} Muse-rate bands sustained in real time with no loss "
                 "(one process, one event loop)")
    print(lines[-1])
    lines += storm(args.storm_hours)
    lines += kill9(args.kill_after)
    if args.no_append:
        return
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = [f"\n## bench_virtual_bands — {now}\n",
             f"Command: `python {' '.join(sys.argv)}`  ",
             f"Machine: {platform.machine()}, Python {platform.python_version()}; the virtual "
             "radio runs in the same process, so the figures include its cost\n",
             *[f"- {x}" for x in lines], ""]
    with (Path(__file__).with_name("RESULTS.md")).open("a", encoding="utf-8") as fh:
        fh.write("\n".join(block) + "\n")


if __name__ == "__main__":
    main()
