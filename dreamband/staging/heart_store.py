"""Where the heart stager's trained models live, and training them on first use.

No trained heart model ships with dreamband: the models are derived from PhysioNet's
MIT-BIH Polysomnographic Database (slpdb), and the project ships no model derived from a
dataset. They are trained on the machine that uses them, into
:func:`dreamband.paths.user_models_dir`:

* ``dreamband train slpdb`` trains all of them (with leave-one-subject-out scores);
* any call that needs a model that is not there yet (a replay or lab participant with a
  heart band, ``dreamband stage`` on beats...) trains that one model, by the same recipe,
  when the slpdb records are on this machine (the data folder, ``$DREAMBAND_DATA``, or an
  earlier ``dreamband fetch slpdb``). This takes a few seconds; it happens once.

A model in that folder written by another dreamband version whose features differ is
retrained the same way. Without the records, the call fails with one line saying how to
get them. A folder given explicitly (``model_dir``) is used as it is, never trained into.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from dreamband.errors import ModelError

__all__ = ["ensure_heart_model", "heart_model_file", "is_trained", "slpdb_folder"]

logger = logging.getLogger(__name__)

_LOCK_NAME = ".heart-train.lock"


def slpdb_folder(data_dir: str | os.PathLike | None = None) -> Path | None:
    """The local slpdb folder with at least one beat-annotated record, or None.

    Parameters
    ----------
    data_dir : path, optional
        Data folder (default :func:`dreamband.paths.data_dir`), or the slpdb folder itself.
    """
    from dreamband.paths import data_dir as resolve

    root = resolve(data_dir)
    folder = root if root.name == "slpdb" else root / "slpdb"
    if not folder.is_dir():
        return None
    for header in folder.glob("slp*.hea"):
        if header.with_suffix(".ecg").is_file() and header.with_suffix(".st").is_file():
            return folder
    return None


def heart_model_file(kind: str, live: bool = False, lag: int = 0,
                     model_dir: str | os.PathLike | None = None) -> Path:
    """Path a heart model has (or will have): in ``model_dir``, else the user model folder.

    Parameters
    ----------
    kind : {"rr", "hr"}
        Input kind.
    live : bool
        Causal variant.
    lag : int
        With ``live``: decision delay in epochs (a fixed-lag model).
    model_dir : path, optional
        Folder of the models.
    """
    from dreamband.paths import user_models_dir
    from dreamband.staging.heart_train import model_filename

    folder = Path(model_dir) if model_dir is not None else user_models_dir()
    return folder / model_filename("slpdb", kind, live, int(lag) if live else 0)


def is_trained(kind: str, live: bool = False, lag: int = 0) -> bool:
    """Whether the user model folder holds this variant (model file and sidecar).

    Parameters
    ----------
    kind : {"rr", "hr"}
        Input kind.
    live : bool
        Causal variant.
    lag : int
        With ``live``: decision delay in epochs.
    """
    from dreamband.staging.modelfile import sidecar_path

    path = heart_model_file(kind, live, lag)
    return path.is_file() and sidecar_path(path).is_file()


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (other processes training the same models wait)."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: atomic writes only
        yield
        return
    with open(folder / _LOCK_NAME, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _missing_message(path: Path, data_dir: str | os.PathLike | None) -> str:
    from dreamband.paths import data_dir as resolve

    return (f"{path}: no heart model. Heart models are trained on this machine from "
            f"PhysioNet slpdb, which is not in {resolve(data_dir)}: run 'dreamband fetch "
            "slpdb --purpose heart-staging' (or set DREAMBAND_DATA to a folder holding "
            "slpdb/), after which the model is trained on first use, or all at once by "
            "'dreamband train slpdb'")


def ensure_heart_model(kind: str, live: bool = False, lag: int = 0,
                       data_dir: str | os.PathLike | None = None, *,
                       retrain: bool | Callable[[Path], bool] = False) -> Path:
    """The user-folder heart model of a variant, trained now from slpdb if it is missing.

    Parameters
    ----------
    kind : {"rr", "hr"}
        Input kind.
    live : bool
        Causal variant.
    lag : int
        With ``live``: decision delay in epochs.
    data_dir : path, optional
        Data folder holding ``slpdb/`` (default :func:`dreamband.paths.data_dir`).
    retrain : bool or callable
        True: train even if the model exists. A callable ``stale(path) -> bool``: train
        when it says the model at ``path`` is stale; it is asked again once the folder's
        lock is held, so a model that another process retrained meanwhile is used as it
        is rather than trained twice.

    Returns
    -------
    pathlib.Path
        The model file; its sidecar is beside it.

    Raises
    ------
    ModelError
        If the model is missing (or stale) and slpdb is not on this machine.
    """
    from dreamband.staging.heart_train import train_heart_variant

    path = heart_model_file(kind, live, lag)

    def wanted() -> bool:
        if not is_trained(kind, live, lag):
            return True
        return retrain(path) if callable(retrain) else bool(retrain)

    if not wanted():
        return path
    folder = slpdb_folder(data_dir)
    if folder is None:
        raise ModelError(_missing_message(path, data_dir))
    with _locked(path.parent):
        # another process may have trained it while this one waited for the lock
        if wanted():
            logger.warning("training heart model %s from slpdb records in %s (first use, "
                           "a few seconds)", path.name, folder)
            # one LightGBM thread: OpenMP threads spin badly on a busy machine, and the
            # models are small (a 2-thread fit was slower whenever another process ran)
            train_heart_variant(folder, path.parent, kind, live, lag, threads=1)
    return path
