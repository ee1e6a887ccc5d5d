"""Standard sleep statistics of one night, from its hypnogram.

Definitions follow the AASM scoring manual's summary statistics. The hypnogram is taken as
the time in bed (lights off to lights on): crop it first (``Hypnogram.crop_in_bed``) when
it covers a whole day, as Sleep-EDF's do.
"""

from __future__ import annotations

import numpy as np

from dreamband.core.hypnogram import Hypnogram
from dreamband.core.stages import SleepStage, WearableStage

__all__ = ["STAT_FIELDS", "WHOLE_DAY_S", "night_window", "sleep_statistics"]

#: A hypnogram longer than this covers more than a night (Sleep-EDF's run for a whole day):
#: its statistics are taken over the in-bed window (:meth:`Hypnogram.crop_in_bed`).
WHOLE_DAY_S = 16 * 3600.0

#: Fields returned by :func:`sleep_statistics`, in table order, with their units.
STAT_FIELDS: dict[str, str] = {
    "tib_min": "time in bed (whole hypnogram), minutes",
    "spt_min": "sleep period time, first to last sleep epoch, minutes",
    "tst_min": "total sleep time, minutes",
    "sleep_efficiency": "TST / TIB, percent",
    "sol_min": "sleep-onset latency from the hypnogram start, minutes",
    "waso_min": "wake after sleep onset within the sleep period, minutes",
    "rem_latency_min": "first REM epoch after sleep onset, minutes (NaN without REM)",
    "awakenings": "wake bouts within the sleep period",
    "unscored_min": "unscored epochs (movement, artefact, missing), minutes",
}


def sleep_statistics(hyp: Hypnogram) -> dict[str, float]:
    """Compute the summary statistics of a night.

    Parameters
    ----------
    hyp : Hypnogram
        Five-class (``aasm``) or three-class (``wearable``) hypnogram of the time in bed.

    Returns
    -------
    dict
        The fields of :data:`STAT_FIELDS`, plus ``<stage>_min`` and ``<stage>_pct`` (percent
        of TST) for each sleep stage of the scheme (``N1 N2 N3 REM`` or ``NREM REM``).
        Latencies are NaN when the night has no sleep (or no REM).
    """
    stages = hyp.stages.astype(int)
    epoch_min = hyp.epoch_length / 60.0
    wake = SleepStage.W.value if hyp.scheme == "aasm" else WearableStage.W.value
    rem = SleepStage.REM.value if hyp.scheme == "aasm" else WearableStage.REM.value
    sleep_mask = stages > wake  # every scored sleep stage has a code above W (0)
    sleep_idx = np.flatnonzero(sleep_mask)
    out: dict[str, float] = {
        "tib_min": stages.size * epoch_min,
        "unscored_min": float(np.count_nonzero(stages < 0)) * epoch_min,
    }
    if sleep_idx.size == 0:
        out.update(spt_min=0.0, tst_min=0.0, sleep_efficiency=0.0, sol_min=float("nan"),
                   waso_min=0.0, rem_latency_min=float("nan"), awakenings=0.0)
    else:
        onset, last = int(sleep_idx[0]), int(sleep_idx[-1])
        period = stages[onset : last + 1]
        tst = float(sleep_idx.size) * epoch_min
        in_wake = period == wake
        # a wake bout starts where wake follows a non-wake epoch
        bouts = int(np.count_nonzero(in_wake[1:] & ~in_wake[:-1]))
        rem_idx = np.flatnonzero(stages == rem)
        out.update(
            spt_min=(last - onset + 1) * epoch_min,
            tst_min=tst,
            sleep_efficiency=100.0 * tst / out["tib_min"],
            sol_min=onset * epoch_min,
            waso_min=float(np.count_nonzero(in_wake)) * epoch_min,
            rem_latency_min=(
                float(rem_idx[0] - onset) * epoch_min if rem_idx.size else float("nan")
            ),
            awakenings=float(bouts),
        )
    tst = out["tst_min"]
    for stage in hyp.classes:
        if stage.value == wake:
            continue
        minutes = float(np.count_nonzero(stages == stage.value)) * epoch_min
        out[f"{stage.label}_min"] = minutes
        out[f"{stage.label}_pct"] = 100.0 * minutes / tst if tst > 0 else float("nan")
    return out


def night_window(hyp: Hypnogram) -> Hypnogram:
    """The part of a hypnogram that the night's statistics describe: all of it, or the
    in-bed window of one that covers more than :data:`WHOLE_DAY_S` and holds sleep."""
    if hyp.duration > WHOLE_DAY_S and np.any(hyp.stages > 0):
        return hyp.crop_in_bed()
    return hyp
