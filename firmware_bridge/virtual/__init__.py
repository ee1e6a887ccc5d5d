"""Virtual bands: a bleak backend serving emulated GATT profiles with real packets."""

from firmware_bridge.virtual.backend import VirtualBleakClient, VirtualBleakScanner
from firmware_bridge.virtual.device import LinkConfig, VirtualDevice
from firmware_bridge.virtual.sources import (
    ArraySource,
    BeatSource,
    ChunkedSource,
    EcgLikeSource,
    SineSource,
)
from firmware_bridge.virtual.world import VirtualWorld, get_default_world, set_default_world

__all__ = [
    "ArraySource",
    "BeatSource",
    "ChunkedSource",
    "EcgLikeSource",
    "LinkConfig",
    "SineSource",
    "VirtualBleakClient",
    "VirtualBleakScanner",
    "VirtualDevice",
    "VirtualWorld",
    "get_default_world",
    "set_default_world",
]
