"""Leave-one-subject-out floors on the real heart datasets (skipped without the data)."""

from __future__ import annotations

import numpy as np
import pytest

from dreamband.evaluation.heart import evaluate_heart, loso_predictions
from dreamband.staging.heart_data import NightFeatures, load_nights, slpdb_subject

pytestmark = pytest.mark.data


def test_slpdb_split_records_belong_to_one_subject():
    assert slpdb_subject("slp01a") == slpdb_subject("slp01b") == "slp01"
    assert slpdb_subject("slp02b") == "slp02"
    assert slpdb_subject("slp03") == "slp03" and slpdb_subject("slp67x") == "slp67x"


def test_loso_never_trains_on_the_held_out_subject():
    rng = np.random.default_rng(0)

    def night(rec, subj, shift):
        y = rng.integers(0, 3, 400)
        X = np.column_stack([y + shift + rng.normal(0, 0.3, y.size), rng.normal(size=y.size)])
        return NightFeatures(rec, subj, X, y, ["a", "b"])

    # Subject "odd" has its classes shifted: a model that saw it would learn the shift.
    nights = [night(f"r{i}", f"s{i}", 0.0) for i in range(4)] + [night("odd1", "odd", 5.0)]
    preds = loso_predictions(nights, live=False, n_trees=20, subjects=["odd"])
    assert [p.record for p in preds] == ["odd1"]
    acc = np.mean(preds[0].predicted == preds[0].y)
    assert acc < 0.6  # shifted features look like the top class to an unseen-subject model


def test_slpdb_loso_kappa_floor(slpdb_dir):
    rep = evaluate_heart("slpdb", slpdb_dir.parent, n_trees=60, threads=1,
                         subjects=["slp03", "slp41", "slp60"])
    assert [r["name"] for r in rep["records"]] == ["slp03", "slp41", "slp60"]
    assert rep["pooled"]["kappa"] > 0.30
    assert rep["pooled"]["f1"]["W"] > 0.5
    # subject-bootstrap intervals over the three held-out subjects
    ci = rep["pooled"]["intervals"]
    assert ci["n_subjects"] == 3
    assert ci["kappa"][0] <= rep["pooled"]["kappa"] <= ci["kappa"][1]
    assert ci["f1"]["REM"][0] <= rep["pooled"]["f1"]["REM"] <= ci["f1"]["REM"][1]


def test_sleep_accel_loso_kappa_floor(sleep_accel_dir):
    nights = load_nights("sleep-accel", sleep_accel_dir.parent)
    assert len(nights) == 31 and nights[0].X.shape[1] == 5
    rep = evaluate_heart("sleep-accel", sleep_accel_dir.parent, n_trees=60, threads=1,
                         subjects=[n.subject for n in nights[:5]])
    assert rep["pooled"]["kappa"] > 0.2
