"""Resuming a crashed live session: stagers warm from the raw streams, or cold.

A lab run that crashes is continued in its folder (``dreamband lab --resume``). Since this
bench's commit each participant's live stager first replays the samples its band sent
before the crash (:mod:`dreamband.live.history`); before, it restarted cold. This bench
measures what that is worth on real signals, through the real engine and session folder:

* **EEG** — each DREAMS excerpt (the staging EEG channel, as a band would stream it in 1-s
  blocks) is run live into a session that "crashes" at minute 8, 12, 16 or 20 (the raw
  streams are on disk, the process gone) and is resumed 1-1.5 min later (the next epoch
  but one); the epochs from the restart to the end of the excerpt are scored against the
  experts' 30-s stages. Three ways: ``warm`` (resumed, replaying the raw streams), ``cold``
  (resumed, ``warm_resume=False``) and ``no crash`` (the same run without the crash, for
  reference). The rules engine needs no training: nothing is fitted on these recordings.
* **heart** — each slpdb record's beats, as a chest strap sends RR intervals (one block a
  second), crash at the middle of the night, resumed 2 min later; W / NREM / REM from the
  restart to the end against the expert stages. Subject-wise: a subject's records are
  staged by live models trained on the other subjects only.

Pooled kappa over all post-restart epochs, with 95 % intervals from resampling subjects
(excerpts; slpdb subjects) and the paired warm-minus-cold difference.

    DREAMBAND_DATA=/work/shared/data python bench/bench_resume.py [--no-append]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from dreamband.core.stages import SleepStage, WearableStage
from dreamband.evaluation.bootstrap import paired_difference, score_intervals, subject_confusions
from dreamband.evaluation.eeg_datasets import iter_records
from dreamband.live.engine import LiveEngine, Resume
from dreamband.live.epocher import EpochGrid
from dreamband.paths import data_dir
from dreamband.staging.api import select_inputs
from firmware_bridge.types import SampleBlock

RESULTS = Path(__file__).with_name("RESULTS.md")
ORIGIN = 1000.0          # first run's grid origin on its clock
ORIGIN_2 = 90000.0       # the same origin on the resumed run's clock
EEG_CRASH_MIN = (8, 12, 16, 20)
HEART_OUTAGE_S = 120.0
WAYS = ("warm", "cold", "no crash")
#: CPU seconds of each warm resume's replay and the hours of signal it replayed, by kind.
WARM_UP: dict[str, list[tuple[float, float]]] = {"eeg": [], "heart": []}


def _run(blocks, name: str, kind: str, channels, fs, crash: float | None, first: int,
         folder: Path, warm: bool) -> dict[int, int]:
    """Stage codes by epoch of one participant: a session crashing at ``crash`` (host time)
    and resumed at epoch ``first``, or (``crash`` None) one uninterrupted run."""
    events: list = []

    def engine(grid, **kw):
        eng = LiveEngine(grid, clock=lambda: 0.0, forecast_every=0, grace=0.0,
                         on_events=events.extend, **kw)
        t0 = time.process_time()
        eng.add_participant(name, kind, channels, fs)  # resumed: the warm-up replay
        if kw.get("resume") is not None and warm:
            WARM_UP[kind].append((time.process_time() - t0, (crash - ORIGIN) / 3600.0))
        return eng

    if crash is None:
        eng = engine(EpochGrid(ORIGIN))
        for b in blocks:
            eng.push(name, b)
        eng.close()
    else:
        eng = engine(EpochGrid(ORIGIN), session_dir=folder)
        later = []
        for b in blocks:
            if b.host_time[0] < crash:
                eng.push(name, b)
            elif b.host_time[0] >= ORIGIN + first * 30.0:
                shift = ORIGIN_2 - ORIGIN
                later.append(SampleBlock(b.device, b.stream, b.channels, b.fs, b.samples,
                                         b.device_time, b.host_time + shift, b.seq,
                                         b.first_index))
        eng.recorder.flush()
        eng.recorder.raw.flush()  # the raw rows a real crash leaves (all but the last second)
        events.clear()
        eng = engine(EpochGrid(ORIGIN_2), session_dir=folder, warm_resume=warm,
                     resume=Resume(first, first - 3, dt.datetime(2026, 12, 6, 3), ORIGIN))
        for b in later:
            eng.push(name, b)
        eng.close()
    out = {}
    for e in events:
        if e.kind == "stage" and e.participant == name:
            out[e.epoch] = int(e.data["stage_code"]) if e.data["scored"] else -1
    return out


def eeg_blocks(x: np.ndarray, fs: float, channel: str):
    step = round(fs)
    for i, a in enumerate(range(0, x.size, step)):
        t = np.arange(a, min(a + step, x.size)) / fs
        yield SampleBlock("band", "eeg", (channel,), fs, x[None, a:a + step], t, ORIGIN + t, i, a)


def rr_blocks(times: np.ndarray):
    t, rr = times[1:], np.diff(times)
    sec = np.floor(t).astype(np.int64)
    cuts = np.flatnonzero(np.diff(sec)) + 1
    for i, (a, b) in enumerate(zip(np.r_[0, cuts], np.r_[cuts, t.size], strict=True)):
        yield SampleBlock("strap", "rr", ("rr",), None, rr[a:b][None, :], t[a:b],
                          ORIGIN + t[a:b], i)


def eeg_part(tmp: Path) -> dict:
    """Post-restart stage codes per way, references and subjects (DREAMS)."""
    got: dict[str, list] = {w: [] for w in WAYS}
    refs, subjects, first_10 = [], [], {w: [] for w in WAYS}
    ref10 = []
    for r in iter_records("dreams", data_dir(None), 30.0):
        ch = select_inputs(r.recording).eeg
        blocks = list(eeg_blocks(np.asarray(ch.data, float), ch.fs, ch.name))
        base = _run(blocks, "p", "eeg", (ch.name,), ch.fs, None, 0, tmp, True)
        for m in EEG_CRASH_MIN:
            crash = ORIGIN + m * 60.0 + 7.0
            first = int((crash - ORIGIN) // 30) + 3
            n = r.labels.size
            ep = np.arange(first, n)
            y = r.labels[ep].astype(int)
            refs.append(y)
            subjects.append(r.subject)
            ref10.append(y[:20])
            for w in WAYS:
                if w == "no crash":
                    codes = base
                else:
                    folder = tmp / f"{r.name}-{m}-{w}"
                    codes = _run(blocks, "p", "eeg", (ch.name,), ch.fs, crash, first, folder,
                                 w == "warm")
                pred = np.array([codes.get(int(k), -1) for k in ep])
                got[w].append(pred)
                first_10[w].append(pred[:20])
    return {"got": got, "refs": refs, "subjects": subjects, "first10": first_10,
            "ref10": ref10, "labels": [int(s) for s in SleepStage if s >= 0],
            "names": [s.name for s in SleepStage if s >= 0]}


def heart_part(tmp: Path) -> dict:
    """Post-restart stage codes per way (slpdb, live rr models trained without the subject)."""
    from dreamband.io.slpdb import read_slpdb_beats, read_slpdb_stages
    from dreamband.staging.heart_data import load_nights, slpdb_subject
    from dreamband.staging.heart_train import fit_heart_model

    folder = data_dir(None) / "slpdb"
    nights = load_nights("slpdb", folder, live=True, kind="rr", lag=0)
    got: dict[str, list] = {w: [] for w in WAYS}
    refs, subjects = [], []
    saved = os.environ.get("DREAMBAND_MODELS")
    try:
        for subject in sorted({n.subject for n in nights}):
            models = tmp / "models" / subject
            fit_heart_model([n for n in nights if n.subject != subject], models, "rr", True, 0)
            os.environ["DREAMBAND_MODELS"] = str(models)
            names = [r.strip() for r in (folder / "RECORDS").read_text().split() if r.strip()]
            for rec in names:
                if slpdb_subject(rec) != subject or not (folder / f"{rec}.ecg").exists():
                    continue
                beats = read_slpdb_beats(folder / rec)
                ref = read_slpdb_stages(folder / rec).to_wearable()
                blocks = list(rr_blocks(beats.times - ref.offset))
                crash = ORIGIN + 0.5 * ref.duration + 7.0
                first = int((crash + HEART_OUTAGE_S - ORIGIN) // 30) + 1
                ep = np.arange(first, ref.n_epochs)
                refs.append(ref.stages[ep].astype(int))
                subjects.append(subject)
                for w in WAYS:
                    codes = _run(blocks, "h", "heart", ("rr",), None,
                                 None if w == "no crash" else crash, first,
                                 tmp / f"{rec}-{w}", w == "warm")
                    got[w].append(np.array([codes.get(int(k), -1) for k in ep]))
    finally:
        if saved is None:
            os.environ.pop("DREAMBAND_MODELS", None)
        else:
            os.environ["DREAMBAND_MODELS"] = saved
    return {"got": got, "refs": refs, "subjects": subjects,
            "labels": [int(s) for s in WearableStage if s >= 0],
            "names": [s.name for s in WearableStage if s >= 0]}


def _rows(part: dict, what: str, refs=None, got=None) -> tuple[list[str], str]:
    refs = part["refs"] if refs is None else refs
    got = part["got"] if got is None else got
    cms = {}
    rows = []
    for w in WAYS:
        _, cms[w] = subject_confusions(refs, got[w], part["subjects"], part["labels"])
        iv = score_intervals(cms[w], part["names"])
        k = iv["kappa"]
        scored = sum(int(((p >= 0) & (y >= 0)).sum()) for p, y in zip(got[w], refs, strict=True))
        total = sum(int((y >= 0).sum()) for y in refs)
        rows.append(f"| {what} | {w} | {total} | {scored} | {k.estimate:.3f} "
                    f"({k.low:.2f}-{k.high:.2f}) | {iv['accuracy'].estimate:.3f} |")
    d = paired_difference(cms["warm"], cms["cold"])
    return rows, (f"{what}: warm minus cold kappa {d.estimate:+.3f} ({d.low:+.3f} to "
                  f"{d.high:+.3f}, subjects resampled)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-append", action="store_true", help="print only")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    lines = ["| signal, epochs scored | restart | expert epochs | staged | kappa (95 % interval) "
             "| accuracy |", "|---|---|---|---|---|---|"]
    notes = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        eeg = eeg_part(tmp)
        rows, note = _rows(eeg, "EEG (DREAMS), restart to end")
        lines += rows
        notes.append(note)
        rows, note = _rows(eeg, "EEG (DREAMS), first 10 min after the restart",
                           eeg["ref10"], eeg["first10"])
        lines += rows
        notes.append(note)
        heart = heart_part(tmp)
        rows, note = _rows(heart, "heart RR (slpdb, LOSO), restart to end")
        lines += rows
        notes.append(note)
    for kind, what in (("eeg", "EEG (DREAMS, one channel at 100-200 Hz)"),
                       ("heart", "RR (slpdb)")):
        cpu, hours = (np.array(v) for v in zip(*WARM_UP[kind], strict=True))
        notes.append(f"warm-up replay, {what}: {cpu.sum() / hours.sum():.1f} s CPU per hour "
                     f"of signal replayed ({len(cpu)} resumes, {hours.sum():.1f} h in all)")
    secs = time.perf_counter() - t0
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = "\n".join([
        f"## bench_resume — {stamp}", "",
        "Command: `DREAMBAND_DATA=/work/shared/data python bench/bench_resume.py` (a crashed "
        "live session resumed with its stagers warm from the raw streams, or cold; real EEG "
        f"and beats; crash at minutes {', '.join(map(str, EEG_CRASH_MIN))} of each DREAMS "
        f"excerpt with a 1-1.5-min outage, and mid-night on slpdb with a "
        f"{HEART_OUTAGE_S / 60:g}-min outage)",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, numpy {np.__version__}; {secs:.0f} s", "",
        *lines, "", *[f"- {n}" for n in notes], ""])
    print(block)
    if not args.no_append:
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write("\n" + block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
