"""Describe any file dreamband reads as a plain dict (what ``dreamband info`` prints).

Every summary has ``kind`` (``recording``, ``hypnogram``, ``wfdb``, ``beats``,
``heart_rate``, ``spindles``, ``features``) and ``path``; the other keys depend on the kind.
Times are ISO strings, durations seconds, stage time minutes.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from dreamband.core.hypnogram import Hypnogram
from dreamband.core.recording import Recording
from dreamband.errors import InputFileError
from dreamband.io.text import text_lines

__all__ = ["describe", "describe_hypnogram", "describe_recording"]

_HYPNO_EXT = {".csv", ".parquet"}


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat(sep=" ")


def describe_hypnogram(hyp: Hypnogram, fmt: str = "") -> dict[str, Any]:
    """Summary of a hypnogram: epochs, start, minutes per stage and in total, in-bed epochs,
    sleep statistics (:func:`night_statistics`)."""
    minutes = hyp.minutes_per_stage()
    out: dict[str, Any] = {
        "kind": "hypnogram",
        "path": hyp.source,
        "format": fmt,
        "scheme": hyp.scheme,
        "start_time": _iso(hyp.start_time),
        "offset_s": hyp.offset,
        "epoch_length_s": hyp.epoch_length,
        "n_epochs": hyp.n_epochs,
        "minutes": minutes,
        "total_minutes": hyp.duration / 60.0,
        "scored_minutes": hyp.duration / 60.0 - minutes.get("?", 0.0),
    }
    if np.any(hyp.stages > 0):
        crop = hyp.crop_in_bed()
        out["in_bed"] = {
            "n_epochs": crop.n_epochs,
            "start_s": crop.offset,
            "end_s": crop.offset + crop.duration,
        }
    out["statistics"] = night_statistics(hyp)
    return out


def night_statistics(hyp: Hypnogram) -> dict[str, Any]:
    """The night's sleep statistics (:func:`dreamband.stats.sleep_statistics`) over the
    window batch reports them on (:func:`dreamband.stats.night_window`), JSON-ready: the
    window's start and end in seconds, NaN as None."""
    from dreamband.stats import night_window, sleep_statistics

    window = night_window(hyp)
    stats = {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
             for k, v in sleep_statistics(window).items()}
    return {"window_start_s": window.offset, "window_end_s": window.offset + window.duration,
            **stats}


def describe_recording(rec: Recording, fmt: str = "") -> dict[str, Any]:
    """Summary of a recording: channels with fs, unit, kind and duration; start time."""
    return {
        "kind": "recording",
        "path": rec.source,
        "format": fmt,
        "start_time": _iso(rec.start_time),
        "duration_s": rec.duration,
        "channels": [
            {
                "name": c.name,
                "fs": c.fs,
                "unit": c.unit,
                "kind": c.kind,
                "n_samples": c.n_samples,
                "duration_s": c.duration,
            }
            for c in rec.channels
        ],
    }


def _describe_edf(
    path: Path, hypnogram: str | os.PathLike | None, channels: list[str] | None
) -> dict[str, Any]:
    from dreamband.io.dispatch import read_hypnogram
    from dreamband.io.edf import channel_kind, edf_gaps, select_channels
    from dreamband.io.edf_header import read_edf_info, to_microvolt
    from dreamband.io.sleepedf import find_hypnogram, read_sleepedf_hypnogram, sleepedf_record

    info = read_edf_info(path)
    if not info.channels:  # annotation-only: a hypnogram
        return describe_hypnogram(read_hypnogram(path), "edf-hypnogram")
    out: dict[str, Any] = {
        "kind": "recording",
        "path": str(path),
        "format": info.file_type,
        "start_time": _iso(info.start_time),
        "duration_s": info.duration,
        "channels": [
            {
                "name": c.name,
                "fs": c.fs,
                "unit": "uV" if to_microvolt(c.unit) is not None else c.unit,
                "file_unit": c.unit,
                "kind": channel_kind(c.name),
                "n_samples": c.n_samples,
                "duration_s": c.duration,
            }
            for c in (info.channels[i] for i in select_channels(info, channels))
        ],
    }
    gaps = edf_gaps(path, info)
    if gaps:  # EDF+D record gaps and BAD_ACQ_SKIP spans: samples read as NaN there
        out["gaps"] = [[a, b] for a, b in gaps]
        out["span_s"] = max(info.duration, gaps[-1][1])
        if info.file_type.endswith("+D"):
            from dreamband.io.edf_records import record_onsets

            onsets = record_onsets(path, info)
            out["span_s"] = float(onsets[-1] + info.record_duration)
    if hypnogram is None and sleepedf_record(path) is not None:
        try:
            hypnogram = find_hypnogram(path)
        except InputFileError:
            hypnogram = None
    if hypnogram is not None:
        hp = Path(hypnogram)
        if sleepedf_record(hp) is not None and hp.suffix.lower() == ".edf":
            hyp = read_sleepedf_hypnogram(hp, psg_duration=info.duration, psg_start=info.start_time)
            out["hypnogram"] = describe_hypnogram(hyp, "sleep-edf")
        else:
            _attach_hypnogram(out, hp)
    return out


def _attach_hypnogram(out: dict[str, Any], hypnogram: str | os.PathLike) -> None:
    """Check a hypnogram against a recording summary's duration and add its summary."""
    from dreamband.io.dispatch import hypnogram_format, read_hypnogram

    hp = Path(hypnogram)
    hyp = read_hypnogram(hp)
    end = hyp.offset + hyp.duration
    # an epoch may overhang the end by less than one epoch (recordings rarely end on the grid)
    if end > out["duration_s"] + hyp.epoch_length - 1e-6:
        raise InputFileError(
            hp,
            f"does not match its recording: ends at {end:g} s but "
            f"{Path(out['path']).name} lasts {out['duration_s']:g} s",
            "duration",
        )
    out["hypnogram"] = describe_hypnogram(hyp, hypnogram_format(hp))


def _describe_wfdb(path: Path) -> dict[str, Any]:
    from dreamband.io.slpdb import (
        read_slpdb_beats,
        read_slpdb_header,
        read_slpdb_stages,
        record_base,
    )

    base = record_base(path)
    h = read_slpdb_header(base)
    out: dict[str, Any] = {
        "kind": "wfdb",
        "path": str(base),
        "record": h.record,
        "fs": h.fs,
        "n_samples": h.n_samples,
        "duration_s": h.duration,
        "start_time": _iso(h.start_time),
        "signals": [{"name": n, "unit": u} for n, u in zip(h.signals, h.units)],
        "comments": h.comments,
    }
    if base.with_name(base.name + ".ecg").is_file():
        beats = read_slpdb_beats(base)
        symbols, counts = np.unique(beats.symbols, return_counts=True)
        out["beats"] = {
            "n_beats": len(beats),
            "symbols": {str(s): int(c) for s, c in zip(symbols, counts)},
            "median_hr_bpm": float(60.0 / np.median(beats.rr)) if len(beats) > 1 else None,
        }
    if base.with_name(base.name + ".st").is_file():
        out["hypnogram"] = describe_hypnogram(read_slpdb_stages(base), "slpdb")
    return out


def _describe_txt(path: Path) -> dict[str, Any]:
    from dreamband.io.dispatch import read_hypnogram
    from dreamband.io.dreams import read_dreams_eeg, read_dreams_spindles
    from dreamband.io.yasa_samples import read_yasa_eeg_txt

    with path.open("rb") as fh:
        first = fh.readline(200).decode("latin-1").strip()
    if first.lower() == "[hypnogram]":
        return describe_hypnogram(read_hypnogram(path), "dreams")
    if "spindles" in first.lower():
        sp = read_dreams_spindles(path)
        return {
            "kind": "spindles",
            "path": str(path),
            "channel": sp.channel,
            "n_spindles": len(sp),
            "mean_duration_s": float(sp.durations.mean()) if len(sp) else None,
        }
    if re.fullmatch(r"\[.+\]", first):
        return describe_recording(read_dreams_eeg(path), "dreams-txt")
    if "hypno" in path.name.lower() or not re.search(r"\d+Hz", path.name):
        return describe_hypnogram(read_hypnogram(path), "int-txt")
    return describe_recording(read_yasa_eeg_txt(path), "yasa-txt")


def _describe_csv(path: Path) -> dict[str, Any]:
    from dreamband.io.dispatch import read_hypnogram
    from dreamband.io.rr_csv import read_heart_csv

    first = text_lines(path).readline().strip().lower()
    if first.startswith("onset,duration,stage"):
        return describe_hypnogram(read_hypnogram(path), "csv")
    heart = read_heart_csv(path)
    if hasattr(heart, "rr"):
        return {
            "kind": "beats",
            "path": str(path),
            "n_beats": len(heart),
            "duration_s": heart.duration,
            "median_hr_bpm": float(60.0 / np.median(heart.rr)),
        }
    return {
        "kind": "heart_rate",
        "path": str(path),
        "n_samples": len(heart),
        "duration_s": float(heart.times[-1] - heart.times[0]),
        "median_hr_bpm": float(np.median(heart.hr)),
    }


def _describe_out(path: Path) -> dict[str, Any]:
    from dreamband.io.dispatch import read_hypnogram
    from dreamband.io.sleep_accel import read_feature_file

    if path.name.endswith("_psg_labels.out"):
        return describe_hypnogram(read_hypnogram(path), "sleep-accel")
    values = read_feature_file(path)
    return {
        "kind": "features",
        "path": str(path),
        "n_epochs": int(values.size),
        "min": float(values.min()) if values.size else None,
        "max": float(values.max()) if values.size else None,
    }


def describe(
    path: str | os.PathLike,
    hypnogram: str | os.PathLike | None = None,
    channels: list[str] | None = None,
) -> dict[str, Any]:
    """Summarise a recording, hypnogram, WFDB record or heart/feature file.

    Parameters
    ----------
    path : str or PathLike
        The file (a WFDB record may be given without extension).
    hypnogram : str or PathLike, optional
        For a recording: a hypnogram to check against it and summarise (a Sleep-EDF PSG
        finds its own hypnogram next to it).
    channels : list of str, optional
        For an EDF recording: describe only these channels.

    Raises
    ------
    InputFileError
        If the file is missing, of an unknown kind, malformed, or the hypnogram does not
        match the recording.
    ChannelNotFoundError
        If a requested channel is not in the recording.
    """
    out = _describe(Path(path), hypnogram, channels)
    if hypnogram is not None and out["kind"] == "recording" and "hypnogram" not in out:
        _attach_hypnogram(out, hypnogram)
    elif hypnogram is not None and out["kind"] != "recording":
        raise InputFileError(path, f"--hypnogram needs a recording; this is a {out['kind']} file")
    return out


_STAGE_ORDER = ("W", "N1", "N2", "N3", "NREM", "REM")


def describe_session(folder: str | os.PathLike) -> dict[str, Any]:
    """Summary of a live session folder (``dreamband lab`` / ``replay`` / ``demo``), closed
    cleanly or left behind by a crash.

    Returns
    -------
    dict
        ``kind`` ("session"), ``path``, ``complete`` (a clean close happened),
        ``wall_origin``, ``epoch_length``, ``n_events`` (by kind), ``resumes`` (each
        restart after a crash: ``wall_time``, ``first_epoch``, ``last_epoch_before``,
        ``gap_s``) and ``participants``: per participant its band kind, epochs announced,
        epochs scored, minutes per stage, REM periods and signal gaps.

    Raises
    ------
    InputFileError
        If ``session.json`` or the epochs/events tables cannot be read.
    """
    from collections import Counter

    import pyarrow as pa

    from dreamband.live.session import read_session

    folder = Path(folder)
    try:
        s = read_session(folder)
    except (OSError, pa.ArrowInvalid) as exc:  # before ValueError: ArrowInvalid is one
        raise InputFileError(folder, f"unreadable session tables ({exc})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputFileError(folder / "session.json",
                             f"not a dreamband session file ({exc})") from None
    meta, epochs, events = s["meta"], s["epochs"], s["events"]
    kinds = events.column("kind").to_pylist()
    per_person = Counter(zip(kinds, events.column("participant").to_pylist(), strict=True))
    people = []
    ep_who = np.asarray(epochs.column("participant").to_pylist(), dtype=object)
    stage = np.asarray(epochs.column("stage").to_pylist(), dtype=object)
    scored = epochs.column("scored").to_numpy(zero_copy_only=False).astype(bool)
    dur = epochs.column("duration_s").to_numpy(zero_copy_only=False).astype(float)
    for name, info in (meta.get("participants") or {}).items():
        mine = ep_who == name
        minutes: dict[str, float] = {}
        for st, d in zip(stage[mine & scored], dur[mine & scored], strict=True):
            minutes[st] = minutes.get(st, 0.0) + d / 60.0
        people.append({
            "participant": name,
            "kind": info.get("kind") if isinstance(info, dict) else None,
            "n_epochs": int(mine.sum()),
            "n_scored": int((mine & scored).sum()),
            "stage_minutes": {k: round(minutes[k], 1) for k in sorted(
                minutes, key=lambda k: (_STAGE_ORDER.index(k) if k in _STAGE_ORDER else 99, k))},
            "rem_periods": per_person[("rem_start", name)],
            "gaps": per_person[("gap", name)],
        })
    return {
        "kind": "session",
        "path": str(folder),
        "complete": bool(s["complete"]),
        "wall_origin": meta.get("wall_origin"),
        "epoch_length": meta.get("epoch_length"),
        "n_events": dict(Counter(kinds)),
        "resumes": [r for r in meta.get("resumes") or [] if isinstance(r, dict)],
        "participants": people,
        "bands_recorded": sorted(b.name for b in (folder / "raw").iterdir() if b.is_dir())
        if (folder / "raw").is_dir() else [],
    }


def _describe(p: Path, hypnogram, channels) -> dict[str, Any]:
    suffix = p.suffix.lower()
    if suffix in (".hea", ".st", ".ecg") or (
        not p.exists() and p.with_name(p.name + ".hea").is_file()
    ):
        return _describe_wfdb(p)
    if p.is_dir():
        if (p / "session.json").is_file():
            return describe_session(p)
        raise InputFileError(p, "is a folder; give a file, a WFDB record, a live session folder "
                             "or a dataset name")
    if not p.is_file():
        raise InputFileError(p, "no such file")
    if suffix in (".edf", ".bdf", ".rec"):
        return _describe_edf(p, hypnogram, channels)
    if suffix == ".txt":
        return _describe_txt(p)
    if suffix == ".csv":
        return _describe_csv(p)
    if suffix == ".parquet":
        from dreamband.io.dispatch import read_hypnogram

        return describe_hypnogram(read_hypnogram(p), "parquet")
    if suffix == ".out":
        return _describe_out(p)
    if suffix == ".npz":
        from dreamband.io.yasa_samples import read_yasa_npz

        return describe_recording(read_yasa_npz(p), "npz")
    # Unknown suffix: maybe an EDF without the usual extension.
    with p.open("rb") as fh:
        head = fh.read(8)
    if head in (b"0       ", b"\xffBIOSEMI"):
        return _describe_edf(p, hypnogram, channels)
    raise InputFileError(p, "not a file type dreamband reads (EDF/BDF, WFDB, hypnogram, CSV, ...)")
