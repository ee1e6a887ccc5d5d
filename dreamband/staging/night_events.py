"""The events of a staged EEG night: REM periods with their eye movements, and spindles."""

from __future__ import annotations

import logging
from dataclasses import replace

from dreamband.core.hypnogram import Hypnogram
from dreamband.core.periods import RemPeriod
from dreamband.core.recording import Recording
from dreamband.core.stages import SleepStage
from dreamband.spindles import Spindles
from dreamband.staging.gaps import bridge_small_gaps

__all__ = ["SPINDLE_STAGES", "night_events", "spindle_figures"]

logger = logging.getLogger(__name__)

#: Stages whose spindles a night's table keeps.
SPINDLE_STAGES = (int(SleepStage.N1), int(SleepStage.N2), int(SleepStage.N3))


def night_events(
    rec: Recording,
    hyp: Hypnogram,
    participant: str = "",
    clock_offset: float = 0.0,
    spindles: bool = True,
) -> tuple[list[RemPeriod], Spindles | None]:
    """REM periods (eye movements counted on the EOG) and NREM spindles of a staged night.

    Parameters
    ----------
    rec : Recording
        The recording ``hyp`` was staged from; its channels are the ones staging picked
        (``hyp.meta["channels"]``: ``eeg``, ``eog``, ``roc``).
    hyp : Hypnogram
        Its hypnogram.
    participant : str
        Stored in each REM period.
    clock_offset : float
        Seconds to add to the recording's times to put them on ``hyp``'s clock (a live
        session restaged from raw streams: the session's grid origin on the host clock).
    spindles : bool
        Also search the spindles (False: REM periods only).

    Returns
    -------
    periods : list of RemPeriod
        With ``eye_movements`` counted when the night had an EOG channel.
    spindles : Spindles or None
        Spindles of the N1/N2/N3 epochs on the staging EEG channel, on ``hyp``'s clock;
        None when the night has no EEG channel to search (or one too slow for spindles).
    """
    from dreamband.rem import count_eye_movements, detect_eye_movements, rem_periods
    from dreamband.spindles import detect_spindles

    chosen = hyp.meta.get("channels") or {}
    periods = rem_periods(hyp, participant=participant)
    if chosen.get("eog") and periods:
        loc = rec.channel(chosen["eog"])
        roc = rec.channel(chosen["roc"]).data if chosen.get("roc") else None
        # lost packets bridged as staging bridges them; larger gaps searched around
        x = bridge_small_gaps(loc.data, loc.fs, hyp.epoch_length)
        if roc is not None:
            roc = bridge_small_gaps(roc, loc.fs, hyp.epoch_length)
            m = min(x.size, roc.size)
            x, roc = x[:m], roc[:m]
        times = detect_eye_movements(x, loc.fs, roc) + clock_offset
        periods = count_eye_movements(periods, times)
    found = None
    if spindles and chosen.get("eeg"):
        eeg = rec.channel(chosen["eeg"])
        try:
            sp = detect_spindles(eeg.data, eeg.fs, channel=eeg.name, stages=hyp.stages,
                                 epoch_length=hyp.epoch_length,
                                 offset=hyp.offset - clock_offset, include=SPINDLE_STAGES)
        except ValueError as exc:
            logger.info("%s: no spindles searched on %s: %s", rec.source, eeg.name, exc)
        else:
            found = replace(sp, start=sp.start + clock_offset, end=sp.end + clock_offset,
                               peak=sp.peak + clock_offset) if clock_offset else sp
    return periods, found


def spindle_figures(sp: Spindles | None, window: Hypnogram) -> dict[str, float]:
    """A night's spindle columns over its in-bed window: count, density per minute of N2
    and of N3, mean frequency (NaN/absent where there is nothing to count)."""
    if sp is None:
        return {}
    from dreamband.spindles import spindle_summary

    lo, hi = window.offset, window.offset + window.duration
    inside = sp.select((sp.start >= lo) & (sp.start < hi))
    s = spindle_summary(inside, window.stages, window.epoch_length)
    return {
        "spindles": len(inside),
        "spindle_density_N2_per_min": s["density"].get("N2", float("nan")),
        "spindle_density_N3_per_min": s["density"].get("N3", float("nan")),
        "spindle_frequency_hz": s["frequency"],
    }

