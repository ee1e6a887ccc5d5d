"""The crash-safe folder of a live session.

Layout under ``session_dir``::

    session.json              grid, participants, rule (rewritten atomically when it changes)
    raw/<band>/<stream>/...   raw samples and gaps (:class:`dreamband.storage.raw.RawRecorder`)
    epochs/seg-*.arrows       per participant-epoch stages and probabilities (append-only)
    events/seg-*.arrows       every live event (append-only)
    epochs.parquet, events.parquet, raw/**/data.parquet   after a clean close
    summary.json              after a clean close

Everything appended is flushed to the operating system at the end of each ``push``/``tick``
(raw samples every ``raw_flush_s`` seconds of host time), so a ``kill -9`` loses at most the
last second of raw samples and nothing that was already announced as an event.
:func:`read_session` reads a folder in either state.

A folder is written by one session, but a session that crashed may be continued in it
(``SessionRecorder(folder, resume=True)``, e.g. ``dreamband lab --resume``): its
``session.json`` is kept and extended, and every table gets new segments numbered after the
earlier ones, so that both runs read back (and compact) as one table.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa

from dreamband.errors import InputFileError
from dreamband.live.journal import EPOCH_SCHEMA, EVENT_SCHEMA, Journal, read_journal
from dreamband.storage.raw import RawRecorder
from firmware_bridge.types import Gap, SampleBlock

__all__ = ["SessionRecorder", "read_session", "resumable_meta", "warm_up_text"]


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _refuse_existing_session(folder: Path) -> None:
    """A session folder is written once: another run into it would mix two nights' epochs
    and raw samples under one ``session.json`` (and orphan the first run's participants)."""
    marks = ("session.json", "epochs", "epochs.parquet", "events", "events.parquet")
    if any((folder / m).exists() for m in marks):
        state = ("closed cleanly" if (folder / "summary.json").exists()
                 else "not closed: it crashed or is still running; a crashed lab session "
                 "continues with `dreamband lab --resume`")
        raise InputFileError(
            folder, f"already holds a live session ({state}); give a new folder (nothing was "
            "written; `dreamband info` shows what it holds, `dreamband batch` analyses it)")


def resumable_meta(folder: str | os.PathLike) -> dict[str, Any]:
    """The ``session.json`` of a session that did not close, to be continued in its folder.

    Parameters
    ----------
    folder : path
        Session folder.

    Returns
    -------
    dict
        The session's metadata.

    Raises
    ------
    InputFileError
        No session there, a session that closed cleanly (``summary.json``), or an
        unreadable ``session.json`` (one line naming the folder).
    """
    folder = Path(folder)
    meta_file = folder / "session.json"
    if not meta_file.is_file():
        raise InputFileError(folder, "no live session to resume here (no session.json)")
    if (folder / "summary.json").exists():
        raise InputFileError(folder, "the session closed cleanly; nothing to resume")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        why = " ".join(str(exc).split())
        raise InputFileError(folder, f"unreadable session.json ({why})") from None
    if not isinstance(meta, dict):
        raise InputFileError(folder, "unreadable session.json (not a JSON object)")
    return meta


class SessionRecorder:
    """Writes a live session folder.

    Parameters
    ----------
    folder : path
        Session folder (created).
    fsync : bool
        fsync every batch (survives power loss too).
    raw_flush_s : float
        Longest span of raw samples kept in memory per stream (s of host time).
    resume : bool
        Continue the session that crashed in ``folder`` (see :func:`resumable_meta`): its
        metadata is kept in :attr:`meta`, new rows go to new segments after the earlier
        ones. Without it a folder that holds a session is refused.
    """

    def __init__(self, folder: str | os.PathLike, fsync: bool = False,
                 raw_flush_s: float = 1.0, resume: bool = False) -> None:
        self.folder = Path(folder)
        meta = resumable_meta(self.folder) if resume else None
        if meta is None:
            _refuse_existing_session(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.raw = RawRecorder(self.folder / "raw", flush_interval=raw_flush_s, fsync=fsync)
        self.epochs = Journal(self.folder / "epochs", EPOCH_SCHEMA, fsync)
        self.events = Journal(self.folder / "events", EVENT_SCHEMA, fsync)
        self.meta: dict[str, Any] = meta or {}
        self.resumed = meta is not None
        self.closed = False

    def set_meta(self, **meta: Any) -> None:
        """Update and rewrite ``session.json``."""
        self.meta.update(meta)
        _write_json(self.folder / "session.json", self.meta)

    def raw_row_counts(self) -> dict[str, int]:
        """Rows each raw stream holds so far, as ``"<band folder>/<stream>"`` -> rows (what
        :func:`dreamband.storage.raw.read_stream` reads back)."""
        from dreamband.storage.raw import list_streams, read_stream

        root = self.folder / "raw"
        if not root.is_dir():
            return {}
        return {f"{band}/{stream}": read_stream(root, band, stream, columns=["index"]).num_rows
                for band, stream in list_streams(root)}

    def write_item(self, item: SampleBlock | Gap) -> None:
        """Record a raw sample block or gap."""
        self.raw.write(item)

    def flush(self, host_time: float | None = None) -> None:
        """Hand every announced row to the OS; raw streams older than ``host_time`` too."""
        self.epochs.flush()
        self.events.flush()
        if host_time is not None:
            self.raw.flush_older_than(host_time - self.raw.flush_interval)

    def close(self, summary: dict, compact: bool = True) -> dict[str, str]:
        """Flush and close everything, compact to Parquet, write ``summary.json``.

        Returns
        -------
        dict
            Paths of the files written.
        """
        if self.closed:
            return {}
        files = {}
        for name, j in (("epochs", self.epochs), ("events", self.events)):
            out = j.close(compact)
            if out is not None:
                files[name] = str(out)
        self.raw.close(compact=compact)
        files["raw"] = str(self.folder / "raw")
        _write_json(self.folder / "summary.json", summary)
        files["summary"] = str(self.folder / "summary.json")
        self.closed = True
        return files


def read_session(folder: str | os.PathLike) -> dict[str, Any]:
    """Read a session folder, closed cleanly or left behind by a crash.

    Returns
    -------
    dict
        ``meta`` (session.json, or {}), ``epochs`` and ``events`` (pyarrow Tables),
        ``summary`` (dict or None) and ``complete`` (a clean close happened).
    """
    folder = Path(folder)

    def load(name: str) -> dict | None:
        p = folder / name
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None

    epochs: pa.Table = read_journal(folder / "epochs", EPOCH_SCHEMA)
    events: pa.Table = read_journal(folder / "events", EVENT_SCHEMA)
    summary = load("summary.json")
    return {"meta": load("session.json") or {}, "epochs": epochs, "events": events,
            "summary": summary, "complete": summary is not None}


def warm_up_text(resume: dict[str, Any]) -> str:
    """How the stagers of one resumed run started (its ``resumes`` entry's ``warm_up_s``)."""
    warm = resume.get("warm_up_s") or {}
    said = ", ".join(f"{n} {v / 3600:.1f} h" for n, v in warm.items() if v > 0)
    return (f"stagers warm from the signal recorded before: {said}" if said
            else "stagers restarted cold")
