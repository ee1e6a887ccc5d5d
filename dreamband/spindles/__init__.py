"""Sleep spindles as events: detection, properties, the table file and its summary."""

from dreamband.spindles.detect import Spindles, detect_spindles
from dreamband.spindles.table import (
    SPINDLE_COLUMNS,
    read_event_intervals,
    spindle_summary,
    write_spindles_csv,
)

__all__ = [
    "SPINDLE_COLUMNS",
    "Spindles",
    "detect_spindles",
    "read_event_intervals",
    "spindle_summary",
    "write_spindles_csv",
]
