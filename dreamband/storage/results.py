"""Result tables as a partitioned Parquet dataset with documented, versioned schemas.

Layout under an output folder ``OUT``::

    OUT/epochs/night=<night>/part-0.parquet
    OUT/rem_periods/night=<night>/part-0.parquet
    OUT/spindles/night=<night>/part-0.parquet
    OUT/nights/night=<night>/part-0.parquet
    OUT/group_windows/session=<session>/part-0.parquet
    OUT/errors/night=<night>/part-0.parquet
    OUT/_done/<night>.json          # written last: the night is complete

Hive-style partitions, so pyarrow (``pyarrow.dataset.dataset(OUT / "epochs",
partitioning="hive")``), pandas, polars and DuckDB
(``read_parquet('OUT/epochs/*/*.parquet', hive_partitioning=true)``) open them directly.
A night is written atomically: its files go to a private temporary folder first and are
renamed into place, then the ``_done`` marker (content hash and model version, used to skip
finished nights on a re-run) is written. A crash leaves no half-written partition.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dreamband.core.hypnogram import Hypnogram
from dreamband.core.periods import RemPeriod
from dreamband.core.stages import FIVE_CLASS, THREE_CLASS

__all__ = [
    "SCHEMAS",
    "SCHEMA_VERSION",
    "epochs_table",
    "hypnogram_from_epochs",
    "is_done",
    "night_key",
    "read_table",
    "rem_periods_table",
    "spindles_table",
    "write_night",
    "write_table_partition",
]

#: Version of the table schemas, stored in every file's metadata (2: the ``spindles``
#: table and the nights' spindle columns).
SCHEMA_VERSION = "2"

_PROB_COLUMNS = ("p_W", "p_N1", "p_N2", "p_N3", "p_NREM", "p_REM")

#: Column schemas of the result tables (partition columns are not stored in the files).
SCHEMAS: dict[str, pa.Schema] = {
    "epochs": pa.schema(
        [
            ("participant", pa.string()),
            ("epoch", pa.int32()),
            ("onset_s", pa.float64()),
            ("start_time", pa.timestamp("ms")),
            ("duration_s", pa.float32()),
            ("scheme", pa.string()),
            ("stage", pa.string()),
            ("stage_code", pa.int8()),
            *[(c, pa.float32()) for c in _PROB_COLUMNS],
        ]
    ),
    "rem_periods": pa.schema(
        [
            ("participant", pa.string()),
            ("cycle", pa.int16()),
            ("start_s", pa.float64()),
            ("end_s", pa.float64()),
            ("duration_s", pa.float64()),
            ("eye_movements", pa.int32()),
            ("density_per_min", pa.float32()),
            ("confidence", pa.float32()),
        ]
    ),
    "spindles": pa.schema(
        [
            ("participant", pa.string()),
            ("channel", pa.string()),
            ("start_s", pa.float64()),
            ("end_s", pa.float64()),
            ("duration_s", pa.float32()),
            ("peak_s", pa.float64()),
            ("start_time", pa.timestamp("ms")),
            ("amplitude_uv", pa.float32()),
            ("rms_uv", pa.float32()),
            ("frequency_hz", pa.float32()),
            ("oscillations", pa.int16()),
            ("symmetry", pa.float32()),
            ("stage", pa.string()),
        ]
    ),
    "nights": pa.schema(
        [
            ("participant", pa.string()),
            ("source", pa.string()),
            ("kind", pa.string()),
            ("scheme", pa.string()),
            ("hypnogram_source", pa.string()),
            ("start_time", pa.timestamp("ms")),
            ("in_bed_start_s", pa.float64()),
            ("in_bed_end_s", pa.float64()),
            ("n_epochs", pa.int32()),
            ("rem_cycles", pa.int32()),
            ("rem_density_per_min", pa.float64()),
            *[
                (name, pa.float64())
                for name in (
                    "tib_min", "spt_min", "tst_min", "sleep_efficiency", "sol_min", "waso_min",
                    "rem_latency_min", "awakenings", "unscored_min",
                    "N1_min", "N1_pct", "N2_min", "N2_pct", "N3_min", "N3_pct",
                    "NREM_min", "NREM_pct", "REM_min", "REM_pct",
                    "ref_kappa", "ref_accuracy", "artefact_pct", "signal_valid_pct",
                    "spindle_density_N2_per_min", "spindle_density_N3_per_min",
                    "spindle_frequency_hz",
                )
            ],
            ("ref_epochs", pa.int32()),
            ("spindles", pa.int32()),
        ]
    ),
    "group_windows": pa.schema(
        [
            ("start_s", pa.float64()),
            ("end_s", pa.float64()),
            ("duration_s", pa.float64()),
            ("start_time", pa.timestamp("ms")),
            ("n_members", pa.int32()),
            ("members", pa.list_(pa.string())),
            ("mean_confidence", pa.float64()),
        ]
    ),
    "errors": pa.schema(
        [
            ("source", pa.string()),
            ("step", pa.string()),
            ("error", pa.string()),
        ]
    ),
}

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def night_key(text: str) -> str:
    """A partition-safe night identifier (letters, digits, ``._-``; others become ``_``)."""
    key = _SAFE.sub("_", text).strip("._")
    if not key:
        raise ValueError(f"cannot build a night identifier from {text!r}")
    return key


def epochs_table(hyp: Hypnogram, participant: str) -> pa.Table:
    """The ``epochs`` rows of one hypnogram (one row per epoch)."""
    n = hyp.n_epochs
    cols: dict[str, Any] = {
        "participant": pa.array([participant] * n, pa.string()),
        "epoch": pa.array(np.arange(n, dtype=np.int32)),
        "onset_s": pa.array(hyp.onsets.astype(np.float64)),
        "start_time": _start_times(hyp),
        "duration_s": pa.array(np.full(n, hyp.epoch_length, dtype=np.float32)),
        "scheme": pa.array([hyp.scheme] * n, pa.string()),
        "stage": pa.array(hyp.labels(), pa.string()),
        "stage_code": pa.array(hyp.stages.astype(np.int8)),
    }
    probs = {f"p_{c.label}": None for c in hyp.classes}
    if hyp.probabilities is not None:
        for j, c in enumerate(hyp.classes):
            probs[f"p_{c.label}"] = hyp.probabilities[:, j].astype(np.float32)
    for name in _PROB_COLUMNS:
        values = probs.get(name)
        cols[name] = pa.nulls(n, pa.float32()) if values is None else pa.array(values)
    return pa.table(cols, schema=SCHEMAS["epochs"])


def hypnogram_from_epochs(
    table: pa.Table, *, start_time: datetime | None = None, source: str = "batch"
) -> Hypnogram:
    """Rebuild one night's hypnogram from its epoch rows (the inverse of :func:`epochs_table`).

    Also reads the live engine's session ``epochs`` rows of one participant: their
    ``scored`` column marks unscored epochs.

    Parameters
    ----------
    table : pyarrow.Table
        Rows of one night in time order, with ``scheme``, ``stage_code``, ``onset_s``,
        ``duration_s`` and the ``p_<stage>`` columns of the scheme. Rows are placed on the
        epoch grid by their onset: epochs without a row (a live session that crashed and
        was resumed) are unscored, with uniform probabilities; of two rows of one epoch the
        later one wins.
    start_time : datetime, optional
        Wall-clock time of the first epoch; default the table's ``start_time`` column.
    source : str
        Stored as the hypnogram's source.
    """
    scheme = table["scheme"][0].as_py()
    labels = [c.label for c in (FIVE_CLASS if scheme == "aasm" else THREE_CLASS)]
    length = float(table["duration_s"][0].as_py())
    onset = table["onset_s"].to_numpy(zero_copy_only=False).astype(float)
    keep, slot, n = _epoch_slots(onset, length)
    codes = table["stage_code"].to_numpy().astype(np.int8)
    if "scored" in table.column_names:
        codes[~table["scored"].to_numpy(zero_copy_only=False)] = -1
    stages = np.full(n, -1, dtype=np.int8)
    stages[slot] = codes[keep]
    probs = None
    if table[f"p_{labels[0]}"].null_count < table.num_rows:  # scored nights store none
        rows = np.column_stack(
            [table[f"p_{c}"].to_numpy(zero_copy_only=False) for c in labels]
        ).astype(float)
        probs = np.full((n, len(labels)), np.nan)
        probs[slot] = rows[keep]
        probs = np.nan_to_num(probs, nan=1.0 / len(labels))  # unscored epochs: uniform
        probs /= probs.sum(axis=1, keepdims=True)
    if start_time is None and "start_time" in table.column_names:
        start_time = table["start_time"][0].as_py()
    return Hypnogram(
        stages,
        epoch_length=length,
        start_time=start_time,
        offset=float(onset.min()),
        probabilities=probs,
        scheme=scheme,
        source=source,
    )


def _epoch_slots(onset: np.ndarray, length: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Rows to use (the last row of each epoch), their grid positions (epochs from the
    first onset) and the number of epochs."""
    slot = np.rint((onset - onset.min()) / length).astype(np.int64)
    _, first_in_reversed = np.unique(slot[::-1], return_index=True)
    keep = np.sort(slot.size - 1 - first_in_reversed)
    return keep, slot[keep], int(slot.max()) + 1


def _start_times(hyp: Hypnogram) -> pa.Array:
    n = hyp.n_epochs
    if hyp.start_time is None:
        return pa.nulls(n, pa.timestamp("ms"))
    base = np.datetime64(hyp.start_time.replace(tzinfo=None), "ms")
    steps = (np.arange(n) * hyp.epoch_length * 1000).astype("timedelta64[ms]")
    return pa.array(base + steps, pa.timestamp("ms"))


def rem_periods_table(
    periods: Sequence[RemPeriod], participant: str, eye_movements_counted: bool = True
) -> pa.Table:
    """The ``rem_periods`` rows of one night.

    ``eye_movements`` and ``density_per_min`` are null when the night had no EOG
    (``eye_movements_counted=False``), not 0.
    """
    rows = list(periods)
    counted = bool(eye_movements_counted)
    return pa.table(
        {
            "participant": pa.array([participant] * len(rows), pa.string()),
            "cycle": pa.array([p.cycle for p in rows], pa.int16()),
            "start_s": pa.array([p.start for p in rows], pa.float64()),
            "end_s": pa.array([p.end for p in rows], pa.float64()),
            "duration_s": pa.array([p.duration for p in rows], pa.float64()),
            "eye_movements": pa.array(
                [p.eye_movements if counted else None for p in rows], pa.int32()
            ),
            "density_per_min": pa.array(
                [p.density if counted else None for p in rows], pa.float32()
            ),
            "confidence": pa.array([p.confidence for p in rows], pa.float32()),
        },
        schema=SCHEMAS["rem_periods"],
    )


def spindles_table(sp: Any, participant: str, start_time: datetime | None = None) -> pa.Table:
    """The ``spindles`` rows of one night.

    Parameters
    ----------
    sp : dreamband.spindles.Spindles
        The night's spindles; times in seconds on the night's epoch clock (``onset_s``).
    participant : str
        Stored in each row.
    start_time : datetime, optional
        Wall-clock time at 0 s (the hypnogram's start time minus its offset), for the
        ``start_time`` column (null without it).
    """
    from dreamband.core.stages import SleepStage

    n = len(sp)
    if start_time is None:
        starts = pa.nulls(n, pa.timestamp("ms"))
    else:
        base = np.datetime64(start_time.replace(tzinfo=None), "ms")
        starts = pa.array(base + np.round(sp.start * 1000).astype("timedelta64[ms]"),
                          pa.timestamp("ms"))
    labels = {int(c): c.label for c in SleepStage}
    return pa.table(
        {
            "participant": pa.array([participant] * n, pa.string()),
            "channel": pa.array([sp.channel] * n, pa.string()),
            "start_s": pa.array(sp.start, pa.float64()),
            "end_s": pa.array(sp.end, pa.float64()),
            "duration_s": pa.array(sp.duration, pa.float32()),
            "peak_s": pa.array(sp.peak, pa.float64()),
            "start_time": starts,
            "amplitude_uv": pa.array(sp.amplitude, pa.float32()),
            "rms_uv": pa.array(sp.rms, pa.float32()),
            "frequency_hz": pa.array(sp.frequency, pa.float32(), from_pandas=True),
            "oscillations": pa.array(sp.oscillations, pa.int16()),
            "symmetry": pa.array(sp.symmetry, pa.float32()),
            "stage": pa.array([labels.get(int(c), "?") for c in sp.stage], pa.string()),
        },
        schema=SCHEMAS["spindles"],
    )


def _with_meta(table: pa.Table, name: str) -> pa.Table:
    meta = dict(table.schema.metadata or {})
    meta[b"dreamband.table"] = name.encode()
    meta[b"dreamband.schema_version"] = SCHEMA_VERSION.encode()
    return table.replace_schema_metadata(meta)


def write_table_partition(
    out: str | os.PathLike, name: str, partition: tuple[str, str], table: pa.Table
) -> Path:
    """Write one partition of one table atomically (temporary file, then rename).

    Parameters
    ----------
    out : path
        The dataset folder.
    name : str
        Table name (``epochs``, ``nights``, ``group_windows``, ...).
    partition : (str, str)
        Partition column and value, e.g. ``("night", "SC4001")``.
    table : pyarrow.Table
        The rows.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    col, value = partition
    folder = Path(out) / name / f"{col}={night_key(value)}"
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / "part-0.parquet"
    tmp = folder / f".part-0.parquet.{uuid.uuid4().hex}.tmp"
    try:
        pq.write_table(_with_meta(table, name), tmp)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def write_night(
    out: str | os.PathLike,
    night: str,
    tables: Mapping[str, pa.Table],
    marker: Mapping[str, Any],
) -> None:
    """Write every table of one night, then its ``_done`` marker.

    Files are first written to a private staging folder inside ``out`` and then renamed
    into their partitions; the marker comes last, so a night without a marker is
    incomplete and will be redone (its partial files are replaced).

    Parameters
    ----------
    out : path
        The dataset folder.
    night : str
        Night identifier (made partition-safe with :func:`night_key`).
    tables : mapping
        Table name -> rows of this night.
    marker : mapping
        JSON-serialisable facts about the finished night (content hash, model version,
        source), compared by :func:`is_done` on the next run.
    """
    out = Path(out)
    key = night_key(night)
    stage = out / ".staging" / f"{key}.{uuid.uuid4().hex}"
    stage.mkdir(parents=True)
    try:
        staged = []
        for name, table in tables.items():
            path = stage / f"{name}.parquet"
            pq.write_table(_with_meta(table, name), path)
            staged.append((name, path))
        for name, path in staged:
            folder = out / name / f"night={key}"
            folder.mkdir(parents=True, exist_ok=True)
            os.replace(path, folder / "part-0.parquet")
        done = out / "_done"
        done.mkdir(exist_ok=True)
        tmp = done / f".{key}.json.tmp"
        tmp.write_text(json.dumps(dict(marker), sort_keys=True, default=str), encoding="utf-8")
        os.replace(tmp, done / f"{key}.json")
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def is_done(out: str | os.PathLike, night: str, marker: Mapping[str, Any]) -> bool:
    """True when ``night`` was finished with the same marker (hash, model version, ...)."""
    path = Path(out) / "_done" / f"{night_key(night)}.json"
    if not path.is_file():
        return False
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    expected = json.loads(json.dumps(dict(marker), sort_keys=True, default=str))
    return saved == expected


def read_table(out: str | os.PathLike, name: str) -> pa.Table:
    """Read one result table of a dataset folder, partition column included."""
    import pyarrow.dataset as ds

    folder = Path(out) / name
    parts = sorted(folder.glob("*=*/part-0.parquet")) if folder.is_dir() else []
    if not parts:
        return pa.table({})
    column = parts[0].parent.name.split("=", 1)[0]
    partitioning = ds.partitioning(pa.schema([(column, pa.string())]), flavor="hive")
    return ds.dataset(parts, format="parquet", partitioning=partitioning,
                      partition_base_dir=str(folder)).to_table()
