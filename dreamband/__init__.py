"""dreamband: a sleep-signal pipeline for wearable bands.

Reads bands over BLE (through :mod:`firmware_bridge`) or recordings from disk, stages sleep,
detects REM and finds the windows when several sleepers are in REM together.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dreamband")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+src"

__all__ = ["__version__"]
