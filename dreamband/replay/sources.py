"""Replay sources: what a virtual band plays, resolved from a source string.

A source string is one of

- a file: an EDF dreamband reads (a Sleep-EDF PSG, any EEG EDF) → a Muse-like EEG band; an
  annotation-only hypnogram EDF or any hypnogram file → a virtual sleeper (simulated); a
  WFDB slpdb record (``.hea``/``.ecg``) or an RR CSV → a heart-rate band with those beats;
- a dataset record: ``slpdb:slp03`` (real beats → Heart Rate Service band) or
  ``sleep-edf:SC4001`` (the PSG when fetched, else a virtual sleeper driven by the real
  expert hypnogram — labelled simulated);
- ``virtual:HYPNOGRAM`` (a virtual sleeper driven by any hypnogram file) or
  ``virtual:generated:SEED`` (the built-in night generator).

Every :class:`ReplaySource` says in ``label`` what it is and whether it is simulated.
Signals from virtual sleepers are for plumbing, replay and demos, never an accuracy figure.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from dreamband.core.hypnogram import Hypnogram
from dreamband.errors import InputFileError
from firmware_bridge.profiles import muse
from firmware_bridge.virtual import BeatSource, ChunkedSource
from firmware_bridge.virtual.sources import SignalSource

__all__ = ["MUSE_FS", "ReplaySource", "resolve_source", "sleeper_heart_source", "sleeper_source"]

logger = logging.getLogger(__name__)

MUSE_FS = muse.EEG_FS
MUSE_CHANNELS = tuple(muse.EEG_CHANNELS)
_PSG_ORDER = ("EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal", "EMG submental")


@dataclass
class ReplaySource:
    """One participant's replay material.

    Attributes
    ----------
    name : str
        Participant name (unique within a replay).
    spec : str
        The source string it came from.
    kind : {"eeg", "heart"}
        What the band gives.
    profile : str
        Virtual band profile (``"muse"`` or ``"heart_rate"``).
    label : str
        What is replayed, in words, including ``SIMULATED`` when it is.
    simulated : bool
        True when the signal comes from a virtual sleeper.
    duration_s : float
        Signal available after lights-off (s).
    lights_off : datetime or None
        Clock time of lights-off (replay time 0 of this participant), when known.
    make_signal : callable
        ``make_signal(skip_s) -> SignalSource`` (EEG) or ``BeatSource`` (heart): the band's
        input starting ``skip_s`` seconds after lights-off.
    channels : tuple of str
        Band channels; ``eeg``/``eog`` name the band channel carrying EEG / EOG.
    truth : Hypnogram or None
        Expert hypnogram, when the source has one.
    truth_offset_s : float
        Source time (s after lights-off) of the expert hypnogram's first epoch.
    mapping : dict
        Band channel -> source channel (EEG bands).
    outages : tuple of (float, float)
        ``(start, end)`` source times (s after lights-off) without data (the gaps of a
        discontinuous EDF+D): the band's link is down then, so the live side sees a
        dropped band that reconnects, as it would in a lab.
    """

    name: str
    spec: str
    kind: str
    profile: str
    label: str
    simulated: bool
    duration_s: float
    lights_off: datetime | None
    make_signal: Callable[[float], SignalSource]
    channels: tuple[str, ...] = MUSE_CHANNELS
    eeg: str | None = None
    eog: str | None = None
    emg: str | None = None
    truth: Hypnogram | None = None
    truth_offset_s: float = 0.0
    mapping: dict[str, str] = field(default_factory=dict)
    outages: tuple[tuple[float, float], ...] = ()


def _clock(start: datetime | None, offset_s: float) -> datetime | None:
    return None if start is None else start + timedelta(seconds=float(offset_s))


# ----------------------------------------------------------------------------- EEG
def sleeper_source(hyp: Hypnogram, name: str, spec: str, seed: int, label: str,
                   montage: str = "psg") -> ReplaySource:
    """A Muse band playing a virtual sleeper that follows ``hyp`` (time 0 = its first epoch).

    For plumbing, replay and demos — never an accuracy figure. ``montage="psg"`` (default)
    simulates the Sleep-EDF channels (Fpz-Cz, Pz-Oz, horizontal EOG, submental EMG) at the
    band's 256 Hz and carries them in the band's four slots (TP9, AF7, AF8, TP10), as a real
    Sleep-EDF PSG is replayed; ``montage="muse"`` simulates the Muse's own electrodes.
    """
    from dreamband.sim import SIMULATED_NOTE, VirtualSleeper

    if montage not in ("psg", "muse"):
        raise ValueError(f"montage must be 'psg' or 'muse'; got {montage!r}")
    sleeper = VirtualSleeper(hyp, channels=montage, fs=MUSE_FS, seed=seed, participant=name)
    fs = sleeper.fs

    def render(lo: int, hi: int) -> np.ndarray:
        out = sleeper.generate(lo / fs, hi / fs, dtype=np.float64)
        return np.vstack([out[c] for c in sleeper.channels])

    def make(skip_s: float) -> SignalSource:
        return ChunkedSource(render, len(sleeper.channels), sleeper.n_samples,
                             block=int(30 * fs), offset=round(skip_s * fs))

    logger.info("%s: %s (%s)", name, label, SIMULATED_NOTE)
    mapping = dict(zip(MUSE_CHANNELS, sleeper.channels, strict=True))
    roles: dict[str, str | None] = {"eeg": None, "eog": None, "emg": None}
    if montage == "psg":
        roles = {"eeg": "TP9", "eog": "AF8", "emg": "TP10"}
    return ReplaySource(name, spec, "eeg", "muse", f"{label} — SIMULATED (virtual sleeper)", True,
                        sleeper.duration, hyp.start_time, make, MUSE_CHANNELS, truth=hyp,
                        mapping=mapping, **roles)


def _recording_source(path: Path, name: str, spec: str, hyp: Hypnogram | None) -> ReplaySource:
    """A Muse band playing up to 4 channels of an EDF (linearly interpolated to 256 Hz)."""
    from dreamband.io.edf import read_edf, read_edf_info

    info = read_edf_info(path)
    names = [c.name for c in info.channels]
    pick = [c for c in _PSG_ORDER if c in names]
    if not pick:
        pick = [c.name for c in info.channels if c.fs >= 50][:4]
    if not pick:
        raise InputFileError(path, "no signal channel of at least 50 Hz to replay")
    rec = read_edf(path, channels=pick)
    fs = rec.channels[0].fs
    if any(c.fs != fs for c in rec.channels):
        rec_ch = [c for c in rec.channels if c.fs == fs]
    else:
        rec_ch = list(rec.channels)
    start_s = hyp.offset if hyp is not None else 0.0
    a = round(start_s * fs)
    z = rec_ch[0].data.size
    if hyp is not None:
        z = min(z, a + round(hyp.duration * fs))
    data = np.vstack([np.asarray(c.data[a:z], dtype=np.float32) for c in rec_ch])
    # EDF+D gaps: NaN in the data; the band is off the air then (see ``outages``), and
    # the zeros put in their place are never sent
    outages = tuple((max(g0 - start_s, 0.0), g1 - start_s)
                    for g0, g1 in rec.meta.get("gaps", []) if g1 > start_s)
    if outages:
        np.nan_to_num(data, copy=False, nan=0.0)
    while data.shape[0] < 4:  # fill missing slots with the first channel
        data = np.vstack([data, data[:1]])
    mapping = {b: rec_ch[min(i, len(rec_ch) - 1)].name for i, b in enumerate(MUSE_CHANNELS)}
    n_out = int(data.shape[1] / fs * MUSE_FS)
    src_t = np.arange(data.shape[1]) / fs

    def render(lo: int, hi: int) -> np.ndarray:
        t = np.arange(lo, hi) / MUSE_FS
        return np.vstack([np.interp(t, src_t, row) for row in data])

    def make(skip_s: float) -> SignalSource:
        return ChunkedSource(render, 4, n_out, block=int(30 * MUSE_FS),
                             offset=round(skip_s * MUSE_FS))

    simulated = "virtual-sleeper" in info.recording.lower()  # written by dreamband.sim
    kind = "SIMULATED (an EDF written by the virtual sleeper)" if simulated else "REAL recording"
    eog = next((b for b, s in mapping.items() if "EOG" in s.upper()), None)
    emg = next((b for b, s in mapping.items() if "EMG" in s.upper()), None)
    label = f"{path.name} ({', '.join(c.name for c in rec_ch)} @ {fs:g} Hz) — {kind}"
    return ReplaySource(name, spec, "eeg", "muse", label, simulated, data.shape[1] / fs,
                        _clock(rec.start_time, start_s), make, MUSE_CHANNELS, eeg="TP9",
                        eog=eog or "none", emg=emg or "none", truth=hyp, mapping=mapping,
                        outages=outages)


# ----------------------------------------------------------------------------- heart
def _beats_source(times: np.ndarray, start: datetime | None, name: str, spec: str, label: str,
                  truth: Hypnogram | None) -> ReplaySource:
    times = np.asarray(times, dtype=float)
    duration = float(times[-1]) if times.size else 0.0

    def make(skip_s: float) -> BeatSource:
        # the beat at source time t falls at band time t - skip_s (0 = band power-on)
        return BeatSource(times - skip_s)

    return ReplaySource(name, spec, "heart", "heart_rate", label, False, duration, start, make,
                        ("rr",), truth=truth)


def _slpdb_source(path: Path, name: str, spec: str) -> ReplaySource:
    from dreamband.io.slpdb import read_slpdb_beats, read_slpdb_stages

    beats = read_slpdb_beats(path)
    try:
        truth: Hypnogram | None = read_slpdb_stages(path)
    except InputFileError:
        truth = None
    rec = Path(path).name.split(".")[0]
    label = f"slpdb {rec}: {beats.times.size} real R-peaks (PhysioNet beat annotations) — REAL"
    src = _beats_source(beats.times, beats.start_time, name, spec, label, truth)
    src.truth_offset_s = truth.offset if truth is not None else 0.0
    return src


# ----------------------------------------------------------------------------- resolve
def _dataset_folder(dataset: str, data_dir: Path | None) -> Path:
    from dreamband.paths import data_dir as resolve

    folder = resolve(data_dir) / dataset
    if not folder.is_dir():
        raise InputFileError(folder, f"dataset folder of {dataset!r} not found "
                             f"(set $DREAMBAND_DATA or --data-dir, or `dreamband fetch {dataset}`)")
    return folder


def _sleep_edf(record: str, folder: Path, name: str, spec: str, seed: int) -> ReplaySource:
    from dreamband.io.sleepedf import find_psg, read_sleepedf_hypnogram

    rec = record.upper()
    hits = sorted(folder.rglob(f"{rec[:6]}*-Hypnogram.edf")) if len(rec) >= 6 else []
    if not hits:
        raise InputFileError(folder, f"no hypnogram of Sleep-EDF record {record!r} here")
    hyp_file = hits[0]
    psg = find_psg(hyp_file)
    if psg is not None:
        from dreamband.io.sleepedf import read_sleepedf_night

        _, hyp = read_sleepedf_night(psg, channels=list(_PSG_ORDER))
        return _recording_source(psg, name, spec, hyp)
    hyp = read_sleepedf_hypnogram(hyp_file).crop_in_bed()
    label = f"Sleep-EDF {hyp_file.name[:6]}: real expert hypnogram (PSG not fetched)"
    return sleeper_source(hyp, name, spec, seed, label)


def _virtual(arg: str, name: str, spec: str, seed: int) -> ReplaySource:
    m = re.fullmatch(r"generated(?::(\d+))?", arg)
    if m:
        from dreamband.replay.hypnogen import generate_hypnogram

        s = int(m.group(1) or seed)
        return sleeper_source(generate_hypnogram(s), name, spec, s,
                              f"built-in generated night #{s} (no real hypnogram)")
    from dreamband.io.dispatch import read_hypnogram

    path = Path(arg).expanduser()
    hyp = read_hypnogram(path)
    if hyp.scheme == "aasm" and np.any(hyp.stages > 0):
        try:
            hyp = hyp.crop_in_bed()
        except ValueError:
            pass
    return sleeper_source(hyp, name, spec, seed, f"hypnogram {path.name}")


def _file(path: Path, name: str, spec: str, seed: int) -> ReplaySource:
    if not path.exists() and not path.with_suffix(".hea").exists():
        raise InputFileError(path, "replay source not found (a file, slpdb:REC, "
                             "sleep-edf:REC or virtual:HYPNOGRAM)")
    suffix = path.suffix.lower()
    if suffix in (".hea", ".ecg", ".st") or (not path.suffix and path.with_suffix(".hea").exists()):
        return _slpdb_source(path.with_suffix(""), name, spec)
    if suffix == ".csv":
        from dreamband.io.rr_csv import read_heart_csv

        series = read_heart_csv(path)
        times = getattr(series, "times", None)
        if times is None or not hasattr(series, "symbols"):
            raise InputFileError(path, "heart-rate CSV without beat times; replay needs RR/beats")
        return _beats_source(times, series.start_time, name, spec,
                             f"{path.name}: real beats — REAL", None)
    if suffix in (".edf", ".bdf"):
        from dreamband.io.edf_header import read_edf_info
        from dreamband.io.sleepedf import is_sleepedf_hypnogram, read_sleepedf_night

        info = read_edf_info(path)
        if not info.channels or is_sleepedf_hypnogram(path):
            return _virtual(str(path), name, spec, seed)
        try:  # a Sleep-EDF PSG with its hypnogram next to it: replay the in-bed window
            _, hyp = read_sleepedf_night(path, channels=list(_PSG_ORDER))
        except (InputFileError, OSError, KeyError, ValueError):
            hyp = None
        return _recording_source(path, name, spec, hyp)
    return _virtual(str(path), name, spec, seed)


def resolve_source(spec: str, *, name: str | None = None, data_dir: str | os.PathLike | None = None,
                   seed: int = 0) -> ReplaySource:
    """Turn a source string into a :class:`ReplaySource`.

    Parameters
    ----------
    spec : str
        See the module docstring.
    name : str, optional
        Participant name (default: derived from the source).
    data_dir : path, optional
        Data folder for dataset records (default ``$DREAMBAND_DATA``, then the user folder).
    seed : int
        Seed of a virtual sleeper.

    Raises
    ------
    InputFileError
        Unknown dataset, missing record or file, unreadable file.
    """
    ddir = Path(data_dir) if data_dir else None
    prefix, _, arg = spec.partition(":")
    if arg and len(prefix) > 1:  # not a Windows drive letter
        default = arg.split(":")[-1] if prefix != "virtual" else Path(arg).stem or arg
        who = name or re.sub(r"[^A-Za-z0-9_.-]", "_", default.removesuffix("-Hypnogram"))
        if prefix == "slpdb":
            folder = _dataset_folder("slpdb", ddir)
            if not (folder / f"{arg}.hea").is_file():
                raise InputFileError(folder / f"{arg}.hea", f"slpdb record {arg!r} not present")
            return _slpdb_source(folder / arg, who, spec)
        if prefix == "sleep-edf":
            return _sleep_edf(arg, _dataset_folder("sleep-edf", ddir), who, spec, seed)
        if prefix == "virtual":
            return _virtual(arg, who, spec, seed)
        raise InputFileError(spec, f"unknown source kind {prefix!r}; expected a file, "
                             "slpdb:REC, sleep-edf:REC or virtual:HYPNOGRAM")
    path = Path(spec).expanduser()
    return _file(path, name or path.stem.replace("-Hypnogram", ""), spec, seed)


def sleeper_heart_source(hyp: Hypnogram, name: str, spec: str, seed: int,
                         label: str) -> ReplaySource:
    """A heart-rate band playing a virtual sleeper's beats (SIMULATED; plumbing and demos only,
    never an accuracy figure)."""
    from dreamband.sim import VirtualSleeper

    sleeper = VirtualSleeper(hyp, channels="psg", seed=seed, participant=name)
    beats = sleeper.beats()
    src = _beats_source(beats.times, hyp.start_time, name, spec,
                        f"{label} — SIMULATED (virtual sleeper beats)", hyp)
    src.simulated = True
    return src
