"""Exceptions with one-line messages naming the file, device, channel or field at fault.

The CLI prints ``dreamband: error: <message>`` for any :class:`DreambandError` and exits
non-zero; library users catch them like the built-in exceptions they subclass.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

__all__ = [
    "ChannelNotFoundError",
    "ChecksumError",
    "DreambandError",
    "InputFileError",
    "ModelError",
]


class DreambandError(Exception):
    """Base class of every error dreamband raises on purpose."""


class InputFileError(DreambandError, ValueError):
    """A file is missing, unreadable, truncated, or not in the expected format.

    Parameters
    ----------
    path : str or PathLike
        The file at fault.
    reason : str
        What is wrong, in a few words (``"not an EDF file (header version is 'abc')"``).
    field : str, optional
        The field, column or line involved (``"line 12"``, ``"header field 'n_records'"``).
    """

    def __init__(self, path: str | PathLike, reason: str, field: str | None = None) -> None:
        self.path = str(path)
        self.reason = reason
        self.field = field
        where = f"{self.path}" + (f" ({field})" if field else "")
        super().__init__(f"{where}: {reason}")


class ChannelNotFoundError(DreambandError, KeyError):
    """A requested channel is not in a recording; lists the channels that are."""

    def __init__(self, source: str, channel: str, available: Sequence[str]) -> None:
        self.source = source
        self.channel = channel
        self.available = list(available)
        msg = f"{source}: channel {channel!r} not found; available: {', '.join(self.available)}"
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would add quotes around the message
        return str(self.args[0])


class ChecksumError(DreambandError, ValueError):
    """A downloaded or copied file does not match its published SHA-256."""

    def __init__(self, path: str | PathLike, expected: str, actual: str) -> None:
        self.path = str(path)
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{self.path}: sha256 mismatch (expected {expected[:16]}..., got {actual[:16]}...); "
            "the file was removed"
        )


class ModelError(DreambandError, ValueError):
    """A model file or its JSON sidecar is missing, malformed, or does not match the input."""
