"""dreamband's hypnogram output contract: CSV, Parquet and EDF+ annotation files.

CSV (``.csv``)
    Plain CSV, no comment lines. Header ``onset,duration,stage,p_W,p_N1,p_N2,p_N3,p_REM``
    (AASM scheme) or ``onset,duration,stage,p_W,p_NREM,p_REM`` (wearable scheme). One row
    per epoch: ``onset`` in seconds from the recording start, ``duration`` = epoch length in
    seconds, ``stage`` one of ``W N1 N2 N3 REM`` (or ``W NREM REM``), then the per-stage
    probabilities summing to 1. A hypnogram without probabilities is written one-hot.
    **Unscored epochs** are written with stage ``?`` and empty probability fields. The CSV
    has no start time; use Parquet or EDF+ to keep it.
Parquet (``.parquet``)
    The same columns (probabilities null for unscored epochs) plus file metadata
    ``start_time`` (ISO 8601 or empty), ``source``, ``epoch_length``, ``scheme``, ``offset``.
EDF+ (``.edf``, conventionally ``*-hypnogram.edf``)
    Annotation-only EDF+C like Sleep-EDF's hypnograms: one annotation per run of equal
    stages, labelled ``Sleep stage W/1/2/3/R/?`` (AASM; N3 is written as ``3``) or
    ``Sleep stage W/NREM/R/?`` (wearable). The header holds the start date and time (to
    the second; a sub-second part goes into the onsets) and ``dreamband epoch=<s>s
    scheme=<scheme>`` in the recording field. Probabilities are not stored in EDF+.

When read back, a file written with one-hot or real probabilities gives probabilities
with NaN rows for unscored epochs.
"""

from __future__ import annotations

import csv
import json
import math
import os
from datetime import datetime, time, timedelta
from pathlib import Path

import numpy as np

from dreamband.core.hypnogram import Hypnogram
from dreamband.core.stages import SleepStage, WearableStage
from dreamband.errors import InputFileError
from dreamband.io.text import text_lines

__all__ = [
    "EDF_LABELS",
    "check_hypnogram_suffix",
    "columns_for",
    "read_csv_hypnogram",
    "read_edf_hypnogram",
    "read_parquet_hypnogram",
    "write_csv_hypnogram",
    "write_edf_hypnogram",
    "write_hypnogram",
    "write_parquet_hypnogram",
]

_TOL = 1e-3  # seconds (grid) and probability-sum tolerance

#: EDF+ annotation labels written per scheme and stage code.
EDF_LABELS: dict[str, dict[int, str]] = {
    "aasm": {
        SleepStage.W: "Sleep stage W",
        SleepStage.N1: "Sleep stage 1",
        SleepStage.N2: "Sleep stage 2",
        SleepStage.N3: "Sleep stage 3",
        SleepStage.REM: "Sleep stage R",
        SleepStage.UNSCORED: "Sleep stage ?",
    },
    "wearable": {
        WearableStage.W: "Sleep stage W",
        WearableStage.NREM: "Sleep stage NREM",
        WearableStage.REM: "Sleep stage R",
        WearableStage.UNSCORED: "Sleep stage ?",
    },
}


def _enum(scheme: str):
    return SleepStage if scheme == "aasm" else WearableStage


def columns_for(scheme: str) -> list[str]:
    """CSV/Parquet column names of a scheme (``"aasm"`` or ``"wearable"``)."""
    classes = [s.label for s in _enum(scheme) if s.value >= 0]
    return ["onset", "duration", "stage", *(f"p_{c}" for c in classes)]


def _probabilities(hyp: Hypnogram) -> np.ndarray:
    """Probabilities to write: the hypnogram's own, or one-hot; NaN rows when unscored."""
    n_cls = len(hyp.classes)
    if hyp.probabilities is not None:
        p = np.array(hyp.probabilities, dtype=float)
    else:
        p = np.zeros((hyp.n_epochs, n_cls))
        scored = hyp.stages >= 0
        p[np.flatnonzero(scored), hyp.stages[scored].astype(int)] = 1.0
    p[hyp.stages < 0] = np.nan
    return p


def _fmt(x: float) -> str:
    return "" if math.isnan(x) else f"{x:.10g}"


# ------------------------------------------------------------------------- CSV
def write_csv_hypnogram(hyp: Hypnogram, path: str | os.PathLike) -> Path:
    """Write a hypnogram as dreamband CSV (see the module docstring). Returns the path."""
    path = Path(path)
    probs = _probabilities(hyp)
    labels = hyp.labels()
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(columns_for(hyp.scheme))
        for onset, label, row in zip(hyp.onsets, labels, probs):
            w.writerow([_fmt(onset), _fmt(hyp.epoch_length), label, *(_fmt(v) for v in row)])
    return path


def _build(
    path: Path,
    onsets: np.ndarray,
    durations: np.ndarray,
    labels: list[str],
    probs: np.ndarray,
    scheme: str,
    first_line: int,
    **kwargs,
) -> Hypnogram:
    """Validate parsed rows and make the Hypnogram (``first_line`` = file line of row 0)."""
    enum = _enum(scheme)
    by_label = {s.label: s.value for s in enum}
    n = len(labels)
    if n == 0:
        raise InputFileError(path, "no epochs")
    epoch = float(durations[0])
    if not epoch > 0:
        raise InputFileError(path, f"epoch duration must be positive; got {epoch}", "duration")
    bad = np.flatnonzero(np.abs(durations - epoch) > _TOL)
    if bad.size:
        i = int(bad[0])
        raise InputFileError(
            path,
            f"duration {durations[i]} differs from the first epoch's {epoch}",
            f"line {first_line + i}",
        )
    expected = onsets[0] + np.arange(n) * epoch
    bad = np.flatnonzero(np.abs(onsets - expected) > _TOL)
    if bad.size:
        i = int(bad[0])
        raise InputFileError(
            path,
            f"onset {onsets[i]} is off the {epoch:g}-s epoch grid (expected {expected[i]:g})",
            f"line {first_line + i}",
        )
    stages = np.empty(n, dtype=np.int8)
    for i, lab in enumerate(labels):
        if lab not in by_label:
            raise InputFileError(
                path,
                f"stage must be one of {', '.join(by_label)}; got {lab!r}",
                f"line {first_line + i}",
            )
        stages[i] = by_label[lab]
    scored = stages >= 0
    p = probs[scored]
    if np.isnan(p).any():
        i = int(np.flatnonzero(scored)[np.flatnonzero(np.isnan(p).any(axis=1))[0]])
        raise InputFileError(path, "scored epoch without probabilities", f"line {first_line + i}")
    sums = p.sum(axis=1)
    if np.any(np.abs(sums - 1) > _TOL) or np.any(p < -_TOL):
        i = int(
            np.flatnonzero(scored)[
                np.flatnonzero((np.abs(sums - 1) > _TOL) | (p < -_TOL).any(1))[0]
            ]
        )
        raise InputFileError(
            path,
            f"probabilities must be >= 0 and sum to 1; got sum {probs[i].sum():.6g}",
            f"line {first_line + i}",
        )
    probs = probs.copy()
    probs[~scored] = np.nan
    return Hypnogram(
        stages=stages,
        epoch_length=epoch,
        offset=float(onsets[0]),
        probabilities=probs,
        scheme=scheme,
        **kwargs,
    )


def _scheme_of(path: Path, header: list[str], where: str) -> str:
    for scheme in ("aasm", "wearable"):
        if header == columns_for(scheme):
            return scheme
    raise InputFileError(
        path,
        f"header must be {','.join(columns_for('aasm'))} or {','.join(columns_for('wearable'))};"
        f" got {','.join(header)}",
        where,
    )


def read_csv_hypnogram(path: str | os.PathLike) -> Hypnogram:
    """Read a dreamband hypnogram CSV.

    Returns
    -------
    Hypnogram
        ``start_time`` None (CSV has none); probabilities as written, NaN rows for unscored
        epochs.

    Raises
    ------
    InputFileError
        Naming the line of a bad row (unknown stage, unparsable number, onset off the
        grid, probabilities not summing to 1) or the header.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file")
    rows = list(csv.reader(text_lines(path, "utf-8-sig")))
    if not rows:
        raise InputFileError(path, "empty file")
    header = [h.strip() for h in rows[0]]
    scheme = _scheme_of(path, header, "line 1")
    n_cols = len(header)
    body = [r for r in rows[1:]]
    onsets = np.empty(len(body))
    durations = np.empty(len(body))
    probs = np.full((len(body), n_cols - 3), np.nan)
    labels: list[str] = []
    for i, row in enumerate(body):
        line = f"line {i + 2}"
        if len(row) != n_cols:
            raise InputFileError(path, f"expected {n_cols} fields, got {len(row)}", line)
        try:
            onsets[i] = float(row[0])
            durations[i] = float(row[1])
            for j, v in enumerate(row[3:]):
                probs[i, j] = float(v) if v.strip() else np.nan
        except ValueError as exc:
            raise InputFileError(path, f"not a number ({exc})", line) from None
        labels.append(row[2].strip())
    return _build(
        path,
        onsets,
        durations,
        labels,
        probs,
        scheme,
        2,
        source=str(path),
    )


# --------------------------------------------------------------------- Parquet
def write_parquet_hypnogram(hyp: Hypnogram, path: str | os.PathLike) -> Path:
    """Write a hypnogram as Parquet: the CSV columns plus file metadata. Returns the path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    probs = _probabilities(hyp)
    cols = columns_for(hyp.scheme)
    arrays = [
        pa.array(hyp.onsets, pa.float64()),
        pa.array(np.full(hyp.n_epochs, hyp.epoch_length), pa.float64()),
        pa.array(hyp.labels(), pa.string()),
        *(pa.array(probs[:, j], pa.float64(), from_pandas=True) for j in range(probs.shape[1])),
    ]
    meta = {
        "start_time": hyp.start_time.isoformat() if hyp.start_time else "",
        "source": hyp.source,
        "epoch_length": repr(float(hyp.epoch_length)),
        "scheme": hyp.scheme,
        "offset": repr(float(hyp.offset)),
    }
    table = pa.table(arrays, names=cols).replace_schema_metadata(
        {
            b"dreamband": json.dumps(meta).encode(),
            **{k.encode(): v.encode() for k, v in meta.items()},
        }
    )
    pq.write_table(table, path)
    return path


def read_parquet_hypnogram(path: str | os.PathLike) -> Hypnogram:
    """Read a dreamband hypnogram Parquet file (columns and metadata as written).

    Raises
    ------
    InputFileError
        If the file is not Parquet, the columns are not the contract's, or a row is bad.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file")
    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise InputFileError(path, f"not a readable Parquet file ({exc})") from None
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    scheme = _scheme_of(path, list(table.column_names), "columns")
    if meta.get("scheme") and meta["scheme"] != scheme:
        raise InputFileError(path, f"metadata scheme {meta['scheme']!r} disagrees with columns")
    cols = table.column_names
    onsets = np.asarray(table.column("onset").to_numpy(zero_copy_only=False), dtype=float)
    durations = np.asarray(table.column("duration").to_numpy(zero_copy_only=False), dtype=float)
    labels = [str(x) for x in table.column("stage").to_pylist()]
    probs = (
        np.column_stack(
            [
                np.asarray(table.column(c).to_numpy(zero_copy_only=False), dtype=float)
                for c in cols[3:]
            ]
        )
        if table.num_rows
        else np.empty((0, len(cols) - 3))
    )
    start = None
    if meta.get("start_time"):
        try:
            start = datetime.fromisoformat(meta["start_time"])
        except ValueError:
            raise InputFileError(
                path, f"bad start_time {meta['start_time']!r}", "metadata"
            ) from None
    return _build(
        path,
        onsets,
        durations,
        labels,
        probs,
        scheme,
        1,
        start_time=start,
        source=meta.get("source") or str(path),
    )


# ------------------------------------------------------------------------ EDF+
def write_edf_hypnogram(hyp: Hypnogram, path: str | os.PathLike) -> Path:
    """Write a hypnogram as an annotation-only EDF+C file (Sleep-EDF style). Returns the path."""
    import edfio

    path = Path(path)
    labels = EDF_LABELS[hyp.scheme]
    rec_start = None if hyp.start_time is None else hyp.start_time - timedelta(seconds=hyp.offset)
    shift = 0.0
    if rec_start is not None and rec_start.microsecond:
        shift = rec_start.microsecond / 1e6
        rec_start = rec_start.replace(microsecond=0)
    anns = []
    stages = hyp.stages
    if stages.size:
        change = np.flatnonzero(np.diff(stages)) + 1
        starts = np.concatenate([[0], change])
        stops = np.concatenate([change, [stages.size]])
        for a, b in zip(starts, stops):
            onset = hyp.offset + shift + a * hyp.epoch_length
            anns.append(
                edfio.EdfAnnotation(
                    round(onset, 6), (b - a) * hyp.epoch_length, labels[int(stages[a])]
                )
            )
    edf = edfio.Edf(
        [],
        annotations=anns,
        starttime=rec_start.time() if rec_start else time(0, 0, 0),
        recording=edfio.Recording(
            startdate=rec_start.date() if rec_start else None,
            additional=("dreamband", f"epoch={hyp.epoch_length:g}s", f"scheme={hyp.scheme}"),
        ),
    )
    edf.write(path)
    return path


def read_edf_hypnogram(
    path: str | os.PathLike, epoch_length: float | None = None, scheme: str | None = None
) -> Hypnogram:
    """Read an annotation-only EDF+ hypnogram written by dreamband (or any R&K-labelled one).

    The epoch grid starts at the earliest annotation; epoch length and scheme come from
    the ``dreamband epoch=..s scheme=..`` recording field when present, else 30 s and AASM
    (then Sleep-EDF R&K labels are accepted: S3/S4 → N3, movement → unscored).

    Raises
    ------
    InputFileError
        If the file is unreadable or damaged (see
        :func:`~dreamband.io.sleepedf.read_edf_annotations`), the recording field's epoch
        or scheme is bad, or no sleep stage annotation covers an epoch.
    """
    from dreamband.io.sleepedf import annotations_to_stages, read_edf_annotations

    path = Path(path)
    start, additional, anns = read_edf_annotations(path)
    for item in additional:
        if item.startswith("epoch=") and epoch_length is None:
            try:
                epoch_length = float(item[6:].rstrip("s"))
            except ValueError:
                raise InputFileError(path, f"bad {item!r}", "recording field") from None
            if not (math.isfinite(epoch_length) and epoch_length > 0):
                raise InputFileError(
                    path, f"bad {item!r}: the epoch must be a positive number of seconds",
                    "recording field",
                )
        if item.startswith("scheme=") and scheme is None:
            scheme = item[7:]
    epoch_length = epoch_length or 30.0
    scheme = scheme or "aasm"
    if scheme not in EDF_LABELS:
        raise InputFileError(path, f"unknown scheme {scheme!r}", "recording field")
    if not anns:
        raise InputFileError(path, "no sleep stage annotations")
    origin = min(a[0] for a in anns)
    if scheme == "wearable":
        lut = {v: k for k, v in EDF_LABELS["wearable"].items()}

        def convert(text: str) -> int:
            if text.strip() not in lut:
                raise ValueError(f"stage label must be one of {', '.join(lut)}; got {text!r}")
            return int(lut[text.strip()])
    else:
        from dreamband.core.stages import from_rk as convert
    stages = annotations_to_stages(path, anns, epoch_length, origin, convert)
    if stages.size == 0:
        raise InputFileError(
            path, "no sleep stage annotation covers an epoch (durations are 0 or under half "
            "an epoch)"
        )
    try:
        start_time = None if start is None else start + timedelta(seconds=origin)
    except OverflowError:
        raise InputFileError(
            path, f"first annotation at {origin:g} s puts the start out of range",
            "annotation 0",
        ) from None
    return Hypnogram(
        stages=stages,
        epoch_length=epoch_length,
        start_time=start_time,
        offset=origin,
        source=str(path),
        scheme=scheme,
    )


def write_hypnogram(hyp: Hypnogram, path: str | os.PathLike) -> Path:
    """Write a hypnogram, choosing the format by suffix: ``.csv``, ``.parquet``, ``.edf``.

    Raises
    ------
    InputFileError
        For any other suffix, listing the allowed ones (a ``ValueError`` too).
    """
    check_hypnogram_suffix(path)
    writers = {
        ".csv": write_csv_hypnogram,
        ".parquet": write_parquet_hypnogram,
        ".edf": write_edf_hypnogram,
    }
    return writers[Path(path).suffix.lower()](hyp, path)


def check_hypnogram_suffix(path: str | os.PathLike) -> None:
    """Refuse an output path :func:`write_hypnogram` cannot write (before any work is done).

    Raises
    ------
    InputFileError
        Naming the path and the suffixes allowed.
    """
    if Path(path).suffix.lower() not in (".csv", ".parquet", ".edf"):
        raise InputFileError(path, "hypnogram output must end in .csv, .parquet or .edf "
                             "(-hypnogram.edf for EDF+)", "suffix")
