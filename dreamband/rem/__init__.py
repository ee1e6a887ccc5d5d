"""REM: periods from a hypnogram or probabilities, and rapid eye movements from the EOG."""

from dreamband.rem.detect import detect_eye_movements, match_events
from dreamband.rem.periods import count_eye_movements, rem_latency, rem_periods
from dreamband.rem.table import write_rem_csv

__all__ = [
    "count_eye_movements",
    "detect_eye_movements",
    "match_events",
    "rem_latency",
    "rem_periods",
    "write_rem_csv",
]
