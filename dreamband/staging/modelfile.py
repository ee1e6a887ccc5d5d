"""Trained models on disk: a LightGBM text model beside a JSON sidecar. Never pickle.

``model.txt`` holds the booster in LightGBM's own text format (stable, diffable, readable
without Python); ``model.json`` holds what is needed to use it correctly: the feature list
in column order, classes, channel roles and rates, the training records, cross-validated
scores and versions. Loading compares the sidecar with what the caller expects and refuses
a mismatch with a one-line :class:`~dreamband.errors.ModelError`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dreamband import __version__
from dreamband.errors import ModelError

__all__ = ["FORMAT_VERSION", "load_model", "save_model", "sidecar_path"]

#: Version of the sidecar layout; bump when its meaning changes.
FORMAT_VERSION = 1

_REQUIRED = ("format_version", "kind", "features", "classes")


def sidecar_path(path: str | os.PathLike) -> Path:
    """The JSON sidecar beside a model file (``model.txt`` -> ``model.json``)."""
    return Path(path).with_suffix(".json")


def save_model(booster: Any, path: str | os.PathLike, sidecar: Mapping[str, Any]) -> Path:
    """Write a LightGBM booster as text and its JSON sidecar, atomically.

    Parameters
    ----------
    booster : lightgbm.Booster
        The trained model.
    path : path
        Model file (``.txt``); the sidecar goes to ``path.with_suffix(".json")``.
    sidecar : mapping
        Metadata; must contain ``kind`` (e.g. ``"eeg-stager"``), ``features`` (list of
        feature names in column order) and ``classes`` (list of stage names). Versions,
        the format version and a creation time are added.

    Returns
    -------
    pathlib.Path
        The model file.
    """
    import lightgbm

    path = Path(path)
    meta = dict(sidecar)
    for key in ("kind", "features", "classes"):
        if key not in meta:
            raise ModelError(f"{sidecar_path(path)}: sidecar needs field {key!r}")
    n_feat = booster.num_feature()
    if len(meta["features"]) != n_feat:
        raise ModelError(
            f"{sidecar_path(path)}: sidecar lists {len(meta['features'])} features but the "
            f"model uses {n_feat}"
        )
    meta.update(
        format_version=FORMAT_VERSION,
        model_format="lightgbm-text",
        model_file=path.name,
        dreamband_version=__version__,
        lightgbm_version=lightgbm.__version__,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, booster.model_to_string())
    _atomic_write(sidecar_path(path), json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return path


def load_model(
    path: str | os.PathLike, expect: Mapping[str, Any] | None = None
) -> tuple[Any, dict]:
    """Load a text model and check its sidecar.

    Parameters
    ----------
    path : path
        The model file written by :func:`save_model`.
    expect : mapping, optional
        Sidecar fields the caller relies on (``features``, ``classes``, ``kind``, ``fs``,
        ...). Any difference raises.

    Returns
    -------
    booster : lightgbm.Booster
    sidecar : dict

    Raises
    ------
    ModelError
        Model or sidecar missing or malformed, format too new, or a mismatch with ``expect``.
    """
    import lightgbm

    path = Path(path)
    side = sidecar_path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    if not side.is_file():
        raise ModelError(f"{side}: sidecar not found next to model {path.name}")
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{side}: sidecar is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise ModelError(f"{side}: sidecar must be a JSON object")
    for key in _REQUIRED:
        if key not in meta:
            raise ModelError(f"{side}: sidecar lacks field {key!r}")
    if int(meta["format_version"]) > FORMAT_VERSION:
        raise ModelError(
            f"{side}: format_version {meta['format_version']} is newer than this dreamband "
            f"understands ({FORMAT_VERSION}); upgrade dreamband"
        )
    for key, value in (expect or {}).items():
        if key not in meta:
            raise ModelError(f"{side}: sidecar lacks field {key!r} (expected {value!r})")
        if _norm(meta[key]) != _norm(value):
            raise ModelError(
                f"{side}: field {key!r} is {_short(meta[key])}, expected {_short(value)}"
            )
    try:
        booster = lightgbm.Booster(model_str=path.read_text(encoding="utf-8"))
    except Exception as exc:  # lightgbm raises its own LightGBMError on malformed text
        raise ModelError(f"{path}: not a readable LightGBM text model ({exc})") from None
    if booster.num_feature() != len(meta["features"]):
        raise ModelError(
            f"{side}: sidecar lists {len(meta['features'])} features but {path.name} uses "
            f"{booster.num_feature()}"
        )
    return booster, meta


def _norm(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_norm(v) for v in value]
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
