"""Rapid-eye-movement detector vs yasa.rem_detect on the real REM EOG of yasa-samples.

14.3 min of REM sleep (LOC/ROC, 256 Hz) from the YASA tutorials. YASA's events (peak
times) are the reference; ours are matched one-to-one within 0.5 s and 1 s. Also the
correlation of the two detectors' counts per 30-s epoch (REM density), and run times.

    DREAMBAND_DATA=/path/to/data python bench/bench_rem.py
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from dreamband.paths import data_dir
from dreamband.rem import detect_eye_movements, match_events

RESULTS = Path(__file__).with_name("RESULTS.md")


def _best(fn, repeat: int = 5):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> int:
    path = data_dir() / "yasa-samples" / "data_EOGs_REM_256Hz.npz"
    if not path.exists():
        print(f"{path} missing: set DREAMBAND_DATA", file=sys.stderr)
        return 2
    import yasa

    logging.getLogger("yasa").setLevel(logging.ERROR)
    d = np.load(path)
    loc, roc = d["data"]
    sf = float(d["sf"])
    t_y, res = _best(lambda: yasa.rem_detect(loc, roc, sf))
    ref = res.summary()["Peak"].to_numpy()
    t_d, ours = _best(lambda: detect_eye_movements(loc, sf, roc))
    _, live = _best(lambda: detect_eye_movements(loc, sf, roc, causal=True), 1)
    edges = np.arange(0, loc.size / sf + 30, 30)
    per_ref = np.histogram(ref, edges)[0]
    lines = [
        f"Signal: {loc.size / sf / 60:.1f} min of real REM EOG (LOC/ROC, {sf:g} Hz). "
        f"Reference: yasa.rem_detect {yasa.__version__} defaults ({ref.size} events).",
        "",
        "| detector | events | matched ±0.5 s (P / R / F1) | matched ±1 s (P / R / F1) | "
        "r of counts per 30 s | time (ms) |",
        "|---|---|---|---|---|---|",
    ]
    for name, ev, t in (("dreamband (batch)", ours, t_d), ("dreamband (live, causal)", live, None)):
        m5 = match_events(ref, ev, 0.5)
        m1 = match_events(ref, ev, 1.0)
        r = np.corrcoef(per_ref, np.histogram(ev, edges)[0])[0, 1]
        tt = "" if t is None else f"{t * 1000:.1f}"
        lines.append(
            f"| {name} | {ev.size} | {m5['precision']:.2f} / {m5['recall']:.2f} / {m5['f1']:.2f} "
            f"| {m1['precision']:.2f} / {m1['recall']:.2f} / {m1['f1']:.2f} | {r:.2f} | {tt} |"
        )
    lines.append(f"| yasa.rem_detect | {ref.size} | (reference) | (reference) | 1 | "
                 f"{t_y * 1000:.1f} |")
    dens_y = ref.size / (loc.size / sf / 60)
    dens_d = ours.size / (loc.size / sf / 60)
    lines.append("")
    lines.append(f"REM density: YASA {dens_y:.1f}/min, dreamband {dens_d:.1f}/min.")
    text = "\n".join(lines)
    print(text)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(f"\n## bench_rem — {stamp}\n\n"
                 f"`DREAMBAND_DATA=$DREAMBAND_DATA python bench/bench_rem.py`\n\n{text}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
