"""``dreamband train DATASET``: train a stager on a labelled dataset (text model + JSON sidecar).

EEG datasets (``sleep-edf``, ``dreams``) train the LightGBM EEG stager over the same
evidence the rules use; heart datasets (``slpdb``, ``sleep-accel``) train the heart-rate
stager. Scores are cross-validated subject-wise and stored in the sidecar. Models are
written to the user model folder (``$DREAMBAND_MODELS``), where the stagers find them; no
trained model ships with dreamband. A model trained on DREAMS is for local evaluation only
(its licence forbids derivatives).
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["register", "run"]

from dreamband.cli.cmd_evaluate import ALIASES, EEG, HEART


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand."""
    p = subparsers.add_parser(
        "train",
        help="train a stager on a labelled dataset",
        description=__doc__.split("\n\n")[0].split(": ", 1)[-1],
    )
    p.add_argument("dataset", choices=EEG + HEART)
    p.add_argument("--out", metavar="PATH",
                   help="EEG: model file (.txt), sidecar written beside it (default for "
                        "sleep-edf: the model engine's default in the user model folder); "
                        "heart: output folder (default: the user model folder, "
                        "$DREAMBAND_MODELS, where stagers look for them)")
    p.add_argument("--epoch", type=float, default=30.0, choices=(20.0, 30.0),
                   help="epoch length in seconds (EEG)")
    p.add_argument("--data-dir", metavar="DIR", help="data folder (default $DREAMBAND_DATA)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Train and save; returns the exit code."""
    args.dataset = ALIASES.get(args.dataset, args.dataset)
    from dreamband.staging.modelfile import sidecar_path

    if args.dataset in HEART:
        from dreamband.staging.heart_train import train_heart

        path = train_heart(args.dataset, data_dir=args.data_dir, out=args.out)
    else:
        from dreamband.staging.train import train_eeg

        path = train_eeg(args.dataset, data=args.data_dir, out=args.out, epoch_length=args.epoch)
    side = sidecar_path(path)
    print(f"wrote {path} and {side.name}", file=sys.stderr)
    try:
        cv = json.loads(side.read_text("utf-8")).get("cv_scores")
    except (OSError, ValueError):
        cv = None
    if cv:
        print(f"cross-validated ({cv.get('scheme', 'subject-wise')}): kappa {cv['kappa']:.3f}, "
              f"accuracy {cv['accuracy']:.3f}, macro-F1 {cv['macro_f1']:.3f}")
    return 0
