"""Text files read whole, with a clear error when a file is not text.

Every reader of a text format (CSV hypnograms and heart series, one-number-per-line files)
goes through :func:`read_text`, so a binary or wrongly encoded file gives one line naming
the file and the line of the first bad byte instead of a ``UnicodeDecodeError``.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from dreamband.errors import InputFileError

__all__ = ["read_text", "text_lines"]


def read_text(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """The whole text of a file.

    Parameters
    ----------
    path : path
        The file.
    encoding : str
        Its encoding (``utf-8-sig`` drops a leading byte-order mark).

    Returns
    -------
    str

    Raises
    ------
    InputFileError
        If the file is missing, or holds a byte the encoding cannot read (naming its line).
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputFileError(p, "no such file") from None
    except IsADirectoryError:
        raise InputFileError(p, "is a folder, not a file") from None
    except OSError as exc:
        raise InputFileError(p, f"cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputFileError(
            p, f"not a text file: byte 0x{data[exc.start]:02x} is not {exc.encoding} "
            "(binary data, or another encoding)", f"line {line}"
        ) from None


def text_lines(path: str | os.PathLike, encoding: str = "utf-8") -> io.StringIO:
    """Lines of a text file (ends kept, as ``open()`` would give them, for :mod:`csv` too).

    Raises
    ------
    InputFileError
        As :func:`read_text`.
    """
    return io.StringIO(read_text(path, encoding), newline="")
