"""Where dreamband finds data, dataset manifests, pipelines and models.

Two model folders: the package's own (:func:`models_dir`: small parameter tables the
issues ask to ship, each with its provenance) and the user's (:func:`user_models_dir`:
models trained on this machine, e.g. the heart stager, which is trained from PhysioNet
slpdb on first use and never shipped).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "DATA_ENV",
    "MODELS_ENV",
    "data_dir",
    "manifests_dir",
    "models_dir",
    "pipelines_dir",
    "shared_data_dir",
    "user_models_dir",
]

#: Environment variable naming the data folder (CI points it at ``../shared/data``).
DATA_ENV = "DREAMBAND_DATA"
#: Environment variable naming the folder of models trained on this machine.
MODELS_ENV = "DREAMBAND_MODELS"

_PKG = Path(__file__).resolve().parent


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Resolve the data folder: ``explicit`` -> ``$DREAMBAND_DATA`` -> the user data folder.

    Parameters
    ----------
    explicit : path, optional
        A folder given on the command line (``--data-dir``).

    Returns
    -------
    pathlib.Path
        The folder (not created here).
    """
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return _user_cache()


def shared_data_dir() -> Path | None:
    """The folder of real recordings named by ``$DREAMBAND_DATA``, or None when unset/missing."""
    env = os.environ.get(DATA_ENV)
    if env and Path(env).is_dir():
        return Path(env)
    return None


def _packaged_or_source(name_in_pkg: str, name_in_repo: str) -> Path:
    packaged = _PKG / name_in_pkg
    if packaged.is_dir():
        return packaged
    return _PKG.parent / name_in_repo


def manifests_dir() -> Path:
    """Folder holding the dataset manifests (``datasets/`` in the repository)."""
    return _packaged_or_source("_datasets", "datasets")


def pipelines_dir() -> Path:
    """Folder holding the shipped pipeline files (``pipelines/`` in the repository)."""
    return _packaged_or_source("_pipelines", "pipelines")


def models_dir() -> Path:
    """Folder of the shipped parameter tables (stage transitions, REM forecast, cycle prior).

    No trained classifier is shipped: see :func:`user_models_dir`.
    """
    return _PKG / "models"


def user_models_dir() -> Path:
    """Folder of models trained on this machine: ``$DREAMBAND_MODELS``, else ``models/`` in
    the user cache folder (beside fetched datasets). Not created here.

    ``dreamband train`` writes there, and the heart stager trains its models there on first
    use (:mod:`dreamband.staging.heart_store`).
    """
    env = os.environ.get(MODELS_ENV)
    if env:
        return Path(env).expanduser()
    return _user_cache() / "models"


def _user_cache() -> Path:
    """dreamband's folder in the user cache (fetched datasets, models trained here)."""
    import pooch

    return Path(pooch.os_cache("dreamband"))
