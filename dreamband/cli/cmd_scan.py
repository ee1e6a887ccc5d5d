"""``dreamband scan``: bands in range with profile, name, address and RSSI."""

from __future__ import annotations

import argparse
import asyncio

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``scan`` subcommand."""
    p = subparsers.add_parser("scan", help="list BLE bands in range (or virtual ones)")
    p.add_argument("--virtual", type=int, default=0, metavar="N",
                   help="scan N virtual bands instead of the radio")
    p.add_argument("--timeout", type=float, default=5.0, metavar="S", help="scan time (s)")
    p.set_defaults(func=run)


async def _scan(n_virtual: int, timeout: float) -> list[tuple[str, str, str, int]]:
    from bleak import BleakScanner

    from firmware_bridge.profiles import match_profile

    kwargs: dict = {}
    if n_virtual:
        from firmware_bridge.virtual import VirtualBleakScanner, VirtualWorld

        world = VirtualWorld()
        world.populate(n_virtual)
        kwargs = {"backend": VirtualBleakScanner, "world": world}
    found = await BleakScanner.discover(timeout=timeout, return_adv=True, **kwargs)
    rows = []
    for dev, adv in found.values():
        prof = match_profile(adv.local_name, adv.service_uuids)
        rows.append((prof.name if prof else "?", adv.local_name or dev.name or "", dev.address,
                     adv.rssi))
    return sorted(rows, key=lambda r: -r[3])


def run(args: argparse.Namespace) -> int:
    """Scan and print one line per band."""
    from bleak.exc import BleakError

    from dreamband.errors import DreambandError

    if args.virtual < 0 or args.timeout <= 0:
        raise DreambandError("scan: --virtual must be >= 0 and --timeout > 0")
    try:
        rows = asyncio.run(_scan(args.virtual, args.timeout))
    except (BleakError, OSError) as exc:
        raise DreambandError(f"scan: Bluetooth is not available ({exc!r})") from exc
    print(f"{'profile':<11} {'name':<22} {'address':<19} rssi")
    for prof, name, addr, rssi in rows:
        print(f"{prof:<11} {name:<22} {addr:<19} {rssi}")
    if not rows:
        print("no bands found")
    return 0
