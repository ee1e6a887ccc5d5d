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
    # stale when first asked, fixed by another process by the time the lock is held
    answers = iter([True, False])
    ensure_heart_model("hr", live=True, lag=60, retrain=lambda p: next(answers))
    assert len(calls) == 2 and next(answers, None) is None
    ensure_heart_model("hr", live=True, lag=60, retrain=lambda p: True)
    assert len(calls) == 3
    with pytest.raises(ModelError):  # an explicit folder is used as it is
        load_heart_model("rr", False, model_dir=tmp_path / "elsewhere")
    assert len(calls) == 3


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
        stale = retrain(folder / good.name) if callable(retrain) else retrain
        calls.append(stale)
        if stale:  # stands in for training: the current version's model
            (folder / good.name).write_bytes(good.read_bytes())
            (folder / good.name).with_suffix(".json").write_bytes(
                good.with_suffix(".json").read_bytes())
        return folder / good.name

    monkeypatch.setattr(heart_store, "ensure_heart_model", fake_ensure)
    _booster, meta = load_heart_model("rr", False)
    assert calls == [False, True]
    assert meta["features"] == json.loads(good.with_suffix(".json").read_text())["features"]


def test_a_model_fitted_without_a_subject_stages_that_subject(tmp_path, slpdb_dir):
    """What bench_live uses to replay held-out subjects: no calibration, no CV, same API."""
    from dreamband.io.slpdb import read_slpdb_beats
    from dreamband.staging.heart import stage_heart
    from dreamband.staging.heart_data import load_nights
    from dreamband.staging.heart_train import fit_heart_model

    nights = load_nights("slpdb", slpdb_dir, live=True, kind="rr")
    held = nights[0].subject
    train = [n for n in nights if n.subject != held][:4]
    path = fit_heart_model(train, tmp_path, "rr", live=True)
    side = json.loads(path.with_suffix(".json").read_text())
    assert side["training_records"] == [n.record for n in train]
    assert side["calibration"] is None and side["cv_scores"]["scheme"] == "none computed"
    beats = read_slpdb_beats(slpdb_dir / f"{nights[0].record}.hea")
    hyp = stage_heart(beats, live=True, model_dir=tmp_path)
    assert hyp.n_epochs > 100 and set(hyp.stages[hyp.stages >= 0]) <= {0, 1, 2}


def test_models_command_lists_shipped_tables_and_trained_models(tmp_path, monkeypatch,
                                                                capsys):
    from dreamband.cli.main import main
    from dreamband.staging.modelfile import save_model

    monkeypatch.setenv("DREAMBAND_MODELS", str(tmp_path / "m"))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "hmm_transitions_v1.json" in out and "Sleep-EDF" in out
    assert "none yet" in out

    class Booster:  # the two calls save_model makes
        def num_feature(self) -> int:
            return 2

        def model_to_string(self) -> str:
            return "tree"

    save_model(Booster(), tmp_path / "m" / "heart_slpdb_rr_live.txt",
               {"kind": "heart-stager", "features": ["a", "b"], "classes": ["W", "NREM", "REM"],
                "dataset": "slpdb", "input": "rr", "variant": "live",
                "training_records": ["slp01a", "slp03"],
                "cv_scores": {"scheme": "leave-one-subject-out", "kappa": 0.3614}})
    (tmp_path / "m" / "broken.txt").write_text("x")
    assert main(["models", "--json", str(tmp_path / "list.json")]) == 0
    out = capsys.readouterr().out
    assert "heart_slpdb_rr_live.txt" in out and "leave-one-subject-out kappa 0.361" in out
    assert "broken.txt" in out and "sidecar missing" in out
    doc = json.loads((tmp_path / "list.json").read_text())
    assert [m["file"] for m in doc["trained"]] == ["broken.txt", "heart_slpdb_rr_live.txt"]
    assert doc["trained"][1]["n_training_records"] == 2
