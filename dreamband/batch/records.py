"""Nights of ``dreamband record`` folders: each band staged from its raw streams.

``dreamband record`` writes the raw streams of its bands into a folder of its own, with no
live engine and no session metadata (``<band>/<stream>/data.parquet`` or a crashed
recording's ``seg-*.arrows``; :mod:`dreamband.storage.raw`). ``dreamband batch`` takes such a
folder as one night per band, the participant being the band's folder name (its address),
as ``dreamband export`` names it, and stages it as batch would stage the band's exported
files, on the same grid:

* a band with an ``eeg`` stream (Muse, Ganglion): the batch EEG engine on the channels
  the engine would pick from the exported EDF's labels
  (:func:`dreamband.storage.export.channel_label`), on the export's sample grid
  (:func:`dreamband.storage.export.export_signal`); samples the band never sent are gaps;
* a band with an ``rr`` stream and no EEG (a chest strap): the batch heart model on its
  beats (:func:`dreamband.storage.raw_signals.beats_from_rr`), as a live session's strap
  is restaged (:mod:`dreamband.batch.restage`);
* a band with neither (heart rate or ECG only) is not staged, as batch does not restage
  such a participant of a live session either; discovery says so in one logged line.

Epoch 0 starts at the folder's time zero, its first sample (:func:`open_raw_folder`), as
in the exported files; a record folder has no wall clock, so the hypnograms have no start
time. ``nights.hypnogram_source`` ends with :data:`RECORD_SOURCE`.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pyarrow as pa

from dreamband.core.hypnogram import Hypnogram
from dreamband.core.periods import RemPeriod
from dreamband.core.recording import Channel, Recording
from dreamband.errors import InputFileError
from dreamband.spindles import Spindles
from dreamband.storage.raw import list_streams
from dreamband.storage.raw_signals import RawFolder

__all__ = [
    "RECORD_SOURCE",
    "band_recording",
    "is_record_folder",
    "record_streams",
    "stage_record_band",
]

logger = logging.getLogger(__name__)

#: What ``nights.hypnogram_source`` says of a band staged from a record folder.
RECORD_SOURCE = "record-raw"

#: Streams a band's night is staged from, in order of preference.
STAGED_STREAMS = ("eeg", "rr")


def is_record_folder(folder: Path) -> bool:
    """True for a folder written by ``dreamband record``: band folders holding stream
    folders with recorded rows, and no ``session.json`` (a live session, whose raw streams
    lie in its ``raw/`` folder, is not a record folder, nor is that ``raw/`` folder)."""
    if (folder / "session.json").exists():
        return False
    if folder.name == "raw" and (folder.parent / "session.json").exists():
        return False
    return any(folder.glob("*/*/data.parquet")) or any(folder.glob("*/*/seg-*.arrows"))


def record_streams(folder: Path) -> list[tuple[str, str]]:
    """``(band folder, stream)`` to stage for each band of a record folder.

    A band with neither an ``eeg`` nor an ``rr`` stream is left out with a logged warning
    naming it and its streams.
    """
    have: dict[str, set[str]] = {}
    for band, stream in list_streams(folder):
        have.setdefault(band, set()).add(stream)
    out = []
    for band, streams in sorted(have.items()):
        staged = next((s for s in STAGED_STREAMS if s in streams), None)
        if staged is None:
            logger.warning(
                "%s: band %s not analysed: only %s stream(s), and batch stages a band from "
                "its EEG or RR intervals",
                folder,
                band,
                ", ".join(sorted(streams)),
            )
            continue
        out.append((band, staged))
    return out


def stage_record_band(
    stream_dir: Path, engine: str = "rules", epoch: float = 30.0
) -> tuple[Hypnogram, list[RemPeriod], Spindles | None]:
    """Batch stages of one band of a record folder, from its raw streams.

    Parameters
    ----------
    stream_dir : Path
        ``<record folder>/<band>/<stream>``, the stream to stage from (``eeg`` or ``rr``).
    engine : {"rules", "model"}
        EEG staging engine.
    epoch : float
        Epoch length in seconds (EEG; the heart model has its own).

    Returns
    -------
    (Hypnogram, list of RemPeriod, Spindles or None)
        Onsets in seconds from the folder's time zero; REM periods with eye movements
        counted when an EOG channel was picked; an EEG band's NREM spindles.

    Raises
    ------
    InputFileError
        If the stream is not one a night is staged from, or holds no usable data.
    """
    from dreamband.rem import rem_periods
    from dreamband.storage.raw_signals import open_raw_folder

    band, stream = stream_dir.parent.name, stream_dir.name
    folder = stream_dir.parent.parent
    if stream not in STAGED_STREAMS:
        raise InputFileError(stream_dir, f"batch stages a band from {' or '.join(STAGED_STREAMS)}")
    raw = open_raw_folder(folder)
    who = raw.owner[band]
    note = f"{RECORD_SOURCE} {folder.name}"
    spindles = None
    if stream == "rr":
        hyp = _stage_rr(raw, band, who)
        periods = rem_periods(hyp, participant=who)
    else:
        hyp, periods, spindles = _stage_eeg(raw, band, who, engine, epoch)
    logger.info(
        "%s: band %s staged from its %s stream (%d epochs)", folder, band, stream, hyp.n_epochs
    )
    return replace(hyp, source=f"{hyp.source}; {note}"), periods, spindles


def _stage_rr(raw: RawFolder, band: str, who: str) -> Hypnogram:
    """The batch heart model on the band's beats, as a live session's strap is restaged
    (epochs the beats cover less than 80 % of: unscored)."""
    from dreamband.staging.heart import stage_heart
    from dreamband.storage.raw_signals import beats_from_rr

    source = f"{raw.folder} {band} rr"
    return stage_heart(beats_from_rr(raw.table(band, "rr", keep=False), raw.t0, source, who))


def _stage_eeg(
    raw: RawFolder, band: str, who: str, engine: str, epoch: float
) -> tuple[Hypnogram, list[RemPeriod], Spindles | None]:
    """The batch EEG engine on the channels picked from the exported labels; REM periods
    and spindles as for an EEG file (:func:`dreamband.staging.night_events.night_events`)."""
    from dreamband.staging.api import stage_recording
    from dreamband.staging.night_events import night_events

    rec = band_recording(raw, band, who)
    hyp = stage_recording(rec, engine=engine, epoch_length=epoch)
    periods, spindles = night_events(rec, hyp, who)
    return hyp, periods, spindles


def band_recording(raw: RawFolder, band: str, who: str) -> Recording:
    """A band's EEG stream as its exported EDF reads back, with only the channels staging
    picks from it: labelled as the export labels them, on the export's sample grid (NaN
    and ``meta["gaps"]`` where the band sent nothing).

    Parameters
    ----------
    raw : RawFolder
        The record folder.
    band : str
        Band folder.
    who : str
        Its participant (the band folder's name in a record folder).

    Returns
    -------
    Recording
    """
    from dreamband.staging.channels import pick_channels
    from dreamband.storage.export import channel_label, export_signal

    names = raw.channel_names(band, "eeg")
    labels = {name: channel_label(name, "eeg", raw.roles(who)) for name in names}
    source = f"{raw.folder} {band} eeg"
    wanted = names
    if len(names) > 1:  # a single channel is the EEG whatever its label
        choice = pick_channels(list(labels.values()), source=source)
        picked = {choice.eeg, choice.eog, choice.roc, choice.emg}
        wanted = [name for name in names if labels[name] in picked]
    sig = export_signal(raw, band, "eeg", wanted)
    pa.default_memory_pool().release_unused()  # the stream's table is gone; Arrow keeps pages
    chans = [
        Channel(labels[name], sig.data[i], sig.fs, "uV", labels[name].split(" ")[0].lower())
        for i, name in enumerate(sig.channels)
    ]
    return Recording(
        chans,
        start_time=raw.wall_time(),
        source=source,
        participant=who,
        meta={"gaps": sig.gaps(), "device": sig.device},
    )
