"""Dataset manifests: TOML files describing a dataset's records, files, URLs and checksums.

A manifest is data, read with :mod:`tomllib` and validated strictly: an unknown key or a
missing field raises :class:`~dreamband.errors.InputFileError` naming the manifest file and
the key, so a typo never silently drops a checksum.

Layout of a manifest (``datasets/<name>.toml``)::

    name = "slpdb"                 # required, the name users type
    title = "..."                  # required
    version = "1.0.0"              # required
    licence = "ODC-By-1.0"         # required
    citations = ["..."]            # required, at least one
    base_url = "https://..."       # required; "" when files cannot be downloaded
    licence_url, homepage, access, description, folder    # optional

    [[files]]                      # optional dataset-level files (RECORDS, licence, ...)
    path = "RECORDS"               # fetched with the whole dataset, or always if always=true
    sha256 = "..."

    [[records]]
    id = "slp01a"                  # required, unique
    subject = "slp01"              # optional (defaults to the id)
    night = 1                      # optional
    study = "..."                  # optional
    files = [ { path = "slp01a.hea", sha256 = "...", kind = "header",
                needed_for = ["heart-staging"] } ]

A file's ``path`` is where it lives under ``<data_dir>/<folder>/`` (``folder`` defaults to
the dataset name); its ``url`` defaults to ``base_url + path``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from dreamband.errors import InputFileError

__all__ = ["DataFile", "Dataset", "Record", "load_manifest"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset.

    Attributes
    ----------
    path : str
        Relative POSIX path under the dataset's local folder.
    url : str or None
        Where to download it; None when it can only come from a mirror.
    sha256 : str or None
        Published SHA-256 (lower-case hex), or None when none is published.
    kind : str or None
        What the file holds (``"psg"``, ``"hypnogram"``, ``"beats"``, ...).
    needed_for : tuple of str
        Purposes that need this file (``"heart-staging"``, ``"waveform"``).
    always : bool
        Dataset-level file fetched with any selection of records (licences, RECORDS).
    """

    path: str
    url: str | None = None
    sha256: str | None = None
    kind: str | None = None
    needed_for: tuple[str, ...] = ()
    always: bool = False

    @property
    def name(self) -> str:
        """The file's base name."""
        return PurePosixPath(self.path).name


@dataclass(frozen=True)
class Record:
    """One record (usually one night of one subject) and its files."""

    id: str
    subject: str
    files: tuple[DataFile, ...]
    night: int | None = None
    study: str | None = None


@dataclass(frozen=True)
class Dataset:
    """A dataset as described by its manifest.

    Attributes
    ----------
    name, title, version, licence : str
        Identity and licence (an SPDX-like identifier).
    citations : tuple of str
        References to cite when using the data.
    base_url : str
        Prefix of download URLs; empty when the data cannot be downloaded.
    records : tuple of Record
        Every record of the dataset, in manifest order.
    files : tuple of DataFile
        Dataset-level files (record lists, licence, subject tables).
    folder : str
        Sub-folder of the data folder holding the files (defaults to ``name``).
    manifest : pathlib.Path
        The manifest file this came from.
    """

    name: str
    title: str
    version: str
    licence: str
    citations: tuple[str, ...]
    base_url: str
    records: tuple[Record, ...]
    files: tuple[DataFile, ...] = ()
    folder: str = ""
    licence_url: str | None = None
    homepage: str | None = None
    access: str | None = None
    description: str | None = None
    manifest: Path = field(default_factory=Path)

    def record(self, record_id: str) -> Record:
        """Return the record named ``record_id`` (case-insensitive).

        Raises
        ------
        KeyError
            When the dataset has no such record.
        """
        key = record_id.lower()
        for rec in self.records:
            if rec.id.lower() == key:
                return rec
        raise KeyError(record_id)


_TOP_REQUIRED = ("name", "title", "version", "licence", "citations", "base_url", "records")
_TOP_OPTIONAL = ("licence_url", "homepage", "access", "description", "folder", "files")
_REC_REQUIRED = ("id", "files")
_REC_OPTIONAL = ("subject", "night", "study")
_FILE_REQUIRED = ("path",)
_FILE_OPTIONAL = ("url", "sha256", "kind", "needed_for", "always")


class _Checker:
    """Validation helpers that raise InputFileError naming the manifest and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, reason: str, where: str | None = None) -> InputFileError:
        return InputFileError(self.path, reason, where)

    def keys(self, table: Any, required: tuple, optional: tuple, where: str) -> dict:
        if not isinstance(table, dict):
            raise self.fail(f"expected a table, got {type(table).__name__}", where)
        for key in table:
            if key not in required and key not in optional:
                allowed = ", ".join(required + optional)
                raise self.fail(f"unknown key {key!r} (allowed: {allowed})", where)
        for key in required:
            if key not in table:
                raise self.fail(f"missing required key {key!r}", where)
        return table

    def string(self, table: dict, key: str, where: str, *, empty_ok: bool = False) -> str:
        value = table[key]
        if not isinstance(value, str) or (not empty_ok and not value.strip()):
            raise self.fail(f"{key!r} must be a non-empty string, got {value!r}", where)
        return value

    def opt_string(self, table: dict, key: str, where: str) -> str | None:
        return self.string(table, key, where) if key in table else None


def _parse_file(chk: _Checker, table: Any, where: str, base_url: str) -> DataFile:
    table = chk.keys(table, _FILE_REQUIRED, _FILE_OPTIONAL, where)
    path = chk.string(table, "path", where)
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or "\\" in path:
        raise chk.fail(f"'path' must be a relative POSIX path inside the dataset: {path!r}", where)
    sha = chk.opt_string(table, "sha256", where)
    if sha is not None:
        sha = sha.lower()
        if not _SHA256.match(sha):
            raise chk.fail(f"'sha256' is not 64 hex digits: {sha!r}", where)
    url = chk.opt_string(table, "url", where)
    if url is None and base_url:
        url = base_url.rstrip("/") + "/" + path
    needed = table.get("needed_for", [])
    if not isinstance(needed, list) or not all(isinstance(x, str) for x in needed):
        raise chk.fail(f"'needed_for' must be a list of strings, got {needed!r}", where)
    always = table.get("always", False)
    if not isinstance(always, bool):
        raise chk.fail(f"'always' must be true or false, got {always!r}", where)
    return DataFile(
        path=path,
        url=url,
        sha256=sha,
        kind=chk.opt_string(table, "kind", where),
        needed_for=tuple(needed),
        always=always,
    )


def _parse_record(chk: _Checker, table: Any, where: str, base_url: str) -> Record:
    table = chk.keys(table, _REC_REQUIRED, _REC_OPTIONAL, where)
    rec_id = chk.string(table, "id", where)
    subject = table.get("subject", rec_id)
    if not isinstance(subject, str | int) or isinstance(subject, bool):
        raise chk.fail(f"'subject' must be a string or an integer, got {subject!r}", where)
    night = table.get("night")
    if night is not None and (not isinstance(night, int) or isinstance(night, bool)):
        raise chk.fail(f"'night' must be an integer, got {night!r}", where)
    files_raw = table["files"]
    if not isinstance(files_raw, list) or not files_raw:
        raise chk.fail("'files' must be a non-empty list of tables", where)
    files = tuple(
        _parse_file(chk, f, f"{where}.files[{j}]", base_url) for j, f in enumerate(files_raw)
    )
    return Record(
        id=rec_id,
        subject=str(subject),
        files=files,
        night=night,
        study=chk.opt_string(table, "study", where),
    )


def load_manifest(path: str | Path) -> Dataset:
    """Read and validate one manifest file.

    Parameters
    ----------
    path : str or Path
        A ``.toml`` manifest.

    Returns
    -------
    Dataset

    Raises
    ------
    InputFileError
        When the file cannot be read or parsed, has an unknown key, misses a required key,
        has a malformed value, or lists the same record or file path twice.
    """
    path = Path(path)
    chk = _Checker(path)
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise chk.fail(f"cannot read manifest: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise chk.fail(f"not valid TOML: {exc}") from exc
    chk.keys(doc, _TOP_REQUIRED, _TOP_OPTIONAL, "top level")
    meta = {k: chk.string(doc, k, k) for k in ("name", "title", "version", "licence")}
    base_url = chk.string(doc, "base_url", "base_url", empty_ok=True)
    cites = doc["citations"]
    if not isinstance(cites, list) or not cites or not all(isinstance(c, str) for c in cites):
        raise chk.fail("'citations' must be a non-empty list of strings", "citations")
    recs_raw = doc["records"]
    if not isinstance(recs_raw, list) or not recs_raw:
        raise chk.fail("'records' must be a non-empty array of tables", "records")
    records = tuple(
        _parse_record(chk, r, f"records[{i}]", base_url) for i, r in enumerate(recs_raw)
    )
    files_raw = doc.get("files", [])
    if not isinstance(files_raw, list):
        raise chk.fail("'files' must be an array of tables", "files")
    files = tuple(
        _parse_file(chk, f, f"files[{i}]", base_url) for i, f in enumerate(files_raw)
    )
    _check_unique(chk, records, files)
    return Dataset(
        **meta,
        citations=tuple(cites),
        base_url=base_url,
        records=records,
        files=files,
        folder=chk.opt_string(doc, "folder", "folder") or meta["name"],
        licence_url=chk.opt_string(doc, "licence_url", "licence_url"),
        homepage=chk.opt_string(doc, "homepage", "homepage"),
        access=chk.opt_string(doc, "access", "access"),
        description=chk.opt_string(doc, "description", "description"),
        manifest=path,
    )


def _check_unique(chk: _Checker, records: tuple[Record, ...], files: tuple[DataFile, ...]) -> None:
    seen_ids: set[str] = set()
    seen_paths: set[str] = set()
    for i, rec in enumerate(records):
        if rec.id.lower() in seen_ids:
            raise chk.fail(f"record id {rec.id!r} appears twice", f"records[{i}].id")
        seen_ids.add(rec.id.lower())
    all_files = [(f"files[{i}]", f) for i, f in enumerate(files)] + [
        (f"records[{i}].files[{j}]", f)
        for i, rec in enumerate(records)
        for j, f in enumerate(rec.files)
    ]
    for where, f in all_files:
        if f.path in seen_paths:
            raise chk.fail(f"file path {f.path!r} appears twice", f"{where}.path")
        seen_paths.add(f.path)
