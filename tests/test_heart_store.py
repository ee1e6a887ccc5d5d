"""Heart models are trained on this machine (first use or ``dreamband train``), never shipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreamband.errors import ModelError
from dreamband.paths import models_dir, user_models_dir
from dreamband.staging import heart_store
from dreamband.staging.heart import load_heart_model
from dreamband.staging.heart_store import ensure_heart_model, heart_model_file, slpdb_folder


def test_no_trained_classifier_is_shipped_in_the_package():
    shipped = {p.name for p in models_dir().iterdir() if p.is_file()}
    assert not [n for n in shipped if n.endswith(".txt")], shipped
    assert shipped == {"hmm_transitions_v1.json", "rem_forecast_v1.json",
                       "heart_cycle_prior_v1.json"}


def test_user_models_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DREAMBAND_MODELS", str(tmp_path / "m"))
    assert user_models_dir() == tmp_path / "m"
    assert heart_model_file("hr", True, 40).name == "heart_slpdb_hr_live_lag40.txt"
    assert heart_model_file("rr").parent == tmp_path / "m"


def _fake_slpdb(root: Path) -> Path:
    folder = root / "slpdb"
    folder.mkdir(parents=True)
    for ext in ("hea", "ecg", "st"):
        (folder / f"slp99.{ext}").write_bytes(b"x")
    return folder


def test_missing_model_without_slpdb_names_the_fetch_command(monkeypatch, tmp_path):
    monkeypatch.setenv("DREAMBAND_MODELS", str(tmp_path / "m"))
    monkeypatch.setenv("DREAMBAND_DATA", str(tmp_path / "nodata"))
    with pytest.raises(ModelError, match="dreamband fetch slpdb") as err:
        load_heart_model("rr", live=True)
    assert "heart_slpdb_rr_live.txt" in str(err.value)
    assert "\n" not in str(err.value)


def test_first_use_trains_once_and_an_explicit_folder_never_trains(monkeypatch, tmp_path):
    monkeypatch.setenv("DREAMBAND_MODELS", str(tmp_path / "m"))
    monkeypatch.setenv("DREAMBAND_DATA", str(tmp_path))
    data = _fake_slpdb(tmp_path)
    assert slpdb_folder() == data
    calls = []

    def fake_train(folder, out, kind, live, lag, threads=1, dataset="slpdb"):
        calls.append((Path(folder), Path(out), kind, live, lag, threads))
        path = heart_model_file(kind, live, lag, out)
        path.write_text("model")
        path.with_suffix(".json").write_text("{}")
        return path

    monkeypatch.setattr("dreamband.staging.heart_train.train_heart_variant", fake_train)
    path = ensure_heart_model("hr", live=True, lag=60)
    assert path == tmp_path / "m" / "heart_slpdb_hr_live_lag60.txt"
    assert calls == [(data, tmp_path / "m", "hr", True, 60, 1)]
    assert ensure_heart_model("hr", live=True, lag=60) == path
    assert len(calls) == 1  # trained once
    ensure_heart_model("hr", live=True, lag=60, retrain=True)
    assert len(calls) == 2
    with pytest.raises(ModelError):  # an explicit folder is used as it is
        load_heart_model("rr", False, model_dir=tmp_path / "elsewhere")
    assert len(calls) == 2


def test_a_stale_model_in_the_user_folder_is_retrained(monkeypatch, tmp_path, heart_models):
    """A sidecar written by another version (other features) is replaced, not refused."""
    good = ensure_heart_model("rr")  # the real model of this run (trained from slpdb)
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / good.name).write_bytes(good.read_bytes())
    side = json.loads(good.with_suffix(".json").read_text())
    side["features"] = [*side["features"][:-1], "feature_of_another_version"]
    (folder / good.name).with_suffix(".json").write_text(json.dumps(side))
    monkeypatch.setenv("DREAMBAND_MODELS", str(folder))
    calls = []

    def fake_ensure(kind, live=False, lag=0, data_dir=None, *, retrain=False):
        calls.append(retrain)
        if retrain:  # stands in for training: the current version's model
            (folder / good.name).write_bytes(good.read_bytes())
            (folder / good.name).with_suffix(".json").write_bytes(
                good.with_suffix(".json").read_bytes())
        return folder / good.name

    monkeypatch.setattr(heart_store, "ensure_heart_model", fake_ensure)
    _booster, meta = load_heart_model("rr", False)
    assert calls == [False, True]
    assert meta["features"] == json.loads(good.with_suffix(".json").read_text())["features"]
