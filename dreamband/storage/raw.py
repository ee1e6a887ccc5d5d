"""Crash-safe raw recording of band streams: Arrow IPC segments, compacted to Parquet.

Layout under the session folder::

    <band>/<stream>/seg-00000.arrows   append-only Arrow IPC stream files, one per writer open
    <band>/<stream>/data.parquet       after a clean close: all segments, in order
    <band>/gaps.arrows | gaps.parquet   explicit gaps of every stream of the band

A record batch is written and flushed every ``flush_interval`` seconds (of block host time)
or ``flush_rows`` rows, so after a ``kill -9`` every segment reads back up to its last
complete batch: at most ``flush_interval`` seconds per stream are lost. ``data.parquet`` names
the segments it merged (schema metadata ``segments``): segments a crash left behind after
the merge are not read twice, and new segments never reuse their numbers. Rows are samples:
``index`` (device sample counter, −1 when irregular), ``device_time``, ``host_time`` (s) and
one float64 column per channel in physical units.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dreamband.errors import InputFileError
from firmware_bridge.types import Gap, SampleBlock

__all__ = [
    "SEGMENTS_KEY",
    "RawRecorder",
    "list_streams",
    "merged_segment_names",
    "next_segment_path",
    "read_gaps",
    "read_stream",
]

logger = logging.getLogger(__name__)
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
GAP_SCHEMA = pa.schema([("stream", pa.string()), ("missing", pa.int64()),
                        ("start_time", pa.float64()), ("end_time", pa.float64()),
                        ("first_index", pa.int64()), ("reason", pa.string())])


_SEGMENT = re.compile(r"^seg-(\d+)\.arrows$")


def _safe(name: str) -> str:
    return _SAFE.sub("_", name).strip("_") or "band"


def next_segment_path(folder: Path, taken: Iterable[str] = ()) -> Path:
    """Path of a new ``seg-NNNNN.arrows`` in ``folder``: one past the highest number there
    (or in ``taken``, names already merged elsewhere), never the count of segments, which
    would reuse a number after a hole (a crash while compacting) and overwrite a segment.

    Parameters
    ----------
    folder : Path
        Folder of the segments.
    taken : iterable of str
        Further segment names that must not be reused.

    Returns
    -------
    Path
    """
    names = [p.name for p in folder.glob("seg-*.arrows")] + list(taken)
    numbers = [int(m.group(1)) for m in map(_SEGMENT.match, names) if m]
    return folder / f"seg-{max(numbers, default=-1) + 1:05d}.arrows"


class _SegmentWriter:
    """One append-only IPC stream file with buffered rows."""

    def __init__(self, folder: Path, schema: pa.Schema) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = next_segment_path(folder, merged_names(folder))
        self.schema = schema
        self._sink = pa.OSFile(str(self.path), "wb")
        self._writer = pa.ipc.new_stream(self._sink, schema)
        self._rows: list[dict[str, np.ndarray]] = []
        self.n_buffered = 0
        self.first_time: float | None = None

    def add(self, columns: dict[str, np.ndarray], t: float) -> None:
        self._rows.append(columns)
        self.n_buffered += len(next(iter(columns.values())))
        if self.first_time is None:
            self.first_time = t

    def flush(self, fsync: bool) -> None:
        if not self._rows:
            return
        cols = {k: np.concatenate([r[k] for r in self._rows]) for k in self.schema.names}
        batch = pa.record_batch([pa.array(cols[k], type=self.schema.field(k).type)
                                 for k in self.schema.names], schema=self.schema)
        self._writer.write_batch(batch)
        self._sink.flush()
        if fsync:
            os.fsync(self._sink.fileno())
        self._rows.clear()
        self.n_buffered = 0
        self.first_time = None

    def close(self) -> None:
        self.flush(fsync=True)
        self._writer.close()
        self._sink.close()


class RawRecorder:
    """Append :class:`firmware_bridge.types.SampleBlock` s and gaps of many bands to disk.

    Parameters
    ----------
    folder : str or Path
        Session folder (created).
    flush_interval : float
        Maximal span of host time (s) kept in memory per stream before a batch is written.
    flush_rows : int
        Write a batch as soon as this many rows are buffered.
    fsync : bool
        fsync after every batch (survives power loss, not only a killed process).
    """

    def __init__(self, folder: str | os.PathLike, flush_interval: float = 1.0,
                 flush_rows: int = 65536, fsync: bool = False) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.flush_interval = float(flush_interval)
        self.flush_rows = int(flush_rows)
        self.fsync = fsync
        self._streams: dict[tuple[str, str], _SegmentWriter] = {}
        self._gaps: dict[str, _SegmentWriter] = {}
        self.closed = False

    def write(self, item: SampleBlock | Gap) -> None:
        """Record one sample block or gap."""
        if self.closed:
            raise ValueError(f"{self.folder}: recorder is closed")
        if isinstance(item, SampleBlock):
            self._write_block(item)
        elif isinstance(item, Gap):
            self._write_gap(item)
        else:
            raise TypeError(f"expected a SampleBlock or Gap, got {type(item).__name__}")

    def _write_block(self, b: SampleBlock) -> None:
        key = (_safe(b.device), b.stream)
        w = self._streams.get(key)
        if w is None:
            fields = [("index", pa.int64()), ("device_time", pa.float64()),
                      ("host_time", pa.float64())]
            fields += [(f"ch_{c}", pa.float64()) for c in b.channels]
            meta = {"device": b.device, "stream": b.stream,
                    "fs": "" if b.fs is None else repr(b.fs)}
            w = self._streams[key] = _SegmentWriter(self.folder / key[0] / key[1],
                                                    pa.schema(fields, metadata=meta))
        n = b.samples.shape[1]
        first = b.first_index
        cols = {"index": (np.arange(first, first + n) if first >= 0 else np.full(n, -1)),
                "device_time": b.device_time, "host_time": b.host_time}
        for i, c in enumerate(b.channels):
            cols[f"ch_{c}"] = b.samples[i]
        t = float(b.host_time[-1])
        w.add(cols, t)
        if w.n_buffered >= self.flush_rows or (
                w.first_time is not None and t - w.first_time >= self.flush_interval):
            w.flush(self.fsync)

    def _write_gap(self, g: Gap) -> None:
        band = _safe(g.device)
        w = self._gaps.get(band)
        if w is None:
            w = self._gaps[band] = _SegmentWriter(self.folder / band / "gaps", GAP_SCHEMA)
        w.add({"stream": np.array([g.stream], dtype=object),
               "missing": np.array([g.missing]),
               "start_time": np.array([g.start_time]), "end_time": np.array([g.end_time]),
               "first_index": np.array([g.first_index]),
               "reason": np.array([g.reason], dtype=object)}, float(g.end_time))
        w.flush(self.fsync)  # gaps are rare and precious

    def flush_older_than(self, host_time: float) -> None:
        """Write the streams whose oldest buffered row is at or before ``host_time`` (s).

        Call it periodically so that slow streams (1 Hz heart rate) are not held back until
        their next block arrives.
        """
        for w in self._streams.values():
            if w.first_time is not None and w.first_time <= host_time:
                w.flush(self.fsync)

    def flush(self) -> None:
        """Write every buffered row now."""
        for w in [*self._streams.values(), *self._gaps.values()]:
            w.flush(self.fsync)

    def close(self, compact: bool = True) -> None:
        """Flush, close the segments and (``compact``) rewrite each stream as Parquet, one batch
        at a time (:func:`compact_folder`)."""
        if self.closed:
            return
        for w in [*self._streams.values(), *self._gaps.values()]:
            w.close()
        self.closed = True
        if compact:  # also segments an earlier, crashed run left in the same folder
            for folder in sorted({p.parent for p in self.folder.rglob("seg-*.arrows")}):
                compact_folder(folder)

    def __enter__(self) -> RawRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_segment(path: Path) -> tuple[pa.Table | None, bool]:
    """Batches of one IPC stream file up to the last complete one; (table, complete)."""
    batches = []
    schema = None
    complete = True
    try:
        with pa.OSFile(str(path), "rb") as src:
            reader = pa.ipc.open_stream(src)
            schema = reader.schema
            while True:
                try:
                    batches.append(reader.read_next_batch())
                except StopIteration:
                    break
    except (pa.ArrowInvalid, OSError, EOFError) as exc:
        complete = False
        logger.info("%s: truncated segment (%s); kept %d batches", path, exc, len(batches))
    if schema is None:
        return None, False
    return pa.Table.from_batches(batches, schema=schema), complete


_ROW_GROUP = 262_144
#: Parquet schema metadata key: JSON list of the segment names the file merged.
SEGMENTS_KEY = b"segments"


def merged_segment_names(parquet: Path) -> set[str]:
    """Names of the segments a compacted Parquet file merged (its ``segments`` metadata).

    Parameters
    ----------
    parquet : Path
        A raw stream's ``data.parquet`` or a journal's ``<table>.parquet``.

    Returns
    -------
    set of str
        Empty when the file does not exist or predates the list.
    """
    if not parquet.exists():
        return set()
    raw = (pq.read_schema(parquet).metadata or {}).get(SEGMENTS_KEY)
    return set(json.loads(raw)) if raw else set()


def merged_names(folder: Path) -> set[str]:
    """Names of the segments of a stream folder already merged into its ``data.parquet``."""
    return merged_segment_names(folder / "data.parquet")


def _pending_segments(folder: Path) -> tuple[list[Path], list[Path], list[str]]:
    """(segments not merged yet, segments merged but left by a crash, names to record)."""
    merged = merged_names(folder)
    segs = sorted(folder.glob("seg-*.arrows"))
    todo = [p for p in segs if p.name not in merged]
    names = sorted(merged | {p.name for p in segs})
    return todo, [p for p in segs if p.name in merged], names


def _with_names(schema: pa.Schema, names: list[str]) -> pa.Schema:
    return schema.with_metadata({**(schema.metadata or {}), SEGMENTS_KEY: json.dumps(names)})


def compact_folder(folder: Path) -> Path | None:
    """Merge the segments of one stream folder (and an earlier ``data.parquet``) into
    ``data.parquet`` and delete them, one batch at a time: memory stays at about one row
    group whatever the length of the night. Segments whose schemas differ are merged in
    memory with type promotion. Returns the Parquet file, or None when nothing was there."""
    segs, stale, names = _pending_segments(folder)
    out = folder / "data.parquet"
    for seg in stale:  # already in data.parquet: a crash came before their removal
        seg.unlink()
    if not segs:
        return out if stale else None
    tmp = folder / "data.parquet.tmp"
    writer: pq.ParquetWriter | None = None
    buf: list[pa.RecordBatch] = []
    try:
        sources: list = []
        if out.exists():
            sources.append(pq.ParquetFile(out).iter_batches())
        for seg in segs:
            sources.append(_segment_batches(seg))
        for batches in sources:
            for batch in batches:
                if writer is None:
                    writer = pq.ParquetWriter(tmp, _with_names(batch.schema, names))
                if batch.schema != writer.schema:
                    batch = batch.cast(writer.schema)
                buf.append(batch)
                if sum(b.num_rows for b in buf) >= _ROW_GROUP:  # one row group per ~256k rows
                    writer.write_table(pa.Table.from_batches(buf))
                    buf = []
        if writer is not None and buf:
            writer.write_table(pa.Table.from_batches(buf))
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):  # schemas differ: merge in memory
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        return _compact_in_memory(folder)
    if writer is None:
        return None
    writer.close()
    os.replace(tmp, out)
    for seg in segs:
        seg.unlink()
    return out


def _segment_batches(path: Path):
    try:
        with pa.OSFile(str(path), "rb") as src:
            reader = pa.ipc.open_stream(src)
            while True:
                try:
                    yield reader.read_next_batch()
                except StopIteration:
                    return
    except (pa.ArrowInvalid, OSError, EOFError):  # truncated by a crash: keep what was whole
        return


def _compact_in_memory(folder: Path) -> Path | None:
    """Merge segments whose schemas differ (promoted in memory) into ``data.parquet``."""
    segs, _, names = _pending_segments(folder)
    table = _load_segments(folder)
    if table is None:
        return None
    out = folder / "data.parquet"
    if out.exists():
        table = pa.concat_tables([pq.read_table(out), table])
    tmp = folder / "data.parquet.tmp"
    pq.write_table(table.replace_schema_metadata(_with_names(table.schema, names).metadata),
                   tmp)
    os.replace(tmp, out)
    for seg in segs:
        seg.unlink()
    return out


def _load_segments(folder: Path) -> pa.Table | None:
    """Segments not merged into ``data.parquet`` yet, in order (None when there are none)."""
    tables = []
    for seg in _pending_segments(folder)[0]:
        t, _ = _read_segment(seg)
        if t is not None:
            tables.append(t)
    if not tables:
        return None
    return pa.concat_tables(tables, promote_options="default")


def list_streams(folder: str | os.PathLike) -> list[tuple[str, str]]:
    """``(band, stream)`` pairs recorded under a session folder."""
    root = Path(folder)
    out = []
    for band in sorted(p for p in root.iterdir() if p.is_dir()):
        for s in sorted(p for p in band.iterdir() if p.is_dir() and p.name != "gaps"):
            out.append((band.name, s.name))
    return out


def read_stream(folder: str | os.PathLike, band: str, stream: str,
                columns: list[str] | None = None) -> pa.Table:
    """Samples of one stream: Parquet if compacted, plus any segments left by a crash.

    Parameters
    ----------
    folder : str or PathLike
        The raw folder.
    band, stream : str
        Which band (address or folder name) and stream.
    columns : list of str, optional
        Only these columns (e.g. ``index``, ``host_time``, ``ch_TP9``); all by default.

    Raises
    ------
    InputFileError
        When nothing was recorded for that band and stream.
    """
    d = Path(folder) / _safe(band) / stream
    parts = []
    if (d / "data.parquet").exists():
        parts.append(pq.read_table(d / "data.parquet", columns=columns))
    seg = _load_segments(d) if d.is_dir() else None
    if seg is not None:
        parts.append(seg if columns is None else seg.select(columns))
    if not parts:
        raise InputFileError(d, "no recorded samples", f"stream {stream!r}")
    return pa.concat_tables(parts, promote_options="default")


def read_gaps(folder: str | os.PathLike, band: str) -> pa.Table:
    """Gaps recorded for a band (empty table when none)."""
    d = Path(folder) / _safe(band) / "gaps"
    parts = []
    if (d / "data.parquet").exists():
        parts.append(pq.read_table(d / "data.parquet"))
    seg = _load_segments(d) if d.is_dir() else None
    if seg is not None:
        parts.append(seg)
    return pa.concat_tables(parts) if parts else GAP_SCHEMA.empty_table()
