"""Replay throughput through the full live path, at max speed.

Virtual BLE bytes -> bleak (virtual backend) -> decoders -> gap marking -> clock mapping ->
live engine (epochs -> causal evidence -> stager -> REM state -> group windows) -> session
folder. Fixed inputs: virtual sleepers driven by built-in generated nights (seeded; EEG as
Muse bands), and heart-rate bands replaying real slpdb beats when $DREAMBAND_DATA is set
(else the sleepers' simulated beats). Simulated signals: throughput only, never accuracy.

Figures: wall time and x real time (replayed seconds per wall second) for one EEG night, one
heart night, and 10 / 100 participants (half EEG, half heart); memory (RSS) at start,
middle and end of the one-night replay. Prints them and appends them with the command to
bench/RESULTS.md.

    python bench/bench_replay.py [--hours 8] [--minutes-10 30] [--minutes-100 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from dreamband.replay.hypnogen import generate_hypnogram
from dreamband.replay.session import ReplayOptions, run_replay
from dreamband.replay.sources import (
    resolve_source,
    sleeper_heart_source,
    sleeper_source,
)

RESULTS = Path(__file__).with_name("RESULTS.md")


def rss_mb() -> float:
    """Resident set size now (MB), from /proc (Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def eeg(i: int, hours: float):
    hyp = generate_hypnogram(i, hours=hours)
    return sleeper_source(hyp, f"eeg{i}", f"virtual:generated:{i}", i, "bench night")


def heart(i: int, hours: float):
    data = os.environ.get("DREAMBAND_DATA")
    records = ["slp03", "slp04", "slp14", "slp37", "slp41", "slp48", "slp59", "slp60"]
    if data and (Path(data) / "slpdb" / f"{records[0]}.hea").is_file():
        rec = records[i % len(records)]
        return resolve_source(f"slpdb:{rec}", name=f"hr{i}-{rec}", data_dir=data)
    hyp = generate_hypnogram(1000 + i, hours=hours)
    return sleeper_heart_source(hyp, f"hr{i}", "virtual", 1000 + i, "bench night")


def run(sources, minutes: float | None, track_rss: bool = False) -> dict:
    samples: list[tuple[float, float]] = []

    def on_update(state) -> None:
        samples.append((state["replay_s"], rss_mb()))

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        cpu = time.process_time()
        res = run_replay(sources, options=ReplayOptions(
            speed="max", duration_s=None if minutes is None else minutes * 60, refresh_s=2.0),
            session_dir=Path(tmp) / "s", on_update=on_update if track_rss else None)
        wall = time.perf_counter() - t
        cpu = time.process_time() - cpu
    lat = res.latencies
    out = {"n": len(sources), "replay_s": res.replay_s, "wall_s": wall, "cpu_s": cpu,
           "x": res.replay_s / wall, "xp": res.replay_s * len(sources) / wall,
           "epochs": sum(st.events.get("stage", 0) for st in res.participants),
           "p50_ms": 1000 * float(sorted(lat)[len(lat) // 2]) if lat.size else float("nan"),
           "gaps": sum(st.gaps for st in res.participants)}
    if track_rss and samples:
        out["rss"] = (samples[0][1], samples[len(samples) // 2][1], samples[-1][1])
    return out


def slpdb_kappa() -> list[str]:
    """Replay every slpdb record at once and score live stages against the expert's."""
    data = os.environ.get("DREAMBAND_DATA")
    folder = Path(data) / "slpdb" if data else None
    if folder is None or not folder.is_dir():
        raise SystemExit("--slpdb needs $DREAMBAND_DATA with an slpdb folder")
    records = sorted(p.stem for p in folder.glob("slp*.hea") if p.with_suffix(".ecg").is_file())
    srcs = [resolve_source(f"slpdb:{r}", name=r, data_dir=data) for r in records]
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        res = run_replay(srcs, options=ReplayOptions(speed="max"), session_dir=Path(tmp) / "s")
        wall = time.perf_counter() - t
    rows, pooled_t, pooled_n = [], 0.0, 0
    for st in res.participants:
        a = st.agreement
        if a is None:
            rows.append(f"| {st.name} | 0 | - | - |")
            continue
        rows.append(f"| {st.name} | {a['n']} | {a['kappa']:.3f} | {a['accuracy']:.3f} |")
        pooled_t += a["kappa"] * a["n"]
        pooled_n += a["n"]
        print(rows[-1], flush=True)
    rows.append(f"| **epoch-weighted mean kappa** | {pooled_n} | {pooled_t / pooled_n:.3f} | |")
    rows.append(f"| wall for {res.replay_s / 3600:.1f} h of session, {len(srcs)} bands | "
                f"{wall:.0f} s | | |")
    print(rows[-2], rows[-1], sep="\n")
    return rows


def write(args: argparse.Namespace, rows: list[str], header: str, rule: str, what: str) -> None:
    """Append a dated block with the command and the figures to bench/RESULTS.md."""
    if args.no_write:
        return
    cmd = "python bench/bench_replay.py " + " ".join(sys.argv[1:])
    data = "with $DREAMBAND_DATA (slpdb beats)" if os.environ.get("DREAMBAND_DATA") else \
        "without data (simulated beats)"
    block = [
        f"## bench_replay — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "",
        f"Command: `DREAMBAND_DATA=$DREAMBAND_DATA {cmd.strip()}` ({data}; EEG from virtual "
        "sleepers on generated nights: throughput only, never an accuracy figure)",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the end "
        "(machine shared with other jobs)", "", what, "", header, rule, *rows, "", ""]
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(block))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=8.0, help="length of the one-night replays")
    ap.add_argument("--minutes-10", type=float, default=30.0,
                    help="minutes of night replayed with 10 participants")
    ap.add_argument("--minutes-100", type=float, default=5.0,
                    help="minutes of night replayed with 100 participants")
    ap.add_argument("--slpdb", action="store_true",
                    help="only: replay every slpdb record as a Heart Rate Service band (one "
                    "session, max speed) and report live-vs-expert kappa per record")
    ap.add_argument("--no-write", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args()
    rows = []
    if args.slpdb:
        rows = slpdb_kappa()
        write(args, rows, "| record | expert epochs compared | kappa (W/NREM/REM) | accuracy |",
              "|---|---|---|---|", "Every slpdb record present, replayed as a Heart Rate "
              "Service band (real R-peaks -> RR in 1/1024 s -> BLE packets -> decoder -> "
              "clock mapping -> live engine) in one session at max speed; live stages vs the "
              "expert's, on epochs scored by both (in-sample: the shipped heart models were "
              "trained on slpdb).")
        return 0

    def show(label: str, r: dict) -> None:
        line = (f"| {label} | {r['n']} | {r['replay_s'] / 60:.0f} min | {r['wall_s']:.1f} s | "
                f"{r['x']:,.0f}x | {r['xp']:,.0f}x | {r['epochs']} | {r['p50_ms']:.1f} ms |")
        rows.append(line)
        print(line, flush=True)
        if "rss" in r:
            a, b, c = r["rss"]
            rows.append(f"| RSS during {label}: start {a:.0f} MB, middle {b:.0f} MB, "
                        f"end {c:.0f} MB | | | | | | | |")
            print(rows[-1], flush=True)

    print("| replay | participants | night replayed | wall | x real time | participant-s per s "
          "| epochs staged | engine p50 per epoch |")
    show("one EEG night (Muse band, virtual sleeper)", run([eeg(0, args.hours)], None, True))
    show("one heart night (HRS band, RR intervals)", run([heart(0, args.hours)], None, True))
    for n, minutes in ((10, args.minutes_10), (100, args.minutes_100)):
        srcs = [eeg(i, args.hours) if i % 2 == 0 else heart(i, args.hours) for i in range(n)]
        show(f"{n} participants (half EEG, half heart)", run(srcs, minutes))
    write(args, rows, "| replay | participants | night replayed | wall | x real time | "
          "participant-s per s | epochs staged | engine p50 per epoch |",
          "|---|---|---|---|---|---|---|---|",
          "Full live path: virtual BLE bytes -> bleak virtual backend -> decode -> gaps -> "
          "clock mapping -> live engine (epochs, evidence, stager, REM, group) -> session "
          "folder (raw + epochs + events). Speed max (simulated time), one process.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
