"""Heart-rate sleep staging (wake / NREM / REM) from beats or heart-rate samples.

Inputs: a :class:`~dreamband.core.beats.BeatSeries` (R-peak times: chest strap RR, ECG
R-peaks, WFDB beat annotations) or heart-rate samples in bpm (wristbands without RR).
Output: a ``"wearable"`` :class:`~dreamband.core.hypnogram.Hypnogram` with calibrated
``p_W, p_NREM, p_REM``; an epoch the input covers less than 80 % of (a strap that fell off)
is unscored, as live (:mod:`dreamband.staging.heart_coverage`). The models are trained on
this machine from the MIT-BIH Polysomnographic Database (slpdb), on first use or by
``dreamband train slpdb`` (:mod:`dreamband.staging.heart_store`); their JSON sidecars hold
the leave-one-subject-out scores.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dreamband.core.beats import BeatSeries
from dreamband.core.hypnogram import Hypnogram
from dreamband.errors import DreambandError, InputFileError, ModelError
from dreamband.features.heart import EPOCH
from dreamband.features.heart_context import feature_names, heart_features
from dreamband.features.heart_lag import split_lag
from dreamband.heart.grid import HeartSeries, prepare_beats, prepare_hr
from dreamband.staging.heart_coverage import HR_MAX_AGE, MIN_COVERAGE, uncovered_epochs
from dreamband.staging.heart_model import CLASS_NAMES, STAY, predict_night
from dreamband.staging.heart_train import KIND, variant_name

if TYPE_CHECKING:
    from dreamband.staging.heart_cycle import CyclePrior

__all__ = ["load_heart_model", "model_cycle_prior", "stage_heart", "stage_heart_file"]

logger = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def _load(path: str, kind: str, live: bool, lag: int = 0) -> tuple[Any, dict]:
    from dreamband.staging.modelfile import load_model

    expect = {"kind": KIND, "input": kind, "variant": variant_name(live, lag),
              "features": feature_names(live, lag, kind), "classes": list(CLASS_NAMES),
              # same column names, other look-ahead: a model of another split is stale
              "feature_lag_epochs": split_lag(lag)[0] if live else 0}
    return load_model(path, expect=expect)


def load_heart_model(
    kind: str = "rr", live: bool = False, model_dir: str | os.PathLike | None = None,
    lag: int = 0,
) -> tuple[Any, dict]:
    """Load a trained heart model and its sidecar (training it first if needed).

    Parameters
    ----------
    kind : {"rr", "hr"}
        Input kind the model was trained for.
    live : bool
        Causal variant.
    model_dir : path, optional
        Folder of the models, used as it is. Default: the user model folder, where a missing
        or stale model is trained from slpdb on first use
        (:func:`dreamband.staging.heart_store.ensure_heart_model`).
    lag : int
        With ``live``: the fixed-lag model of that decision delay in epochs (trained by
        ``dreamband train slpdb``: :data:`dreamband.staging.heart_train.LAGS`).

    Raises
    ------
    ModelError
        If the model is missing or does not match this version's features, and cannot be
        trained here (no slpdb records on this machine).
    """
    from dreamband.staging.heart_store import ensure_heart_model, heart_model_file

    lag = int(lag) if live else 0
    if model_dir is not None:
        path = heart_model_file(kind, live, lag, model_dir)
        return _load(str(path), kind, live, lag)
    path = ensure_heart_model(kind, live, lag)
    try:
        return _load(str(path), kind, live, lag)
    except ModelError as exc:  # written by another version: train it again when possible
        logger.warning("%s", exc)

        def stale(p: Path) -> bool:
            try:
                _load.__wrapped__(str(p), kind, live, lag)  # the file as it is now
            except ModelError:
                return True
            return False

        try:
            path = ensure_heart_model(kind, live, lag, retrain=stale)
        except ModelError:
            raise ModelError(f"{exc}; retrain it with 'dreamband train slpdb'") from None
        _load.cache_clear()
        return _load(str(path), kind, live, lag)


def model_cycle_prior(
    meta: dict, model_dir: str | os.PathLike | None = None
) -> CyclePrior | None:
    """The sleep-cycle prior a heart model's sidecar asks for, or None (sticky HMM).

    The prior file named in ``smoothing.cycle_prior`` is looked up in ``model_dir`` (default:
    the user model folder) first, then among the shipped tables.

    Parameters
    ----------
    meta : dict
        The model's sidecar.
    model_dir : path, optional
        Folder of the model (searched before the shipped tables).

    Returns
    -------
    CyclePrior or None

    Raises
    ------
    ModelError
        If the sidecar names a prior that cannot be found or read.
    """
    from dreamband.paths import models_dir, user_models_dir
    from dreamband.staging.heart_cycle import load_cycle_prior

    smoothing = meta.get("smoothing", {})
    if smoothing.get("method") != "hmm-cycle":
        return None
    name = Path(str(smoothing.get("cycle_prior", ""))).name
    if not name:
        raise ModelError(f"{meta.get('model_file', 'heart model')}: sidecar field "
                         "'smoothing.cycle_prior' is empty")
    first = Path(model_dir) if model_dir is not None else user_models_dir()
    for folder in (first, models_dir()):
        if (folder / name).is_file():
            return load_cycle_prior(folder / name)
    raise ModelError(f"{name}: cycle prior named by {meta.get('model_file', 'heart model')} "
                     "not found")


def _series(beats_or_hr: Any) -> tuple[HeartSeries, float, Any, str, str]:
    """Prepared series, end time, start time, source and participant of an input."""
    if isinstance(beats_or_hr, BeatSeries):
        if len(beats_or_hr) < 3:
            raise ValueError(f"{beats_or_hr.source or 'beats'}: need at least 3 beats")
        hs = prepare_beats(beats_or_hr.times, beats_or_hr.symbols)
        return (hs, float(beats_or_hr.times[-1]), beats_or_hr.start_time,
                beats_or_hr.source, beats_or_hr.participant)
    times = getattr(beats_or_hr, "times", None)
    hr = getattr(beats_or_hr, "hr", None)
    if times is None or hr is None:
        raise TypeError(
            "stage_heart expects a BeatSeries or heart-rate samples with .times and .hr; got "
            f"{type(beats_or_hr).__name__}"
        )
    times = np.asarray(times, dtype=float)
    hr = np.asarray(hr, dtype=float)
    source = getattr(beats_or_hr, "source", "") or "heart-rate samples"
    if times.shape != hr.shape or times.ndim != 1 or times.size < 3:
        raise ValueError(f"{source}: need matching 1-D times and hr with at least 3 samples")
    if np.any(np.diff(times) <= 0):
        raise ValueError(f"{source}: heart-rate sample times must increase")
    step = float(np.median(np.diff(times)))
    if step > HR_MAX_AGE:
        # every grid point would be older than the feature grid holds a sample: all NaN
        raise ValueError(
            f"{source}: heart-rate samples come every {step:.1f} s (median); staging needs "
            f"one at least every {HR_MAX_AGE:g} s, as a band streams them (about 1 Hz)")
    hs = prepare_hr(times, hr)
    return hs, float(times[-1]), getattr(beats_or_hr, "start_time", None), source, ""


def stage_heart(
    beats_or_hr: BeatSeries | Any,
    live: bool = False,
    n_epochs: int | None = None,
    offset: float = 0.0,
    model_dir: str | os.PathLike | None = None,
    lag: int = 0,
    min_coverage: float = MIN_COVERAGE,
) -> Hypnogram:
    """Stage a night (W / NREM / REM) from heart beats or heart-rate samples.

    Parameters
    ----------
    beats_or_hr : BeatSeries or HeartRateSeries
        R-peak times, or heart-rate samples: any object with ``.times`` (s from the
        recording start) and ``.hr`` (bpm), e.g. :class:`dreamband.io.rr_csv.HeartRateSeries`.
    live : bool
        Causal features and forward-only smoothing: epoch ``k`` depends only on samples up
        to its end, as in a live session.
    n_epochs : int, optional
        Epochs to stage from ``offset`` (default: up to the last sample).
    offset : float
        Onset of the first epoch in seconds from the recording start.
    model_dir : path, optional
        Folder holding ``heart_slpdb_<rr|hr>_<batch|live|live_lag<N>>.txt`` (default: the
        user model folder, trained into on first use).
    lag : int
        With ``live``: decisions delayed by ``lag`` epochs (fixed-lag features and
        smoothing, half of the delay each; models are trained for
        :data:`dreamband.staging.heart_train.LAGS`: 40 and 60 epochs = 20 and 30 min).
        Epoch ``k`` then depends on samples up to the end of epoch ``k + lag``: in a prefix
        of a night, the last ``lag`` epochs are provisional and reach their final values
        once ``lag`` more epochs have arrived. ``0`` (default): strictly causal.
    min_coverage : float
        An epoch whose samples cover less than this fraction of its time (a strap that fell
        off, lost notifications) is left unscored: stage ``-1``, probabilities NaN
        (:mod:`dreamband.staging.heart_coverage`; default: the live engine's rule, more
        than 20 % missing). ``0`` stages every epoch (a caller with a rule of its own).

    Returns
    -------
    Hypnogram
        Scheme ``"wearable"``, 30-s epochs, probabilities in column order W, NREM, REM.
        ``meta`` holds the model file, input kind, the fraction of samples kept by
        artefact rejection and ``unscored_epochs``, the number of epochs left unscored for
        want of samples.

    Raises
    ------
    ValueError, TypeError
        For unusable input (too few samples, wrong type).
    ModelError
        If the model is missing or incompatible.
    """
    hs, end, start_time, source, participant = _series(beats_or_hr)
    if n_epochs is None:
        n_epochs = max(int(np.ceil((end - offset) / EPOCH)), 0)
    if lag < 0:
        raise ValueError(f"lag must be >= 0 epochs; got {lag}")
    lag = int(lag) if live else 0
    booster, meta = load_heart_model(hs.kind, live, model_dir, lag)
    X, _ = heart_features(hs, n_epochs, offset, live=live, lag=lag)
    stay = float(meta.get("smoothing", {}).get("stay", STAY))
    prior = model_cycle_prior(meta, model_dir)
    stages, probs = predict_night(booster, X, live, stay, meta.get("calibration"), lag, prior)
    # masked after smoothing, as the live engine does: the scored epochs keep their stages
    lost = uncovered_epochs(hs.kind, hs.t, hs.rr, n_epochs, offset, EPOCH, min_coverage)
    if lost.any():
        stages, probs = stages.copy(), probs.copy()
        stages[lost] = -1
        probs[lost] = np.nan
        logger.info("%s: %d of %d epochs have heart samples for less than %.0f %% of their "
                    "time and are left unscored", source, int(lost.sum()), n_epochs,
                    100 * min_coverage)
    if hs.valid_fraction < 0.8:
        logger.warning("%s: only %.0f%% of samples passed artefact rejection", source,
                       100 * hs.valid_fraction)
    start = None if start_time is None else start_time + timedelta(seconds=offset)
    return Hypnogram(
        stages=stages,
        epoch_length=EPOCH,
        start_time=start,
        offset=offset,
        probabilities=probs,
        source=f"dreamband heart {meta.get('model_file', '')} {meta.get('dreamband_version', '')}"
        .strip(),
        scheme="wearable",
        meta={"participant": participant, "input": hs.kind, "live": live, "lag": lag,
              "valid_fraction": hs.valid_fraction, "model": meta.get("model_file", ""),
              "unscored_epochs": int(lost.sum())},
    )


def _read_input(path: Path) -> Any:
    suffix = path.suffix.lower()
    if suffix in (".hea", ".ecg"):
        from dreamband.io.slpdb import read_slpdb_beats

        return read_slpdb_beats(path)
    if suffix in (".csv", ".txt"):
        from dreamband.io.rr_csv import read_heart_csv

        return read_heart_csv(path)
    raise InputFileError(
        path, "not a heart input; expected a WFDB header with beat annotations (.hea) or a "
        "CSV of RR intervals (rr_ms[,time_s]) or heart rate (time_s,hr_bpm)", "extension",
    )


def stage_heart_file(path: str | os.PathLike, live: bool = False, lag: int = 0) -> Hypnogram:
    """Stage a heart input file.

    Parameters
    ----------
    path : path
        A WFDB record header with beat annotations beside it (``slp03.hea`` +
        ``slp03.ecg``), or a CSV read by :func:`dreamband.io.rr_csv.read_heart_csv`:
        RR intervals (column ``rr_ms``, optional ``time_s``) or heart-rate samples
        (columns ``time_s,hr_bpm``).
    live : bool
        Causal variant (see :func:`stage_heart`).
    lag : int
        With ``live``: decision delay in epochs (see :func:`stage_heart`).

    Returns
    -------
    Hypnogram
        Scheme ``"wearable"`` with probabilities ``p_W, p_NREM, p_REM``; epochs from the
        recording start.

    Raises
    ------
    InputFileError
        If the file is missing, of an unknown kind, malformed, or holds too few samples.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file")
    data = _read_input(path)
    try:
        return stage_heart(data, live=live, lag=lag)
    except ValueError as exc:
        if isinstance(exc, DreambandError):
            raise
        msg = str(exc)
        for name in {str(path), path.name, str(getattr(data, "source", "") or "")} - {""}:
            msg = msg.removeprefix(f"{name}: ")  # the file is named once, by the error
        raise InputFileError(path, msg) from None
