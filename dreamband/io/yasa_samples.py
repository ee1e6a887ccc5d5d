"""Small files of the YASA tutorials: a REM EOG ``.npz``, EEG snippets and a 30-s hypnogram.

* ``data_EOGs_REM_256Hz.npz``: keys ``data`` (n_channels, n_samples) µV, ``sf``, ``chan``.
* ``data_<stage>_<...>_<fs>Hz.txt``: one EEG sample per line (µV); fs from the file name.
* ``*_hypno_30s.txt``: one integer stage per 30 s (0 W, 1 N1, 2 N2, 3 N3, 4 REM), ``#`` comments.
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import numpy as np

from dreamband.core.hypnogram import Hypnogram
from dreamband.core.recording import Channel, Recording
from dreamband.core.stages import SleepStage
from dreamband.errors import InputFileError
from dreamband.io.text import text_lines

__all__ = ["read_int_hypnogram", "read_yasa_eeg_txt", "read_yasa_npz"]

_YASA_CODES = {
    0: SleepStage.W,
    1: SleepStage.N1,
    2: SleepStage.N2,
    3: SleepStage.N3,
    4: SleepStage.REM,
}


def _exists(path: Path) -> None:
    if not path.is_file():
        raise InputFileError(path, "no such file")


def read_yasa_npz(path: str | os.PathLike) -> Recording:
    """Read YASA's ``data_EOGs_REM_256Hz.npz`` (keys ``data``, ``sf``, ``chan``) as EOG channels.

    Raises
    ------
    InputFileError
        If the file is not an npz archive or lacks a key, or shapes disagree.
    """
    path = Path(path)
    _exists(path)
    if not zipfile.is_zipfile(path):
        raise InputFileError(path, "not an npz archive (not a zip file)")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in ("data", "sf", "chan") if k not in z.files]
            if missing:
                raise InputFileError(
                    path, f"missing key {missing[0]!r} (a YASA .npz holds data, sf and chan; "
                    f"this one holds {', '.join(z.files) or 'nothing'})", "npz keys")
            data = np.atleast_2d(np.asarray(z["data"], dtype=float))
            fs = float(np.asarray(z["sf"]))
            names = [str(c) for c in np.atleast_1d(z["chan"])]
    except InputFileError:
        raise
    except (ValueError, OSError) as exc:
        if "pickle" in str(exc):
            raise InputFileError(path, "holds Python objects (pickled), which dreamband never "
                                 "loads; save plain arrays", "npz keys") from None
        raise InputFileError(path, f"not a readable npz archive ({exc})") from None
    if len(names) != data.shape[0]:
        raise InputFileError(path, f"{len(names)} channel names for {data.shape[0]} rows", "chan")
    chans = [Channel(name=n, data=row, fs=fs, unit="uV", kind="eog") for n, row in zip(names, data)]
    return Recording(channels=chans, source=str(path), participant=path.stem)


def read_yasa_eeg_txt(
    path: str | os.PathLike, fs: float | None = None, channel: str = "EEG"
) -> Recording:
    """Read a one-sample-per-line EEG text file (µV); ``fs`` defaults to the ``<N>Hz`` in its name.

    Raises
    ------
    InputFileError
        If a line is not a number or the rate is neither given nor in the file name.
    """
    path = Path(path)
    _exists(path)
    if fs is None:
        m = re.search(r"(\d+(?:\.\d+)?)Hz", path.name)
        if not m:
            raise InputFileError(
                path, "sampling rate not given and not in the file name ('..._100Hz')"
            )
        fs = float(m.group(1))
    values = _numbers(path)
    return Recording(
        channels=[Channel(name=channel, data=values, fs=fs, unit="uV", kind="eeg")],
        source=str(path),
        participant=path.stem,
    )


def _numbers(path: Path) -> np.ndarray:
    out = []
    with text_lines(path) as fh:
        for i, line in enumerate(fh, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            try:
                out.append(float(text))
            except ValueError:
                raise InputFileError(path, f"not a number: {text[:40]!r}", f"line {i}") from None
    return np.asarray(out, dtype=float)


def read_int_hypnogram(path: str | os.PathLike, epoch_length: float = 30.0) -> Hypnogram:
    """Read a one-integer-per-line hypnogram (YASA: 0 W, 1 N1, 2 N2, 3 N3, 4 REM; -1 unscored).

    Lines starting with ``#`` are comments. Epochs start at 0 s.

    Raises
    ------
    InputFileError
        Naming the line of a value that is not one of those codes.
    """
    path = Path(path)
    _exists(path)
    stages = []
    with text_lines(path) as fh:
        for i, line in enumerate(fh, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            try:
                value = float(text)
                if value != int(value):
                    raise ValueError
                code = int(value)
            except ValueError:
                raise InputFileError(
                    path, f"not an integer stage: {text[:40]!r}", f"line {i}"
                ) from None
            if code == -1:
                stages.append(SleepStage.UNSCORED)
            elif code in _YASA_CODES:
                stages.append(_YASA_CODES[code])
            else:
                raise InputFileError(path, f"stage code must be -1..4; got {code}", f"line {i}")
    if not stages:
        raise InputFileError(path, "no stages")
    return Hypnogram(
        stages=np.asarray(stages, dtype=np.int8), epoch_length=epoch_length, source=str(path)
    )
