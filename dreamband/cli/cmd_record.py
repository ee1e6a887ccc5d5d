"""``dreamband record``: record raw streams of one or many bands, crash-safely.

Blocks and gaps go to :class:`dreamband.storage.raw.RawRecorder` (Arrow IPC segments,
compacted to Parquet on a clean stop). A status line per band shows rate, gaps and battery.
Ctrl-C stops cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

__all__ = ["record", "register", "run"]

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``record`` subcommand."""
    p = subparsers.add_parser("record", help="record raw streams of BLE (or virtual) bands")
    p.add_argument("targets", nargs="*", metavar="ADDRESS_OR_NAME", help="bands to record")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="session folder")
    p.add_argument("--duration", type=float, default=None, metavar="S",
                   help="stop after S seconds (of the band clock; default: until Ctrl-C)")
    p.add_argument("--virtual", type=int, default=0, metavar="N",
                   help="record N virtual bands (profiles in turn) instead of the radio")
    p.add_argument("--speed", default="1", metavar="X",
                   help="virtual bands only: time speed factor, or 'max'")
    p.add_argument("--flush", type=float, default=1.0, metavar="S",
                   help="write a batch to disk at least every S seconds per stream")
    p.add_argument("--no-status", action="store_true", help="no live status lines")
    p.add_argument("--append", action="store_true",
                   help="continue a recording already in --out (e.g. after a crash): new "
                   "segments are added to its streams; without it such a folder is refused")
    p.set_defaults(func=run)


def _status_table(bands: list) -> object:
    from rich.table import Table

    t = Table(box=None)
    for col in ("band", "profile", "link", "rate (Hz)", "gaps", "missing", "battery"):
        t.add_column(col)
    for b in bands:
        st = b.status
        main = b.profile.streams[0].kind if b.profile else "?"
        t.add_row(b.target, b.profile.name if b.profile else "?",
                  "up" if st.connected else "down", f"{st.rate(main):.1f}", str(st.gaps),
                  str(st.missing_samples), "-" if st.battery is None else f"{st.battery}%")
    return t


def check_output_folder(out: Path, append: bool = False) -> None:
    """Refuse a folder holding a live session, or a recording unless ``append``.

    Raises
    ------
    InputFileError
        Naming the folder; nothing has been written then.
    """
    from dreamband.errors import InputFileError

    if (out / "session.json").exists():
        raise InputFileError(out, "holds a live session (lab/replay/demo); record raw streams "
                             "into a new folder")
    if not append and out.is_dir() and (any(out.glob("*/*/seg-*.arrows"))
                                        or any(out.glob("*/*/data.parquet"))):
        raise InputFileError(out, "already holds a recording; give a new folder, or --append "
                             "to continue it (new segments are added to its streams)")


async def record(targets: list[str], out: Path, duration: float | None, n_virtual: int = 0,
                 speed: str = "1", flush: float = 1.0, status: bool = True,
                 append: bool = False) -> dict:
    """Record bands until ``duration`` (s of the bands' timebase) or cancellation.

    ``out`` must not hold a live session, nor a recording unless ``append``
    (:func:`check_output_folder`).

    Returns
    -------
    dict
        Per band: samples per stream, gaps, missing samples, reconnects.
    """
    check_output_folder(out, append)
    from dreamband.storage.raw import RawRecorder
    from firmware_bridge.band import Band
    from firmware_bridge.timebase import RealTime, make_timebase

    kwargs: dict = {}
    if n_virtual:
        from firmware_bridge.virtual import (
            LinkConfig,
            VirtualBleakClient,
            VirtualBleakScanner,
            VirtualWorld,
        )

        world = VirtualWorld(make_timebase(speed))
        devs = world.populate(n_virtual, link=LinkConfig(drift_ppm=50.0, jitter_s=0.005))
        targets = [d.address for d in devs]
        timebase = world.timebase
        kwargs = {"backend": VirtualBleakClient, "scanner_backend": VirtualBleakScanner,
                  "backend_kwargs": {"world": world}}
    else:
        timebase = RealTime()
    bands = [Band(t, timebase=timebase, **kwargs) for t in targets]
    recorder = RawRecorder(out, flush_interval=flush)
    consumers: list[asyncio.Task] = []
    live = None
    try:
        # do not wait for every band: one that is off shows as "down" and keeps retrying
        await asyncio.gather(*(b.start(wait=False) for b in bands))

        async def consume(band: Band) -> None:
            async for item in band:
                recorder.write(item)

        consumers = [asyncio.ensure_future(consume(b)) for b in bands]
        if status:
            from rich.console import Console
            from rich.live import Live

            live = Live(_status_table(bands), console=Console(stderr=True), refresh_per_second=4)
            live.start()
        t_end = None if duration is None else timebase.now() + duration
        while t_end is None or timebase.now() < t_end:
            step = 0.25 if t_end is None else min(0.25, t_end - timebase.now())
            await timebase.sleep(max(step, 0.0))
            recorder.flush_older_than(timebase.now() - flush)
            if live is not None:
                live.update(_status_table(bands))
    finally:
        # clean stop, also on Ctrl-C (the task is cancelled and lands here)
        for b in bands:
            try:
                await asyncio.shield(b.stop())
            except Exception as exc:
                logger.warning("%s: stop failed: %s", b.target, exc)
        if consumers:
            await asyncio.gather(*consumers, return_exceptions=True)
        if live is not None:
            live.stop()
        recorder.close(compact=True)
    return {b.target: {"samples": dict(b.status.samples), "gaps": b.status.gaps,
                       "missing": b.status.missing_samples, "reconnects": b.status.reconnects,
                       "connected": b.status.ever_connected, "error": b.status.last_error}
            for b in bands}


def run(args: argparse.Namespace) -> int:
    """Record, then print a one-line summary per band."""
    if args.duration is not None and args.duration <= 0:
        print("dreamband record: --duration must be > 0", file=sys.stderr)
        return 2
    if not args.targets and not args.virtual:
        print("dreamband record: give band addresses/names or --virtual N", file=sys.stderr)
        return 2
    if args.virtual and args.targets:
        print("dreamband record: use either targets or --virtual, not both", file=sys.stderr)
        return 2
    from bleak.exc import BleakError

    from dreamband.errors import DreambandError
    from firmware_bridge.band import BandError

    try:
        summary = asyncio.run(record(args.targets, args.out, args.duration, args.virtual,
                                     args.speed, args.flush, status=not args.no_status,
                                     append=args.append))
    except (BandError, BleakError, OSError) as exc:
        raise DreambandError(f"record: {exc}") from exc
    except KeyboardInterrupt:
        print(f"dreamband: stopped; recording closed in {args.out}", file=sys.stderr)
        return 0
    for target, s in summary.items():
        print(f"{target}: samples {s['samples']} gaps {s['gaps']} missing {s['missing']} "
              f"reconnects {s['reconnects']}")
    never = [t for t, s in summary.items() if not s["connected"]]
    if never:
        reasons = "; ".join(f"{t} ({summary[t]['error'] or 'no answer'})" for t in never)
        raise DreambandError(f"record: never connected to {reasons}")
    return 0
