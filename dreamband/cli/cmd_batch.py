"""``dreamband batch``: many nights to a Parquet dataset, on a process pool or Dask."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``batch`` subcommand."""
    p = sub.add_parser(
        "batch",
        help="analyse many nights into a Parquet dataset (process pool or Dask cluster)",
        description=(
            "Stage every night found in the inputs (EDF/BDF recordings, WFDB heart records, "
            "RR/HR CSV files, live session folders, `dreamband record` folders: one night per "
            "band, or expert hypnograms analysed as scored), find REM periods, "
            "compute sleep statistics and group REM windows, and write a partitioned Parquet "
            "dataset. Re-running skips nights already done with the same content and model."
        ),
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="files, folders (searched recursively) or dataset names")
    p.add_argument("--out", required=True, type=Path, help="output dataset folder")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: number of CPUs)")
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler address (tcp://host:8786) to run on a cluster")
    p.add_argument("--sessions", type=Path, default=None,
                   help="TOML file grouping nights into sessions for group REM windows")
    p.add_argument("--engine", choices=("rules", "model"), default="rules",
                   help="EEG staging engine (default: rules)")
    p.add_argument("--k", type=int, default=2,
                   help="group windows: at least K participants in REM (default 2)")
    p.add_argument("--min-duration", type=float, default=60.0,
                   help="group windows: minimum duration in seconds (default 60)")
    p.add_argument("--session-stages", choices=("raw", "live"), default="raw",
                   help="live session participants: stage again from their raw streams with "
                   "the batch engines (raw, default) or keep the live stages (live)")
    p.add_argument("--force", action="store_true", help="redo nights already done")
    p.add_argument("--data-dir", default=None, help="data folder for dataset names")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the batch; exit 0 when every night succeeded, 1 when some failed, 2 when the
    inputs hold no night."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from dreamband.batch.discover import discover_inputs
    from dreamband.batch.runner import BatchOptions, run_nights
    from dreamband.batch.sessions import write_group_windows

    console = Console(stderr=True)
    nights = discover_inputs(args.inputs, args.data_dir)
    if not nights:
        names = ", ".join(str(i) for i in args.inputs)
        console.print(
            f"dreamband: error: no nights found in {names} (expected EDF/BDF recordings, "
            "WFDB .hea records, RR/HR or hypnogram CSV files, Parquet hypnograms, session "
            "or record folders, or a dataset name)",
            markup=False, highlight=False, soft_wrap=True,
        )
        return 2
    options = BatchOptions(engine=args.engine, force=args.force,
                           session_stages=args.session_stages)
    t0 = time.perf_counter()
    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, disable=args.quiet or not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task("nights", total=len(nights))
        outcomes = run_nights(
            nights, args.out, options, workers=args.workers, scheduler=args.scheduler,
            on_outcome=lambda o: progress.advance(task),
        )
    windows = write_group_windows(args.out, nights, sessions_file=args.sessions, k=args.k,
                                  min_duration=args.min_duration)
    elapsed = time.perf_counter() - t0
    done = sum(o.status == "done" for o in outcomes)
    skipped = sum(o.status == "skipped" for o in outcomes)
    failed = [o for o in outcomes if o.status == "failed"]
    print(f"{len(nights)} nights: {done} analysed, {skipped} already done, {len(failed)} failed "
          f"in {elapsed:.1f} s; {windows} group windows -> {args.out}")
    for o in failed:
        print(f"  failed {o.night}: {o.error}")
    return 1 if failed else 0
