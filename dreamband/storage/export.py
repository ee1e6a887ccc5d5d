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
  strap sends before it has a beat) are left out and counted. ``time_s`` is the time of
  the beat closing the interval (rebuilt from the notifications), and both columns are
  written with the decimals that read back as the same numbers, so ``dreamband stage`` and
  ``dreamband batch`` get the beats that restaging the session uses (after lost
  notifications an interval opens a stretch of its own:
  :func:`dreamband.io.rr_csv.read_rr_csv`).

Time zero of every file is the session's epoch-grid origin, so epoch ``k`` of a file is
epoch ``k`` of the session; the EDF start time is the session's wall clock there (to the
second, as EDF stores it; unknown for a replay aligned by lights-off). Without a session
(``dreamband record``) time zero is the first sample of the folder.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from dreamband.errors import InputFileError
from dreamband.io.edf import SKIP_LABEL
from dreamband.io.rr_csv import HR_BPM_RANGE, RR_MS_RANGE
from dreamband.storage.raw import _safe
from dreamband.storage.raw_signals import (
    RawFolder,
    RegularSignal,
    beat_times,
    open_raw_folder,
    regular_signal,
)

__all__ = ["SKIP_LABEL", "ExportedFile", "channel_label", "export_session", "export_signal"]

logger = logging.getLogger(__name__)

_PREFIX = {"eeg": "EEG", "eog": "EOG", "emg": "EMG", "ecg": "ECG", "acc": "ACC", "ppg": "PPG"}
_UNIT = {"eeg": "uV", "ecg": "uV", "acc": "g", "ppg": ""}


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


def _physical_range(x: np.ndarray) -> tuple[float, float]:
    lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    if hi - lo < 1e-3:
        lo, hi = lo - 1.0, hi + 1.0
    pad = 0.01 * (hi - lo)
    return math.floor(lo - pad), math.ceil(hi + pad)


def _stream_fs(raw: RawFolder, band: str, stream: str) -> float:
    """Sampling rate of a stream from its metadata (0 when irregular)."""
    fs = (raw.table(band, stream).schema.metadata or {}).get(b"fs", b"").decode()
    return float(fs) if fs else 0.0


def channel_label(name: str, stream: str, roles: dict[str, str]) -> str:
    """EDF label of a channel: the kind of the role the session gave it (a right EOG is an
    EOG), else of its stream, then its name, e.g. ``EOG AF8`` or ``EEG TP9``.

    Parameters
    ----------
    name : str
        Channel name as the band names it.
    stream : str
        The stream holding it (``eeg``, ``ecg``, ...).
    roles : dict
        Channel -> role (:meth:`RawFolder.roles`; empty for a ``dreamband record`` folder).

    Returns
    -------
    str
        At most 16 characters, as EDF allows.
    """
    kind = {"roc": "eog"}.get(roles.get(name, stream), roles.get(name, stream))
    return f"{_PREFIX.get(kind, kind.upper())} {name}"[:16]


def export_signal(
    raw: RawFolder, band: str, stream: str, channels: list[str] | None = None
) -> RegularSignal:
    """A regular stream on the sample grid of its exported EDF: from the folder's time zero,
    lengthened to whole 1-s data records when the rate allows them.

    Parameters
    ----------
    raw : RawFolder
        The session or record folder.
    band, stream : str
        Which band folder and stream.
    channels : list of str, optional
        Only these channels, read for the caller alone (default: every channel, kept in
        ``raw``).

    Returns
    -------
    RegularSignal
    """
    if channels is None:
        table = raw.table(band, stream)
    else:
        table = raw.table(band, stream, channels, keep=False)
    fs = (table.schema.metadata or {}).get(b"fs", b"").decode()
    return regular_signal(table, raw.t0, pad_to=1.0 if fs and float(fs).is_integer() else None)


def _write_edf(raw: RawFolder, band: str, stream: str, path: Path,
               participant: str) -> ExportedFile:
    import edfio

    sig = export_signal(raw, band, stream)
    roles = raw.roles(participant)
    start = raw.wall_time()
    signals = []
    eeg = ""
    for name, x in zip(sig.channels, sig.data, strict=True):
        label = channel_label(name, stream, roles)
        if roles.get(name) == "eeg":
            eeg = label
        values = x[sig.present]
        signals.append(edfio.EdfSignal(
            np.where(sig.present, x, 0.0), sig.fs, label=label,
            physical_dimension=_UNIT.get(stream, ""), physical_range=_physical_range(values),
            transducer_type=f"dreamband {stream} stream",
            prefiltering=f"band {sig.device}"[:80]))
    skips = [(a, b - a) for a, b in sig.gaps()]
    anns = [edfio.EdfAnnotation(onset, duration, SKIP_LABEL) for onset, duration in skips]
    recording = edfio.Recording(
        startdate=None if start is None else start.date(),
        equipment_code="dreamband-export",
        additional=(f"participant={participant}", f"stream={stream}"))
    edf = edfio.Edf(signals, patient=edfio.Patient(code=participant.replace(" ", "_")[:20]),
                    recording=recording,
                    starttime=None if start is None else start.time().replace(microsecond=0),
                    data_record_duration=1.0 if float(sig.fs).is_integer() else None,
                    annotations=anns)
    edf.write(path)
    return ExportedFile(path, participant, stream, sig.n_values, len(skips),
                        float(sum(d for _, d in skips)), eeg=eeg)


def _write_csv(table: pa.Table, path: Path, stream: str, t0: float,
               participant: str) -> ExportedFile:
    col = next(c for c in table.column_names if c.startswith("ch_"))
    t = table.column("host_time").to_numpy() - t0
    v = table.column(col).to_numpy().astype(float)
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    if stream == "rr":
        plausible = np.isfinite(v) & (v >= RR_MS_RANGE[0] / 1000) & (v <= RR_MS_RANGE[1] / 1000)
        t = t.copy()
        t[plausible] = beat_times(t[plausible], v[plausible])  # the beat, not the notification
        v = v * 1000.0
        lo, hi = RR_MS_RANGE
        # shortest exact decimals: the file's beats are the session's, bit for bit
        header, rows = "rr_ms,time_s", lambda tt, vv: f"{vv!r},{tt!r}"
    else:
        lo, hi = HR_BPM_RANGE
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
    raw = open_raw_folder(folder)
    owner = raw.owner
    if participants:
        missing = [p for p in participants if p not in owner.values()]
        if missing:
            raise InputFileError(raw.folder, f"no raw streams of participant(s) {missing}; it "
                                 f"holds {sorted(set(owner.values()))}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    chosen = [(b, s) for b, s in raw.streams if not participants or owner[b] in participants]
    written = []
    for band, stream in chosen:
        who = owner[band]
        stem = _safe(who) if len(raw.bands_of(who)) == 1 else f"{_safe(who)}-{band}"
        if _stream_fs(raw, band, stream):
            written.append(_write_edf(raw, band, stream, out / f"{stem}-{stream}.edf", who))
        elif stream in ("rr", "hr"):
            written.append(_write_csv(raw.table(band, stream), out / f"{stem}-{stream}.csv",
                                      stream, raw.t0, who))
        else:
            logger.warning("%s: stream %s of band %s has no sampling rate; not exported",
                           raw.folder, stream, band)
    return written
