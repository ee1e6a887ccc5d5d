"""The band path alone, at max speed: per-packet vs batched delivery and decoding.

One virtual Muse band (256 Hz x 4 EEG channels, four 20-byte notifications per 12 samples,
plus accelerometer and telemetry) on an impaired link (drift, jitter, 0.5 % loss, a drop
every 20 min) streams through ``bleak.BleakClient`` (virtual backend) -> ``Band`` (decode,
gaps, clock mapping) -> a consumer that hashes every sample, device time, host time and gap.
No live engine: this is the cost of the transport layer only.

- per packet: the simulated clock wakes the band once per packet and every notification is
  decoded on arrival by the decoder's one-by-one ``feed`` (the path before batching);
- batched: packets due within ``VirtualDevice.BATCH_S`` leave in one wake-up (each stamped
  at its own time), notifications are decoded ``Band.block_s`` at a time.

Both must give the same hashes. Prints wall and CPU time and appends them to
bench/RESULTS.md.

    python bench/bench_band_path.py [--hours 1]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import platform
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from firmware_bridge.band import Band
from firmware_bridge.profiles import get_profile
from firmware_bridge.timebase import SimulatedTime
from firmware_bridge.types import SampleBlock
from firmware_bridge.virtual import LinkConfig, VirtualBleakClient, VirtualWorld

RESULTS = Path(__file__).with_name("RESULTS.md")


class OneByOne(SimulatedTime):
    """Simulated time that never lets a producer run ahead: one wake-up per packet."""

    def try_advance(self, t: float) -> bool:
        return False


class FeedOnly:
    """A decoder without ``feed_batch``: the band calls ``feed`` per notification."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def feed(self, char_uuid, data):
        return self.inner.feed(char_uuid, data)

    def reset(self) -> None:
        self.inner.reset()


def run(hours: float, batched: bool) -> dict:
    world = VirtualWorld(SimulatedTime() if batched else OneByOne())
    link = LinkConfig(drift_ppm=120.0, latency_s=0.01, jitter_s=0.01, loss=0.005,
                      disconnect_every=(1200.0, 3.0), seed=7)
    dev = world.add_band("muse", link=link)
    prof = get_profile("muse")
    kw = {}
    if not batched:
        prof = replace(prof, new_decoder=lambda: FeedOnly(get_profile("muse").new_decoder()))
        kw["block_s"] = 0.0
    band = Band(dev.address, profile=prof, backend=VirtualBleakClient,
                backend_kwargs={"world": world}, timebase=world.timebase, seed=1,
                battery_interval=600.0, **kw)
    hashes: dict[str, hashlib._Hash] = {}
    counts = {"blocks": 0, "samples": 0, "gaps": 0}

    async def main() -> None:
        await band.start()

        async def drain() -> None:
            async for it in band:
                if isinstance(it, SampleBlock):
                    counts["blocks"] += 1
                    counts["samples"] += it.n_samples if it.stream == "eeg" else 0
                    rows = [("device_time", it.device_time), ("host_time", it.host_time)]
                    rows += [(f"samples[{i}]", row) for i, row in enumerate(it.samples)]
                    for name, arr in rows:  # hashing the concatenation of each row
                        key = f"{it.stream}.{name}"
                        hashes.setdefault(key, hashlib.sha256()).update(arr.tobytes())
                else:
                    counts["gaps"] += 1
                    hashes.setdefault(f"{it.stream}.gaps", hashlib.sha256()).update(
                        repr(tuple(it.__dict__.values())).encode())

        task = asyncio.ensure_future(drain())
        await world.timebase.sleep(hours * 3600)
        await band.stop()
        await task

    t, c = time.perf_counter(), time.process_time()
    asyncio.run(main())
    return {"wall": time.perf_counter() - t, "cpu": time.process_time() - c, **counts,
            "sent": dev.sent, "drops": dev.drops,
            "digest": {k: h.hexdigest()[:12] for k, h in sorted(hashes.items())}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=1.0, help="simulated hours per run")
    ap.add_argument("--no-write", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args()
    rows = []
    res = {}
    for label, batched in (("per packet (one wake-up, one decode each)", False),
                           ("batched", True)):
        r = res[label] = run(args.hours, batched)
        rows.append(f"| {label} | {args.hours:g} h | {r['wall']:.1f} s | {r['cpu']:.1f} s | "
                    f"{args.hours * 3600 / r['wall']:,.0f}x | {r['sent']} | {r['blocks']} | "
                    f"{r['gaps']} | {r['samples']} |")
        print(rows[-1], flush=True)
    a, b = res.values()
    same = a["digest"] == b["digest"]
    verdict = (f"Same samples, device times, host times and gaps in both modes (SHA-256 per "
               f"stream): {'yes' if same else 'NO'}; CPU speed-up {a['cpu'] / b['cpu']:.1f}x.")
    print(verdict)
    if not args.no_write:
        cmd = "python bench/bench_band_path.py " + " ".join(sys.argv[1:])
        block = [f"## bench_band_path — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "",
                 f"Command: `{cmd.strip()}`", f"Machine: {platform.machine()}, "
                 f"{os.cpu_count()} cores, Python {platform.python_version()}, load average "
                 f"{os.getloadavg()[0]:.1f} at the end (shared machine: CPU time is the "
                 "steadier figure)", "",
                 "One virtual Muse band (EEG + accelerometer + telemetry; drift 120 ppm, "
                 "jitter, 0.5 % loss, a drop every 20 min) -> bleak virtual backend -> Band "
                 "(decode, gaps, clock mapping) -> hashing consumer; no live engine.", "",
                 "| mode | simulated | wall | CPU | x real time | notifications | blocks | "
                 "gaps | EEG samples |", "|---|---|---|---|---|---|---|---|---|", *rows, "",
                 verdict, "", ""]
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(block))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
