"""``dreamband forecast``: evaluate (or fit) the REM-onset forecaster on hypnograms."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from dreamband.errors import DreambandError

_EPILOG = """\
At every epoch from sleep onset on that has a next REM onset, the next REM onset is predicted
from the past only; the mean absolute error (minutes) is reported for the model and for the
fixed-90-minute baseline (last REM onset, or sleep onset before the first REM, + 90 min).
--cv loso (default when the nights cover two or more subjects) refits the model without each
subject's nights before scoring them; --cv none scores the given --model as is (in-sample if
those nights were used to fit it). --fit writes parameters learned from all given nights.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forecast`` subcommand."""
    p = subparsers.add_parser(
        "forecast", help="evaluate the next-REM-onset forecaster against a 90-min baseline",
        description="Evaluate (or fit) the REM forecaster on expert hypnograms.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("hypnograms", nargs="+", metavar="HYPNOGRAM")
    p.add_argument("--json", metavar="FILE", help="write the scores as JSON")
    p.add_argument("--cv", choices=("auto", "loso", "none"), default="auto",
                   help="leave-one-subject-out refits, or score --model as is")
    p.add_argument("--model", metavar="JSON", help="forecast parameters (default: shipped)")
    p.add_argument("--fit", metavar="JSON", help="fit parameters on these nights and write them")
    p.set_defaults(func=run)


def _fit_and_save(paths: list[str], nights: list, out: str) -> None:
    from dreamband.sync.files import sha256_of
    from dreamband.sync.forecast import fit

    model = fit(nights)
    from dreamband.io.sleepedf import is_sleepedf_hypnogram

    data = "hypnograms listed under 'files'"
    if all(is_sleepedf_hypnogram(p) for p in paths):
        data = ("Sleep-EDF Database Expanded (sleep-cassette) expert hypnograms, PhysioNet, "
                "ODC-By 1.0; no DREAMS data")
    model.meta["provenance"] = {
        "data": data,
        "files": [{"name": Path(p).name, "sha256": sha256_of(p)} for p in paths],
        "command": "cd $DREAMBAND_DATA/sleep-edf && dreamband forecast "
                   + " ".join(Path(p).name for p in paths) + f" --fit {Path(out).name}",
        "date": dt.date.today().isoformat(),
    }
    model.save(out)
    print(f"fitted on {len(nights)} nights -> {out}")


def run(args: argparse.Namespace) -> int:
    """Run ``dreamband forecast``; returns the exit code."""
    from dreamband.sync.evaluate import evaluate_nights, leave_one_subject_out
    from dreamband.sync.files import read_hypnogram, subject_of
    from dreamband.sync.forecast import load_model
    from dreamband.sync.timeline import night_codes

    hyps = [read_hypnogram(p) for p in args.hypnograms]
    lengths = {h.epoch_length for h in hyps}
    if len(lengths) != 1:
        raise DreambandError(f"hypnograms have different epoch lengths {sorted(lengths)}")
    L = lengths.pop()
    nights = [night_codes(h) for h in hyps]
    if args.fit:
        _fit_and_save(args.hypnograms, nights, args.fit)
        return 0
    subjects = [subject_of(p) for p in args.hypnograms]
    cv = args.cv
    if cv == "auto":
        cv = "loso" if len(set(subjects)) >= 2 and args.model is None else "none"
    try:
        if cv == "loso":
            score = leave_one_subject_out(nights, subjects, L)
            how = f"leave-one-subject-out refits ({len(set(subjects))} subjects)"
        else:
            model = load_model(args.model)
            score = evaluate_nights(nights, model, L)
            how = f"model {args.model or 'shipped rem_forecast_v1.json'} as is"
    except ValueError as exc:
        raise DreambandError(str(exc)) from None
    out = score.summary()
    out["evaluation"] = how
    out["nights"] = len(nights)
    text = json.dumps(out, indent=1)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    print(json.dumps({k: out[k] for k in ("mae_min", "baseline_mae_min", "n")}))
    print(f"next REM onset MAE: model {out['mae_min']} min, 90-min baseline "
          f"{out['baseline_mae_min']} min over {out['n']} epochs ({how})")
    if "difference_min" in out:
        d = out["difference_min"]
        print(f"  model - baseline {d['estimate']:+.2f} min, 95 % interval "
              f"{d['ci95'][0]:+.2f} to {d['ci95'][1]:+.2f} ({d['n_subjects']} subjects "
              "resampled)")
    for label, b in out["by_hour"].items():
        if b["n"]:
            print(f"  {label:>6} after sleep onset: model {b['mae_min']:6.2f}  baseline "
                  f"{b['baseline_mae_min']:6.2f}  n={b['n']}")
    if args.verbose:
        sys.stdout.write(text + "\n")
    return 0
