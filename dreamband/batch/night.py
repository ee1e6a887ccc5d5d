"""Analyse one night: stage it (or read its scoring), find REM periods, compute statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from dreamband.batch.discover import NightInput
from dreamband.core.hypnogram import Hypnogram
from dreamband.core.periods import RemPeriod
from dreamband.spindles import Spindles
from dreamband.staging.night_events import spindle_figures
from dreamband.stats import night_window, sleep_statistics
from dreamband.storage.results import (
    SCHEMAS,
    epochs_table,
    hypnogram_from_epochs,
    rem_periods_table,
    spindles_table,
)

if TYPE_CHECKING:  # pragma: no cover
    from dreamband.batch.runner import BatchOptions

__all__ = ["NightResult", "analyse_night", "nights_table", "stage_input"]

@dataclass
class NightResult:
    """Tables and a short summary of one analysed night."""

    tables: dict[str, pa.Table]
    n_epochs: int
    summary: dict[str, Any] = field(default_factory=dict)


def stage_input(
    inp: NightInput, options: BatchOptions
) -> tuple[Hypnogram, list[RemPeriod], Spindles | None]:
    """Stage a night (EEG or heart) or read its scoring; return hypnogram, REM periods and
    spindles.

    The hypnogram covers the whole recording; REM periods carry eye-movement counts when
    an EOG channel was available; spindles (N1-N3, on the staging EEG channel) come with
    nights staged from EEG, None otherwise.
    """
    from dreamband.rem import rem_periods

    if inp.kind == "scored":
        from dreamband.io import read_hypnogram

        hyp = read_hypnogram(inp.path)
        return hyp, rem_periods(hyp, participant=inp.participant), None
    if inp.kind == "session":
        if options.session_stages == "raw":
            from dreamband.batch.restage import restage_participant

            got = restage_participant(inp.path.parent, inp.participant, options.engine)
            if got is not None:
                return got
        hyp = read_session_participant(inp.path, inp.participant)
        return hyp, rem_periods(hyp, participant=inp.participant), None
    if inp.kind == "record":
        from dreamband.batch.records import stage_record_band

        return stage_record_band(inp.path, options.engine, options.epoch)
    if inp.kind == "heart":
        from dreamband.staging.heart import stage_heart_file

        hyp = stage_heart_file(inp.path)
        return hyp, rem_periods(hyp, participant=inp.participant), None
    from dreamband.staging.api import stage_recording
    from dreamband.staging.inputs import read_recording
    from dreamband.staging.night_events import night_events

    rec = read_recording(inp.path)
    hyp = stage_recording(rec, engine=options.engine, epoch_length=options.epoch)
    periods, spindles = night_events(rec, hyp, inp.participant)
    return hyp, periods, spindles


#: Sessions whose ``session.json`` has no ``wall_origin`` (replays aligned by lights-off,
#: sessions written before it was recorded) have no wall-clock date: their epochs are placed
#: on this synthetic date, the same for every participant of a session, so that the
#: session's participants line up with each other.
SESSION_DATE = datetime(2000, 1, 1)


def session_origin(folder: Path) -> datetime:
    """Wall-clock time (local clock of the lab, naive) at host time 0 of a live session, the
    time its ``onset_s`` values count from; :data:`SESSION_DATE` when the session did not
    record its ``wall_origin`` (the wall-clock time of the grid origin)."""
    import json

    from dreamband.errors import InputFileError

    meta_file = folder / "session.json"
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return SESSION_DATE
    raw = meta.get("wall_origin") if isinstance(meta, dict) else None
    if raw is None:
        return SESSION_DATE
    try:
        wall = datetime.fromisoformat(str(raw)).replace(tzinfo=None)
        origin = float(meta.get("origin", 0.0))
    except (TypeError, ValueError):
        raise InputFileError(meta_file, f"not an ISO date-time with a numeric origin: {raw!r}",
                             "wall_origin") from None
    return wall - timedelta(seconds=origin)


def read_session_participant(epochs_file: Path, participant: str) -> Hypnogram:
    """One participant's live stages from a session's ``epochs.parquet``.

    A session that crashed (or is still running) has no ``epochs.parquet`` yet: its epochs
    are read from the journal's segments beside it (``epochs/seg-*.arrows``, up to each
    segment's last complete batch), so nothing the live engine staged is lost to batch.
    Unscored epochs (too much signal missing) stay unscored; probabilities are those the
    live stager announced. The hypnogram starts at the wall-clock time of the participant's
    first epoch (see :func:`session_origin`). A session resumed after a crash
    (``dreamband lab --resume``) is one night: the rows of every run, on the session's grid,
    with the epochs lost in between unscored.
    """
    import pyarrow.compute as pc

    from dreamband.errors import InputFileError
    from dreamband.live.journal import EPOCH_SCHEMA, read_journal

    try:
        table = read_journal(epochs_file.with_suffix(""), EPOCH_SCHEMA)
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputFileError(epochs_file, f"not a readable Parquet file ({exc})") from None
    needed = {"participant", "onset_s", "duration_s", "scheme", "stage_code", "scored"}
    missing = sorted(needed - set(table.column_names))
    if missing:
        raise InputFileError(epochs_file, "not a live session epochs table",
                             f"column {missing[0]!r}")
    rows = table.filter(pc.equal(table["participant"], participant)).sort_by("onset_s")
    if rows.num_rows == 0:
        raise InputFileError(epochs_file, f"no epochs of participant {participant!r}")
    offset = float(rows["onset_s"][0].as_py())
    origin = session_origin(epochs_file.parent)
    state = "" if epochs_file.is_file() else " (not closed: read from its journal)"
    return hypnogram_from_epochs(rows, start_time=origin + timedelta(seconds=offset),
                                 source=f"live session {epochs_file.parent.name}{state}")


def analyse_night(inp: NightInput, options: BatchOptions) -> NightResult:
    """Everything batch computes for one night.

    Returns
    -------
    NightResult
        ``epochs`` (every epoch of the recording), ``rem_periods`` and ``nights`` (one row
        of statistics over the in-bed window) tables.
    """
    hyp, periods, spindles = stage_input(inp, options)
    window = night_window(hyp)
    stats = sleep_statistics(window)
    lo, hi = window.offset, window.offset + window.duration
    in_window = [p for p in periods if p.end > lo and p.start < hi]
    has_eog = _has_eog(hyp)
    summary: dict[str, Any] = {
        "participant": inp.participant,
        "source": str(inp.path),
        "kind": inp.kind,
        "scheme": hyp.scheme,
        "hypnogram_source": hyp.source,
        "start_time": hyp.start_time,
        "in_bed_start_s": float(lo),
        "in_bed_end_s": float(hi),
        "n_epochs": hyp.n_epochs,
        "rem_cycles": len(in_window),
        "rem_density_per_min": _density(in_window) if has_eog else float("nan"),
        **stats,
        **_quality(hyp, window),
        **spindle_figures(spindles, window),
    }
    if inp.reference is not None and inp.kind != "scored":
        summary.update(_agreement(hyp, inp))
    tables = {
        "epochs": epochs_table(hyp, inp.participant),
        "rem_periods": rem_periods_table(periods, inp.participant, has_eog),
        "spindles": _spindle_rows(spindles, hyp, inp.participant),
        "nights": nights_table([summary]),
    }
    return NightResult(tables, hyp.n_epochs, summary)


def _quality(hyp: Hypnogram, window: Hypnogram) -> dict[str, float]:
    """Signal-quality summary of the in-bed window.

    ``artefact_pct``: EEG epochs flagged flat, clipped or artefact by the evidence
    detectors. ``signal_valid_pct``: heart nights, share of the night covered by clean
    beats. Absent (NaN) where the night has no such information (scored nights).
    """
    out: dict[str, float] = {}
    bad = hyp.meta.get("bad_epochs")
    if bad is not None and len(bad) == hyp.n_epochs:
        first = round((window.offset - hyp.offset) / hyp.epoch_length)
        part = np.asarray(bad)[first : first + window.n_epochs]
        out["artefact_pct"] = 100.0 * float(part.mean()) if part.size else float("nan")
    valid = hyp.meta.get("valid_fraction")
    if valid is not None:
        out["signal_valid_pct"] = 100.0 * float(valid)
    return out


def _has_eog(hyp: Hypnogram) -> bool:
    """Eye movements were counted: the night was staged from EEG with an EOG channel (a
    file, a record folder's band, a live participant restaged from its raw streams;
    :func:`dreamband.staging.night_events.night_events` counts them whenever staging
    picked one)."""
    return bool((hyp.meta.get("channels") or {}).get("eog"))


def _spindle_rows(spindles: Spindles | None, hyp: Hypnogram, participant: str) -> pa.Table:
    """The night's ``spindles`` rows (none for a night not staged from EEG)."""
    from dreamband.spindles.detect import empty_spindles

    sp = empty_spindles() if spindles is None else spindles
    base = None
    if hyp.start_time is not None:
        base = hyp.start_time - timedelta(seconds=hyp.offset)
    return spindles_table(sp, participant, base)


def _density(periods: list[RemPeriod]) -> float:
    minutes = sum(p.duration for p in periods) / 60.0
    moves = sum(p.eye_movements for p in periods)
    return float(moves / minutes) if minutes > 0 else float("nan")


def _agreement(hyp: Hypnogram, inp: NightInput) -> dict[str, float]:
    """Kappa and accuracy against the expert hypnogram found beside the recording."""
    from dreamband.evaluation.metrics import classification_report
    from dreamband.io import read_hypnogram

    ref = read_hypnogram(inp.reference)
    if hyp.scheme == "wearable":
        ref = ref.to_wearable()
    if ref.epoch_length != hyp.epoch_length:
        return {}
    # epoch i of hyp starts where epoch i + shift of the reference does
    shift = round((hyp.offset - ref.offset) / hyp.epoch_length)
    lo = max(0, -shift)
    hi = min(hyp.n_epochs, ref.n_epochs - shift)
    if hi <= lo:
        return {}
    rep = classification_report(
        ref.stages[lo + shift : hi + shift], hyp.stages[lo:hi],
        [c.value for c in hyp.classes], [c.label for c in hyp.classes],
    )
    return {"ref_kappa": rep["kappa"], "ref_accuracy": rep["accuracy"], "ref_epochs": rep["n"]}


def nights_table(rows: list[dict[str, Any]]) -> pa.Table:
    """The ``nights`` table (documented schema ``SCHEMAS["nights"]``) from night summaries.

    Columns a night does not have (``N1_min`` for a heart-rate night, ``ref_kappa``
    without a reference) are null; keys outside the schema are dropped.
    """
    schema = SCHEMAS["nights"]
    columns = {
        f.name: pa.array([_clean(r.get(f.name)) for r in rows], f.type) for f in schema
    }
    return pa.table(columns, schema=schema)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value
