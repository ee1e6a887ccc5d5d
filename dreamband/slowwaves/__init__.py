"""Slow waves as events: detection, properties, the table file and its summary."""

from dreamband.slowwaves.detect import SlowWaves, detect_slow_waves
from dreamband.slowwaves.table import (
    SLOW_WAVE_COLUMNS,
    slow_wave_summary,
    write_slow_waves_csv,
)

__all__ = [
    "SLOW_WAVE_COLUMNS",
    "SlowWaves",
    "detect_slow_waves",
    "slow_wave_summary",
    "write_slow_waves_csv",
]
