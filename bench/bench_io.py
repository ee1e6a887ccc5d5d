"""Benchmark of the readers: EDF at Sleep-EDF size, real hypnograms/beats, hypnogram formats.

Fixed inputs:
* a synthetic EDF with Sleep-EDF's PSG layout and length (3 channels at 100 Hz, 4 at 1 Hz,
  79,500 s = 22 h 5 min), seed 0, written with edfio into a temporary folder (signal values
  only exercise I/O; nothing here is an accuracy figure);
* the real files in ``$DREAMBAND_DATA`` (33 Sleep-EDF hypnograms, 16 slpdb records, every file
  for ``dreamband info``), skipped when absent;
* a 2,880-epoch hypnogram with probabilities (seed 0) written/read in CSV, Parquet, EDF+.

Prints the figures and appends a dated block with the command to ``bench/RESULTS.md``.
Run: ``DREAMBAND_DATA=/path/to/data python bench/bench_io.py``
"""

from __future__ import annotations

import io
import os
import platform
import sys
import tempfile
import time
import tracemalloc
from contextlib import redirect_stdout
from datetime import UTC, date, datetime
from datetime import time as dtime
from pathlib import Path

import numpy as np

LAYOUT = [
    ("EEG Fpz-Cz", 100, "uV"),
    ("EEG Pz-Oz", 100, "uV"),
    ("EOG horizontal", 100, "uV"),
    ("Resp oro-nasal", 1, ""),
    ("EMG submental", 1, "uV"),
    ("Temp rectal", 1, "DegC"),
    ("Event marker", 1, ""),
]
SECONDS = 79_500


def _timed(fn, *args, **kwargs):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return out, dt, peak


def _write_psg(path: Path) -> None:
    import edfio

    rng = np.random.default_rng(0)
    sigs = [
        edfio.EdfSignal(
            rng.normal(0, 30, SECONDS * fs)
            if unit == "uV"
            else 37 + rng.normal(0, 0.1, SECONDS * fs),
            fs,
            label=name,
            physical_dimension=unit,
        )
        for name, fs, unit in LAYOUT
    ]
    edfio.Edf(
        sigs,
        starttime=dtime(16, 13),
        recording=edfio.Recording(startdate=date(1989, 4, 24)),
        data_record_duration=30,
    ).write(path)


def bench_edf(rows: list[tuple[str, str, str]]) -> None:
    from dreamband.io.edf import read_edf, read_edf_info

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "SC9999E0-PSG.edf"
        _write_psg(path)
        size = path.stat().st_size / 1e6
        _, dt, _ = _timed(read_edf_info, path)
        rows.append(
            (f"read_edf_info, Sleep-EDF-size PSG ({size:.1f} MB)", f"{dt * 1e3:.2f} ms", "")
        )
        rec, dt, peak = _timed(read_edf, path)
        rows.append(
            (
                "read_edf, all 7 channels (100 Hz + 1 Hz kept apart)",
                f"{dt:.2f} s",
                f"peak {peak:.0f} MB",
            )
        )
        assert [c.fs for c in rec.channels] == [fs for _, fs, _ in LAYOUT]
        _, dt, peak = _timed(read_edf, path, channels=["EEG Fpz-Cz"])
        rows.append(("read_edf, 1 channel (EEG Fpz-Cz)", f"{dt:.2f} s", f"peak {peak:.0f} MB"))
        import mne

        def mne_preload():
            raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
            return raw.get_data()

        _, dt, peak = _timed(mne_preload)
        rows.append(
            (
                "reference: MNE preload=True, all channels (resampled to 100 Hz)",
                f"{dt:.2f} s",
                f"peak {peak:.0f} MB",
            )
        )


def bench_hypnogram_formats(rows: list[tuple[str, str, str]]) -> None:
    from dreamband.core import Hypnogram
    from dreamband.io import read_hypnogram, write_hypnogram

    rng = np.random.default_rng(0)
    hyp = Hypnogram(
        rng.integers(-1, 5, 2880).astype(np.int8),
        probabilities=rng.dirichlet(np.ones(5), 2880),
        start_time=datetime(2024, 1, 1, 22),
    )
    with tempfile.TemporaryDirectory() as tmp:
        for suffix in (".csv", ".parquet", ".edf"):
            path = Path(tmp) / f"night-hypnogram{suffix}"
            _, w, _ = _timed(write_hypnogram, hyp, path)
            back, r, _ = _timed(read_hypnogram, path)
            ok = bool(np.array_equal(back.stages, hyp.stages))
            rows.append(
                (
                    f"hypnogram 2880 epochs {suffix}: write / read",
                    f"{w * 1e3:.1f} / {r * 1e3:.1f} ms",
                    f"{path.stat().st_size / 1e3:.0f} kB, stages equal: {ok}",
                )
            )


def bench_real(rows: list[tuple[str, str, str]], data: Path) -> None:
    from dreamband.cli.main import main
    from dreamband.io.sleepedf import read_sleepedf_hypnogram
    from dreamband.io.slpdb import read_slpdb_beats, read_slpdb_stages

    files = sorted((data / "sleep-edf").glob("*-Hypnogram.edf"))
    if files:
        t0 = time.perf_counter()
        n = sum(read_sleepedf_hypnogram(f).n_epochs for f in files)
        rows.append(
            (
                f"read {len(files)} Sleep-EDF hypnograms ({n} epochs)",
                f"{time.perf_counter() - t0:.2f} s",
                "",
            )
        )
    records = sorted(
        p.stem for p in (data / "slpdb").glob("*.st") if p.with_suffix(".hea").exists()
    )
    if records:
        t0 = time.perf_counter()
        beats = sum(len(read_slpdb_beats(data / "slpdb" / r)) for r in records)
        epochs = sum(read_slpdb_stages(data / "slpdb" / r).n_epochs for r in records)
        rows.append(
            (
                f"read {len(records)} slpdb records (stages + beats)",
                f"{time.perf_counter() - t0:.2f} s",
                f"{epochs} epochs, {beats} beats",
            )
        )
    skip = {".md", ".shtml", ".xws", ".ecg", ".st-", ".hea-", ".ecg-", ""}
    targets = [
        f
        for f in sorted(data.rglob("*"))
        if f.is_file()
        and f.suffix not in skip
        and "SHA256" not in f.name
        and "LICENSE" not in f.name.upper()
        and not (f.parent.name == "slpdb" and f.suffix != ".hea")
    ]
    t0 = time.perf_counter()
    failures = 0
    for f in targets:
        with redirect_stdout(io.StringIO()):
            failures += main(["info", str(f), "--json"]) != 0
    rows.append(
        (
            f"`dreamband info --json` on {len(targets)} real files (in-process)",
            f"{time.perf_counter() - t0:.2f} s",
            f"non-zero exits: {failures}",
        )
    )


def main() -> None:
    rows: list[tuple[str, str, str]] = []
    bench_edf(rows)
    bench_hypnogram_formats(rows)
    data = os.environ.get("DREAMBAND_DATA")
    if data and Path(data).is_dir():
        bench_real(rows, Path(data))
    import numpy

    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    cmd = ("DREAMBAND_DATA=" + data + " " if data else "") + "python bench/bench_io.py"
    lines = [
        f"## bench_io — {stamp}",
        "",
        f"Command: `{cmd}` (synthetic EDF values exercise I/O only; no accuracy figure)",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"numpy {numpy.__version__}",
        "",
        "| measure | time | detail |",
        "|---|---|---|",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    with open(Path(__file__).with_name("RESULTS.md"), "a", encoding="utf-8") as fh:
        fh.write("\n" + text + "\n")


if __name__ == "__main__":
    main()
