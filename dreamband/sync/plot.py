"""Plot of the group timeline: one lane per participant, REM shaded, group windows marked."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np

from dreamband.sync.timeline import ABSENT, REM, Timeline
from dreamband.sync.types import GroupWindow

__all__ = ["plot_timeline"]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def plot_timeline(
    timeline: Timeline, windows: Sequence[GroupWindow], path: str | os.PathLike,
    title: str = "",
) -> Path:
    """Write a PNG of the timeline (matplotlib Agg backend).

    Lanes run top to bottom in participant order; REM is shaded dark, absent epochs light
    grey; each group window is a translucent band across all lanes with a bar on top. The x
    axis shows clock time when the timeline has an origin, else hours from its start.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    n = timeline.n_participants
    L = timeline.epoch_length / 3600.0
    fig, ax = plt.subplots(figsize=(12, 1.2 + 0.35 * max(n, 2)), dpi=110)
    for row in range(n):
        y = n - 1 - row
        st = timeline.states[row]
        ax.broken_barh([(s * L, (e - s) * L) for s, e in _runs(st == ABSENT)], (y - 0.4, 0.8),
                       facecolors="#e6e6e6", edgecolors="none")
        ax.broken_barh([(s * L, (e - s) * L) for s, e in _runs(st != ABSENT)], (y - 0.4, 0.8),
                       facecolors="#f7f3ea", edgecolors="none")
        ax.broken_barh([(s * L, (e - s) * L) for s, e in _runs(st == REM)], (y - 0.4, 0.8),
                       facecolors="#3b5b92", edgecolors="none")
    for w in windows:
        a, b = w.start / 3600.0, w.end / 3600.0
        ax.axvspan(a, b, color="#e8702a", alpha=0.25, lw=0)
        ax.broken_barh([(a, b - a)], (n - 0.35, 0.5), facecolors="#e8702a")
    ax.set_yticks(range(n))
    ax.set_yticklabels(list(reversed(timeline.names)), fontsize=8)
    ax.set_ylim(-0.6, n + 0.3)
    ax.set_xlim(0, timeline.n_epochs * L)
    if timeline.origin is not None:
        origin = timeline.origin

        def clock(x: float, _pos: int) -> str:
            return (origin + timedelta(hours=float(x))).strftime("%H:%M")

        ax.xaxis.set_major_formatter(FuncFormatter(clock))
        ax.set_xlabel("clock time" + (" (time of day, nights aligned)"
                                      if timeline.align == "clock" else ""))
    else:
        ax.set_xlabel("hours from timeline start")
    span = timeline.n_epochs * L
    step = 1.0 if span <= 14 else 2.0
    first = 0.0
    if timeline.origin is not None:  # ticks on whole clock hours
        o = timeline.origin
        first = (-(o.minute * 60 + o.second) / 3600.0) % 1.0
    ax.set_xticks(np.arange(first, span + 1e-9, step))
    k = windows[0].k if windows else None
    total = sum(w.duration for w in windows) / 60.0
    ax.set_title(title or (f"{n} participants, REM shaded; group windows (k={k}): "
                           f"{len(windows)}, {total:.0f} min"), fontsize=10)
    from matplotlib.patches import Patch

    handles = [Patch(color="#3b5b92", label="REM"), Patch(color="#f7f3ea", label="not REM"),
               Patch(color="#e6e6e6", label="absent"),
               Patch(color="#e8702a", alpha=0.6, label="group window")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8,
              frameon=False)
    ax.grid(axis="x", color="#cccccc", lw=0.5)
    ax.set_axisbelow(True)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
