"""Find the nights to analyse from files, folders and dataset names.

A night is one of:

``eeg``
    an EDF/BDF recording (a Sleep-EDF ``*-PSG.edf`` gets its expert hypnogram attached as
    the reference when it lies beside it);
``heart``
    a WFDB record with beat annotations (``slp03.hea`` + ``slp03.ecg``) or a CSV of RR
    intervals / heart-rate samples;
``scored``
    an expert or earlier hypnogram with no signal beside it (Sleep-EDF ``*-Hypnogram.edf``
    without its PSG, our staging CSV/Parquet): analysed as scored, without staging;
``session``
    one participant of a live or replay session folder (``session.json`` +
    ``epochs.parquet`` written by the live engine): staged again from its raw streams, or
    its live stages analysed as scored.
    The participants of one session folder form one group session;
``record``
    one band of a ``dreamband record`` folder (raw band streams, no ``session.json``):
    staged from its EEG or RR stream (:mod:`dreamband.batch.records`). The bands of one
    record folder form one group session.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dreamband.errors import InputFileError

__all__ = ["NightInput", "discover_inputs"]

logger = logging.getLogger(__name__)

_SIGNAL_SUFFIXES = {".edf", ".bdf"}


@dataclass(frozen=True)
class NightInput:
    """One night to analyse.

    Parameters
    ----------
    night : str
        Unique, partition-safe identifier (file stem, made unique).
    path : pathlib.Path
        The main file.
    kind : {"eeg", "heart", "scored", "session", "record"}
        What the file holds.
    participant : str
        Participant identifier (Sleep-EDF subject, slpdb record, file stem).
    reference : pathlib.Path or None
        An expert hypnogram of the same night, when one was found beside the file.
    session : str or None
        The session or record folder whose participants (bands) form one group session.
    """

    night: str
    path: Path
    kind: str
    participant: str
    reference: Path | None = None
    session: str | None = None

    @property
    def files(self) -> list[Path]:
        """Every file whose content defines this night (hashed for resume)."""
        if self.kind == "session":  # compacted table and/or a crashed session's segments
            segments = sorted(self.path.with_suffix("").glob("seg-*.arrows"))
            return ([p for p in (self.path,) if p.exists()] + segments
                    + _participant_raw_files(self.path.parent, self.participant))
        if self.kind == "record":
            # the band's streams and gaps (``path`` is the stream staged); time zero, the
            # folder's first sample, could only move with another band recorded earlier
            return sorted(p for p in self.path.parent.rglob("*") if p.is_file())
        files = [self.path]
        if self.kind == "heart" and self.path.suffix.lower() == ".hea":
            ecg = self.path.with_suffix(".ecg")
            if ecg.exists():
                files.append(ecg)
        return files


def _participant_raw_files(folder: Path, participant: str) -> list[Path]:
    """``session.json`` and the raw stream files of the participant's bands (batch stages
    a session's participants again from them)."""
    import json

    from dreamband.storage.raw import _safe

    meta_file = folder / "session.json"
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        bands = (meta.get("participants") or {}).get(participant, {}).get("bands", [])
    except (OSError, ValueError, AttributeError):
        return []
    out = [meta_file]
    for band in sorted(bands):
        d = folder / "raw" / _safe(str(band))
        if d.is_dir():
            out += sorted(p for p in d.rglob("*") if p.is_file())
    return out


def _classify(path: Path) -> tuple[str, Path | None] | None:
    """(kind, reference) of one file, or None when it is not a night input."""
    from dreamband.io.sleepedf import find_psg, is_sleepedf_hypnogram

    suffix = path.suffix.lower()
    name = path.name.lower()
    if suffix in _SIGNAL_SUFFIXES:
        if is_sleepedf_hypnogram(path):
            return None if find_psg(path) is not None else ("scored", None)
        if name.endswith("-hypnogram.edf"):
            return ("scored", None)
        if _eeg_free_channels(path) is not None:
            return None  # ECG, accelerometer, PPG... (``dreamband export`` writes such files)
        return ("eeg", _reference_for(path))
    if suffix == ".hea":
        return ("heart", path.with_suffix(".st") if path.with_suffix(".st").exists() else None)
    if suffix == ".csv":
        return ("heart", None) if _looks_like_heart_csv(path) else ("scored", None)
    if suffix == ".parquet":
        return ("scored", None)
    return None


def _eeg_free_channels(path: Path) -> list[str] | None:
    """The channel labels of a signal file none of which staging would take as EEG (an
    exported ECG, accelerometer or PPG stream); None when one would, or when the header
    cannot be read (the night then fails with the reader's error, rather than vanish)."""
    from dreamband.errors import ChannelNotFoundError
    from dreamband.io.edf import read_edf_info
    from dreamband.staging.channels import pick_channels

    try:
        labels = [c.name for c in read_edf_info(path).channels]
    except (InputFileError, OSError):
        return None
    if len(labels) == 1 and labels[0].split(" ")[0].lower() not in ("ecg", "ekg", "acc", "ppg"):
        return None  # one signal: staged as the EEG whatever its label
    try:
        pick_channels(labels, source=str(path))
    except ChannelNotFoundError:
        return labels
    return None


def _reference_for(psg: Path) -> Path | None:
    from dreamband.io.sleepedf import find_hypnogram

    try:
        return find_hypnogram(psg)
    except (InputFileError, OSError):
        return None


def _looks_like_heart_csv(path: Path) -> bool:
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        header = fh.readline().strip().lower().split(",")
    return "rr_ms" in header or "hr_bpm" in header


def _participant(path: Path) -> str:
    from dreamband.io.sleepedf import sleepedf_record

    record = sleepedf_record(path)
    if record:  # SC4001E -> subject SC400 (SC4ssN: ss = subject, N = night)
        return record[:5]
    return path.stem.split("-")[0]


def is_session_folder(folder: Path) -> bool:
    """True for a folder written by the live engine: ``session.json`` with the epochs table,
    compacted (``epochs.parquet``, a clean close) or still as the journal's segments
    (``epochs/seg-*.arrows``, a session that crashed or is still running)."""
    if not (folder / "session.json").is_file():
        return False
    return (folder / "epochs.parquet").is_file() or any((folder / "epochs").glob("seg-*.arrows"))


def _session_nights(folder: Path) -> list[tuple[Path, str, Path | None, str]]:
    """(epochs file, kind, reference, participant) for each participant of a session."""
    import json

    try:
        meta = json.loads((folder / "session.json").read_text(encoding="utf-8"))
        names = list(meta["participants"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InputFileError(folder / "session.json", f"not a dreamband session file ({exc})",
                             "participants") from None
    return [(folder / "epochs.parquet", "session", None, name) for name in sorted(names)]


def _record_nights(folder: Path) -> list[tuple[Path, str, Path | None, str]]:
    """(stream folder, kind, reference, band) for each band of a record folder."""
    from dreamband.batch.records import record_streams

    return [
        (folder / band / stream, "record", None, band) for band, stream in record_streams(folder)
    ]


def _whole_folder(folder: Path) -> list[tuple[Path, str, Path | None, str]] | None:
    """The nights of a session or record folder, taken whole; None for another folder."""
    from dreamband.batch.records import is_record_folder

    if is_session_folder(folder):
        return _session_nights(folder)
    if is_record_folder(folder):
        return _record_nights(folder)
    return None


def _walk(folder: Path) -> Iterable[tuple[Path, str, Path | None, str | None]]:
    """Night inputs under a folder; a session or record folder is taken whole, its files not
    classified."""
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        whole = _whole_folder(here)
        if whole is not None:
            dirs[:] = []
            yield from whole
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = here / name
            kind = _classify(path)
            if kind is not None:
                yield (path, *kind, None)


def discover_inputs(
    inputs: Sequence[str | os.PathLike], data_dir: str | os.PathLike | None = None
) -> list[NightInput]:
    """Turn command-line inputs into the list of nights to analyse.

    Parameters
    ----------
    inputs : sequence of path or str
        Files, folders (searched recursively) or dataset names (``sleep-edf``, ``slpdb``):
        a dataset name means the records of that dataset present in the data folder.
    data_dir : path, optional
        Data folder for dataset names (see :func:`dreamband.paths.data_dir`).

    Returns
    -------
    list of NightInput
        In a stable order, with unique night identifiers.

    Raises
    ------
    InputFileError
        An input that is neither a file, a folder nor a known dataset name, or a file that
        holds no night.
    """
    found: list[tuple[Path, str, Path | None, str | None]] = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_file():
            kind = _classify(path)
            if kind is None and path.suffix.lower() in _SIGNAL_SUFFIXES:
                labels = _eeg_free_channels(path) or []
                raise InputFileError(path, "no EEG channel to stage; its signals are "
                                     f"{', '.join(labels) or 'none'}")
            if kind is None:
                raise InputFileError(path, "not a recording, heart record or hypnogram")
            found.append((path, *kind, None))
        elif path.is_dir():
            found += list(_walk(path))
        else:
            found += list(_walk(_dataset_folder(str(item), data_dir)))
    nights: list[NightInput] = []
    seen: dict[str, int] = {}
    done: set[tuple[Path, str | None]] = set()
    for path, kind, ref, who in found:
        key = (path.resolve(), who)
        if key in done:
            continue
        done.add(key)
        if kind == "session":
            stem = f"{path.parent.name}-{who}"
        elif kind == "record":  # <record folder>/<band>/<stream>
            stem = f"{path.parent.parent.name}-{who}"
        else:
            stem = path.stem
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", stem)
        count = seen.get(base, 0)
        seen[base] = count + 1
        night = base if count == 0 else f"{base}~{count}"
        if kind == "session":
            nights.append(NightInput(night, path, kind, str(who), None, path.parent.name))
        elif kind == "record":
            nights.append(NightInput(night, path, kind, str(who), None, path.parent.parent.name))
        else:
            nights.append(NightInput(night, path, kind, _participant(path), ref))
    return nights


def _dataset_folder(name: str, data_dir: str | os.PathLike | None) -> Path:
    from dreamband import registry

    known = registry.dataset_names()
    if name not in known:
        raise InputFileError(
            name, f"no such file or folder, and not a dataset name (known: {', '.join(known)})"
        )
    folder = registry.dataset_folder(registry.get_dataset(name), data_dir)
    if not folder.is_dir():
        raise InputFileError(folder, f"dataset {name!r} is not in the data folder; "
                                     f"run `dreamband fetch {name}`")
    return folder
