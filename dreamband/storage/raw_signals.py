"""A session's raw band streams as signals again: arrays on the session's clock with gaps.

:mod:`dreamband.storage.raw` keeps every sample a band sent, row by row, with the band's
sample counter and the host time. This module puts them back on a regular time axis, for
``dreamband export`` (EDF+, heart CSV) and for ``dreamband batch``, which stages a session's
participants again from these signals with the batch (two-sided) engines:

* a regular stream (EEG, ECG, ...) keeps the spacing of the band's sample counter; each
  stretch without a gap starts at its first sample's host time (never before the previous
  stretch ends); samples the band never delivered are NaN and listed as gaps;
* RR intervals become beat times (the host time of the beat that closes each interval).

Time zero is the session's epoch-grid origin (``session.json`` ``origin``), so epoch ``k``
of a signal is epoch ``k`` of the session; without a session (a ``dreamband record``
folder) it is the first sample of the folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dreamband.core.beats import BeatSeries, beats_from_intervals
from dreamband.core.recording import Channel, Recording
from dreamband.errors import InputFileError
from dreamband.io.rr_csv import RR_MS_RANGE
from dreamband.storage.raw import _safe, list_streams, read_stream

__all__ = [
    "RawFolder",
    "RegularSignal",
    "beat_times",
    "beats_from_rr",
    "open_raw_folder",
    "participant_recording",
    "regular_signal",
]


@dataclass(frozen=True)
class RegularSignal:
    """One regular stream on the session's sample grid.

    Attributes
    ----------
    channels : list of str
        Channel names (the band's, e.g. ``TP9``).
    data : numpy.ndarray
        ``(n_channels, n_samples)``, NaN where the band sent nothing.
    fs : float
        Sampling rate (Hz).
    present : numpy.ndarray
        ``(n_samples,)`` bool: a sample arrived.
    n_values : int
        Samples per channel that arrived.
    device : str
        The band's address.
    """

    channels: list[str]
    data: np.ndarray
    fs: float
    present: np.ndarray
    n_values: int
    device: str = ""

    def gaps(self) -> list[tuple[float, float]]:
        """``(start, end)`` seconds from time zero where no sample arrived."""
        edges = np.flatnonzero(np.diff(np.concatenate([[1], self.present.view(np.int8), [1]])))
        return [(a / self.fs, b / self.fs)
                for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True)]


@dataclass(frozen=True)
class RawFolder:
    """A session (or record) folder's raw streams and what the session says of them.

    Attributes
    ----------
    folder : Path
        The folder given.
    root : Path
        Where the band folders are (``raw/`` of a session, else the folder).
    meta : dict
        ``session.json`` ({} for a record folder).
    streams : list of (str, str)
        ``(band folder, stream)`` pairs.
    owner : dict
        Band folder -> participant (the band folder's name when the session does not say).
    t0 : float
        Host time of time zero.
    """

    folder: Path
    root: Path
    meta: dict
    streams: list[tuple[str, str]]
    owner: dict[str, str]
    t0: float
    tables: dict[tuple, pa.Table] = field(default_factory=dict, repr=False)

    def table(self, band: str, stream: str, channels: list[str] | None = None,
              keep: bool = True) -> pa.Table:
        """The rows of one stream: only ``index``, ``host_time`` and these channels when
        given (a whole night of a 4-channel band is hundreds of MB); read once when
        ``keep``, else read for the caller alone (its memory goes with the table)."""
        key = (band, stream) if channels is None else (band, stream, *channels)
        if key in self.tables:
            return self.tables[key]
        cols = None if channels is None else ["index", "host_time",
                                              *(f"ch_{c}" for c in channels)]
        table = _on_session_clock(read_stream(self.root, band, stream, columns=cols),
                                  self.meta, f"{band}/{stream}")
        if keep:
            self.tables[key] = table
        return table

    def channel_names(self, band: str, stream: str) -> list[str]:
        """Channel names of a stream from its schema (no samples read)."""
        folder = self.root / band / stream
        parquet = folder / "data.parquet"
        segments = sorted(folder.glob("seg-*.arrows"))
        try:
            if parquet.is_file():
                schema = pq.read_schema(parquet)
            else:  # a recording that crashed before compaction: its first segment
                with pa.OSFile(str(segments[0]), "rb") as src:
                    schema = pa.ipc.open_stream(src).schema
        except (IndexError, OSError, pa.ArrowInvalid):  # read the rows: they say what is wrong
            schema = self.table(band, stream, keep=False).schema
        return [name[3:] for name in schema.names if name.startswith("ch_")]

    @property
    def resumable(self) -> bool:
        """Every run's rows can be placed on the session's clock: a session never resumed,
        or resumed by a dreamband that recorded each run's clock origin and raw rows."""
        return all(isinstance(r, dict) and isinstance(r.get("origin"), int | float)
                   and isinstance(r.get("raw_rows"), dict)
                   for r in self.meta.get("resumes") or [])

    def bands_of(self, participant: str) -> list[str]:
        """Band folders of ``participant``."""
        return [b for b, who in sorted(self.owner.items()) if who == participant]

    def roles(self, participant: str) -> dict[str, str]:
        """Channel -> role (``eeg``, ``eog``, ``emg``, ``roc``) the session gave it."""
        entry = (self.meta.get("participants") or {}).get(participant) or {}
        roles = entry.get("roles") or {}
        return {ch: role for role, ch in roles.items()
                if isinstance(ch, str) and role in ("eeg", "eog", "emg", "roc")}

    def wall_time(self) -> datetime | None:
        """Wall-clock time (naive) at time zero, when the session recorded it."""
        wall = self.meta.get("wall_origin")
        if not wall:
            return None
        try:
            return datetime.fromisoformat(str(wall)).replace(tzinfo=None)
        except ValueError:
            return None


def _on_session_clock(table: pa.Table, meta: dict, key: str) -> pa.Table:
    """A resumed session's raw rows with every run's host times on the first run's clock.

    Each run of a session resumed after a crash has a host clock of its own; its
    ``resumes`` entry in ``session.json`` records the run's grid origin on that clock and
    how many rows every stream held before it. Those rows' host times are shifted by the
    difference of the origins, and their sample counters moved past the earlier runs' (a
    new connection counts afresh), so that a run starts a stretch of its own.
    """
    resumes = [r for r in meta.get("resumes") or [] if isinstance(r, dict)]
    if not resumes or not isinstance(meta.get("origin"), int | float):
        return table
    host = table.column("host_time").to_numpy().copy()
    index = table.column("index").to_numpy().copy()
    bounds = [int(r.get("raw_rows", {}).get(key, 0)) for r in resumes] + [table.num_rows]
    for r, start, stop in zip(resumes, bounds[:-1], bounds[1:], strict=True):
        if stop <= start or not isinstance(r.get("origin"), int | float):
            continue
        host[start:stop] += float(meta["origin"]) - float(r["origin"])  # this run's rows
        before = index[:start][index[:start] >= 0]
        part = index[start:stop]  # a view: shifted in place
        run = part >= 0
        if before.size and run.any():
            part[run] += max(int(before.max()) + 2 - int(part[run].min()), 0)
    table = table.set_column(table.column_names.index("host_time"), "host_time", pa.array(host))
    return table.set_column(table.column_names.index("index"), "index", pa.array(index))


def _owners(meta: dict, bands: list[str]) -> dict[str, str]:
    parts = meta.get("participants") or {}
    out: dict[str, str] = {}
    for name, entry in parts.items():
        for dev in (entry or {}).get("bands", []):
            out[_safe(dev)] = name
    if not out and len(parts) == 1 and len(bands) == 1:
        out[bands[0]] = next(iter(parts))  # sessions written before bands were recorded
    return {b: out.get(b, b) for b in bands}


def open_raw_folder(folder: str | os.PathLike) -> RawFolder:
    """Open a session or ``dreamband record`` folder's raw streams.

    Raises
    ------
    InputFileError
        If the folder is missing, its ``session.json`` unreadable, or it holds no raw
        band streams.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputFileError(folder, "no such session folder")
    meta: dict = {}
    root = folder
    meta_file = folder / "session.json"
    if meta_file.is_file():
        try:
            loaded = json.loads(meta_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputFileError(meta_file, f"cannot read the session metadata ({exc})") from None
        meta = loaded if isinstance(loaded, dict) else {}
        root = folder / "raw"
    streams = list_streams(root) if root.is_dir() else []
    if not streams:
        raise InputFileError(folder, "holds no raw band streams")
    owner = _owners(meta, sorted({b for b, _ in streams}))
    if isinstance(meta.get("origin"), int | float):
        t0 = float(meta["origin"])
    else:  # a record folder: its first sample (only the host times are read)
        times = [read_stream(root, b, s, columns=["host_time"]).column("host_time")
                 for b, s in streams]
        t0 = min((float(np.nanmin(t.to_numpy())) for t in times if len(t)), default=0.0)
    return RawFolder(folder, root, meta, streams, owner, t0)


def _place_samples(idx: np.ndarray, host: np.ndarray, t0: float,
                   fs: float) -> tuple[np.ndarray, int]:
    """Sample position of every row (on the ``fs`` grid from ``t0``) and the total length.

    A stretch of consecutive counter values keeps its spacing and starts at its first
    sample's host time, never before the previous stretch ends.
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


def regular_signal(table: pa.Table, t0: float, pad_to: float | None = None) -> RegularSignal:
    """Put a regular stream's rows on its sample grid from host time ``t0``.

    Parameters
    ----------
    table : pyarrow.Table
        Rows of :func:`dreamband.storage.raw.read_stream` (schema metadata ``fs``).
    t0 : float
        Host time of sample 0.
    pad_to : float, optional
        Extend the grid with missing samples to a multiple of this many seconds.

    Raises
    ------
    InputFileError
        If the stream has no sampling rate or no sample with a counter.
    """
    meta = table.schema.metadata or {}
    device = meta.get(b"device", b"").decode()
    fs_raw = meta.get(b"fs", b"").decode()
    if not fs_raw:
        raise InputFileError(device or "raw stream", "an irregular stream has no sample grid",
                             "fs")
    fs = float(fs_raw)
    if pc.min(table.column("index")).as_py() is None or pc.min(table.column("index")).as_py() < 0:
        table = table.filter(pc.greater_equal(table.column("index"), 0))
    if table.num_rows == 0:
        raise InputFileError(device or "raw stream", "no sample with a sample counter", "index")
    idx = table.column("index").to_numpy()
    if idx.size < 2 or bool(np.all(np.diff(idx) > 0)):
        first_row = slice(None)  # in order, no sample twice: the common case, no copies
    else:
        idx, first_row = np.unique(idx, return_index=True)  # a duplicate is kept once
    host = table.column("host_time").to_numpy()[first_row]
    pos, length = _place_samples(idx, host, t0, fs)
    if pad_to:
        step = pad_to * fs
        length = int(max(np.ceil(length / step), 1) * step) if step.is_integer() else length
    names = [c for c in table.column_names if c.startswith("ch_")]
    data = np.full((len(names), length), np.nan)
    for i, col in enumerate(names):
        data[i, pos] = table.column(col).to_numpy()[first_row]
    present = np.zeros(length, dtype=bool)
    present[pos] = True
    return RegularSignal([c[3:] for c in names], data, fs, present, int(idx.size), device)


#: Longest plausible delay (s) from a beat to the notification that carries its RR interval
#: (the Heart Rate Service notifies about once a second): beyond it, intervals were lost.
NOTIFY_DELAY_S = 1.5


def beat_times(host: np.ndarray, rr: np.ndarray, max_delay: float = NOTIFY_DELAY_S) -> np.ndarray:
    """Beat times from RR intervals and the host times of the notifications carrying them.

    A strap sends the intervals of the beats since its last notification, about once a
    second, so a notification's host time only bounds its beats from above. Within a
    stretch without loss the beats are one interval apart, and the stretch is placed as
    late as every notification allows (the tightest bound: its error is the shortest
    beat-to-notification delay of the stretch, usually milliseconds). A stretch ends where
    intervals were lost: the beats rebuilt so far fall more than ``max_delay`` behind a
    notification.

    Parameters
    ----------
    host : numpy.ndarray
        Host time (s) of each interval's row, non-decreasing.
    rr : numpy.ndarray
        The intervals (s).
    max_delay : float
        Largest beat-to-notification delay still read as no loss (s).

    Returns
    -------
    numpy.ndarray
        The time of the beat that closes each interval.
    """
    n = host.size
    if n == 0:
        return np.zeros(0)
    # pass 1: where stretches start (greedy rebuild, restarted at a loss)
    starts = [0]
    prev = -np.inf
    for i, (h, r) in enumerate(zip(host.tolist(), rr.tolist(), strict=True)):
        t = prev + r if i else h
        if h - t > max_delay:
            starts.append(i)
            t = h
        prev = min(t, h)
    # pass 2: each stretch as late as its notifications allow
    first = np.asarray(starts)
    csum = np.cumsum(rr)
    base = np.repeat(csum[first], np.diff(np.append(first, n)))
    offset = csum - base  # time from the stretch's first beat, per row
    latest = np.minimum.reduceat(host - offset, first)
    return np.repeat(latest, np.diff(np.append(first, n))) + offset


def beats_from_rr(table: pa.Table, t0: float, source: str = "",
                  participant: str = "") -> BeatSeries:
    """Beats from an RR stream (rows: an interval in s at its notification's host time;
    :func:`beat_times`); the first beat of every stretch is placed one interval before
    the beat that closes it (:func:`dreamband.core.beats.beats_from_intervals`, as
    :func:`dreamband.io.rr_csv.read_rr_csv` reads an exported RR CSV). A night's first
    beat may fall before time zero: it opens the first interval, which ends on the grid.

    Raises
    ------
    InputFileError
        If no interval is physiologically possible (0.2-3 s).
    """
    t = table.column("host_time").to_numpy() - t0
    col = next(c for c in table.column_names if c.startswith("ch_"))
    rr = table.column(col).to_numpy().astype(float)
    lo, hi = (x / 1000.0 for x in RR_MS_RANGE)
    ok = np.isfinite(t) & np.isfinite(rr) & (rr >= lo) & (rr <= hi)
    t, rr = t[ok], rr[ok]
    if t.size == 0:
        raise InputFileError(source or "RR stream", "no RR interval between 0.2 and 3 s")
    order = np.argsort(t, kind="stable")
    t, rr = t[order], rr[order]
    times = beats_from_intervals(beat_times(t, rr), rr)
    return BeatSeries(times=times, source=source, participant=participant)


def participant_recording(raw: RawFolder, participant: str) -> Recording | BeatSeries | None:
    """A participant's raw signals, ready for the batch stagers.

    An EEG participant's ``eeg`` stream becomes a :class:`Recording` on the session's clock
    (channels named as the band names them, kinds from the session's roles, gaps in
    ``meta["gaps"]``); a heart participant's ``rr`` stream a :class:`BeatSeries`. None when
    the participant has neither (a heart-rate-only or ECG band: batch then keeps the live
    stages).
    """
    entry = (raw.meta.get("participants") or {}).get(participant) or {}
    kind = entry.get("kind")
    bands = raw.bands_of(participant)
    if len(bands) != 1:
        return None  # no band, or several (a swap mid-night): keep the live stages
    band = bands[0]
    have = {s for b, s in raw.streams if b == band}
    wall = raw.wall_time()
    source = f"{raw.folder} {participant} raw"
    if kind == "eeg" and "eeg" in have:
        roles = raw.roles(participant)
        wanted = sorted(roles) if "eeg" in roles.values() else None  # staged channels only
        try:
            table = raw.table(band, "eeg", wanted, keep=False)
        except (KeyError, pa.ArrowInvalid):  # a role naming no recorded channel
            table = raw.table(band, "eeg", keep=False)
        sig = regular_signal(table, raw.t0)
        del table
        pa.default_memory_pool().release_unused()  # Arrow keeps freed pages otherwise
        chans = [Channel(name, sig.data[i], sig.fs, "uV", {"roc": "eog"}.get(
                 roles.get(name, "eeg"), roles.get(name, "eeg")))
                 for i, name in enumerate(sig.channels)]
        return Recording(chans, start_time=wall, source=source, participant=participant,
                         meta={"gaps": sig.gaps(), "roles": roles, "device": sig.device})
    if kind == "heart" and "rr" in have:
        beats = beats_from_rr(raw.table(band, "rr", keep=False), raw.t0, source, participant)
        if wall is not None:
            beats = BeatSeries(beats.times, start_time=wall, source=source,
                               participant=participant)
        return beats
    return None
