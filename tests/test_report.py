"""The HTML report opens offline, shows every night, and renders in headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from _nights import scored_night

from dreamband.batch.discover import discover_inputs
from dreamband.batch.runner import run_nights
from dreamband.batch.sessions import write_group_windows
from dreamband.cli.main import main
from dreamband.io import write_hypnogram


@pytest.fixture(scope="module")
def batch_out(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    (root / "in").mkdir()
    start = datetime(2024, 5, 1, 23, 0)
    for i, name in enumerate(("alice", "bob", "carol")):
        write_hypnogram(
            scored_night(i, start + timedelta(minutes=5 * i)), root / "in" / f"{name}.parquet"
        )
    nights = discover_inputs([root / "in"])
    run_nights(nights, root / "out", workers=1)
    write_group_windows(root / "out", nights, k=2)
    return root / "out"


def test_report_lists_every_night_and_references_only_local_files(batch_out, capsys) -> None:
    assert main(["report", str(batch_out)]) == 0
    index = batch_out / "report" / "index.html"
    text = index.read_text()
    for name in ("alice", "bob", "carol"):
        assert f"id='night-{name}'" in text
        assert (batch_out / "report" / "img" / f"night-{name}.png").stat().st_size > 5000
    assert "Group REM windows" in text and "session-alice" in text
    assert "http://" not in text and "https://" not in text  # opens offline


def test_report_of_an_empty_folder_is_a_clear_error(tmp_path, capsys) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert "no batch results here" in capsys.readouterr().err


def test_report_renders_in_headless_chromium(batch_out, tmp_path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (CI installs Debian's chromium package)")
    index = batch_out / "report" / "index.html"
    if not index.exists():
        main(["report", str(batch_out)])
    shot = tmp_path / "shot.png"
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1280,2400",
        f"--screenshot={shot}",
        index.as_uri(),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    from matplotlib.image import imread

    img = imread(shot)
    assert img.shape[0] >= 2000 and img.shape[1] >= 1200
    gray = img[..., :3].mean(axis=2)
    assert gray.std() > 0.05  # not blank: text, tables and plots
    # the three nights' plots are tall images: a good share of pixels is not white
    assert np.mean(gray < 0.9) > 0.05
