"""The ``model`` engine: LightGBM over the same evidence as the rules, then HMM smoothing.

Models are trained by ``dreamband train`` (:func:`fit_booster`) and stored with
:mod:`dreamband.staging.modelfile` (LightGBM text + JSON sidecar, never pickle). The class
probabilities are divided by the training class frequencies to give likelihoods, which go
through the same hidden-Markov smoother as the rules engine.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dreamband.core.stages import FIVE_CLASS
from dreamband.errors import ModelError
from dreamband.features.eeg import Evidence
from dreamband.paths import user_models_dir
from dreamband.staging.hmm import forward_backward, forward_filter
from dreamband.staging.transitions import load_transitions

__all__ = [
    "DEFAULT_MODEL",
    "KIND",
    "PARAMS",
    "fit_booster",
    "predict_model",
    "predict_proba",
    "smooth_probabilities",
]

logger = logging.getLogger(__name__)

#: Sidecar ``kind`` of EEG stagers.
KIND = "eeg-stager"
#: File name of the default model in :func:`dreamband.paths.user_models_dir` (written by
#: ``dreamband train sleep-edf``; no EEG model is shipped).
DEFAULT_MODEL = "eeg_stager_v1.txt"
#: LightGBM parameters: small trees, strong regularisation (the evidence is already
#: informative; data sets are a few thousand epochs).
PARAMS: dict[str, Any] = {
    "objective": "multiclass",
    "num_class": 5,
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.7,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbose": -1,
    "num_threads": 1,
    "seed": 7,
    "deterministic": True,
}
ROUNDS = 200


def fit_booster(
    x: np.ndarray, y: np.ndarray, features: Sequence[str], rounds: int = ROUNDS
) -> Any:
    """Train a LightGBM booster on scored epochs (``y`` in 0..4; others are dropped).

    Returns
    -------
    lightgbm.Booster
    """
    import lightgbm

    y = np.asarray(y)
    keep = (y >= 0) & (y <= 4)
    if keep.sum() < 10:
        raise ValueError(f"need at least 10 scored epochs to train; got {int(keep.sum())}")
    data = lightgbm.Dataset(x[keep], label=y[keep], feature_name=list(features))
    return lightgbm.train(PARAMS, data, num_boost_round=rounds)


def class_prior(y: np.ndarray) -> np.ndarray:
    """Stage frequencies of the scored epochs (add-one smoothed), W..REM."""
    y = np.asarray(y)
    c = np.bincount(y[(y >= 0) & (y <= 4)], minlength=5)[:5] + 1.0
    return c / c.sum()


def smooth_probabilities(
    probs: np.ndarray, prior: np.ndarray, epoch_length: float, causal: bool
) -> np.ndarray:
    """HMM-smooth classifier posteriors (divided by the training prior into likelihoods)."""
    trans, init = load_transitions(epoch_length)
    lik = probs / np.maximum(prior, 1e-6)
    return (forward_filter if causal else forward_backward)(lik, trans, init)


def predict_proba(booster: Any, ev: Evidence, features: Sequence[str]) -> np.ndarray:
    """Raw class probabilities ``(n_epochs, 5)`` of a booster on a night's evidence."""
    p = np.asarray(booster.predict(ev.select(list(features))))
    return p.reshape(ev.n_epochs, 5)


def predict_model(ev: Evidence, path: str | Path | None = None) -> tuple[np.ndarray, dict]:
    """Stage a night with a saved model.

    Parameters
    ----------
    ev : Evidence
        The night's evidence (its epoch length must match the model's).
    path : path, optional
        Model file; default :data:`DEFAULT_MODEL` in the user model folder.

    Returns
    -------
    probabilities : numpy.ndarray
        ``(n_epochs, 5)`` smoothed posteriors.
    sidecar : dict

    Raises
    ------
    ModelError
        If the model is missing, or its sidecar does not match this evidence.
    """
    from dreamband.staging.modelfile import load_model

    p = Path(path) if path else user_models_dir() / DEFAULT_MODEL
    if not p.exists():
        raise ModelError(
            f"{p}: no such model; train one with 'dreamband fetch sleep-edf' then 'dreamband "
            "train sleep-edf' (or pass a model with --model), or use --engine rules"
        )
    booster, meta = load_model(
        p,
        expect={
            "kind": KIND,
            "classes": [s.label for s in FIVE_CLASS],
            "epoch_length": float(ev.epoch_length),
        },
    )
    feats = list(meta["features"])
    missing = [f for f in feats if f not in ev.names]
    if missing:
        raise ModelError(f"{p}: model needs features this version does not compute: {missing}")
    probs = predict_proba(booster, ev, feats)
    prior = np.asarray(meta.get("class_prior", [0.2] * 5), dtype=float)
    return smooth_probabilities(probs, prior, ev.epoch_length, ev.causal), meta
