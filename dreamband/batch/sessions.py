"""Group nights into sessions and write their group REM windows.

A *session* is a set of nights slept at the same time by different participants. It comes
from a sessions file, or, without one, from the recordings themselves: nights whose absolute
clock spans overlap form a session. Sessions file (TOML)::

    [[session]]
    name = "lab-2024-05-01"
    nights = ["alice", "bob", "carol"]   # night identifiers (file stems)
    k = 2                                 # optional, default from the command line
    min_duration_s = 60                   # optional
    align = "date"                        # or "clock": time of day, for different nights
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dreamband.batch.discover import NightInput
from dreamband.core.hypnogram import Hypnogram
from dreamband.errors import InputFileError
from dreamband.pipeline.spec import Field, Table, load_pipeline
from dreamband.storage.results import (
    SCHEMAS,
    hypnogram_from_epochs,
    night_key,
    write_table_partition,
)

__all__ = ["SESSIONS_SCHEMA", "find_sessions", "write_group_windows"]

SESSIONS_SCHEMA = Table(
    {
        "session": Table(
            {
                "name": Field("str", required=True, help="session name"),
                "nights": Field("list[str]", required=True, help="night identifiers"),
                "k": Field("int", minimum=1, help="participants in REM at once"),
                "min_duration_s": Field("float", minimum=0.0),
                "align": Field("str", default="date", choices=("date", "clock")),
            },
            many=True,
            required=True,
        )
    }
)


def _load_night(out: Path, night: str) -> Hypnogram | None:
    path = out / "epochs" / f"night={night_key(night)}" / "part-0.parquet"
    if not path.is_file():
        return None
    table = pq.read_table(path)
    return hypnogram_from_epochs(table) if table.num_rows else None


def find_sessions(hyps: dict[str, Hypnogram]) -> list[dict[str, Any]]:
    """Sessions of nights whose absolute clock spans overlap (two nights at least)."""
    spans = sorted(
        (h.start_time, h.start_time + timedelta(seconds=h.duration), name)
        for name, h in hyps.items()
        if h.start_time is not None
    )
    sessions: list[list[str]] = []
    current: list[str] = []
    current_end = None
    for start, end, name in spans:
        if current and start < current_end:
            current.append(name)
            current_end = max(current_end, end)
        else:
            if len(current) >= 2:
                sessions.append(current)
            current, current_end = [name], end
    if len(current) >= 2:
        sessions.append(current)
    return [{"name": f"session-{names[0]}", "nights": names, "align": "date"} for names in sessions]


def write_group_windows(
    out: str | os.PathLike,
    nights: Sequence[NightInput],
    sessions_file: str | os.PathLike | None = None,
    k: int = 2,
    min_duration: float = 60.0,
) -> int:
    """Compute and write the ``group_windows`` table of every session; return the count.

    Raises
    ------
    InputFileError
        A sessions file that is invalid or names a night that is not among the inputs.
    """
    from dreamband.sync.timeline import build_timeline
    from dreamband.sync.windows import WindowRule, group_windows

    out = Path(out)
    names = [n.night for n in nights]
    hyps = {name: h for name in names if (h := _load_night(out, name)) is not None}
    if sessions_file is not None:
        cfg = load_pipeline(sessions_file, SESSIONS_SCHEMA)
        sessions = cfg["session"]
        for s in sessions:
            unknown = [n for n in s["nights"] if n not in names]
            if unknown:
                raise InputFileError(sessions_file, f"night {unknown[0]!r} is not among the "
                                     f"inputs ({', '.join(names[:8])}...)", f"session {s['name']}")
    else:
        # participants of one live session folder form one session; other nights are
        # grouped by overlapping clock time
        live: dict[str, list[str]] = {}
        for n in nights:
            if n.session is not None and n.night in hyps:
                live.setdefault(n.session, []).append(n.night)
        sessions = [{"name": f"session-{k}", "nights": v, "align": "date"}
                    for k, v in sorted(live.items())]
        in_live = {name for names in live.values() for name in names}
        sessions += find_sessions({k: h for k, h in hyps.items() if k not in in_live})
    total = 0
    for s in sessions:
        members = {n: hyps[n] for n in s["nights"] if n in hyps}
        if len(members) < 2:
            continue
        timeline = build_timeline(members, align=s.get("align") or "date")
        rule = WindowRule.from_seconds(
            k=min(s.get("k") or k, len(members)),
            epoch_length=timeline.epoch_length,
            min_duration=s.get("min_duration_s") if s.get("min_duration_s") is not None
            else min_duration,
        )
        windows = group_windows(timeline, rule)
        table = pa.table(
            {
                "start_s": [w.start for w in windows],
                "end_s": [w.end for w in windows],
                "duration_s": [w.duration for w in windows],
                "start_time": [timeline.time_of(w.start) for w in windows],
                "n_members": [w.n_members for w in windows],
                "members": [list(w.members) for w in windows],
                "mean_confidence": [w.mean_confidence for w in windows],
            },
            schema=SCHEMAS["group_windows"],
        )
        write_table_partition(out, "group_windows", ("session", s["name"]), table)
        total += len(windows)
    return total
