"""Slow-wave detection side by side with yasa.sw_detect, on the DREAMS excerpts.

No expert slow-wave scoring exists for these recordings, so nothing here is an accuracy
figure. It shows (a) how far dreamband's slow waves (the staging detector's,
:func:`dreamband.slowwaves.detect_slow_waves` with its defaults) agree with YASA's
``sw_detect`` (its defaults, whole excerpt, no hypnogram) on the five real DREAMS
excerpts (30 min each, one subject each): counts, events matched one to one when their
intersection over union is at least 0.2, pooled F1 with YASA as the reference and its 95 %
interval from resampling subjects (2,000 replicates), per excerpt; the "expert N2/N3" rows
keep the events centred in epochs the expert scored N2 or N3, for both detectors. (b) The
density of each detector's slow waves per minute of expert N2 and of expert N3 (30-s
epochs of the expert hypnogram): slow waves should concentrate in N3. (c) Detection time
on an 8-h night at 100 Hz built from the excerpts (staging excluded), best of 3, and the
peak memory traced by Python.

    DREAMBAND_DATA=/path/to/data python bench/bench_slow_waves.py [--no-append]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from dreamband.core.stages import SleepStage
from dreamband.evaluation.bootstrap import paired_ratio_difference
from dreamband.evaluation.events import MIN_OVERLAP, match_intervals
from dreamband.io.dreams import read_dreams_eeg, read_dreams_hypnogram
from dreamband.paths import data_dir
from dreamband.slowwaves import detect_slow_waves

RESULTS = Path(__file__).with_name("RESULTS.md")
EXCERPTS = (1, 2, 3, 4, 7)
EPOCH = 30.0
N2, N3 = int(SleepStage.N2), int(SleepStage.N3)


def _yasa(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    import yasa

    # defaults; its 0.3-1.5 Hz FIR filter and thresholds work at 50 Hz too (excerpt 3)
    res = yasa.sw_detect(x, fs, verbose=False)
    if res is None:
        return np.zeros(0), np.zeros(0)
    t = res.summary()
    return t["Start"].to_numpy(float), t["End"].to_numpy(float)


def _stage_of(s: np.ndarray, e: np.ndarray, stages: np.ndarray) -> np.ndarray:
    """Stage of the epoch holding each event's centre (-1 outside the hypnogram)."""
    k = np.floor((s + e) / 2 / EPOCH).astype(np.int64)
    ok = (k >= 0) & (k < stages.size)
    out = np.full(s.size, -1, dtype=np.int64)
    out[ok] = stages[k[ok]]
    return out


def _fmt(iv) -> str:
    return f"{iv.estimate:.3f} ({iv.low:.2f}-{iv.high:.2f})"


def agreement(folder: Path) -> list[str]:
    """Agreement with YASA per excerpt and pooled, and the densities per expert stage."""
    dets: dict[str, dict[int, tuple]] = {"dreamband": {}, "yasa.sw_detect": {}}
    minutes: dict[int, dict[int, float]] = {}
    for ex in EXCERPTS:
        rec = read_dreams_eeg(folder / f"excerpt{ex}.txt")
        ch = rec.channels[0]
        x = ch.data.astype(np.float64)
        stages = np.asarray(
            read_dreams_hypnogram(folder / f"Hypnogram_excerpt{ex}.txt", EPOCH).stages,
            dtype=np.int64,
        )
        sw = detect_slow_waves(x, ch.fs, channel=ch.name)
        for name, (s, e) in (("dreamband", (sw.start, sw.end)),
                             ("yasa.sw_detect", _yasa(x, ch.fs))):
            dets[name][ex] = (s, e, _stage_of(s, e, stages))
        minutes[ex] = {c: np.count_nonzero(stages == c) * EPOCH / 60.0 for c in (N2, N3)}
    lines = [
        f"(a) dreamband against yasa.sw_detect as the reference: events matched one to one "
        f"at intersection over union >= {MIN_OVERLAP:g}; pooled over excerpts; 95 % "
        "intervals from resampling the subjects (excerpts). No expert slow-wave scoring: "
        "agreement between two detectors, not accuracy.",
        "",
        "| events | dreamband | yasa | matched | precision | recall | F1 (95 % interval) | "
        "F1 per excerpt (" + " / ".join(map(str, EXCERPTS)) + ") |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, keep in (("whole excerpt", None), ("in expert N2/N3", (N2, N3))):
        ms = []
        for ex in EXCERPTS:
            pair = []
            for name in ("yasa.sw_detect", "dreamband"):
                s, e, st = dets[name][ex]
                sel = np.ones(s.size, bool) if keep is None else np.isin(st, keep)
                pair += [s[sel], e[sel]]
            ms.append(match_intervals(*pair))
        num = np.array([2 * m["matched"] for m in ms], float)
        den = np.array([m["n_detected"] + m["n_reference"] for m in ms], float)
        f1, _, _ = paired_ratio_difference(num, den, num, den)
        mt = sum(m["matched"] for m in ms)
        nd = sum(m["n_detected"] for m in ms)
        nr = sum(m["n_reference"] for m in ms)
        per = " / ".join("n/a" if m["f1"] != m["f1"] else f"{m['f1']:.2f}" for m in ms)
        lines.append(f"| {label} | {nd} | {nr} | {mt} | {mt / max(nd, 1):.3f} | "
                     f"{mt / max(nr, 1):.3f} | {_fmt(f1)} | {per} |")
    lines += [
        "",
        "Counts per excerpt, dreamband / yasa: " + ", ".join(
            f"{ex}: {dets['dreamband'][ex][0].size} / {dets['yasa.sw_detect'][ex][0].size}"
            for ex in EXCERPTS),
        "",
        "(b) Slow waves per minute of expert N2 and of expert N3 (pooled: events over "
        "minutes; N2 / N3 per excerpt in the last column).",
        "",
        "| detector | N2 | N3 | N3 / N2 | per excerpt (" + ", ".join(map(str, EXCERPTS))
        + ") |",
        "|---|---|---|---|---|",
    ]
    for name, dmap in dets.items():
        dens = {}
        for c in (N2, N3):
            n = sum(np.count_nonzero(dmap[ex][2] == c) for ex in EXCERPTS)
            dens[c] = n / sum(minutes[ex][c] for ex in EXCERPTS)
        per = ", ".join(
            "{} / {}".format(*(
                f"{np.count_nonzero(dmap[ex][2] == c) / minutes[ex][c]:.1f}"
                if minutes[ex][c] else "-" for c in (N2, N3)))
            for ex in EXCERPTS)
        lines.append(f"| {name} | {dens[N2]:.2f} | {dens[N3]:.2f} | "
                     f"{dens[N3] / dens[N2]:.2f} | {per} |")
    lines.append("")
    lines.append("Expert minutes N2 / N3 per excerpt: " + ", ".join(
        f"{ex}: {minutes[ex][N2]:.1f} / {minutes[ex][N3]:.1f}" for ex in EXCERPTS))
    return lines


def speed() -> list[str]:
    """Detection time on an 8-h night, dreamband and YASA in one run."""
    from bench_stage import build_night  # the same 8-h night bench_stage stages

    x, what = build_night(8.0)
    fs = 100.0

    def best(fn, repeat=3):
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        return min(times), peak, out

    t_d, m_d, sw = best(lambda: detect_slow_waves(x, fs))
    t_y, m_y, ys = best(lambda: _yasa(x, fs))
    return [
        f"(c) Speed: {what}, 8 h at 100 Hz, detection only (best of 3; peak memory traced "
        "by Python).",
        "",
        "| detector | slow waves | time (s) | peak memory (MiB) |",
        "|---|---|---|---|",
        f"| dreamband | {len(sw)} | {t_d:.3f} | {m_d:.0f} |",
        f"| yasa.sw_detect | {ys[0].size} | {t_y:.3f} | {m_y:.0f} |",
        "",
        f"dreamband is {t_y / t_d:.1f}x faster than YASA on the same night.",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-append", action="store_true",
                    help="print the figures only; do not append them to bench/RESULTS.md")
    args = ap.parse_args(argv)
    folder = data_dir() / "dreams-spindles"
    if not folder.is_dir():
        print(f"{folder} missing: set DREAMBAND_DATA", file=sys.stderr)
        return 2
    import yasa

    logging.getLogger("yasa").setLevel(logging.ERROR)
    lines = [*agreement(folder), "", *speed()]
    text = "\n".join(lines)
    print(text)
    if args.no_append:
        return 0
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = (f"Machine: {platform.machine()}, Python {platform.python_version()}, "
               f"numpy {np.__version__}, yasa {yasa.__version__}")
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(f"\n## bench_slow_waves — {stamp}\n\n"
                 f"`DREAMBAND_DATA=$DREAMBAND_DATA python bench/bench_slow_waves.py`  \n"
                 f"{machine}\n\n{text}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
