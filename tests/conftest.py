"""Shared fixtures. Real recordings come from ``$DREAMBAND_DATA`` (CI: ``../shared/data``).

Models trained during the run (the heart models are trained from slpdb on first use) go
to a temporary folder, unless ``$DREAMBAND_MODELS`` names one to keep between runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_MODELS_TMP: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """Point ``$DREAMBAND_MODELS`` at a fresh folder for this run unless it is set."""
    if not os.environ.get("DREAMBAND_MODELS"):
        folder = tempfile.mkdtemp(prefix="dreamband-models-")
        _MODELS_TMP.append(folder)
        os.environ["DREAMBAND_MODELS"] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the run's model folder."""
    for folder in _MODELS_TMP:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop("DREAMBAND_MODELS", None)


#: Dataset folders of the shared data folder; a data folder holding none of them (e.g. an
#: empty one) counts as no data, so the tests that need data skip instead of failing.
_DATASETS = ("sleep-edf", "dreams-spindles", "slpdb", "sleep-accel", "yasa-samples")


def _shared_data() -> Path | None:
    env = os.environ.get("DREAMBAND_DATA")
    if env and any((Path(env) / name).is_dir() for name in _DATASETS):
        return Path(env)
    return None


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The folder of real public recordings; skips the test when it is absent."""
    path = _shared_data()
    if path is None:
        pytest.skip("real data not available: set DREAMBAND_DATA to the shared data folder")
    return path


def _subfolder(name: str):
    @pytest.fixture(scope="session")
    def fixture(real_data: Path) -> Path:
        folder = real_data / name
        if not folder.is_dir():
            pytest.skip(f"real data folder {folder} is missing")
        return folder

    fixture.__doc__ = f"``$DREAMBAND_DATA/{name}``; skips when absent."
    return fixture


sleep_edf_dir = _subfolder("sleep-edf")
dreams_dir = _subfolder("dreams-spindles")
slpdb_dir = _subfolder("slpdb")
sleep_accel_dir = _subfolder("sleep-accel")
yasa_dir = _subfolder("yasa-samples")


@pytest.fixture(scope="session")
def heart_models() -> Path:
    """The folder of heart models, trained from slpdb on first use; skips without slpdb
    (no heart model ships with dreamband)."""
    from dreamband.paths import user_models_dir

    data = _shared_data()
    if data is None or not (data / "slpdb").is_dir():
        pytest.skip("needs a heart model, trained from slpdb on first use: set "
                    "DREAMBAND_DATA to a folder holding slpdb/")
    return user_models_dir()
