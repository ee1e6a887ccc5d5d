"""Plots for reports: a night's hypnogram with probabilities (group timelines come from
:func:`dreamband.sync.plot.plot_timeline`)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from dreamband.core.hypnogram import Hypnogram

__all__ = ["plot_night"]

_COLORS = {"W": "#f2c14e", "N1": "#9ecae1", "N2": "#4292c6", "N3": "#08306b", "NREM": "#4292c6",
           "REM": "#d7301f"}


def _figure(*args, **kwargs):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt, plt.subplots(*args, **kwargs)


def plot_night(
    hyp: Hypnogram, rem_periods: Sequence[Mapping], path: str | os.PathLike, title: str = ""
) -> Path:
    """Hypnogram (top) and stacked stage probabilities (bottom) of one night, as PNG.

    REM periods are shaded on both panels. Time axis in hours from the recording start.
    """
    plt, (fig, (ax1, ax2)) = _figure(2, 1, figsize=(11, 3.6), sharex=True,
                                     gridspec_kw={"height_ratios": [1.3, 1]})
    hours = (hyp.onsets + hyp.epoch_length / 2) / 3600.0
    labels = [c.label for c in hyp.classes]
    # draw stages top to bottom: W at the top, deepest sleep at the bottom, REM beside W
    order = ["W", "REM", "N1", "N2", "N3"] if hyp.scheme == "aasm" else ["W", "REM", "NREM"]
    level = {name: len(order) - i for i, name in enumerate(order)}
    names = hyp.labels()
    y = np.array([level.get(n, np.nan) for n in names], dtype=float)
    ax1.step(hours, y, where="mid", color="#333", lw=0.8)
    rem = np.array([n == "REM" for n in names])
    ax1.scatter(hours[rem], y[rem], s=2, color=_COLORS["REM"], zorder=3)
    ax1.set_yticks([level[n] for n in order], order)
    ax1.set_title(title, fontsize=10, loc="left")
    for p in rem_periods:
        for ax in (ax1, ax2):
            ax.axvspan(p["start_s"] / 3600.0, p["end_s"] / 3600.0, color=_COLORS["REM"],
                       alpha=0.12, lw=0)
    if hyp.probabilities is not None:
        ax2.stackplot(hours, hyp.probabilities.T, colors=[_COLORS[n] for n in labels],
                      labels=labels, lw=0)
        ax2.legend(loc="upper right", ncol=len(labels), fontsize=7, frameon=False)
    else:
        ax2.text(0.5, 0.5, "no probabilities (scored night)", ha="center", va="center",
                 transform=ax2.transAxes, color="#777")
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("p(stage)")
    ax2.set_xlabel("hours from recording start")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
