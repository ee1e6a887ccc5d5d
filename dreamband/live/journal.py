"""Crash-safe session tables: append-only Arrow IPC segments, compacted to Parquet at close.

A :class:`Journal` writes rows of one table (per-epoch stages, events) to
``<folder>/seg-NNNNN.arrows``; every :meth:`Journal.flush` writes one record batch and
flushes it to the operating system, so after a ``kill -9`` the segment reads back up to the
last flushed batch (:func:`read_journal`). :meth:`Journal.close` with ``compact=True`` merges
the segments into ``<folder>.parquet`` (written to a temporary name, then renamed) and removes
them. The Parquet file names the segments it merged (schema metadata ``segments``), so that a
crash between the rename and the removal leaves no duplicated rows: :func:`read_journal` skips
those segments, and a later writer (a resumed session) never reuses their numbers. A new
segment is numbered one past the highest number there, so the rows of a resumed session follow
the earlier ones in segment order.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dreamband.storage.raw import SEGMENTS_KEY, merged_segment_names, next_segment_path

__all__ = ["EPOCH_SCHEMA", "EVENT_SCHEMA", "Journal", "merged_segments", "read_journal"]

logger = logging.getLogger(__name__)

#: Per participant-epoch row of a live session (probabilities NaN when not applicable).
EPOCH_SCHEMA = pa.schema([
    ("participant", pa.string()),
    ("epoch", pa.int32()),
    ("onset_s", pa.float64()),
    ("duration_s", pa.float32()),
    ("scheme", pa.string()),
    ("stage", pa.string()),
    ("stage_code", pa.int8()),
    ("scored", pa.bool_()),
    ("missing", pa.float32()),
    *[(c, pa.float32()) for c in ("p_W", "p_N1", "p_N2", "p_N3", "p_NREM", "p_REM")],
    ("rem_state", pa.int8()),
    ("host_time", pa.float64()),
    ("latency_s", pa.float64()),
], metadata={"table": "live_epochs", "version": "1"})

#: One row per live event; ``data`` is a JSON object.
EVENT_SCHEMA = pa.schema([
    ("kind", pa.string()),
    ("participant", pa.string()),
    ("epoch", pa.int32()),
    ("host_time", pa.float64()),
    ("latency_s", pa.float64()),
    ("data", pa.string()),
], metadata={"table": "live_events", "version": "1"})


class Journal:
    """Append-only writer of one table.

    Parameters
    ----------
    folder : path
        Folder of the segments (created); a new segment is started per writer.
    schema : pyarrow.Schema
        Row schema.
    fsync : bool
        Also fsync each batch (survives power loss, not only a killed process).
    """

    def __init__(self, folder: str | os.PathLike, schema: pa.Schema, fsync: bool = False) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.schema = schema
        self.fsync = fsync
        self.path = next_segment_path(self.folder, merged_segments(self.folder))
        self._sink = pa.OSFile(str(self.path), "wb")
        self._writer = pa.ipc.new_stream(self._sink, schema)
        self._rows: list[dict] = []
        self.n_rows = 0
        self.closed = False

    def append(self, row: dict) -> None:
        """Buffer one row (a dict with every column of the schema)."""
        if self.closed:
            raise ValueError(f"{self.folder}: journal is closed")
        self._rows.append(row)

    def flush(self) -> None:
        """Write the buffered rows as one record batch and hand it to the OS."""
        if not self._rows:
            return
        batch = pa.RecordBatch.from_pylist(self._rows, schema=self.schema)
        self._writer.write_batch(batch)
        self._sink.flush()
        if self.fsync:
            os.fsync(self._sink.fileno())
        self.n_rows += len(self._rows)
        self._rows.clear()

    def close(self, compact: bool = True) -> Path | None:
        """Flush, close the segment and optionally compact the folder to Parquet.

        Returns
        -------
        Path or None
            The Parquet file when compacted.
        """
        if self.closed:
            return None
        self.flush()
        self._writer.close()
        self._sink.close()
        self.closed = True
        if not compact:
            return None
        segs = sorted(self.folder.glob("seg-*.arrows"))
        merged = sorted(merged_segments(self.folder) | {seg.name for seg in segs})
        table = read_journal(self.folder, self.schema)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               SEGMENTS_KEY: json.dumps(merged)})
        out = self.folder.with_suffix(".parquet")
        tmp = out.with_suffix(".parquet.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, out)
        for seg in segs:
            seg.unlink()
        if not any(self.folder.iterdir()):
            self.folder.rmdir()
        return out


def merged_segments(folder: str | os.PathLike) -> set[str]:
    """Names of the segments of ``folder`` already merged into ``<folder>.parquet``
    (empty when there is no Parquet file or it predates the list)."""
    return merged_segment_names(Path(folder).with_suffix(".parquet"))


def _read_segment(path: Path) -> list[pa.RecordBatch]:
    batches: list[pa.RecordBatch] = []
    try:
        with pa.OSFile(str(path), "rb") as src:
            reader = pa.ipc.open_stream(src)
            while True:
                try:
                    batches.append(reader.read_next_batch())
                except StopIteration:
                    break
    except (pa.ArrowInvalid, OSError, EOFError) as exc:
        logger.info("%s: truncated segment (%s); kept %d batches", path, exc, len(batches))
    return batches


def read_journal(folder: str | os.PathLike, schema: pa.Schema) -> pa.Table:
    """Rows of a table: its Parquet file (after a clean close) plus any segments left behind
    by a crash, up to each segment's last complete batch, in segment order (a resumed
    session's rows after the earlier run's). Segments the Parquet file already holds are
    skipped."""
    folder = Path(folder)
    parts: list[pa.Table] = []
    parquet = folder.with_suffix(".parquet")
    if parquet.exists():
        parts.append(pq.read_table(parquet))
    merged = merged_segments(folder)
    if folder.is_dir():
        for seg in sorted(folder.glob("seg-*.arrows")):
            if seg.name in merged:
                continue
            batches = _read_segment(seg)
            if batches:
                parts.append(pa.Table.from_batches(batches, schema=schema))
    if not parts:
        return schema.empty_table()
    return pa.concat_tables([p.cast(schema) for p in parts])
