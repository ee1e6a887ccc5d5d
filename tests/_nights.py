"""Synthetic scored nights for plumbing tests (never for accuracy figures)."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from dreamband.core import Hypnogram


def scored_night(seed: int, start: datetime, n: int = 600) -> Hypnogram:
    """A plausible scored night: wake, then NREM/REM cycles of ~90 min, then wake."""
    rng = np.random.default_rng(seed)
    stages = np.zeros(n, dtype=np.int8)
    t = int(rng.integers(10, 30))
    while t < n - 20:
        nrem = int(rng.integers(110, 150))
        stages[t : t + nrem] = rng.choice([1, 2, 2, 2, 3], size=min(nrem, n - t))
        t += nrem
        rem = int(rng.integers(15, 50))
        stages[t : min(t + rem, n - 20)] = 4
        t += rem
    stages[n - 20 :] = 0
    return Hypnogram(stages, start_time=start, source=f"synthetic {seed}")
