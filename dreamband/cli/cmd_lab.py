"""``dreamband lab NAME=BAND...``: a lab run with real bands through the live engine."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dreamband.lab.resume import ResumePlan

__all__ = ["check_resume_options", "lab_options", "register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``lab`` subcommand."""
    p = sub.add_parser(
        "lab",
        help="stage sleepers live from their BLE bands and find group REM windows",
        description=(
            "Connect one band per participant over Bluetooth LE, stage each sleeper live "
            "(EEG headbands: W/N1/N2/N3/REM; heart-rate bands: W/NREM/REM), follow REM and "
            "the group's REM windows with a forecast, and record everything crash-safely in "
            "the session folder (raw samples, stages, events; readable after a crash, "
            "compacted to Parquet at a clean stop). A dropped band reconnects; its gap is "
            "marked. Ctrl-C stops cleanly. Give each participant as NAME=ADDRESS_OR_NAME"
            "[:PROFILE] (profiles: muse, ganglion, heart_rate, polar_h10; guessed from the "
            "band when omitted). --virtual N tries it without a radio (SIMULATED sleepers). "
            "--resume DIR continues a session that crashed in its own folder: same "
            "participants (taken from the session when omitted) and options, epochs on the "
            "same wall-clock grid, the epochs lost in between absent; each live stager first "
            "replays the samples recorded before the crash, so it continues warm."
        ),
    )
    p.add_argument("participants", nargs="*", metavar="NAME=BAND[:PROFILE]")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, help="session folder (new)")
    where.add_argument("--resume", type=Path, metavar="DIR",
                       help="continue the session that crashed in DIR (not closed cleanly)")
    p.add_argument("--minutes", type=float, default=None,
                   help="stop after this many minutes (default: until Ctrl-C)")
    p.add_argument("--k", type=int, default=None,
                   help="group window: participants in REM together (default 2; 1 if alone)")
    p.add_argument("--min-window-min", type=float, default=None,
                   help="shortest group window in minutes (default 1)")
    p.add_argument("--epoch", type=float, default=None, help="epoch length in s (default 30)")
    p.add_argument("--heart-lag", type=int, default=None, metavar="EPOCHS",
                   help="heart bands: decide stages this many epochs late with the fixed-lag "
                   "model (0 = at once; trained: 40 or 60, i.e. 20 or 30 min late)")
    p.add_argument("--connect-timeout", type=float, default=60.0, metavar="S",
                   help="seconds a band without a given profile has to connect (default 60)")
    p.add_argument("--virtual", type=int, default=0, metavar="N",
                   help="N virtual bands worn by virtual sleepers instead of the radio")
    p.add_argument("--speed", default="1", metavar="X",
                   help="--virtual only: clock speed, a number or 'max' (default 1)")
    p.add_argument("--events", default=None, metavar="FILE",
                   help="also write every event as a JSON line to FILE ('-' = standard "
                   "output), for other lab software to follow")
    p.add_argument("--no-stage-events", action="store_true",
                   help="--events without the per-epoch stage events (REM, gaps, group only)")
    p.add_argument("--no-live", action="store_true",
                   help="plain progress lines instead of the live table")
    p.add_argument("--quiet", action="store_true", help="only the summary")
    p.set_defaults(func=run)


def lab_options(args: argparse.Namespace):  # -> LabOptions
    """Lab options from parsed arguments (ValueError naming the option when invalid)."""
    from dreamband.lab.run import LabOptions

    window_min = 1.0 if args.min_window_min is None else args.min_window_min
    epoch = 30.0 if args.epoch is None else args.epoch
    if args.minutes is not None and not args.minutes > 0:
        raise ValueError(f"--minutes must be > 0; got {args.minutes:g}")
    if not window_min > 0:
        raise ValueError(f"--min-window-min must be > 0; got {window_min:g}")
    if not epoch > 0:
        raise ValueError(f"--epoch must be > 0; got {epoch:g}")
    return LabOptions(duration_s=None if args.minutes is None else args.minutes * 60,
                      epoch_length=epoch, k=args.k,
                      min_epochs=max(1, round(window_min * 60 / epoch)),
                      heart_lag=args.heart_lag or 0, connect_timeout=args.connect_timeout)


def check_resume_options(args: argparse.Namespace, plan: ResumePlan) -> None:
    """Options given with ``--resume`` must be the session's (InputFileError naming the
    folder and the option otherwise): the night keeps one grid and one group rule."""
    from dreamband.errors import InputFileError

    meta = plan.meta
    rule = meta.get("rule") or {}
    L = plan.epoch_length
    recorded = {"--epoch": (args.epoch, L, f"{L:g}-s epochs"),
                "--heart-lag": (args.heart_lag, int(meta.get("heart_lag") or 0),
                                f"heart lag of {int(meta.get('heart_lag') or 0)} epochs"),
                "--k": (args.k, rule.get("k"), f"k={rule.get('k') or 'default'}")}
    if args.min_window_min is not None:
        given = max(1, round(args.min_window_min * 60 / L))
        have = int(rule.get("min_epochs") or 0)
        recorded["--min-window-min"] = (given, have or None,
                                        f"shortest window of {have * L / 60:g} min" if have
                                        else "default shortest window")
    for option, (given, have, what) in recorded.items():
        if given is not None and given != have:
            raise InputFileError(plan.folder, f"{option} differs from the session's {what}; "
                                 "leave it out to continue the session as it was", option)


def run(args: argparse.Namespace) -> int:
    """Parse participants, run the session, print a summary."""
    from dreamband.errors import DreambandError
    from dreamband.lab.console import print_summary, run_and_show
    from dreamband.lab.participants import parse_participant
    from dreamband.lab.run import LabError

    if args.virtual and args.participants:
        raise DreambandError("lab: give participants or --virtual N, not both")
    if not args.virtual and not args.participants and args.resume is None:
        raise DreambandError("lab: give NAME=ADDRESS_OR_NAME[:PROFILE] for each band "
                             "(or --virtual N)")
    plan = None
    if args.resume is not None:
        from dreamband.lab.resume import load_resume

        plan = load_resume(args.resume)
        check_resume_options(args, plan)
    out = args.out or args.resume
    try:
        options = lab_options(args)
        if args.virtual:
            from dreamband.lab.virtual import virtual_lab

            heart = _heart_stager_available(options.heart_lag)
            if not heart and args.virtual > 1:
                print("lab --virtual: every band is a Muse headband: the heart stager is "
                      "trained from PhysioNet slpdb, which is not here (`dreamband fetch "
                      "slpdb --purpose heart-staging`)", file=sys.stderr)
            people, band_options, timebase = virtual_lab(args.virtual, speed=args.speed,
                                                         heart=heart)
        else:
            people = [parse_participant(t) for t in args.participants]
            band_options, timebase = {}, None
    except ValueError as exc:
        raise DreambandError(f"lab: {exc}") from None
    live = False if args.no_live else None
    try:
        result = run_and_show(people, out, options, band_options, timebase, live,
                              args.quiet, args.events, not args.no_stage_events,
                              resume=plan or False)
    except LabError as exc:
        raise DreambandError(f"lab: {exc}") from None
    except KeyboardInterrupt:
        print(f"dreamband: stopped; session closed in {out}", file=sys.stderr)
        return 0
    print_summary(result, sys.stderr if args.events == "-" else sys.stdout)
    never = {n: b for n, b in result.bands.items() if not b.get("ever_connected")}
    reasons = "; ".join(f"{n} ({b.get('target')}: {b.get('last_error') or 'no answer'})"
                        for n, b in never.items())
    if never and len(never) == len(result.bands):
        raise DreambandError(f"lab: no band ever connected: {reasons}")
    if never:
        print(f"dreamband: warning: never connected: {reasons}", file=sys.stderr)
    return 0


def _heart_stager_available(heart_lag: int) -> bool:
    """Whether heart-rate participants can be staged: slpdb is here to train the models on
    first use, or the models a heart participant loads are trained already."""
    from dreamband.staging.heart_store import is_trained, slpdb_folder

    if slpdb_folder() is not None:
        return True
    return is_trained("rr", live=True) and (not heart_lag or is_trained("rr", True, heart_lag))
