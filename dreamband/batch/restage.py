"""Stage a live session's participants again, in batch, from the raw streams they recorded.

A lab run or replay stages every participant live: past-only evidence, forward-only
smoothing, decisions within a second of each epoch's end. The session folder also keeps
every raw sample the bands sent (:mod:`dreamband.storage.raw`). In nightly batch analysis
the whole night is known, so ``dreamband batch`` stages those samples again with the batch
engines (two-sided context, forward-backward smoothing), on the session's own epoch grid:
EEG participants with the ``rules`` (or ``model``) engine on the channels the session gave
the EEG, EOG and EMG roles, chest straps from their RR intervals with the batch heart model.
Epochs the band lost more than 20 % of are unscored, as live. Participants whose raw
streams cannot be restaged (a heart-rate-only or ECG band, a band swapped mid-night, a
session recorded without raw streams, a session resumed by a dreamband that did not
record each run's clock) keep their live stages. A resumed session's runs keep host times
on clocks of their own; :mod:`dreamband.storage.raw_signals` puts them on the first run's.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from dreamband.core.beats import BeatSeries
from dreamband.core.hypnogram import Hypnogram
from dreamband.core.periods import RemPeriod
from dreamband.errors import InputFileError
from dreamband.spindles import Spindles

__all__ = ["restage_participant"]

logger = logging.getLogger(__name__)


def restage_participant(
    folder: Path, participant: str, engine: str = "rules"
) -> tuple[Hypnogram, list[RemPeriod], Spindles | None] | None:
    """Batch stages of one participant of a session folder, from its raw streams.

    Parameters
    ----------
    folder : Path
        The session folder.
    participant : str
        Participant name.
    engine : {"rules", "model"}
        EEG staging engine.

    Returns
    -------
    (Hypnogram, list of RemPeriod, Spindles or None) or None
        The hypnogram from the session's grid origin (epoch ``k`` is the session's epoch
        ``k``; onsets in seconds of the session's host clock and ``start_time`` the
        wall-clock time of epoch 0, as for the live stages), REM periods with eye
        movements counted on the EOG-role channel, and the NREM spindles of the EEG-role
        channel (None for a chest strap), all on the host clock; None when the
        participant's raw streams cannot be restaged (see the module docstring).
    """
    from dreamband.batch.night import session_origin
    from dreamband.rem import rem_periods
    from dreamband.staging.api import stage_recording
    from dreamband.staging.heart import stage_heart
    from dreamband.staging.night_events import night_events
    from dreamband.storage.raw_signals import open_raw_folder, participant_recording

    try:
        raw = open_raw_folder(folder)
    except InputFileError:
        return None  # no raw streams: the live stages are all there is
    if not raw.resumable:
        # resumed by a dreamband that did not record each run's clock: the later runs' raw
        # rows cannot be placed on the session's grid
        logger.info("%s: resumed session without run clocks: %s keeps the live stages",
                    folder, participant)
        return None
    signals = participant_recording(raw, participant)
    if signals is None:
        return None
    epoch = float(raw.meta.get("epoch_length", 30.0))
    wall = session_origin(folder) + timedelta(seconds=raw.t0)
    source = f"batch restaging of live session {folder.name}"
    if isinstance(signals, BeatSeries):
        beats = BeatSeries(signals.times, start_time=wall, source=signals.source,
                           participant=participant)
        hyp = stage_heart(beats)  # epochs the beats cover less than 80 % of: unscored
        hyp = replace(hyp, start_time=wall, offset=hyp.offset + raw.t0,
                      source=f"{hyp.source}; {source}")
        return hyp, rem_periods(hyp, participant=participant), None
    roles = signals.meta.get("roles", {})
    by_role = {role: ch for ch, role in roles.items()}
    rec = replace(signals, start_time=wall)
    hyp = stage_recording(
        rec, eeg=by_role.get("eeg"), eog=by_role.get("eog", "none"),
        emg=by_role.get("emg", "none"), engine=engine, epoch_length=epoch)
    # onsets on the session's host clock, as the live stages have them; the recording's
    # times (eye movements, spindles) count from the grid origin, raw.t0 on that clock
    hyp = replace(hyp, offset=hyp.offset + raw.t0, source=f"{hyp.source}; {source}")
    if by_role.get("roc") and hyp.meta.get("channels", {}).get("eog"):
        hyp.meta["channels"]["roc"] = by_role["roc"]  # eye movements from the LOC/ROC pair
    periods, spindles = night_events(rec, hyp, participant, clock_offset=raw.t0)
    logger.info("%s: %s restaged from the raw streams (%d epochs)", folder, participant,
                hyp.n_epochs)
    return hyp, periods, spindles

