"""Run many nights on a local process pool or a Dask cluster, resumably.

Every night runs the same function, :func:`run_night`, in a worker process: it decides
from the ``_done`` marker whether the night is already finished with the same content and
model version, analyses it, and writes its partitions atomically. A night that fails becomes
a row in the ``errors`` table and the others go on. Because finished nights are written by
the workers themselves, Ctrl-C or ``kill -9`` of the batch loses nothing already finished.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import resource
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from dreamband import __version__
from dreamband.batch.discover import NightInput
from dreamband.errors import DreambandError
from dreamband.paths import models_dir, user_models_dir
from dreamband.storage.results import (
    SCHEMA_VERSION,
    SCHEMAS,
    is_done,
    night_key,
    write_table_partition,
)

__all__ = ["BatchOptions", "NightOutcome", "model_version", "run_night", "run_nights"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchOptions:
    """What a batch run computes (part of every night's resume marker).

    Parameters
    ----------
    engine : {"rules", "model"}
        EEG staging engine.
    epoch : float
        Epoch length in seconds.
    force : bool
        Redo nights even when their marker says they are done.
    session_stages : {"raw", "live"}
        Live session participants: staged again from their raw streams with the batch
        engines (``raw``, when the streams allow it; :mod:`dreamband.batch.restage`), or
        the stages the live engine announced (``live``).
    """

    engine: str = "rules"
    epoch: float = 30.0
    force: bool = False
    session_stages: str = "raw"


@dataclass(frozen=True)
class NightOutcome:
    """What happened to one night."""

    night: str
    status: str  # "done", "skipped" or "failed"
    seconds: float = 0.0
    error: str = ""
    n_epochs: int = 0
    peak_rss_mb: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)


def model_version(options: BatchOptions) -> str:
    """Identify the analysis: dreamband version, engine, epoch and the models' hash.

    The hash covers the shipped tables and the sidecars of the models trained on this
    machine (a sidecar records its training time, so a retrained model changes it).
    """
    digest = hashlib.sha256()
    for folder, suffixes in ((models_dir(), (".txt", ".json")), (user_models_dir(), (".json",))):
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.is_file() and path.suffix in suffixes:
                    digest.update(path.name.encode())
                    digest.update(path.read_bytes())
    return (f"dreamband-{__version__}/{options.engine}/{options.epoch:g}s/"
            f"sessions-{options.session_stages}/{digest.hexdigest()[:12]}")


def _stat(paths: Sequence[Path]) -> list[list]:
    return [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in paths]


def _content_hash(paths: Sequence[Path]) -> str:
    digest = hashlib.blake2b(digest_size=20)
    for p in paths:
        digest.update(p.name.encode())
        with p.open("rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def night_marker(inp: NightInput, options: BatchOptions, out: Path) -> dict[str, Any]:
    """The resume marker of a night: content hash, file stats, model version, schema.

    The content hash of unchanged files (same size and modification time as recorded in
    the previous marker) is taken from that marker instead of re-reading the files.
    """
    stat = _stat(inp.files)
    previous = out / "_done" / f"{night_key(inp.night)}.json"
    content = None
    if previous.is_file():
        try:
            old = json.loads(previous.read_text(encoding="utf-8"))
            if old.get("stat") == stat:
                content = old.get("content_hash")
        except (json.JSONDecodeError, UnicodeDecodeError):
            content = None
    return {
        "night": inp.night,
        "content_hash": content or _content_hash(inp.files),
        "stat": stat,
        "model_version": model_version(options),
        "schema_version": SCHEMA_VERSION,
    }


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_night(inp: NightInput, out: str | os.PathLike, options: BatchOptions) -> NightOutcome:
    """Analyse one night and write its partitions, unless it is already done.

    Runs inside a worker (process pool or Dask). Never raises for a bad night: the error
    is written to the ``errors`` table and returned in the outcome.
    """
    from dreamband.batch.night import analyse_night
    from dreamband.storage.results import write_night

    out = Path(out)
    t0 = time.perf_counter()
    try:
        marker = night_marker(inp, options, out)
        if not options.force and is_done(out, inp.night, marker):
            return NightOutcome(inp.night, "skipped")
        result = analyse_night(inp, options)
        write_night(out, inp.night, result.tables, marker)
        _clear_error(out, inp.night)
        return NightOutcome(
            inp.night,
            "done",
            time.perf_counter() - t0,
            n_epochs=result.n_epochs,
            peak_rss_mb=_peak_rss_mb(),
            summary=result.summary,
        )
    except Exception as exc:
        if isinstance(exc, DreambandError):
            message = str(exc)
        else:  # keep the batch going, but say where it broke
            where = traceback.extract_tb(exc.__traceback__)[-1]
            message = (
                f"{inp.path}: {type(exc).__name__}: {exc} "
                f"(at {Path(where.filename).name}:{where.lineno})"
            )
        logger.warning("night %s failed: %s", inp.night, message)
        _write_error(out, inp, message)
        return NightOutcome(
            inp.night, "failed", time.perf_counter() - t0, error=message,
            peak_rss_mb=_peak_rss_mb(),
        )


def _write_error(out: Path, inp: NightInput, message: str) -> None:
    table = pa.table(
        {"source": [str(inp.path)], "step": ["analyse"], "error": [message]},
        schema=SCHEMAS["errors"],
    )
    write_table_partition(out, "errors", ("night", inp.night), table)
    (out / "_done" / f"{night_key(inp.night)}.json").unlink(missing_ok=True)


def _clear_error(out: Path, inp_night: str) -> None:
    stale = out / "errors" / f"night={night_key(inp_night)}" / "part-0.parquet"
    stale.unlink(missing_ok=True)


def _die_with_parent() -> None:
    """Pool initializer: on Linux, end this worker when the batch process dies (kill -9).

    Nights are written atomically, so a worker stopped mid-night leaves nothing behind;
    without this, orphaned workers would go on with the nights already queued to them.
    """
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: workers finish their queue and exit
        pass


def _iter_pool(
    nights: Sequence[NightInput], out: Path, options: BatchOptions, workers: int
) -> Iterator[NightOutcome]:
    # workers start from a clean server process, never forked from this one: a fork of a
    # process whose LightGBM/OpenMP or staging threads have run can deadlock in the child
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else None
    with ProcessPoolExecutor(max_workers=workers, initializer=_die_with_parent,
                             mp_context=multiprocessing.get_context(method)) as pool:
        futures = [pool.submit(run_night, n, out, options) for n in nights]
        try:
            for fut in as_completed(futures):
                yield fut.result()
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise


def _iter_dask(
    nights: Sequence[NightInput], out: Path, options: BatchOptions, scheduler: Any
) -> Iterator[NightOutcome]:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:  # pragma: no cover - depends on the install
        raise DreambandError(
            "--scheduler needs Dask distributed: pip install 'dreamband[dask]'"
        ) from None
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        futures = [
            client.submit(run_night, n, str(out), options, pure=False, key=f"night-{n.night}-{i}")
            for i, n in enumerate(nights)
        ]
        for fut in dask_completed(futures):
            yield fut.result()
    finally:
        if client is not scheduler:
            client.close()


def _prepare_heart_models(kinds: Sequence[str]) -> None:
    """Train the missing batch heart models of ``kinds`` once, before the workers start (so
    that every night of the run records the same model version); a machine without slpdb
    leaves the heart nights to fail one by one with the reason."""
    from dreamband.errors import ModelError
    from dreamband.staging.heart_store import ensure_heart_model

    for kind in kinds:
        try:
            ensure_heart_model(kind)
        except ModelError:
            return


def run_nights(
    nights: Sequence[NightInput],
    out: str | os.PathLike,
    options: BatchOptions | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    on_outcome: Callable[[NightOutcome], None] | None = None,
) -> list[NightOutcome]:
    """Analyse nights in parallel; return one outcome per night in input order.

    Parameters
    ----------
    nights : sequence of NightInput
        From :func:`dreamband.batch.discover.discover_inputs`.
    out : path
        Output dataset folder.
    options : BatchOptions, optional
    workers : int, optional
        Local worker processes (default: the number of CPUs).
    scheduler : str or distributed.Client, optional
        A Dask scheduler address (``tcp://host:8786``) or client; when given the nights
        run on that cluster instead of the local pool.
    on_outcome : callable, optional
        Called with each outcome as it arrives (progress display).
    """
    options = options or BatchOptions()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    workers = max(1, workers or os.cpu_count() or 1)
    heart = [n for n in nights if n.kind == "heart"]
    if heart:
        # WFDB records give beats (rr); a CSV may hold RR intervals or heart rate
        csv = any(n.path.suffix.lower() not in (".hea", ".ecg") for n in heart)
        _prepare_heart_models(("rr", "hr") if csv else ("rr",))
    elif any(n.kind == "record" and n.path.name == "rr" for n in nights):
        _prepare_heart_models(("rr",))  # chest straps of record folders: their beats
    if scheduler is not None:
        stream = _iter_dask(nights, out, options, scheduler)
    else:
        stream = _iter_pool(nights, out, options, workers)
    by_night: dict[str, NightOutcome] = {}
    for outcome in stream:
        by_night[outcome.night] = outcome
        if on_outcome is not None:
            on_outcome(outcome)
    _write_run_log(out, options, [by_night[n.night] for n in nights])
    return [by_night[n.night] for n in nights]


def _write_run_log(out: Path, options: BatchOptions, outcomes: Sequence[NightOutcome]) -> None:
    log = {
        "options": asdict(options),
        "model_version": model_version(options),
        "nights": [
            {k: v for k, v in asdict(o).items() if k != "summary"} for o in outcomes
        ],
    }
    tmp = out / ".last_run.json.tmp"
    tmp.write_text(json.dumps(log, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, out / "last_run.json")
