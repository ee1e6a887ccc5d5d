"""Heart stager API: models trained from slpdb, input files, live == one pass, errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from dreamband.core.beats import BeatSeries
from dreamband.errors import InputFileError, ModelError
from dreamband.io.hypnogram_files import read_csv_hypnogram, write_hypnogram
from dreamband.io.rr_csv import HeartRateSeries
from dreamband.staging.heart import load_heart_model, stage_heart, stage_heart_file
from dreamband.staging.heart_model import apply_calibration, fit_calibration, hmm_smooth
from dreamband.staging.heart_store import ensure_heart_model
from dreamband.staging.heart_train import model_filename


def night_beats(hours: float = 1.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t, out = 0.0, [0.0]
    while t < hours * 3600:
        level = 0.9 + 0.08 * np.sin(2 * np.pi * t / 5400)
        t += level + 0.04 * np.sin(2 * np.pi * 0.25 * t) + rng.normal(0, 0.02)
        out.append(t)
    return np.array(out)


#: The heart models are trained from slpdb on first use; without slpdb these tests skip.
needs_models = pytest.mark.usefixtures("heart_models")


@needs_models
@pytest.mark.parametrize("live", [False, True])
def test_stage_heart_returns_a_wearable_hypnogram_with_probabilities(live):
    beats = BeatSeries(times=night_beats(), source="synthetic", participant="p1")
    hyp = stage_heart(beats, live=live)
    assert hyp.scheme == "wearable"
    assert hyp.n_epochs == int(np.ceil(beats.times[-1] / 30))
    # the last epoch holds under a second of beats: unscored (less than 80 % covered)
    assert hyp.stages[-1] == -1 and hyp.meta["unscored_epochs"] == 1
    assert set(np.unique(hyp.stages[:-1])) <= {0, 1, 2}
    np.testing.assert_allclose(hyp.probabilities[:-1].sum(axis=1), 1.0, atol=1e-9)
    scored = hyp.stages >= 0
    np.testing.assert_array_equal(hyp.stages[scored], hyp.probabilities[scored].argmax(axis=1))
    assert hyp.meta["input"] == "rr" and hyp.meta["live"] is live


@needs_models
def test_live_staging_of_a_prefix_equals_the_one_pass_result():
    times = night_beats(1.5)
    full = stage_heart(BeatSeries(times=times), live=True)
    part = stage_heart(BeatSeries(times=times[times <= 1800]), live=True, n_epochs=60)
    np.testing.assert_array_equal(part.stages, full.stages[:60])
    np.testing.assert_allclose(part.probabilities, full.probabilities[:60], rtol=0, atol=0)


@needs_models
def test_stage_heart_accepts_heart_rate_samples():
    t = np.arange(0, 3600.0)
    hr = 60 + 4 * np.sin(2 * np.pi * t / 1800)
    hyp = stage_heart(HeartRateSeries(t, hr, source="band"))
    assert hyp.meta["input"] == "hr" and hyp.n_epochs == 120


@needs_models
def test_stage_heart_file_reads_rr_and_hr_csv(tmp_path):
    rr_ms = np.round(np.diff(night_beats(0.5)) * 1000, 1)
    rr_file = tmp_path / "strap.csv"
    rr_file.write_text("rr_ms\n" + "\n".join(f"{v}" for v in rr_ms) + "\n")
    hyp = stage_heart_file(rr_file)
    assert hyp.n_epochs == int(np.ceil(rr_ms.sum() / 1000 / 30))
    hr_file = tmp_path / "band.csv"
    hr_file.write_text("time_s,hr_bpm\n" + "\n".join(f"{i},{62 + i % 5}" for i in range(1800)))
    hyp = stage_heart_file(hr_file)
    assert hyp.meta["input"] == "hr"
    out = write_hypnogram(hyp, tmp_path / "band_hypnogram.csv")
    header = out.read_text().splitlines()[0]
    assert header == "onset,duration,stage,p_W,p_NREM,p_REM"
    assert read_csv_hypnogram(out).scheme == "wearable"


def test_stage_heart_file_rejects_unknown_and_missing_files(tmp_path):
    other = tmp_path / "night.edf"
    other.write_bytes(b"0" * 10)
    with pytest.raises(InputFileError, match=r"night\.edf.*not a heart input"):
        stage_heart_file(other)
    with pytest.raises(InputFileError, match="no such file"):
        stage_heart_file(tmp_path / "absent.csv")


def test_stage_heart_rejects_too_few_samples():
    with pytest.raises(ValueError, match="at least 3"):
        stage_heart(BeatSeries(times=np.array([0.0, 1.0])))
    with pytest.raises(TypeError, match="BeatSeries"):
        stage_heart([1, 2, 3])


@needs_models
def test_model_with_mismatching_sidecar_is_refused(tmp_path):
    name = model_filename("slpdb", "rr", False)
    trained = ensure_heart_model("rr")
    shutil.copy(trained, tmp_path / name)
    side = json.loads(trained.with_suffix(".json").read_text())
    side["features"] = side["features"][::-1]
    (tmp_path / name).with_suffix(".json").write_text(json.dumps(side))
    with pytest.raises(ModelError, match="features"):
        load_heart_model("rr", False, model_dir=tmp_path)


@needs_models
def test_trained_sidecars_carry_attribution_and_subject_wise_scores():
    for kind in ("rr", "hr"):
        for live in (False, True):
            path = ensure_heart_model(kind, live)
            side = json.loads(path.with_suffix(".json").read_text())
            assert side["licence"].startswith("ODC-By")
            assert "Ichimaru" in side["citation"]
            assert side["cv_scores"]["scheme"] == "leave-one-subject-out"
            assert 0 < side["calibration"]["temperature"] < 10


def test_forward_smoothing_is_causal_and_backward_pass_changes_the_past():
    rng = np.random.default_rng(0)
    p = rng.dirichlet([1, 1, 1], size=50)
    fwd = hmm_smooth(p, live=True)
    np.testing.assert_allclose(hmm_smooth(p[:20], live=True), fwd[:20])
    both = hmm_smooth(p, live=False)
    assert not np.allclose(both[:20], fwd[:20])
    np.testing.assert_allclose(both.sum(axis=1), 1.0)


def test_calibration_moves_overconfident_probabilities_toward_frequencies():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 3000)
    # Right 60 % of the time but claiming 95 %.
    guess = np.where(rng.random(y.size) < 0.6, y, rng.integers(0, 3, y.size))
    p = np.full((y.size, 3), 0.025)
    p[np.arange(y.size), guess] = 0.95
    cal = fit_calibration(p, y)
    assert cal["temperature"] > 1.5
    assert cal["log_loss_after"] < cal["log_loss_before"]
    q = apply_calibration(p, cal["temperature"], cal["bias"])
    assert 0.55 < q.max(axis=1).mean() < 0.8


@needs_models
def test_stage_heart_file_names_the_line_of_a_bad_row(tmp_path):
    bad = tmp_path / "strap.csv"
    bad.write_text("rr_ms\n900\n910\nabc\n905\n")
    with pytest.raises(InputFileError, match="line"):
        stage_heart_file(bad)


@needs_models
@pytest.mark.data
def test_stage_heart_file_reads_an_slpdb_record(slpdb_dir):
    hyp = stage_heart_file(slpdb_dir / "slp03.hea", live=True)
    assert hyp.n_epochs == 720  # 6 h of beats
    assert hyp.start_time is not None and hyp.meta["participant"] == "slp03"
    assert hyp.meta["valid_fraction"] > 0.95
