"""``stage()``: one entry point for every EEG engine, on arrays, MNE Raw or recordings."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dreamband import __version__
from dreamband.core.hypnogram import Hypnogram
from dreamband.core.recording import Channel, Recording
from dreamband.features.eeg import Evidence, compute_evidence
from dreamband.staging.channels import ChannelChoice, pick_channels

__all__ = [
    "ENGINES",
    "StagingInput",
    "evidence_for",
    "stage",
    "stage_file",
    "stage_recording",
    "to_recording",
]

logger = logging.getLogger(__name__)

#: EEG staging engines.
ENGINES: tuple[str, ...] = ("rules", "model")


@dataclass(frozen=True)
class StagingInput:
    """Signals picked from a recording for staging (µV, each with its rate)."""

    eeg: Channel
    eog: Channel | None
    roc: Channel | None
    emg: Channel | None
    choice: ChannelChoice
    source: str


def to_recording(
    data: Any, fs: float | None = None, ch_names: Sequence[str] | None = None
) -> Recording:
    """Wrap a numpy array, an ``mne.io.Raw`` or a :class:`Recording` as a Recording.

    Parameters
    ----------
    data : numpy.ndarray, mne.io.BaseRaw or Recording
        Arrays are ``(n_samples,)`` or ``(n_channels, n_samples)`` in µV; MNE data are in
        volts and are converted to µV.
    fs : float, optional
        Sampling rate in Hz (required for arrays).
    ch_names : sequence of str, optional
        Names of the array's channels (default ``EEG``, ``ch1``, ...).

    Raises
    ------
    ValueError
        If ``fs`` is missing for an array or the names do not match the channels.
    """
    if isinstance(data, Recording):
        return data
    try:
        import mne

        if isinstance(data, mne.io.BaseRaw):
            arr = data.get_data() * 1e6
            sf = float(data.info["sfreq"])
            kinds = data.get_channel_types()
            chans = [
                Channel(n, arr[i], sf, "uV", k if k in ("eeg", "eog", "emg", "ecg") else "misc")
                for i, (n, k) in enumerate(zip(data.ch_names, kinds))
            ]
            return Recording(chans, source=str(data.filenames[0] if data.filenames else "mne Raw"))
    except ImportError:  # pragma: no cover - mne is a dependency
        pass
    arr = np.asarray(data, dtype=np.float64)
    if fs is None:
        raise ValueError("fs (Hz) is required when staging a numpy array")
    if arr.ndim == 1:
        arr = arr[np.newaxis]
    if arr.ndim != 2:
        raise ValueError(f"data must be (n_samples,) or (n_channels, n_samples); got {arr.shape}")
    if ch_names is None:
        ch_names = ["EEG"] + [f"ch{i}" for i in range(1, arr.shape[0])]
    if len(ch_names) != arr.shape[0]:
        raise ValueError(f"{len(ch_names)} channel names for {arr.shape[0]} channels")
    chans = [Channel(str(n), arr[i], float(fs)) for i, n in enumerate(ch_names)]
    return Recording(chans, source="array")


def select_inputs(
    rec: Recording, eeg: str | None = None, eog: str | None = None, emg: str | None = None
) -> StagingInput:
    """Pick the EEG/EOG/EMG channels of a recording (automatic unless forced)."""
    src = rec.source or "recording"
    if len(rec.channels) == 1 and eeg is None:
        choice = ChannelChoice(eeg=rec.channels[0].name)
    else:
        choice = pick_channels(rec.names, eeg=eeg, eog=eog, emg=emg, source=src)
    get = rec.channel
    return StagingInput(
        eeg=get(choice.eeg),
        eog=get(choice.eog) if choice.eog else None,
        roc=get(choice.roc) if choice.roc else None,
        emg=get(choice.emg) if choice.emg else None,
        choice=choice,
        source=src,
    )


def evidence_for(inp: StagingInput, epoch_length: float = 30.0, causal: bool = False) -> Evidence:
    """Compute the evidence of a picked input (errors name the recording and channel)."""
    try:
        return compute_evidence(
            inp.eeg.data,
            inp.eeg.fs,
            eog=None if inp.eog is None else inp.eog.data,
            roc=None if inp.roc is None else inp.roc.data,
            fs_eog=None if inp.eog is None else inp.eog.fs,
            emg=None if inp.emg is None else inp.emg.data,
            fs_emg=None if inp.emg is None else inp.emg.fs,
            epoch_length=epoch_length,
            causal=causal,
        )
    except ValueError as exc:
        from dreamband.errors import InputFileError

        names = {
            "EEG": inp.eeg.name,
            "EOG": inp.eog and inp.eog.name,
            "EMG": inp.emg and inp.emg.name,
        }
        msg = str(exc)
        for role, name in names.items():
            if name and msg.startswith(role):
                msg = f"channel {name!r} ({role}){msg[len(role):]}"
                break
        raise InputFileError(inp.source, msg) from None


def stage(
    data: Any,
    fs: float | None = None,
    *,
    ch_names: Sequence[str] | None = None,
    eeg: str | None = None,
    eog: str | None = None,
    emg: str | None = None,
    engine: str = "rules",
    epoch_length: float = 30.0,
    causal: bool = False,
    model: str | Path | None = None,
    lag: int = 0,
) -> Hypnogram:
    """Stage a recording into W, N1, N2, N3, REM with per-epoch probabilities.

    Parameters
    ----------
    data : numpy.ndarray, mne.io.BaseRaw or Recording
        The signals; arrays in µV (``(n_samples,)`` = one EEG channel).
    fs : float, optional
        Sampling rate (Hz) of an array.
    ch_names : sequence of str, optional
        Channel names of an array.
    eeg, eog, emg : str, optional
        Channels to use; picked automatically when omitted (``"none"`` disables EOG/EMG).
    engine : {"rules", "model"}
        ``rules`` needs no training; ``model`` uses a LightGBM model file (``model``).
    epoch_length : float
        Epoch length in seconds (30, or 20 for legacy scorings).
    causal : bool
        Past-only evidence and forward-only smoothing (what a live stream gets).
    model : path, optional
        Model file for ``engine="model"`` (default: the one ``dreamband train sleep-edf``
        wrote to the user model folder).
    lag : int
        With ``causal``: stage each epoch ``lag`` epochs late (fixed-lag smoothing).

    Returns
    -------
    Hypnogram
        One epoch per whole epoch of the EEG from its start; ``probabilities`` in the order
        W, N1, N2, N3, REM; ``meta`` holds ``channels``, ``explain`` (per-epoch rule values
        and evidence: a read-only mapping of columns, built on first access) and ``engine``.

    Raises
    ------
    ValueError
        For an unknown engine.
    dreamband.errors.DreambandError
        Naming the channel or file: missing channel, recording shorter than one epoch,
        sampling rate too low for the bands, bad model file.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    rec = to_recording(data, fs, ch_names)
    return stage_recording(
        rec, eeg=eeg, eog=eog, emg=emg, engine=engine, epoch_length=epoch_length,
        causal=causal, model=model, lag=lag,
    )


def stage_recording(
    rec: Recording,
    *,
    eeg: str | None = None,
    eog: str | None = None,
    emg: str | None = None,
    engine: str = "rules",
    epoch_length: float = 30.0,
    causal: bool = False,
    model: str | Path | None = None,
    lag: int = 0,
) -> Hypnogram:
    """Stage a :class:`Recording`; see :func:`stage` for the parameters.

    A recording with gaps (``rec.meta["gaps"]``: ``(start, end)`` seconds, as
    :func:`dreamband.io.edf.read_edf` gives for a discontinuous EDF+D or ``BAD_ACQ_SKIP``
    spans) is staged around them by the live engine's rule (:mod:`dreamband.staging.gaps`):
    an epoch missing more than 20 % of its time is unscored, smaller losses are bridged,
    and the rest is staged as one night on the recording's own epoch grid
    (``meta["missing"]``: each epoch's fraction in gaps).
    """
    inp = select_inputs(rec, eeg=eeg, eog=eog, emg=emg)
    keep = None
    if rec.meta.get("gaps"):
        keep, missing, inp = _around_gaps(rec, inp, rec.meta["gaps"], epoch_length)
    ev = evidence_for(inp, epoch_length, causal)
    if engine == "rules":
        from dreamband.staging.explain import LazyExplainTable
        from dreamband.staging.rules import stage_rules

        res = stage_rules(ev, lag=lag)
        probs = res.probabilities
        # formatted only when read (``--explain``): a row of text per epoch otherwise
        # costs as much as the rules
        explain = LazyExplainTable(ev, res, None if keep is None else np.flatnonzero(keep))
        source = f"dreamband rules {__version__}"
    elif engine == "model":
        from dreamband.staging.model_engine import predict_model

        probs, meta = predict_model(ev, model)
        explain = None
        source = f"dreamband model {meta.get('name', '')} {__version__}".strip()
    else:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    stages = probs.argmax(axis=1).astype(np.int8)
    logger.info("staged %s: %d epochs with %s", inp.source, stages.size, engine)
    hyp = Hypnogram(
        stages=stages,
        epoch_length=float(epoch_length),
        start_time=rec.start_time,
        offset=0.0,
        probabilities=probs,
        source=source,
        meta={
            "engine": engine,
            "causal": causal,
            "lag": lag if causal else 0,
            "channels": {k: v for k, v in vars(inp.choice).items() if v},
            "explain": explain,
            "recording": inp.source,
            "bad_epochs": np.asarray(ev.bad, dtype=bool),
            "sw_threshold_uv": ev.meta.get("sw_threshold_uv"),
        },
    )
    if keep is None:
        return hyp
    from dreamband.staging.gaps import spread

    hyp = spread(hyp, keep)
    hyp.meta["missing"] = missing
    return hyp


def _around_gaps(
    rec: Recording, inp: StagingInput, gaps: list, epoch_length: float
) -> tuple[np.ndarray, np.ndarray, StagingInput]:
    """The epochs staged despite ``gaps``, each epoch's fraction in gaps, and the picked
    channels cut down to those epochs (their smaller losses bridged)."""
    from dreamband.errors import InputFileError
    from dreamband.staging.gaps import MAX_MISSING, gap_fraction, join_scored

    per = round(epoch_length * inp.eeg.fs)
    n = inp.eeg.n_samples // per if per > 0 else 0
    gaps = [(float(a), float(b)) for a, b in gaps]
    frac = gap_fraction(n, epoch_length, gaps)
    keep = frac <= MAX_MISSING
    if not keep.any():
        raise InputFileError(
            inp.source, f"every {epoch_length:g}-s epoch of channel {inp.eeg.name!r} misses "
            f"more than {100 * MAX_MISSING:.0f} % of its time to the recording's {len(gaps)} "
            "gap(s)")
    chosen = [c for c in (inp.eeg, inp.eog, inp.roc, inp.emg) if c is not None]
    joined = join_scored(rec, [c.name for c in chosen], keep, epoch_length, gaps)
    get = joined.channel
    logger.info("%s: %d of %d epochs miss more than %.0f %% of their time and stay unscored; "
                "%d staged with smaller losses bridged", inp.source, int((~keep).sum()),
                keep.size, 100 * MAX_MISSING, int((keep & (frac > 0)).sum()))
    return keep, frac, StagingInput(
        eeg=get(inp.eeg.name),
        eog=None if inp.eog is None else get(inp.eog.name),
        roc=None if inp.roc is None else get(inp.roc.name),
        emg=None if inp.emg is None else get(inp.emg.name),
        choice=inp.choice,
        source=inp.source,
    )


def stage_file(
    path: str | Path,
    engine: str = "rules",
    epoch: float = 30.0,
    with_rem: bool = False,
    participant: str = "",
    model: str | Path | None = None,
) -> Hypnogram | tuple[Hypnogram, list]:
    """Read an EEG recording file and stage it; optionally find its REM periods.

    Parameters
    ----------
    path : path
        EDF/EDF+/BDF, DREAMS ``excerptN.txt`` or YASA ``.npz``.
    engine, epoch, model
        As in :func:`stage` (``epoch`` = epoch length in seconds).
    with_rem : bool
        Also return the REM periods, with rapid eye movements counted from the EOG
        channel(s) when the recording has them.
    participant : str
        Stored in each REM period.

    Returns
    -------
    Hypnogram, or (Hypnogram, list of RemPeriod) with ``with_rem``.
    """
    from dreamband.staging.inputs import read_recording

    rec = read_recording(path)
    hyp = stage_recording(rec, engine=engine, epoch_length=epoch, model=model)
    if not with_rem:
        return hyp
    from dreamband.staging.night_events import night_events

    periods, _ = night_events(rec, hyp, participant, spindles=False)
    return hyp, periods
