"""``dreamband stage PSG``: a hypnogram with per-epoch probabilities from a recording.

EEG recordings (EDF/BDF, DREAMS text, npz) go to the EEG engines (``rules`` by default,
or a trained ``model``); heart inputs (WFDB ``.hea`` with beat annotations, RR/HR CSV)
go to the heart-rate stager (three classes W/NREM/REM).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``stage`` subcommand."""
    p = subparsers.add_parser(
        "stage",
        help="stage a recording (EEG PSG or heart beats) into a hypnogram",
        description=__doc__.split("\n\n")[0].split(": ", 1)[-1],
    )
    p.add_argument(
        "input", metavar="PSG", help="EDF/BDF, DREAMS .txt, .npz, WFDB .hea or RR/HR .csv"
    )
    p.add_argument("--engine", choices=("rules", "model"), default="rules",
                   help="EEG engine (default: rules, needs no training)")
    p.add_argument("--model", metavar="FILE", help="model file for --engine model")
    p.add_argument("--eeg", metavar="CH", help="EEG channel (default: picked automatically)")
    p.add_argument("--eog", metavar="CH", help="EOG channel, or 'none'")
    p.add_argument("--emg", metavar="CH", help="chin EMG channel, or 'none'")
    p.add_argument("--epoch", type=float, default=30.0, choices=(20.0, 30.0),
                   help="epoch length in seconds (30; 20 for legacy scorings)")
    p.add_argument("--live", action="store_true",
                   help="past-only evidence and forward-only smoothing (what a live stream gets)")
    p.add_argument("--lag", type=int, default=0, metavar="N",
                   help="with --live: decide each epoch N epochs late (fixed-lag smoothing)")
    p.add_argument("--out", metavar="FILE",
                   help="output .csv, .parquet or -hypnogram.edf (default: CSV on stdout)")
    p.add_argument("--explain", action="store_true",
                   help="also write the evidence behind each epoch (<out>-explain.csv or stdout)")
    p.set_defaults(func=run)
    return p


def _write_explain(table: dict, dest) -> None:
    cols = list(table)
    w = csv.writer(dest, lineterminator="\n")
    w.writerow(cols)
    for i in range(len(table[cols[0]])):
        w.writerow([table[c][i] for c in cols])


def _warn_bad_signal(path: Path, hyp) -> None:
    """One stderr line when epochs had a flat, clipped or artefact EEG (their stage then
    rests on the neighbouring epochs and the smoother, not on their own signal)."""
    bad = hyp.meta.get("bad_epochs")
    if bad is None or not bad.any():
        return
    n, total = int(bad.sum()), int(bad.size)
    eeg = hyp.meta.get("channels", {}).get("eeg", "the EEG")
    print(f"dreamband: warning: {path}: {n} of {total} epochs ({100 * n / total:.0f} %) have a "
          f"flat, clipped or artefact signal on {eeg}; their stages rest on the neighbouring "
          "epochs, not on their own signal (listed as bad signal by --explain)",
          file=sys.stderr)


def _note_gaps(path: Path, hyp) -> None:
    """One stderr line when the recording has gaps (a discontinuous EDF+D, a band's lost
    samples): which epochs are written unscored and which were bridged."""
    gap = hyp.meta.get("gap_epochs")
    missing = hyp.meta.get("missing")
    if gap is None or missing is None or not (missing > 0).any():
        return
    n, total = int(gap.sum()), int(gap.size)
    bridged = int(((missing > 0) & ~gap).sum())
    print(f"dreamband: note: {path}: the recording has gaps; {n} of {total} epochs miss more "
          f"than 20 % of their time and are written unscored (stage ?), {bridged} with "
          "smaller losses are staged with them bridged; onsets stay on the recording's clock",
          file=sys.stderr)


def _note_heart_gaps(path: Path, hyp) -> None:
    """One stderr line when heart input has holes (a strap that fell off, lost
    notifications): which epochs are written unscored. Not for the recording's last epoch
    alone, which it usually ends part-way through."""
    n = int(hyp.meta.get("unscored_epochs") or 0)
    if n == 0 or (n == 1 and hyp.stages[-1] < 0):
        return
    what = "heart-rate samples" if hyp.meta.get("input") == "hr" else "beats"
    print(f"dreamband: note: {path}: the {what} have holes; {n} of {hyp.n_epochs} epochs have "
          f"{what} for less than 80 % of their time and are written unscored (stage ?)",
          file=sys.stderr)


def _note_amplitude(path: Path, hyp) -> None:
    """One stderr line when the EEG's amplitude is far from a PSG's, so that the slow-wave
    threshold followed the night (a headband's montage or gain; or wrong units)."""
    from dreamband.features.eeg import SW_THRESHOLD_UV

    used = hyp.meta.get("sw_threshold_uv")
    if used is None or abs(used - SW_THRESHOLD_UV) < 1e-9:
        return
    eeg = hyp.meta.get("channels", {}).get("eeg", "the EEG")
    side = "smaller" if used < SW_THRESHOLD_UV else "larger"
    print(f"dreamband: note: {path}: {eeg} reads far {side} than a PSG's central EEG; slow "
          f"waves counted from {used:.0f} µV peak to peak instead of {SW_THRESHOLD_UV:.0f} "
          "(a headband's montage or gain; check the units if this is a PSG)", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Stage the input and write the hypnogram; returns the exit code."""
    from dreamband.io.hypnogram_files import (
        check_hypnogram_suffix,
        write_csv_hypnogram,
        write_hypnogram,
    )
    from dreamband.staging.inputs import is_heart_input, read_recording

    path = Path(args.input)
    if args.out:
        check_hypnogram_suffix(args.out)  # before the staging work, not after
    if is_heart_input(path):
        from dreamband.staging.heart import stage_heart_file

        hyp = stage_heart_file(path, live=args.live, lag=args.lag if args.live else 0)
    else:
        from dreamband.staging.api import stage_recording

        rec = read_recording(path)
        hyp = stage_recording(
            rec, eeg=args.eeg, eog=args.eog, emg=args.emg, engine=args.engine,
            epoch_length=args.epoch, causal=args.live, model=args.model, lag=args.lag,
        )
    _warn_bad_signal(path, hyp)
    _note_gaps(path, hyp)
    _note_heart_gaps(path, hyp)
    _note_amplitude(path, hyp)
    explain = hyp.meta.get("explain") if args.explain else None
    if args.explain and explain is None:
        print("dreamband: note: --explain is available with --engine rules only", file=sys.stderr)
    if args.out:
        out = write_hypnogram(hyp, args.out)
        chans = hyp.meta.get("channels", {})
        used = ", ".join(f"{k}={v}" for k, v in chans.items())
        print(f"wrote {out} ({hyp.n_epochs} epochs{'; ' + used if used else ''})", file=sys.stderr)
        if explain is not None:
            exp_path = out.with_name(out.name.split(".")[0] + "-explain.csv")
            with open(exp_path, "w", newline="", encoding="utf-8") as fh:
                _write_explain(explain, fh)
            print(f"wrote {exp_path}", file=sys.stderr)
    else:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            tmp_csv = write_csv_hypnogram(hyp, Path(tmp) / "hypnogram.csv")
            sys.stdout.write(tmp_csv.read_text(encoding="utf-8"))
        if explain is not None:
            sys.stdout.write("\n")
            _write_explain(explain, sys.stdout)
    return 0
