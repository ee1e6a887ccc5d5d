"""A set of virtual bands sharing one timebase: what the virtual bleak backend connects to."""

from __future__ import annotations

import itertools

from firmware_bridge.timebase import RealTime, Timebase
from firmware_bridge.virtual.device import LinkConfig, VirtualDevice
from firmware_bridge.virtual.peripherals import make_peripheral
from firmware_bridge.virtual.sources import SignalSource

__all__ = ["PROFILE_ORDER", "VirtualWorld", "get_default_world", "set_default_world"]

PROFILE_ORDER = ("muse", "ganglion", "polar_h10", "heart_rate")
_NAMES = {"muse": "Muse-{:04X}", "ganglion": "Ganglion-{:04x}", "polar_h10": "Polar H10 {:08X}",
          "heart_rate": "HRM-{:04d}"}


class VirtualWorld:
    """Virtual bands by address, and the host timebase they share with the host side."""

    def __init__(self, timebase: Timebase | None = None) -> None:
        self.timebase = timebase or RealTime()
        self.devices: dict[str, VirtualDevice] = {}
        self._serial = itertools.count(1)

    def add_band(self, profile: str, *, source: SignalSource | None = None,
                 link: LinkConfig | None = None, name: str | None = None,
                 address: str | None = None, rssi: int | None = None) -> VirtualDevice:
        """Create a band of ``profile`` fed by ``source`` and add it to the world.

        Returns
        -------
        VirtualDevice
            The new band (address ``0B:00:00:00:xx:xx`` unless given).
        """
        n = next(self._serial)
        address = (address or f"0B:00:00:00:{n >> 8 & 0xFF:02X}:{n & 0xFF:02X}").upper()
        if address in self.devices:
            raise ValueError(f"virtual band {address} exists already")
        name = name or _NAMES[profile].format(n)
        dev = VirtualDevice(address, name, make_peripheral(profile, source), self.timebase,
                            link or LinkConfig(seed=n),
                            rssi=rssi if rssi is not None else -40 - n % 50)
        self.devices[address] = dev
        return dev

    def populate(self, n: int, *, link: LinkConfig | None = None,
                 profiles: tuple[str, ...] = PROFILE_ORDER) -> list[VirtualDevice]:
        """Add ``n`` bands, cycling through ``profiles``; each gets its own jitter/loss seed."""
        out = []
        for i in range(n):
            cfg = None
            if link is not None:
                cfg = LinkConfig(**{**link.__dict__, "seed": link.seed + i,
                                    "disconnects": list(link.disconnects)})
            out.append(self.add_band(profiles[i % len(profiles)], link=cfg))
        return out


_default: VirtualWorld | None = None


def get_default_world() -> VirtualWorld:
    """The world backends use when none is passed (created on first use, real time)."""
    global _default
    if _default is None:
        _default = VirtualWorld()
    return _default


def set_default_world(world: VirtualWorld | None) -> None:
    """Replace (or clear, with None) the default world."""
    global _default
    _default = world
