"""Moving bytes safely: a resuming HTTP downloader for pooch and a verified mirror copy.

Both write to a temporary name in the target's folder, check the SHA-256, and only then
rename the file to its final name (``os.replace`` is atomic on one file system), so a
final name never holds a half-written or unverified file.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from dreamband.errors import ChecksumError, DreambandError
from dreamband.registry.errors import FetchError

__all__ = [
    "MirrorChecksumError",
    "ResumableHTTPDownloader",
    "copy_verified",
    "file_sha256",
    "part_path",
]

logger = logging.getLogger(__name__)

CHUNK = 1 << 20  # bytes per read for local files
NET_CHUNK = 1 << 14  # bytes per network read: an interruption loses at most this much


class MirrorChecksumError(ChecksumError):
    """A mirror file does not match its published SHA-256; nothing was copied."""

    def __init__(self, path: str | os.PathLike, expected: str, actual: str) -> None:
        self.path = str(path)
        self.expected = expected
        self.actual = actual
        DreambandError.__init__(
            self,
            f"{self.path}: sha256 mismatch (expected {expected[:16]}..., got {actual[:16]}...); "
            "the mirror copy is corrupt and was not copied",
        )


def file_sha256(path: str | os.PathLike, chunk: int = CHUNK) -> str:
    """SHA-256 of a file, lower-case hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def part_path(target: str | os.PathLike) -> Path:
    """Name of the partial download kept for resuming: ``<target>.part``."""
    target = Path(target)
    return target.with_name(target.name + ".part")


@contextlib.contextmanager
def _progress(enabled: bool, label: str, total: int | None, done: int = 0) -> Iterator[Callable]:
    """Yield ``advance(n_bytes)``; draws a rich progress bar on stderr when enabled."""
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total, completed=done)
        yield lambda n: bar.advance(task, n)


class ResumableHTTPDownloader:
    """A pooch downloader that resumes interrupted downloads with an HTTP Range request.

    pooch's own ``HTTPDownloader`` starts over after an interruption. This one keeps the
    bytes received so far in ``<target>.part``; the next call asks the server for the rest
    (``Range: bytes=<size>-``) and appends it. When the file is complete it checks the
    SHA-256, then moves the data to the temporary file pooch gave it; pooch checks the hash
    again and renames that file to the final name.

    Parameters
    ----------
    target : path
        Final path of the file (the ``.part`` file sits next to it).
    sha256 : str or None
        Expected SHA-256; None when none is published (no check).
    progress : bool
        Draw a progress bar on stderr.
    timeout : float
        Seconds to wait for the server to connect or send data.
    label : str, optional
        Text in front of the progress bar (default: the file name).
    """

    def __init__(
        self,
        target: str | os.PathLike,
        sha256: str | None,
        *,
        progress: bool = True,
        timeout: float = 60.0,
        label: str | None = None,
    ) -> None:
        self.target = Path(target)
        self.label = label or self.target.name
        self.part = part_path(target)
        self.sha256 = sha256
        self.progress = progress
        self.timeout = timeout

    def __call__(self, url: str, output_file: Any, pooch: Any, check_only: bool = False) -> Any:
        """Download ``url`` into ``output_file`` (pooch's downloader protocol)."""
        import requests

        if check_only:
            try:
                resp = requests.head(url, timeout=self.timeout, allow_redirects=True)
            except requests.RequestException:
                return False
            return resp.status_code == 200
        resumed = self._download(url)
        if self.sha256 is not None:
            actual = file_sha256(self.part)
            if actual != self.sha256 and resumed:
                logger.warning("%s: resumed download does not verify; downloading it again",
                               self.target)
                self.part.unlink()
                self._download(url)
                actual = file_sha256(self.part)
            if actual != self.sha256:
                self.part.unlink()
                raise ChecksumError(self.target, self.sha256, actual)
        os.replace(self.part, output_file)
        return None

    def _download(self, url: str) -> bool:
        """Fill ``self.part`` with the whole file; returns True if it resumed."""
        import requests

        offset = self.part.stat().st_size if self.part.exists() else 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            with requests.get(url, headers=headers, stream=True, timeout=self.timeout) as resp:
                if offset and resp.status_code == 416:
                    logger.info("%s: partial file is already complete", self.part)
                    return True
                resp.raise_for_status()
                if offset and not _range_honoured(resp, offset):
                    logger.info("%s: server ignored the Range request; starting over", url)
                    offset = 0
                if offset:
                    logger.info("%s: resuming at byte %d", self.target.name, offset)
                length = resp.headers.get("Content-Length")
                total = offset + int(length) if length and length.isdigit() else None
                mode = "ab" if offset else "wb"
                self.part.parent.mkdir(parents=True, exist_ok=True)
                with (
                    open(self.part, mode) as fh,
                    _progress(self.progress, self.label, total, offset) as advance,
                ):
                    for block in resp.iter_content(chunk_size=NET_CHUNK):
                        fh.write(block)
                        advance(len(block))
                received = self.part.stat().st_size
                if total is not None and received != total:
                    raise FetchError(url, f"transfer ended early ({received} of {total} bytes); "
                                          f"run fetch again to resume from {self.part.name}")
                return bool(offset)
        except requests.RequestException as exc:
            kept = self.part.stat().st_size if self.part.exists() else 0
            hint = f"; {kept} bytes kept in {self.part.name} for resuming" if kept else ""
            response = getattr(exc, "response", None)
            what = f"HTTP {response.status_code}" if response is not None else type(exc).__name__
            raise FetchError(url, f"download failed ({what}){hint}") from exc


def _range_honoured(resp: Any, offset: int) -> bool:
    if resp.status_code != 206:
        return False
    content_range = resp.headers.get("Content-Range", "")
    # "bytes 100-999/1000"
    try:
        start = int(content_range.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return False
    return start == offset


def copy_verified(
    source: str | os.PathLike,
    target: str | os.PathLike,
    sha256: str | None,
    *,
    progress: bool = False,
    label: str | None = None,
) -> None:
    """Copy ``source`` to ``target`` through a temporary file, checking the SHA-256.

    Parameters
    ----------
    source, target : path
        The mirror file and its final local path (parent folders are created).
    sha256 : str or None
        Expected SHA-256; None copies without a check.
    progress : bool
        Draw a progress bar on stderr.
    label : str, optional
        Text in front of the progress bar (default: the file name).

    Raises
    ------
    MirrorChecksumError
        When the copied bytes do not match; the temporary copy is removed and ``target``
        is left untouched.
    """
    source = Path(source)
    target = Path(target)
    if target.exists() and source.resolve() == target.resolve():
        if sha256 is not None and (actual := file_sha256(source)) != sha256:
            raise MirrorChecksumError(source, sha256, actual)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with (
            open(source, "rb") as src,
            os.fdopen(fd, "wb") as dst,
            _progress(progress, label or target.name, source.stat().st_size) as advance,
        ):
            while block := src.read(CHUNK):
                dst.write(block)
                digest.update(block)
                advance(len(block))
            dst.flush()
            os.fsync(dst.fileno())
        actual = digest.hexdigest()
        if sha256 is not None and actual != sha256:
            raise MirrorChecksumError(source, sha256, actual)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
