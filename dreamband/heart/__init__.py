"""Heart signal preparation: RR/HR cleaning and regular-grid resampling (causal)."""

from dreamband.heart.grid import GRID_FS, HeartSeries, hold_on_grid, prepare_beats, prepare_hr
from dreamband.heart.rr import NORMAL_SYMBOLS, clean_hr, clean_rr, rr_from_beats

__all__ = [
    "GRID_FS",
    "NORMAL_SYMBOLS",
    "HeartSeries",
    "clean_hr",
    "clean_rr",
    "hold_on_grid",
    "prepare_beats",
    "prepare_hr",
    "rr_from_beats",
]
