"""The model engine: train, save as text + sidecar, load, refuse mismatches (plumbing)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dreamband.errors import ModelError
from dreamband.features.eeg import compute_evidence
from dreamband.staging.api import stage
from dreamband.staging.model_engine import KIND, fit_booster, predict_model, predict_proba
from dreamband.staging.modelfile import save_model

FS = 100.0
RNG = np.random.default_rng(5)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    x = np.cumsum(RNG.standard_normal(round(40 * 60 * FS)))
    x = x - np.convolve(x, np.ones(300) / 300, mode="same")
    ev = compute_evidence(x, FS)
    y = RNG.integers(0, 5, ev.n_epochs)
    booster = fit_booster(ev.values, y, ev.names, rounds=5)
    path = tmp_path_factory.mktemp("model") / "stager.txt"
    side = {
        "kind": KIND,
        "features": list(ev.names),
        "classes": ["W", "N1", "N2", "N3", "REM"],
        "epoch_length": 30.0,
        "class_prior": [0.2] * 5,
    }
    save_model(booster, path, side)
    return x, ev, booster, path


def test_saved_model_is_text_with_a_json_sidecar(trained):
    _, _, _, path = trained
    assert path.read_text().startswith("tree")
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["kind"] == KIND and meta["model_format"] == "lightgbm-text"


def test_save_load_round_trip_gives_the_same_predictions(trained):
    x, ev, booster, path = trained
    probs, meta = predict_model(ev, path)
    assert probs.shape == (ev.n_epochs, 5)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    raw = predict_proba(booster, ev, meta["features"])
    import lightgbm

    again = lightgbm.Booster(model_str=path.read_text())
    np.testing.assert_allclose(raw, again.predict(ev.values).reshape(-1, 5))
    hyp = stage(x, FS, engine="model", model=path)
    np.testing.assert_allclose(hyp.probabilities, probs)
    assert hyp.source.startswith("dreamband model")


def test_mismatched_sidecar_is_refused(trained, tmp_path):
    _, ev, _, path = trained
    bad = tmp_path / "bad.txt"
    bad.write_text(path.read_text())
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["epoch_length"] = 20.0
    bad.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="epoch_length"):
        predict_model(ev, bad)
    meta["epoch_length"] = 30.0
    meta["features"] = [*meta["features"][:-1], "not_a_feature"]
    bad.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="not_a_feature"):
        predict_model(ev, bad)
    bad.with_suffix(".json").unlink()
    with pytest.raises(ModelError, match="sidecar not found"):
        predict_model(ev, bad)
