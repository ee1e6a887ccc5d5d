"""The catalogue of datasets: find manifests, pick records, see what is on disk.

Manifests come from, in order: the ``manifests_dir`` argument, the ``DREAMBAND_MANIFESTS``
environment variable, then :func:`dreamband.paths.manifests_dir` (``datasets/`` in the
repository, ``dreamband/_datasets`` in an installed wheel). A dataset's files live under
``<data_dir>/<folder>/<path as in the manifest>``, with the data folder resolved by
:func:`dreamband.paths.data_dir`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dreamband import paths
from dreamband.errors import InputFileError
from dreamband.registry.errors import DatasetNotFoundError, SelectionError
from dreamband.registry.manifest import DataFile, Dataset, Record, load_manifest

__all__ = [
    "MANIFESTS_ENV",
    "RecordStatus",
    "dataset_folder",
    "dataset_names",
    "dataset_status",
    "get_dataset",
    "local_path",
    "resolve_manifests_dir",
    "select_records",
]

#: Environment variable naming another manifests folder (tests, private datasets).
MANIFESTS_ENV = "DREAMBAND_MANIFESTS"


def resolve_manifests_dir(manifests_dir: str | os.PathLike | None = None) -> Path:
    """Folder of manifests: argument -> ``$DREAMBAND_MANIFESTS`` -> the shipped folder."""
    if manifests_dir:
        return Path(manifests_dir)
    env = os.environ.get(MANIFESTS_ENV)
    if env:
        return Path(env)
    return paths.manifests_dir()


def _manifest_files(folder: Path) -> dict[str, Path]:
    """Map dataset name (the file stem) -> manifest path."""
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.toml"))}


def dataset_names(manifests_dir: str | os.PathLike | None = None) -> list[str]:
    """Names of every dataset with a manifest, sorted.

    Parameters
    ----------
    manifests_dir : path, optional
        Folder of manifests (see :func:`resolve_manifests_dir`).

    Returns
    -------
    list of str
    """
    return sorted(_manifest_files(resolve_manifests_dir(manifests_dir)))


def get_dataset(name: str, manifests_dir: str | os.PathLike | None = None) -> Dataset:
    """Load and validate the manifest of dataset ``name``.

    Parameters
    ----------
    name : str
        Dataset name, e.g. ``"sleep-edf"`` (the manifest file's stem).
    manifests_dir : path, optional
        Folder of manifests (see :func:`resolve_manifests_dir`).

    Returns
    -------
    Dataset

    Raises
    ------
    DatasetNotFoundError
        When no manifest has that name; the message lists the known names.
    InputFileError
        When the manifest is malformed, or its ``name`` differs from its file name.
    """
    folder = resolve_manifests_dir(manifests_dir)
    files = _manifest_files(folder)
    if name not in files:
        raise DatasetNotFoundError(name, sorted(files), folder)
    dataset = load_manifest(files[name])
    if dataset.name != name:
        raise InputFileError(
            files[name], f"'name' is {dataset.name!r} but the file is named {name!r}", "name"
        )
    return dataset


def dataset_folder(dataset: Dataset, data_dir: str | os.PathLike | None = None) -> Path:
    """Local folder of a dataset: ``<data_dir>/<folder>``."""
    return paths.data_dir(data_dir) / dataset.folder


def local_path(dataset: Dataset, file: DataFile, data_dir: str | os.PathLike | None = None) -> Path:
    """Where ``file`` of ``dataset`` lives locally."""
    return dataset_folder(dataset, data_dir).joinpath(*file.path.split("/"))


def _trailing_int(text: str) -> int | None:
    match = re.search(r"(\d+)[a-z]?$", text, flags=re.IGNORECASE)
    return int(match.group(1)) if match else None


def _subject_matches(token: str, subject: str) -> bool:
    if token.lower() == subject.lower():
        return True
    if token.isdigit():
        return _trailing_int(subject) == int(token)
    return False


def select_records(
    dataset: Dataset,
    records: Iterable[str] | None = None,
    subjects: Iterable[str | int] | None = None,
) -> list[Record]:
    """Pick records by id and/or subject.

    Parameters
    ----------
    dataset : Dataset
    records : iterable of str, optional
        Record ids (case-insensitive), e.g. ``["SC4001", "SC4002"]``.
    subjects : iterable of str or int, optional
        Subject ids as in the manifest (``"SC00"``, ``"slp01"``), or numbers, which match the
        number at the end of a subject id (``0`` matches ``SC00``; in sleep-edf ``1`` matches
        both ``SC01`` and ``ST01``, two different people).

    Returns
    -------
    list of Record
        Every record when both are None; otherwise the union of the matches, in manifest
        order.

    Raises
    ------
    SelectionError
        When a requested record or subject matches nothing.
    """
    if records is None and subjects is None:
        return list(dataset.records)
    chosen: set[str] = set()
    for rec_id in records or ():
        try:
            chosen.add(dataset.record(str(rec_id)).id)
        except KeyError:
            raise SelectionError(dataset.name, "record", str(rec_id),
                                 [r.id for r in dataset.records]) from None
    for token in subjects or ():
        hits = [r.id for r in dataset.records if _subject_matches(str(token), r.subject)]
        if not hits:
            known = list(dict.fromkeys(r.subject for r in dataset.records))
            raise SelectionError(dataset.name, "subject", str(token), known)
        chosen.update(hits)
    return [r for r in dataset.records if r.id in chosen]


@dataclass(frozen=True)
class RecordStatus:
    """Which files of one record are on disk.

    Attributes
    ----------
    record : str
        Record id.
    subject : str
        Subject id.
    present : bool
        True when every file of the record exists locally.
    missing_files : list of str
        Manifest paths of the files that do not exist locally.
    """

    record: str
    subject: str
    present: bool
    missing_files: list[str]


def dataset_status(
    name: str,
    data_dir: str | os.PathLike | None = None,
    *,
    records: Sequence[str] | None = None,
    subjects: Sequence[str | int] | None = None,
    purpose: str | None = None,
    manifests_dir: str | os.PathLike | None = None,
) -> list[RecordStatus]:
    """Which records of a dataset are present locally.

    Only existence is checked (fast); ``fetch`` verifies checksums.

    Parameters
    ----------
    name : str
        Dataset name.
    data_dir : path, optional
        Data folder (``--data-dir``); defaults to ``$DREAMBAND_DATA``, then the user folder.
    records, subjects : sequence, optional
        Restrict to these records / subjects (see :func:`select_records`).
    purpose : str, optional
        Only count the files needed for this purpose (``"heart-staging"`` in slpdb: a
        record without its ``.dat`` signals is then present).
    manifests_dir : path, optional
        Folder of manifests.

    Returns
    -------
    list of RecordStatus
        One per record, in manifest order.
    """
    dataset = get_dataset(name, manifests_dir)
    out = []
    for rec in select_records(dataset, records, subjects):
        files = [f for f in rec.files if purpose is None or purpose in f.needed_for]
        missing = [f.path for f in files if not local_path(dataset, f, data_dir).is_file()]
        out.append(RecordStatus(rec.id, rec.subject, not missing, missing))
    return out
