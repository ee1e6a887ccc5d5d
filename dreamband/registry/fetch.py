"""``fetch``: bring a dataset's files into the data folder, verified.

Files come from the web through :func:`pooch.retrieve` (with a downloader that resumes
partial downloads) or, with ``mirror=``, from a local folder. Every file with a published
SHA-256 is checked before it gets its final name; a mismatch removes the bad copy and
raises :class:`~dreamband.errors.ChecksumError`. Files already present and verified are
skipped. Files without a published checksum are fetched with a logged warning.
"""

from __future__ import annotations

import logging
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dreamband.registry.catalog import dataset_folder, get_dataset, local_path, select_records
from dreamband.registry.errors import FetchError, FetchIncompleteError, SelectionError
from dreamband.registry.manifest import DataFile, Dataset
from dreamband.registry.transfer import (
    ResumableHTTPDownloader,
    copy_verified,
    file_sha256,
)

__all__ = ["FetchReport", "fetch", "files_to_fetch"]

logger = logging.getLogger(__name__)


@dataclass
class FetchReport:
    """What :func:`fetch` did, file by file (manifest paths).

    Attributes
    ----------
    dataset : str
    folder : pathlib.Path
        Local folder of the dataset.
    fetched : list of str
        Files downloaded or copied (and verified when a checksum is published).
    skipped : list of str
        Files already present and verified (or present, when no checksum is published).
    unverified : list of str
        Files obtained or kept without a published checksum.
    missing : list of (str, str)
        Files not obtained, with the reason.
    """

    dataset: str
    folder: Path
    fetched: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when every requested file is present."""
        return not self.missing


def files_to_fetch(
    dataset: Dataset,
    records: Sequence[str] | None = None,
    subjects: Sequence[str | int] | None = None,
    purpose: str | None = None,
) -> list[DataFile]:
    """The files a fetch with this selection brings.

    Dataset-level files come with a whole-dataset fetch without ``purpose``; those marked
    ``always`` (licences, record lists) come with any selection. ``purpose`` keeps only
    record files whose ``needed_for`` names it (e.g. ``"heart-staging"``).

    Raises
    ------
    SelectionError
        For an unknown record, subject or purpose.
    """
    whole = records is None and subjects is None
    chosen = select_records(dataset, records, subjects)
    if purpose is not None:
        known = sorted({p for r in dataset.records for f in r.files for p in f.needed_for})
        if purpose not in known:
            raise SelectionError(dataset.name, "purpose", purpose, known)
    out = [f for f in dataset.files if f.always or (whole and purpose is None)]
    for rec in chosen:
        out.extend(f for f in rec.files if purpose is None or purpose in f.needed_for)
    return out


class _MirrorIndex:
    """Find a manifest file in a local mirror folder: by its path, then by its name.

    The look-up by name (anywhere under the mirror) is only used for names that are unique
    in the manifest; otherwise a file of another record could be taken for it.
    """

    def __init__(self, root: Path, dataset: Dataset) -> None:
        if not root.is_dir():
            raise FetchError(str(root), "mirror folder does not exist")
        self.root = root
        self.dataset = dataset
        self._by_name: dict[str, list[Path]] | None = None
        names = [f.name for f in dataset.files] + [
            f.name for r in dataset.records for f in r.files
        ]
        self._ambiguous = {n for n, count in Counter(names).items() if count > 1}

    def _index(self) -> dict[str, list[Path]]:
        if self._by_name is None:
            by_name: dict[str, list[Path]] = defaultdict(list)
            for folder, _, names in os.walk(self.root):
                for name in names:
                    by_name[name].append(Path(folder, name))
            self._by_name = {k: sorted(v) for k, v in by_name.items()}
        return self._by_name

    def find(self, file: DataFile) -> Path | None:
        parts = file.path.split("/")
        candidates = [self.root.joinpath(*parts), self.root.joinpath(self.dataset.folder, *parts)]
        base = self.dataset.base_url.rstrip("/") + "/"
        if file.url and self.dataset.base_url and file.url.startswith(base):
            candidates.append(self.root.joinpath(*file.url[len(base):].split("/")))
        for cand in candidates:
            if cand.is_file():
                return cand
        if file.name in self._ambiguous:
            return None
        hits = self._index().get(file.name, [])
        if len(hits) > 1:
            logger.warning("%s: %d files named %s in the mirror; using %s",
                           file.path, len(hits), file.name, hits[0])
        return hits[0] if hits else None


def _present_and_valid(target: Path, file: DataFile) -> bool:
    if not target.is_file():
        return False
    if file.sha256 is None:
        return True
    if file_sha256(target) == file.sha256:
        return True
    logger.warning("%s: local copy does not match the published checksum; fetching it again",
                   target)
    return False


def _download(file: DataFile, target: Path, progress: bool, label: str) -> None:
    import pooch

    downloader = ResumableHTTPDownloader(target, file.sha256, progress=progress, label=label)
    known_hash = f"sha256:{file.sha256}" if file.sha256 else None
    pooch.retrieve(
        file.url,
        known_hash=known_hash,
        fname=target.name,
        path=target.parent,
        downloader=downloader,
        progressbar=False,
    )


def fetch(
    name: str,
    records: Iterable[str] | None = None,
    subjects: Iterable[str | int] | None = None,
    data_dir: str | os.PathLike | None = None,
    mirror: str | os.PathLike | None = None,
    progress: bool = True,
    *,
    purpose: str | None = None,
    allow_missing: bool | None = None,
    manifests_dir: str | os.PathLike | None = None,
) -> FetchReport:
    """Download (or copy from a mirror) and verify the files of a dataset.

    Parameters
    ----------
    name : str
        Dataset name (see :func:`~dreamband.registry.dataset_names`).
    records, subjects : iterable, optional
        Restrict to these record ids / subjects (see :func:`select_records`).
    data_dir : path, optional
        Data folder; files go to ``<data_dir>/<dataset folder>/<manifest path>``.
    mirror : path, optional
        Local folder to copy from instead of downloading. Each file is looked up by its
        manifest path, then by its name anywhere under the folder. Nothing is downloaded
        when a mirror is given.
    progress : bool
        Draw progress bars on stderr.
    purpose : str, optional
        Only the record files needed for this purpose (e.g. ``"heart-staging"``).
    allow_missing : bool, optional
        Whether files that cannot be obtained are reported (True) or raise (False).
        Default: allowed for a whole-dataset fetch, an error when records or subjects were
        requested explicitly.
    manifests_dir : path, optional
        Folder of manifests.

    Returns
    -------
    FetchReport

    Raises
    ------
    ChecksumError
        A file does not match its published SHA-256 (the bad copy is removed).
    FetchIncompleteError
        Requested files could not be obtained and ``allow_missing`` is false.
    DatasetNotFoundError, SelectionError
        Unknown dataset, record, subject or purpose.
    """
    records = None if records is None else list(records)
    subjects = None if subjects is None else list(subjects)
    dataset = get_dataset(name, manifests_dir)
    files = files_to_fetch(dataset, records, subjects, purpose)
    if allow_missing is None:
        allow_missing = records is None and subjects is None
    report = FetchReport(dataset.name, dataset_folder(dataset, data_dir))
    index = _MirrorIndex(Path(mirror), dataset) if mirror is not None else None
    logger.info("%s: %d file(s) to check in %s", dataset.name, len(files), report.folder)
    for i, file in enumerate(files, 1):
        target = local_path(dataset, file, data_dir)
        label = f"[{i}/{len(files)}] {file.name}"
        if _present_and_valid(target, file):
            report.skipped.append(file.path)
            if file.sha256 is None:
                report.unverified.append(file.path)
            continue
        try:
            if index is not None:
                source = index.find(file)
                if source is None:
                    raise FetchError(file.path, f"not found in mirror {index.root}")
                copy_verified(source, target, file.sha256, progress=progress, label=label)
            elif file.url is None:
                raise FetchError(file.path, "no download URL (this dataset comes from a mirror "
                                            "only: use --mirror DIR)")
            else:
                _download(file, target, progress, label)
        except FetchError as exc:
            logger.info("%s", exc)
            report.missing.append((file.path, exc.reason))
            continue
        report.fetched.append(file.path)
        if file.sha256 is None:
            report.unverified.append(file.path)
            logger.warning("%s: no published checksum; obtained without verification", file.path)
        else:
            logger.info("%s: verified", file.path)
    if report.missing and not allow_missing:
        raise FetchIncompleteError(dataset.name, report.missing, report)
    if report.missing:
        logger.warning("%s: %d file(s) not obtained, first: %s: %s", dataset.name,
                       len(report.missing), *report.missing[0])
    return report
