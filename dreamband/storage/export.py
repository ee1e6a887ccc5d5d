"""Export a session's raw band streams to files other tools read: EDF+ and heart CSV.

A lab run, replay or ``dreamband record`` keeps every sample the bands sent in Arrow/Parquet
(:mod:`dreamband.storage.raw`). Scoring software, EDFbrowser, MNE and YASA read EDF, so an
expert can score a headband night and ``dreamband stage`` can stage it again in batch:

* a stream with a sampling rate (EEG, ECG, accelerometer, PPG) becomes one EDF+C file,
  ``<participant>-<stream>.edf``, with one signal per channel (labelled by kind, e.g.
  ``EEG TP9``, or by the role the session gave it, e.g. ``EOG AF8``). Samples follow the
  band's sample counter; each stretch without a gap starts at its host time. Where the
  band sent nothing (a dropped link, lost packets) the file holds zeros covered by a
  ``BAD_ACQ_SKIP`` annotation (MNE's name for skipped acquisition: MNE leaves those spans
  out, and :func:`dreamband.io.edf.read_edf` reads them back as gaps);
* RR intervals become ``<participant>-rr.csv`` (``rr_ms,time_s``) and heart rate
  ``<participant>-hr.csv`` (``time_s,hr_bpm``), the formats ``dreamband stage`` reads.
  Values no heart produces (RR outside 200-3000 ms, HR outside 20-300 bpm, e.g. the 0 a
  strap sends before it has a beat) are left out and counted.

Time zero of every file is the session's epoch-grid origin, so epoch ``k`` of a file is
epoch ``k`` of the session; the EDF start time is the session's wall clock there (to the
second, as EDF stores it; unknown for a replay aligned by lights-off). Without a session
(``dreamband record``) time zero is the first sample of the folder.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dreamband.errors import InputFileError
from dreamband.io.edf import SKIP_LABEL
from dreamband.storage.raw import _safe, list_streams, read_stream

__all__ = ["SKIP_LABEL", "ExportedFile", "export_session"]

logger = logging.getLogger(__name__)

_PREFIX = {"eeg": "EEG", "eog": "EOG", "emg": "EMG", "ecg": "ECG", "acc": "ACC", "ppg": "PPG"}
_UNIT = {"eeg": "uV", "ecg": "uV", "acc": "g", "ppg": ""}
_RR_MS = (200.0, 3000.0)
_HR_BPM = (20.0, 300.0)


@dataclass(frozen=True)
class ExportedFile:
    """One file written by :func:`export_session`.

    Attributes
    ----------
    path : Path
        The file.
    participant : str
        Whose band (the band's folder name when the session does not say).
    stream : str
        ``eeg``, ``ecg``, ``acc``, ``ppg``, ``rr`` or ``hr``.
    n_values : int
        Samples per channel (EDF) or rows (CSV) written from the band's data.
    gaps : int
        Stretches without data (EDF: ``BAD_ACQ_SKIP`` annotations).
    gap_s : float
        Their total length in seconds (EDF).
    dropped : int
        CSV rows left out as physiologically impossible.
    eeg : str
        EDF label of the channel the session staged as EEG (empty when none).
    """

    path: Path
    participant: str
    stream: str
    n_values: int
    gaps: int = 0
    gap_s: float = 0.0
    dropped: int = 0
    eeg: str = ""


def _session(folder: Path) -> tuple[Path, dict]:
    """The raw-stream root and the session metadata (empty for a record folder)."""
    meta_file = folder / "session.json"
    if meta_file.is_file():
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputFileError(meta_file, f"cannot read the session metadata ({exc})") from None
        return folder / "raw", meta if isinstance(meta, dict) else {}
    return folder, {}


def _owners(meta: dict, bands: list[str]) -> dict[str, str]:
    """Band folder name -> participant name (the band's folder name when unknown)."""
    parts = meta.get("participants") or {}
    out: dict[str, str] = {}
    for name, entry in parts.items():
        for dev in (entry or {}).get("bands", []):
            out[_safe(dev)] = name
    if not out and len(parts) == 1 and len(bands) == 1:
        out[bands[0]] = next(iter(parts))  # sessions written before bands were recorded
    return {b: out.get(b, b) for b in bands}


def _roles(meta: dict, participant: str) -> dict[str, str]:
    """Channel -> role (``eeg``, ``eog``, ``emg``, ``roc``) the session gave it."""
    entry = (meta.get("participants") or {}).get(participant) or {}
    roles = entry.get("roles") or {}
    return {ch: role for role, ch in roles.items()
            if isinstance(ch, str) and role in ("eeg", "eog", "emg", "roc")}


def _origin(meta: dict, tables: list[pa.Table]) -> float:
    if isinstance(meta.get("origin"), int | float):
        return float(meta["origin"])
    firsts = [float(np.nanmin(t.column("host_time").to_numpy())) for t in tables if t.num_rows]
    return min(firsts, default=0.0)


def _start(meta: dict) -> datetime | None:
    wall = meta.get("wall_origin")
    if not wall:
        return None
    try:
        return datetime.fromisoformat(str(wall)).replace(tzinfo=None)
    except ValueError:
        return None


def _place_samples(idx: np.ndarray, host: np.ndarray, t0: float,
                   fs: float) -> tuple[np.ndarray, int]:
    """Sample position of every row (on the ``fs`` grid from ``t0``) and the total length.

    Rows are in stream order; a stretch of consecutive counter values keeps its spacing
    and starts at its first sample's host time, never before the previous stretch ends.
    """
    order = np.argsort(idx, kind="stable")
    idx, host = idx[order], host[order]
    breaks = np.flatnonzero(np.diff(idx) != 1) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [idx.size]])
    pos = np.empty(idx.size, dtype=np.int64)
    end = 0
    for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
        first = max(round((host[a] - t0) * fs), end)
        pos[a:b] = first + (idx[a:b] - idx[a])
        end = int(pos[b - 1]) + 1
    out = np.empty_like(pos)
    out[order] = pos
    return out, end


def _skips(present: np.ndarray, fs: float) -> list[tuple[float, float]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[1], present.view(np.int8), [1]])))
    return [(a / fs, (b - a) / fs) for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(),
                                                   strict=True)]


def _physical_range(x: np.ndarray) -> tuple[float, float]:
    lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    if hi - lo < 1e-3:
        lo, hi = lo - 1.0, hi + 1.0
    pad = 0.01 * (hi - lo)
    return math.floor(lo - pad), math.ceil(hi + pad)


def _write_edf(table: pa.Table, path: Path, stream: str, fs: float, t0: float,
               start: datetime | None, roles: dict[str, str], participant: str) -> ExportedFile:
    import edfio

    table = table.filter(pc.greater_equal(table.column("index"), 0))
    idx = table.column("index").to_numpy()
    idx, first_row = np.unique(idx, return_index=True)  # a duplicate sample is kept once
    host = table.column("host_time").to_numpy()[first_row]
    channels = [c for c in table.column_names if c.startswith("ch_")]
    pos, length = _place_samples(idx, host, t0, fs)
    per_record = fs if float(fs).is_integer() else None
    n_total = length if per_record is None else int(math.ceil(length / fs) * fs)
    n_total = max(n_total, int(per_record or 1))
    present = np.zeros(n_total, dtype=bool)
    present[pos] = True
    signals = []
    eeg = ""
    for col in channels:
        x = table.column(col).to_numpy()[first_row].astype(np.float64)
        data = np.zeros(n_total)
        data[pos] = x
        name = col[3:]
        kind = {"roc": "eog"}.get(roles.get(name, stream), roles.get(name, stream))
        label = f"{_PREFIX.get(kind, kind.upper())} {name}"[:16]
        if roles.get(name) == "eeg":
            eeg = label
        signals.append(edfio.EdfSignal(
            data, fs, label=label, physical_dimension=_UNIT.get(stream, ""),
            physical_range=_physical_range(x), transducer_type=f"dreamband {stream} stream",
            prefiltering=f"band {table.schema.metadata.get(b'device', b'').decode()}"[:80]))
    skips = _skips(present, fs)
    anns = [edfio.EdfAnnotation(onset, duration, SKIP_LABEL) for onset, duration in skips]
    recording = edfio.Recording(
        startdate=None if start is None else start.date(),
        equipment_code="dreamband-export",
        additional=(f"participant={participant}", f"stream={stream}"))
    edf = edfio.Edf(signals, patient=edfio.Patient(code=participant.replace(" ", "_")[:20]),
                    recording=recording,
                    starttime=None if start is None else start.time().replace(microsecond=0),
                    data_record_duration=1.0 if per_record else None, annotations=anns)
    edf.write(path)
    return ExportedFile(path, participant, stream, int(idx.size), len(skips),
                        float(sum(d for _, d in skips)), eeg=eeg)


def _write_csv(table: pa.Table, path: Path, stream: str, t0: float,
               participant: str) -> ExportedFile:
    col = next(c for c in table.column_names if c.startswith("ch_"))
    t = table.column("host_time").to_numpy() - t0
    v = table.column(col).to_numpy().astype(float)
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    if stream == "rr":
        v = v * 1000.0
        lo, hi = _RR_MS
        header, rows = "rr_ms,time_s", lambda tt, vv: f"{vv:.3f},{tt:.6f}"
    else:
        lo, hi = _HR_BPM
        header, rows = "time_s,hr_bpm", lambda tt, vv: f"{tt:.6f},{vv:.3f}"
    ok = np.isfinite(v) & np.isfinite(t) & (v >= lo) & (v <= hi)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(header + "\n")
        fh.writelines(rows(tt, vv) + "\n" for tt, vv in zip(t[ok].tolist(), v[ok].tolist(),
                                                            strict=True))
    return ExportedFile(path, participant, stream, int(ok.sum()), dropped=int((~ok).sum()))


def export_session(
    folder: str | os.PathLike,
    out: str | os.PathLike,
    participants: list[str] | None = None,
) -> list[ExportedFile]:
    """Write a session's (or a raw recording's) band streams as EDF+ and heart CSV files.

    Parameters
    ----------
    folder : str or PathLike
        A session folder (``dreamband lab``/``replay``/``demo``; crashed ones too) or a
        ``dreamband record`` folder.
    out : str or PathLike
        Output folder (created).
    participants : list of str, optional
        Only these participants (default: every band).

    Returns
    -------
    list of ExportedFile
        One per file written, in band and stream order.

    Raises
    ------
    InputFileError
        If the folder holds no raw streams, or a named participant has none.
    """
    folder, out = Path(folder), Path(out)
    if not folder.is_dir():
        raise InputFileError(folder, "no such session folder")
    root, meta = _session(folder)
    streams = list_streams(root) if root.is_dir() else []
    if not streams:
        raise InputFileError(folder, "holds no raw band streams to export")
    bands = sorted({b for b, _ in streams})
    owner = _owners(meta, bands)
    if participants:
        missing = [p for p in participants if p not in owner.values()]
        if missing:
            raise InputFileError(folder, f"no raw streams of participant(s) {missing}; it "
                                 f"holds {sorted(set(owner.values()))}")
    tables = {(b, s): read_stream(root, b, s) for b, s in streams
              if not participants or owner[b] in participants}
    t0 = _origin(meta, list(tables.values()))
    start = _start(meta)
    out.mkdir(parents=True, exist_ok=True)
    per_owner = {}
    for b, _ in tables:
        per_owner.setdefault(owner[b], set()).add(b)
    written = []
    for (band, stream), table in tables.items():
        who = owner[band]
        stem = _safe(who) if len(per_owner[who]) == 1 else f"{_safe(who)}-{band}"
        fs_raw = (table.schema.metadata or {}).get(b"fs", b"").decode()
        if fs_raw:
            written.append(_write_edf(table, out / f"{stem}-{stream}.edf", stream,
                                      float(fs_raw), t0, start, _roles(meta, who), who))
        elif stream in ("rr", "hr"):
            written.append(_write_csv(table, out / f"{stem}-{stream}.csv", stream, t0, who))
        else:
            logger.warning("%s: stream %s of band %s has no sampling rate; not exported",
                           folder, stream, band)
    return written
