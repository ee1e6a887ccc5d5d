"""Shared fixtures. Real recordings come from ``$DREAMBAND_DATA`` (CI: ``../shared/data``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _shared_data() -> Path | None:
    env = os.environ.get("DREAMBAND_DATA")
    if env and Path(env).is_dir():
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
