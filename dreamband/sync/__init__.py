"""The synchronizer: group REM windows across sleepers (batch and live), forecast, schedule."""

from dreamband.sync.forecast import ForecastModel, NightTracker, fit, load_model, night_periods
from dreamband.sync.group_forecast import GroupDraws, simulate_group
from dreamband.sync.schedule import LiveScheduler, Schedule, Session, propose_sessions
from dreamband.sync.timeline import (
    ABSENT,
    NOT_REM,
    REM,
    Hysteresis,
    Timeline,
    build_timeline,
    hysteresis,
    night_codes,
)
from dreamband.sync.types import GroupForecast, GroupWindow, RemForecast, WindowEvent
from dreamband.sync.windows import (
    LiveGroupWindows,
    WindowRule,
    close_gaps,
    find_windows,
    group_windows,
)

__all__ = [
    "ABSENT",
    "NOT_REM",
    "REM",
    "ForecastModel",
    "GroupDraws",
    "GroupForecast",
    "GroupWindow",
    "Hysteresis",
    "LiveGroupWindows",
    "LiveScheduler",
    "NightTracker",
    "RemForecast",
    "Schedule",
    "Session",
    "Timeline",
    "WindowEvent",
    "WindowRule",
    "build_timeline",
    "close_gaps",
    "find_windows",
    "fit",
    "group_windows",
    "hysteresis",
    "load_model",
    "night_codes",
    "night_periods",
    "propose_sessions",
    "simulate_group",
]
