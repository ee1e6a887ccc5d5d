"""``dreamband evaluate DATASET``: agreement with the experts, per recording and pooled.

EEG datasets (``dreams``, ``sleep-edf``) use the EEG engines; heart datasets (``slpdb``,
``sleep-accel``) use the heart-rate stager. Reports accuracy, Cohen's kappa, macro-F1,
per-stage F1 and the confusion matrix; trained models are scored subject-wise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["register", "run"]

#: Datasets each command accepts; ``dreams-spindles`` (the registry's name) means ``dreams``.
EEG = ("dreams", "dreams-spindles", "sleep-edf")
HEART = ("slpdb", "sleep-accel")
ALIASES = {"dreams-spindles": "dreams"}


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``evaluate`` subcommand."""
    p = subparsers.add_parser(
        "evaluate",
        help="score a stager against a labelled dataset",
        description=__doc__.split("\n\n")[0].split(": ", 1)[-1],
    )
    p.add_argument("dataset", choices=EEG + HEART)
    p.add_argument("--engine", choices=("rules", "model"), default="rules",
                   help="EEG engine (model: leave-one-subject-out unless --model is given)")
    p.add_argument("--model", metavar="FILE", help="a model trained elsewhere (EEG)")
    p.add_argument("--epoch", type=float, default=30.0, choices=(20.0, 30.0),
                   help="epoch length in seconds (DREAMS experts scored 20 s)")
    p.add_argument("--live", action="store_true", help="evaluate the past-only (live) path")
    p.add_argument("--lag", type=int, default=0, metavar="N",
                   help="with --live: fixed-lag smoothing over N epochs")
    p.add_argument("--data-dir", metavar="DIR", help="data folder (default $DREAMBAND_DATA)")
    p.add_argument("--json", metavar="FILE", help="also write the full results as JSON")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Evaluate and print the reports; returns the exit code."""
    args.dataset = ALIASES.get(args.dataset, args.dataset)
    if args.dataset in HEART:
        from dreamband.evaluation.heart import evaluate_heart

        result = evaluate_heart(args.dataset, data_dir=args.data_dir, live=args.live)
    else:
        from dreamband.evaluation.eeg_eval import evaluate_eeg

        result = evaluate_eeg(
            args.dataset, engine=args.engine, epoch_length=args.epoch, data=args.data_dir,
            causal=args.live, model=args.model, lag=args.lag,
        )
    _print(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=float) + "\n", "utf-8")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def _print(result: dict) -> None:
    from dreamband.evaluation.metrics import format_report

    head = " ".join(
        f"{k}={result[k]}" for k in ("dataset", "engine", "epoch_length", "causal", "validation")
        if k in result
    )
    print(head)
    for rec in result.get("records", []):
        r = rec["report"]
        print(f"  {rec['name']:<12} n={r['n']:<4} acc={r['accuracy']:.3f} kappa={r['kappa']:.3f} "
              f"macro-F1={r['macro_f1']:.3f}  F1 " +
              " ".join(f"{k}={v:.2f}" for k, v in r["f1"].items()) +
              (f"  N2/N3 AUROC={r['n2_n3_auroc']:.2f}" if "n2_n3_auroc" in r else ""))
    if "pooled" in result:
        print(format_report(result["pooled"], title="pooled"))
