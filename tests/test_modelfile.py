"""Text model + JSON sidecar: round trip, and refusal of anything that does not match."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dreamband.errors import ModelError
from dreamband.staging.modelfile import load_model, save_model, sidecar_path

lightgbm = pytest.importorskip("lightgbm")


@pytest.fixture
def booster() -> object:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    data = lightgbm.Dataset(x, y)
    return lightgbm.train({"objective": "binary", "verbose": -1, "num_leaves": 4}, data, 10)


def test_round_trip_predicts_the_same(tmp_path, booster) -> None:
    path = save_model(booster, tmp_path / "m.txt", {"kind": "test", "features": ["a", "b", "c"],
                                                     "classes": ["no", "yes"], "fs": 100})
    loaded, meta = load_model(path, expect={"features": ["a", "b", "c"], "fs": 100.0})
    x = np.random.default_rng(1).normal(size=(20, 3))
    np.testing.assert_allclose(loaded.predict(x), booster.predict(x))
    assert meta["format_version"] == 1 and meta["model_format"] == "lightgbm-text"
    assert path.read_text().startswith("tree")  # text, not a pickle


def test_mismatched_sidecar_is_refused_naming_the_field(tmp_path, booster) -> None:
    path = save_model(booster, tmp_path / "m.txt", {"kind": "test", "features": ["a", "b", "c"],
                                                     "classes": ["no", "yes"]})
    with pytest.raises(ModelError, match=r"m\.json: field 'features' is \['a', 'b', 'c'\]"):
        load_model(path, expect={"features": ["a", "c", "b"]})


def test_missing_or_broken_sidecar_is_refused(tmp_path, booster) -> None:
    path = save_model(booster, tmp_path / "m.txt", {"kind": "t", "features": ["a", "b", "c"],
                                                     "classes": ["no", "yes"]})
    side = sidecar_path(path)
    side.write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_model(path)
    side.unlink()
    with pytest.raises(ModelError, match="sidecar not found"):
        load_model(path)


def test_feature_count_disagreement_is_refused(tmp_path, booster) -> None:
    with pytest.raises(ModelError, match="lists 2 features but the model uses 3"):
        save_model(booster, tmp_path / "m.txt", {"kind": "t", "features": ["a", "b"],
                                                  "classes": ["no", "yes"]})
    path = save_model(booster, tmp_path / "m.txt", {"kind": "t", "features": ["a", "b", "c"],
                                                     "classes": ["no", "yes"]})
    side = sidecar_path(path)
    meta = json.loads(side.read_text())
    meta["format_version"] = 99
    side.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="newer than this dreamband"):
        load_model(path)
