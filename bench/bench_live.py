"""Live engine: CPU per participant, event latency and memory over a whole night; live
heart staging of real slpdb nights against the batch heart stager.

1. **Cost at 1x** — a real-time run would take a night per figure, so the bands are replayed
   on a *simulated* host clock that advances with the samples (a fixed schedule: one Muse
   packet of 12 samples at 256 Hz, one heart-rate notification per second), and the CPU time
   spent inside the engine (``push`` + ``tick``, session recording to a temporary folder
   included) is divided by the seconds of signal: that is the share of one core a
   participant costs at 1x. Latency = processing time from the ``push`` that completed an
   epoch to its ``stage`` event (p50/p99); RSS of the process at the start, middle and end of
   the night. Participants: a virtual sleeper (Muse-like, 4 ch x 256 Hz; driven by the
   Sleep-EDF SC4001 expert hypnogram when present, else a synthetic cyclic night) as an EEG
   band, and its heart beats as an RR band. Virtual sleepers: plumbing and load only, never
   an accuracy figure.
2. **slpdb** — each present record's beat annotations replayed as RR-interval blocks (one
   per second of beats, no beat types: a chest strap does not send them) straight into the
   engine; its live stages vs the expert's (W / NREM / REM), next to the batch heart stager
   (``stage_heart``, whole night, with beat types) on the same records and epochs. Subject-
   wise: a subject's records are staged with models trained on the other subjects only
   (:func:`dreamband.staging.heart_train.fit_heart_model`). Target: live within 0.05 of
   batch.

    DREAMBAND_DATA=/work/shared/data python bench/bench_live.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from dreamband.core.hypnogram import Hypnogram
from dreamband.evaluation.metrics import cohen_kappa
from dreamband.features.eeg import compute_evidence
from dreamband.live.engine import LiveEngine
from dreamband.live.epocher import EpochGrid
from dreamband.sim import VirtualSleeper
from dreamband.staging.heart import stage_heart
from dreamband.staging.rules import stage_rules
from firmware_bridge.types import SampleBlock

RESULTS = Path(__file__).with_name("RESULTS.md")
PACKET = 12  # Muse: 12 samples per channel per notification


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def night(data: Path | None, quick: bool) -> tuple[Hypnogram, str]:
    if data is not None and (data / "sleep-edf" / "SC4001EC-Hypnogram.edf").exists():
        from dreamband.io.sleepedf import read_sleepedf_hypnogram

        hyp = read_sleepedf_hypnogram(data / "sleep-edf" / "SC4001EC-Hypnogram.edf")
        hyp, label = hyp.crop_in_bed(margin=0.0), "Sleep-EDF SC4001 expert hypnogram"
    else:
        cyc = [0] * 6 + [1] * 4 + [2] * 30 + [3] * 20 + [2] * 10 + [4] * 20
        hyp = Hypnogram(np.array((cyc * 11)[:960], dtype=np.int8), 30.0, source="synthetic")
        label = "synthetic cyclic hypnogram (8 h)"
    if quick:
        hyp = hyp.slice_epochs(0, 120)
    return hyp, label


class Meter:
    """CPU and latency accounting around engine calls."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.lat: list[float] = []
        self.rss: list[float] = []
        self.events = 0

    def call(self, fn, *args):
        c0 = time.process_time()
        events = fn(*args)
        self.cpu += time.process_time() - c0
        self.events += len(events)
        self.lat += [e.latency_s for e in events if e.kind == "stage"]
        return events


def run_eeg(hyp: Hypnogram, out: Path) -> tuple[Meter, float, dict]:
    sl = VirtualSleeper(hyp, channels="muse", fs=256.0, seed=7)
    now = [0.0]
    stages: dict[int, int] = {}

    def keep(events: list) -> None:
        stages.update((e.epoch, e.data["stage_code"]) for e in events if e.kind == "stage")

    eng = LiveEngine(EpochGrid(0.0), session_dir=out, clock=lambda: now[0], on_events=keep)
    eng.add_participant("eeg", "eeg", sl.channels, sl.fs)
    roles = dict(eng._slots["eeg"].p.roles)
    m = Meter()
    seq = first = 0
    half = hyp.duration / 2
    for start, x in sl.chunks(60.0):
        X = np.vstack([x[c] for c in sl.channels]).astype(np.float64)
        for a in range(0, X.shape[1], PACKET):
            b = min(a + PACKET, X.shape[1])
            dt_ = (first + np.arange(b - a)) / sl.fs
            first += b - a
            now[0] = float(dt_[-1])
            m.call(eng.push, "eeg", SampleBlock("muse", "eeg", sl.channels, sl.fs, X[:, a:b],
                                                dt_, dt_.copy(), seq, first - (b - a)))
            seq += 1
        m.call(eng.tick, now[0])
        if start == 60.0 or start <= half < start + 60.0:  # warm (models loaded), middle
            m.rss.append(rss_mb())
    m.rss.append(rss_mb())
    m.call(lambda: (eng.close(), [])[1])
    m.rss.append(rss_mb())
    return m, hyp.duration, {"sleeper": sl, "roles": roles, "stages": stages}


def eeg_agreement(sleeper: VirtualSleeper, roles: dict, stages: dict) -> tuple[float, float, int]:
    """Share of epochs where the engine's incremental stages equal the whole-night causal
    rules path (``compute_evidence(causal=True)`` + ``stage_rules``) on the same signal, and
    the same for the REM / not-REM decision."""
    sl = sleeper
    x = sl.generate(0, sl.duration, dtype=np.float64)
    kw = {}
    if roles.get("eog"):
        kw = {"eog": x[roles["eog"]], "fs_eog": sl.fs,
              "roc": x[roles["roc"]] if roles.get("roc") else None}
    ev = compute_evidence(x[roles["eeg"]], sl.fs, causal=True, **kw)
    ref = stage_rules(ev).probabilities.argmax(axis=1)
    n = min(ref.size, max(stages) + 1)
    got = np.array([stages.get(j, -1) for j in range(n)])
    ok = got >= 0
    same = float(np.mean(got[ok] == ref[:n][ok]))
    rem = float(np.mean((got[ok] == 4) == (ref[:n][ok] == 4)))
    return same, rem, int(ok.sum())


def run_heart(hyp: Hypnogram, out: Path, heart_lag: int = 0) -> tuple[Meter, float]:
    sl = VirtualSleeper(hyp, channels="muse", fs=256.0, seed=7)
    beats = sl.beats().times
    now = [0.0]
    eng = LiveEngine(EpochGrid(0.0), session_dir=out, clock=lambda: now[0], heart_lag=heart_lag)
    eng.add_participant("heart", "heart", ("rr",), None)
    m = Meter()
    rr, t = np.diff(beats), beats[1:]
    sec = np.floor(t).astype(np.int64)
    cuts = np.flatnonzero(np.diff(sec)) + 1
    half = len(cuts) // 2
    for i, (a, b) in enumerate(zip(np.r_[0, cuts], np.r_[cuts, t.size])):
        now[0] = float(sec[a] + 1)
        m.call(eng.push, "heart", SampleBlock("strap", "rr", ("rr",), None, rr[a:b][None, :],
                                              t[a:b], t[a:b].copy(), i))
        if i % 60 == 0:
            m.call(eng.tick, now[0])
        if i in (120, half):
            m.rss.append(rss_mb())
    m.rss.append(rss_mb())
    m.call(lambda: (eng.close(), [])[1])
    m.rss.append(rss_mb())
    return m, hyp.duration


LAGS = (0, 4, 10)


def live_stages(beats, offset: float, n: int, lag: int, name: str,
                heart_lag: int = 0) -> np.ndarray:
    """Stage codes of a record replayed as RR blocks (one per second) into the engine."""
    events: list = []
    eng = LiveEngine(EpochGrid(offset), forecast_every=0, clock=lambda: 0.0, lag=lag,
                     heart_lag=heart_lag, on_events=events.extend)
    eng.add_participant(name, "heart", ("rr",), None)
    t, rr = beats.times[1:], np.diff(beats.times)
    sec = np.floor(t).astype(np.int64)
    cuts = np.flatnonzero(np.diff(sec)) + 1
    for i, (a, b) in enumerate(zip(np.r_[0, cuts], np.r_[cuts, t.size])):
        eng.push(name, SampleBlock("slpdb", "rr", ("rr",), None, rr[a:b][None, :], t[a:b],
                                   t[a:b].copy(), i))
    eng.close()
    live = np.full(n, -1)
    for e in events:
        if e.kind == "stage" and e.epoch < n:
            live[e.epoch] = _code(e)
    return live


#: Fixed-lag heart models replayed (engine option ``heart_lag``).
HEART_LAGS = (40, 60)


def held_out_models(folder: Path, root: Path) -> dict[str, Path]:
    """Per slpdb subject, a folder of rr models (batch, live, fixed-lag) trained on the
    OTHER subjects only: the replay of a subject's records is then out-of-sample."""
    from dreamband.staging.heart_data import load_nights
    from dreamband.staging.heart_train import fit_heart_model

    variants = [(False, 0), (True, 0), *((True, g) for g in HEART_LAGS)]
    nights = {v: load_nights("slpdb", folder, live=v[0], kind="rr", lag=v[1])
              for v in variants}
    out = {}
    for subject in sorted({n.subject for n in nights[variants[0]]}):
        out[subject] = root / subject
        for (live, lag), ns in nights.items():
            fit_heart_model([n for n in ns if n.subject != subject], out[subject], "rr",
                            live, lag)
    return out


def slpdb_kappa(folder: Path) -> tuple[list[str], dict]:
    from dreamband.io.slpdb import read_slpdb_beats, read_slpdb_stages
    from dreamband.staging.heart_data import slpdb_subject

    rows = []
    keys = ["ref", "batch", "wl", *[f"lag{g}" for g in LAGS],
            *[f"model{g}" for g in HEART_LAGS]]
    pooled: dict[str, list] = {k: [] for k in keys}
    names = [r.strip() for r in (folder / "RECORDS").read_text().split() if r.strip()]
    saved = os.environ.get("DREAMBAND_MODELS")
    with tempfile.TemporaryDirectory() as tmp:
        models = held_out_models(folder, Path(tmp))
        try:
            for rec in names:
                if not (folder / f"{rec}.ecg").exists():
                    continue
                os.environ["DREAMBAND_MODELS"] = str(models[slpdb_subject(rec)])
                beats = read_slpdb_beats(folder / rec)
                ref = read_slpdb_stages(folder / rec).to_wearable()
                n = ref.n_epochs
                got = {"batch": stage_heart(beats, live=False, n_epochs=n,
                                            offset=ref.offset).stages,
                       "wl": stage_heart(beats, live=True, n_epochs=n,
                                         offset=ref.offset).stages}
                for g in LAGS:
                    got[f"lag{g}"] = live_stages(beats, ref.offset, n, g, rec)
                for g in HEART_LAGS:
                    got[f"model{g}"] = live_stages(beats, ref.offset, n, 0, rec, heart_lag=g)
                y = ref.stages.astype(int)
                both = (y >= 0) & (got["lag0"] >= 0)
                k = {key: cohen_kappa(y[both], v[both], (0, 1, 2)) for key, v in got.items()}
                cover = both.sum() / max((y >= 0).sum(), 1)
                rows.append(f"| {rec} | {int(both.sum())} | {cover:.3f} | {k['batch']:.3f} | "
                            f"{k['wl']:.3f} | "
                            + " | ".join(f"{k[f'lag{g}']:.3f}" for g in LAGS) + " | "
                            + " | ".join(f"{k[f'model{g}']:.3f}" for g in HEART_LAGS)
                            + f" | {k['lag0'] - k['batch']:+.3f} | "
                            f"{k[f'model{HEART_LAGS[-1]}'] - k['batch']:+.3f} |")
                pooled["ref"].append(y[both])
                for key, v in got.items():
                    pooled[key].append(v[both])
        finally:
            if saved is None:
                os.environ.pop("DREAMBAND_MODELS", None)
            else:
                os.environ["DREAMBAND_MODELS"] = saved
    cat = {k: np.concatenate(v) if v else np.empty(0, int) for k, v in pooled.items()}
    res = {k: cohen_kappa(cat["ref"], cat[k], (0, 1, 2)) for k in keys[1:]}
    res["n"] = int(cat["ref"].size)
    res["records"] = len(rows)
    return rows, res


def _code(e) -> int:
    return {"W": 0, "NREM": 1, "REM": 2}.get(e.data["stage"], -1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1 h of signal, no slpdb")
    args = ap.parse_args()
    data = Path(os.environ["DREAMBAND_DATA"]) if os.environ.get("DREAMBAND_DATA") else None
    hyp, label = night(data, args.quick)
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        m_eeg, dur, eeg_info = run_eeg(hyp, Path(tmp) / "eeg")
        w_eeg = time.perf_counter() - t0
        t0 = time.perf_counter()
        m_hr, _ = run_heart(hyp, Path(tmp) / "heart")
        w_hr = time.perf_counter() - t0
        t0 = time.perf_counter()
        m_hl, _ = run_heart(hyp, Path(tmp) / "heart40", heart_lag=40)
        w_hl = time.perf_counter() - t0
    lines.append(f"Night: {dur / 3600:.2f} h, virtual sleeper driven by the {label} "
                 "(simulated signals: cost figures only). Session recording on (raw + epochs + "
                 "events to a temporary folder). CPU = process CPU time inside the engine per "
                 "second of signal on a simulated 1x schedule.")
    lines.append("")
    lines.append("| participant | CPU % of one core at 1x | stage latency p50 / p99 (ms) | "
                 "events | RSS start / middle / end / after close (MB) | bench wall (s) |")
    lines.append("|---|---|---|---|---|---|")
    for name, m, w in (("EEG (Muse-like 4 ch x 256 Hz, 12-sample packets)", m_eeg, w_eeg),
                       ("heart (RR, one notification per second)", m_hr, w_hr),
                       ("heart, fixed-lag model (heart_lag 40: stages 20 min late)", m_hl,
                        w_hl)):
        lat = np.asarray(m.lat) * 1000
        lines.append(f"| {name} | {100 * m.cpu / dur:.3f} % | {np.percentile(lat, 50):.1f} / "
                     f"{np.percentile(lat, 99):.1f} | {m.events} | "
                     f"{' / '.join(f'{r:.0f}' for r in m.rss)} | {w:.1f} |")
    if data is not None and (data / "slpdb" / "RECORDS").exists() and not args.quick:
        rows, res = slpdb_kappa(data / "slpdb")
        gl = HEART_LAGS[-1]
        lines += ["", "slpdb, W/NREM/REM kappa vs the expert stages, on the epochs scored by "
                  "both the expert and the live engine. Subject-wise: each subject's records "
                  "are staged and replayed with rr models trained on the other subjects only "
                  "(slp01a/b and slp02a/b are one subject each).", "",
                  "| record | epochs | share of expert epochs | batch stager | whole-night "
                  "live stager | " + " | ".join(f"live engine, lag {g}" for g in LAGS) + " | "
                  + " | ".join(f"live engine, heart_lag {g}" for g in HEART_LAGS)
                  + f" | lag 0 - batch | heart_lag {gl} - batch |",
                  "|---|---|---|---|---|" + "---|" * (len(LAGS) + len(HEART_LAGS))
                  + "---|---|", *rows,
                  f"| **pooled ({res['records']} records)** | {res['n']} | | "
                  f"{res['batch']:.3f} | {res['wl']:.3f} | "
                  + " | ".join(f"{res[f'lag{g}']:.3f}" for g in LAGS) + " | "
                  + " | ".join(f"{res[f'model{g}']:.3f}" for g in HEART_LAGS)
                  + f" | {res['lag0'] - res['batch']:+.3f} | "
                  f"{res[f'model{gl}'] - res['batch']:+.3f} |",
                  "", "lag g = fixed-lag smoothing of the causal model's filter: each epoch "
                  "announced g epochs (g x 30 s) after it ends (engine option `lag`); "
                  "heart_lag 40 / 60 = the heart stager's fixed-lag models, stages announced "
                  "40 / 60 epochs (20 / 30 min) late (engine option `heart_lag`). Models "
                  "fitted without the inner calibration pass (the temperature does not move "
                  "a stage)."]
    lines += ["", "RSS: start = after the first minutes (models loaded), end = before close; "
              "after close includes compacting the session to Parquet."]
    same, rem, n_ep = eeg_agreement(**eeg_info)
    lines += ["", f"EEG incremental path (evidence over the last 12 epochs of signal + per-epoch "
              f"evidence rows + one forward-filter step) vs the whole-night causal path on the "
              f"same signal ({n_ep} epochs, consistency of two implementations, not accuracy): "
              f"same stage {100 * same:.1f} %, same REM/not-REM decision {100 * rem:.1f} %."]
    text = "\n".join(lines)
    print(text)
    if args.quick:
        return
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cmd = "DREAMBAND_DATA=$DREAMBAND_DATA python bench/bench_live.py" + (
        " --quick" if args.quick else "")
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(f"\n## bench_live — {stamp}\n\n`{cmd}`\n\n{text}\n")


if __name__ == "__main__":
    main()
