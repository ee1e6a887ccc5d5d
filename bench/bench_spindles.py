"""Spindle detection against the DREAMS experts, side by side with yasa.spindles_detect.

Accuracy: the five real DREAMS excerpts in the data folder (30 min each, one subject
each) with the spindles marked by expert 1 (all five) and expert 2 (excerpts 1-4).
Events are matched one to one when their intersection over union is at least 0.2
(Warby et al. 2014); precision, recall and F1 are pooled over excerpts, with 95 %
intervals from resampling subjects (2,000 replicates; paired for the difference). Both
detectors run with their defaults on the whole excerpt; the "NREM" rows keep the
spindles in epochs that dreamband's rules engine stages N1/N2/N3 (no expert label is
used), the same rule for both detectors. Expert 2 scored as a detector against expert 1
shows how far two experts agree. Nothing here was tuned on these recordings: the
detector is the one the staging evidence has used since session 2.

Speed: detection on an 8-h night at 100 Hz built from the excerpts (staging excluded),
best of 3, and the peak memory traced by Python.

    DREAMBAND_DATA=/path/to/data python bench/bench_spindles.py
"""

from __future__ import annotations

import datetime as dt
import logging
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from dreamband.evaluation.bootstrap import paired_ratio_difference
from dreamband.evaluation.events import MIN_OVERLAP, match_intervals
from dreamband.io.dreams import read_dreams_eeg
from dreamband.paths import data_dir
from dreamband.spindles import detect_spindles, read_event_intervals
from dreamband.staging.api import stage_recording

RESULTS = Path(__file__).with_name("RESULTS.md")
EXCERPTS = (1, 2, 3, 4, 7)
NREM = (1, 2, 3)


def _union(a: tuple, b: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Events of either expert, overlapping ones merged into one."""
    s = np.concatenate([a[0], b[0]])
    e = np.concatenate([a[1], b[1]])
    o = np.argsort(s, kind="stable")
    s, e = s[o], e[o]
    out_s, out_e = [s[0]], [e[0]]
    for x, y in zip(s[1:], e[1:], strict=True):
        if x <= out_e[-1]:
            out_e[-1] = max(out_e[-1], y)
        else:
            out_s.append(x)
            out_e.append(y)
    return np.array(out_s), np.array(out_e)


def _yasa(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    import yasa

    # YASA's broadband filter goes to 30 Hz; excerpt 3 is sampled at 50 Hz
    res = yasa.spindles_detect(x, fs, freq_broad=(1, min(30.0, fs / 2 - 1)), verbose=False)
    if res is None:
        return np.zeros(0), np.zeros(0)
    t = res.summary()
    return t["Start"].to_numpy(float), t["End"].to_numpy(float)


def _in_stages(s, e, stages, epoch=30.0):
    k = np.floor((s + e) / 2 / epoch).astype(int)
    ok = (k >= 0) & (k < stages.size)
    keep = np.zeros(s.size, dtype=bool)
    keep[ok] = np.isin(stages[k[ok]], NREM)
    return s[keep], e[keep]


def _fmt(iv) -> str:
    return f"{iv.estimate:.3f} ({iv.low:.2f}-{iv.high:.2f})"


def accuracy(folder: Path) -> list[str]:
    """Per-excerpt and pooled agreement with the experts."""
    dets: dict[str, dict[int, tuple]] = {}
    refs: dict[str, dict[int, tuple]] = {"expert 1": {}, "expert 2": {}, "expert 1 ∪ 2": {}}
    for ex in EXCERPTS:
        rec = read_dreams_eeg(folder / f"excerpt{ex}.txt")
        ch = rec.channels[0]
        x = ch.data.astype(np.float64)
        stages = stage_recording(rec).stages
        sp = detect_spindles(x, ch.fs, channel=ch.name, stages=stages)
        ys, ye = _yasa(x, ch.fs)
        dets.setdefault("dreamband", {})[ex] = (sp.start, sp.end)
        dets.setdefault("yasa.spindles_detect", {})[ex] = (ys, ye)
        nrem = sp.select(np.isin(sp.stage, NREM))
        dets.setdefault("dreamband, NREM", {})[ex] = (nrem.start, nrem.end)
        dets.setdefault("yasa.spindles_detect, NREM", {})[ex] = _in_stages(ys, ye, stages)
        r1 = read_event_intervals(folder / f"Visual_scoring1_excerpt{ex}.txt")
        refs["expert 1"][ex] = r1
        p2 = folder / f"Visual_scoring2_excerpt{ex}.txt"
        if p2.exists():
            r2 = read_event_intervals(p2)
            refs["expert 2"][ex] = r2
            refs["expert 1 ∪ 2"][ex] = _union(r1, r2)
    dets["expert 2 (as a detector)"] = dict(refs["expert 2"])
    lines = [
        f"Events matched one to one at intersection over union >= {MIN_OVERLAP:g}; pooled "
        "over excerpts; 95 % intervals from resampling the subjects (excerpts).",
        "",
        "| detector | reference | excerpts | detected | reference events | precision | "
        "recall | F1 (95 % interval) | F1 per excerpt | mean duration detected / reference (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    pooled: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    for rname, rmap in refs.items():
        for dname, dmap in dets.items():
            if dname.startswith("expert 2") and rname != "expert 1":
                continue
            exs = [ex for ex in EXCERPTS if ex in rmap and ex in dmap]
            ms = [match_intervals(*rmap[ex], *dmap[ex]) for ex in exs]
            num = np.array([2 * m["matched"] for m in ms], float)
            den = np.array([m["n_detected"] + m["n_reference"] for m in ms], float)
            pooled[(dname, rname)] = (num, den)
            f1, _, _ = paired_ratio_difference(num, den, num, den)
            mt = sum(m["matched"] for m in ms)
            nd = sum(m["n_detected"] for m in ms)
            nr = sum(m["n_reference"] for m in ms)
            dd = np.concatenate([dmap[ex][1] - dmap[ex][0] for ex in exs])
            rd = np.concatenate([rmap[ex][1] - rmap[ex][0] for ex in exs])
            per = " / ".join(f"{m['f1']:.2f}" for m in ms)
            lines.append(
                f"| {dname} | {rname} | {','.join(map(str, exs))} | {nd} | {nr} | "
                f"{mt / max(nd, 1):.3f} | {mt / max(nr, 1):.3f} | {_fmt(f1)} | {per} | "
                f"{dd.mean():.2f} / {rd.mean():.2f} |"
            )
    lines += ["", "Paired differences of pooled F1 (same resampled subject sets):", ""]
    for rname in refs:
        for a, b in (("dreamband", "yasa.spindles_detect"),
                     ("dreamband, NREM", "yasa.spindles_detect, NREM")):
            _, _, diff = paired_ratio_difference(*pooled[(a, rname)], *pooled[(b, rname)])
            lines.append(f"- against {rname}: {a} minus {b}: {diff.estimate:+.3f} "
                         f"({diff.low:+.3f} to {diff.high:+.3f})")
    return lines


def speed(folder: Path) -> list[str]:
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

    t_d, m_d, sp = best(lambda: detect_spindles(x, fs))
    t_y, m_y, ys = best(lambda: _yasa(x, fs))
    return [
        f"Speed: {what}, 8 h at 100 Hz, detection only (best of 3; peak memory traced by "
        "Python).",
        "",
        "| detector | spindles | time (s) | peak memory (MiB) |",
        "|---|---|---|---|",
        f"| dreamband | {len(sp)} | {t_d:.3f} | {m_d:.0f} |",
        f"| yasa.spindles_detect | {ys[0].size} | {t_y:.3f} | {m_y:.0f} |",
        "",
        f"dreamband is {t_y / t_d:.1f}x faster than YASA on the same night.",
    ]


def main() -> int:
    folder = data_dir() / "dreams-spindles"
    if not folder.is_dir():
        print(f"{folder} missing: set DREAMBAND_DATA", file=sys.stderr)
        return 2
    import yasa

    logging.getLogger("yasa").setLevel(logging.ERROR)
    lines = [*accuracy(folder), "", *speed(folder)]
    text = "\n".join(lines)
    print(text)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = (f"Machine: {platform.machine()}, Python {platform.python_version()}, "
               f"numpy {np.__version__}, yasa {yasa.__version__}")
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(f"\n## bench_spindles — {stamp}\n\n"
                 f"`DREAMBAND_DATA=$DREAMBAND_DATA python bench/bench_spindles.py`  \n"
                 f"{machine}\n\n{text}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
