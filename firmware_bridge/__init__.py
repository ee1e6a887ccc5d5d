"""firmware_bridge: commodity sleep bands over Bluetooth Low Energy.

Device profiles (UUIDs, commands, pure packet decoders and encoders), BLE transport over
``bleak`` (:class:`Band`), clock mapping (:class:`ClockMapper`) and virtual bands
(:mod:`firmware_bridge.virtual`, a bleak backend). Knows nothing about sleep and never imports
``dreamband``.
"""

from firmware_bridge.band import Band, BandError, BandStatus
from firmware_bridge.clock import ClockMapper
from firmware_bridge.profiles import PROFILES, get_profile, match_profile
from firmware_bridge.timebase import RealTime, ScaledTime, SimulatedTime, make_timebase
from firmware_bridge.types import DecodeError, Gap, SampleBlock

__all__ = [
    "PROFILES",
    "Band",
    "BandError",
    "BandStatus",
    "ClockMapper",
    "DecodeError",
    "Gap",
    "RealTime",
    "SampleBlock",
    "ScaledTime",
    "SimulatedTime",
    "get_profile",
    "make_timebase",
    "match_profile",
]
