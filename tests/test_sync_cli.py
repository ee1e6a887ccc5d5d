"""``dreamband sync`` and ``dreamband forecast`` end to end."""

from __future__ import annotations

import csv
import json
from datetime import datetime

import numpy as np
import pytest

import dreamband.cli.main as cli
from dreamband.core.hypnogram import Hypnogram
from dreamband.io.hypnogram_files import write_hypnogram

W, N2, R = 0, 2, 4


@pytest.fixture(autouse=True)
def _commands(monkeypatch):
    cmds = tuple(dict.fromkeys((*cli.COMMANDS, "sync", "forecast")))
    monkeypatch.setattr(cli, "COMMANDS", cmds)


def _write(tmp_path, name, stages, start=None, suffix=".edf"):
    hyp = Hypnogram(np.array(stages, dtype=np.int8), start_time=start)
    return str(write_hypnogram(hyp, tmp_path / f"{name}{suffix}"))


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_sync_writes_windows_by_clock_time_and_a_plot(tmp_path, capsys):
    a = _write(tmp_path, "ann", [W, R, R, R, R, N2], datetime(2024, 3, 1, 23, 0, 0))
    b = _write(tmp_path, "bob", [R, R, R, N2], datetime(2024, 3, 1, 23, 1, 0))  # 2 epochs later
    out, png = tmp_path / "w.csv", tmp_path / "t.png"
    code = cli.main(["sync", a, b, "--k", "2", "--out", str(out), "--plot", str(png)])
    assert code == 0
    rows = _rows(out)
    assert list(rows[0]) == ["start", "end", "duration", "n_members", "members"]
    assert [(r["start"], r["end"], r["duration"], r["n_members"], r["members"]) for r in rows] == [
        ("60", "150", "90", "2", "ann;bob")
    ]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "1 group windows" in capsys.readouterr().out


def test_sync_offsets_and_min_duration_for_files_without_clock(tmp_path):
    a = _write(tmp_path, "ann", [R, R, R, R, W, W], suffix=".csv")
    b = _write(tmp_path, "bob", [R, R, R, R, W, W], suffix=".csv")
    out = tmp_path / "w.csv"
    assert cli.main(["sync", a, b, "--k", "2", "--offsets", "bob=60", "--out", str(out)]) == 0
    assert [(r["start"], r["end"]) for r in _rows(out)] == [("60", "120")]
    assert (
        cli.main(
            [
                "sync",
                a,
                b,
                "--k",
                "2",
                "--offsets",
                "bob=60",
                "--min-duration",
                "90",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert _rows(out) == []


def test_sync_bad_arguments_fail_with_one_line(tmp_path, capsys):
    a = _write(tmp_path, "ann", [R, R], suffix=".csv")
    out = str(tmp_path / "w.csv")
    assert cli.main(["sync", a, "--k", "2", "--out", out]) == 2
    assert "k = 2 exceeds the 1 participants" in capsys.readouterr().err
    assert cli.main(["sync", a, "--k", "1", "--offsets", "ann:3", "--out", out]) == 2
    assert "NAME=SECONDS" in capsys.readouterr().err
    assert cli.main(["sync", str(tmp_path / "nope.csv"), "--k", "1", "--out", out]) == 2


@pytest.mark.data
def test_sync_on_sleep_edf_nights_windows_lie_in_members_rem(sleep_edf_dir, tmp_path):
    from dreamband.sync.files import read_hypnogram
    from dreamband.sync.timeline import REM, build_timeline

    paths = sorted(sleep_edf_dir.glob("SC4*-Hypnogram.edf"))[:4]
    out = tmp_path / "w.csv"
    assert (
        cli.main(["sync", *map(str, paths), "--k", "2", "--align", "clock", "--out", str(out)]) == 0
    )
    rows = _rows(out)
    assert rows
    tl = build_timeline({p.stem: read_hypnogram(p) for p in paths}, align="clock")
    for r in rows:
        s, e = int(float(r["start"]) / 30), int(float(r["end"]) / 30)
        for m in r["members"].split(";") if r["members"] else []:
            assert (tl.states[tl.names.index(m), s:e] == REM).all()


@pytest.mark.data
def test_forecast_cli_scores_subject_wise_and_writes_json(sleep_edf_dir, tmp_path, capsys):
    paths = sorted(map(str, sleep_edf_dir.glob("SC4*-Hypnogram.edf")))
    out = tmp_path / "f.json"
    assert cli.main(["forecast", *paths, "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert {"mae_min", "baseline_mae_min", "n"} <= set(doc)
    assert doc["evaluation"].startswith("leave-one-subject-out")
    assert doc["mae_min"] < doc["baseline_mae_min"]
    printed = json.loads(capsys.readouterr().out.splitlines()[0])
    assert printed == {k: doc[k] for k in ("mae_min", "baseline_mae_min", "n")}


def test_forecast_cli_fit_then_score_as_is(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(3):
        stages = [W] * 60 + [N2] * int(120 + rng.integers(0, 20))
        for _ in range(4):
            stages += [R] * 20 + [N2] * int(160 + rng.integers(0, 20))
        paths.append(
            _write(
                tmp_path, f"night{i}", stages + [W] * 20, datetime(2024, 1, 1, 22), suffix=".edf"
            )
        )
    model = tmp_path / "m.json"
    assert cli.main(["forecast", *paths, "--fit", str(model)]) == 0
    out = tmp_path / "f.json"
    assert cli.main(["forecast", *paths, "--model", str(model), "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["n"] > 0 and "as is" in doc["evaluation"]
