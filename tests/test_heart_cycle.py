"""Sleep-cycle prior of the heart smoother: exactness, causality, effect, files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dreamband.core.beats import BeatSeries
from dreamband.errors import ModelError
from dreamband.paths import models_dir
from dreamband.staging.heart import load_heart_model, model_cycle_prior, stage_heart
from dreamband.staging.heart_cycle import (
    CYCLE_PRIOR_FILE,
    CycleFilter,
    CyclePrior,
    build_cycle_prior,
    cycle_fixed_lag_smooth,
    cycle_smooth,
    load_cycle_prior,
)
from dreamband.staging.heart_model import fixed_lag_smooth, hmm_smooth, smooth_night


def random_probs(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet([1.0, 1.0, 1.0], size=n)


def toy_prior(size: int = 60) -> CyclePrior:
    """REM unlikely for 40 epochs after REM, likely afterwards."""
    r = np.where(np.arange(size) < 40, 0.05, 3.0)
    return CyclePrior(r, np.full(size, 1.0 / size))


def reference_cycle_smooth(p: np.ndarray, live: bool, stay: float, prior: CyclePrior
                           ) -> np.ndarray:
    """The cycle-aware smoother written plainly: the forward filter one
    :meth:`CycleFilter.step` at a time, then a backward loop on fresh arrays. The optimised
    :func:`cycle_smooth` does the same floating-point operations in the same order."""
    p = np.clip(np.asarray(p, dtype=float), 1e-9, None)
    n, k = p.shape[0], prior.size
    f = CycleFilter(prior, stay)
    alpha, alpha_rem = np.empty((n, 2, k)), np.empty(n)
    for t in range(n):
        f.step(p[t])
        alpha[t], alpha_rem[t] = f.a, f.a_rem
    out = np.column_stack([alpha.sum(axis=2), alpha_rem])
    if live or n == 0:
        return out
    b, b_rem = np.ones((2, k)), 1.0
    for t in range(n - 2, -1, -1):
        eb = b * p[t + 1, :2, None]
        er = b_rem * p[t + 1, 2]
        nb = np.concatenate([eb[:, 1:], eb[:, -1:]], axis=1)  # d + 1 at d; D stays D
        c = f.keep * nb + f.e * nb[::-1] + f.to_rem * er
        c_rem = f.stay * er + f.e * (eb[0, 1] + eb[1, 1])
        s = c.sum() + c_rem
        b, b_rem = c / s, c_rem / s
        out[t, :2] = (alpha[t] * b).sum(axis=1)
        out[t, 2] = alpha_rem[t] * b_rem
    return out / out.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("live", [True, False])
@pytest.mark.parametrize("n", [1, 2, 7, 260])
def test_cycle_smooth_is_bitwise_the_plain_loop(live, n):
    rng = np.random.default_rng(n)
    p = rng.dirichlet([0.3, 0.3, 0.3], size=n)  # some values below the 1e-9 clip
    priors = [load_cycle_prior(), toy_prior(), toy_prior(2), toy_prior(3),
              CyclePrior(rng.uniform(0.0, 2.0, 50), rng.dirichlet(np.ones(50)))]
    for prior in priors:
        for stay in (0.98, 0.9):
            np.testing.assert_array_equal(cycle_smooth(p, live, stay, prior),
                                          reference_cycle_smooth(p, live, stay, prior))


@pytest.mark.parametrize("live", [True, False])
def test_a_flat_prior_is_exactly_the_sticky_hmm(live):
    p = random_probs(200)
    flat = CyclePrior(np.ones(30), np.full(30, 1 / 30))
    np.testing.assert_allclose(cycle_smooth(p, live, 0.98, flat), hmm_smooth(p, live, 0.98),
                               atol=1e-12)


def test_forward_filter_is_causal_and_matches_the_one_pass_result():
    p = random_probs(150, seed=1)
    prior = toy_prior()
    one_pass = cycle_smooth(p, True, 0.98, prior)
    np.testing.assert_allclose(cycle_smooth(p[:70], True, 0.98, prior), one_pass[:70])
    f = CycleFilter(prior, 0.98)
    steps = np.array([f.step(row) for row in p])
    np.testing.assert_allclose(steps, one_pass, atol=1e-12)
    both = cycle_smooth(p, False, 0.98, prior)
    np.testing.assert_allclose(both.sum(axis=1), 1.0)
    assert not np.allclose(both[:100], one_pass[:100])


def test_fixed_lag_cycle_smoothing_spans_forward_to_forward_backward():
    p = random_probs(150, seed=2)
    prior = toy_prior()
    np.testing.assert_allclose(cycle_fixed_lag_smooth(p, 0, 0.98, prior),
                               cycle_smooth(p, True, 0.98, prior), atol=1e-12)
    np.testing.assert_allclose(cycle_fixed_lag_smooth(p, 400, 0.98, prior),
                               cycle_smooth(p, False, 0.98, prior), atol=1e-12)
    flat = CyclePrior(np.ones(30), np.full(30, 1 / 30))
    np.testing.assert_allclose(cycle_fixed_lag_smooth(p, 9, 0.98, flat),
                               fixed_lag_smooth(p, 9, 0.98), atol=1e-12)
    with pytest.raises(ValueError, match="lag"):
        cycle_fixed_lag_smooth(p, -1, 0.98, prior)
    assert cycle_fixed_lag_smooth(p[:0], 5, 0.98, prior).shape == (0, 3)


def test_fixed_lag_cycle_smoothing_of_epoch_k_needs_only_epochs_up_to_k_plus_lag():
    p = random_probs(150, seed=5)
    prior = toy_prior()
    lag = 12
    full = cycle_fixed_lag_smooth(p, lag, 0.98, prior)
    part = cycle_fixed_lag_smooth(p[:90], lag, 0.98, prior)
    np.testing.assert_array_equal(part[: 90 - lag], full[: 90 - lag])
    assert not np.allclose(part[90 - lag:], full[90 - lag:90])
    np.testing.assert_allclose(full.sum(axis=1), 1.0)


def test_smooth_night_uses_the_cycle_prior_in_fixed_lag_mode():
    from dreamband.features.heart_lag import split_lag

    p = random_probs(120, seed=6)
    prior = toy_prior()
    ahead = split_lag(40)[1]
    np.testing.assert_array_equal(smooth_night(p, True, 0.98, 40, prior),
                                  cycle_fixed_lag_smooth(p, ahead, 0.98, prior))
    np.testing.assert_array_equal(smooth_night(p, True, 0.98, 40),
                                  fixed_lag_smooth(p, ahead, 0.98))


def test_rem_right_after_rem_is_suppressed_and_rem_after_a_cycle_is_not():
    # 20 epochs of clear REM, then NREM, then ambiguous REM/NREM evidence either soon
    # (epochs 30-39) or a cycle later (epochs 80-89).
    p = np.tile([0.05, 0.9, 0.05], (120, 1))
    p[:20] = [0.05, 0.05, 0.9]
    p[30:40] = p[80:90] = [0.05, 0.45, 0.5]
    sticky = hmm_smooth(p, live=False)
    cyc = cycle_smooth(p, False, 0.98, toy_prior())
    assert cyc[30:40, 2].mean() < sticky[30:40, 2].mean()
    assert cyc[80:90, 2].mean() > sticky[80:90, 2].mean()


def test_cycle_filter_refuses_a_hazard_too_large_for_stay():
    with pytest.raises(ValueError, match="hazard"):
        CycleFilter(CyclePrior(np.full(5, 200.0), np.full(5, 0.2)), 0.98)
    with pytest.raises(ValueError, match="stay"):
        CycleFilter(toy_prior(), 1.0)


def test_malformed_prior_files_are_refused_with_the_file_name(tmp_path):
    bad = tmp_path / "prior.json"
    bad.write_text("{not json")
    with pytest.raises(ModelError, match=r"prior\.json"):
        load_cycle_prior(bad)
    bad.write_text(json.dumps({"format": "dreamband-heart-cycle-prior", "r": [1, 2],
                               "occupancy": [1]}))
    with pytest.raises(ModelError, match="occupancy"):
        load_cycle_prior(bad)
    with pytest.raises(ModelError, match="not found"):
        load_cycle_prior(tmp_path / "missing.json")


def test_shipped_prior_is_rem_averse_after_rem_and_normalised():
    prior = load_cycle_prior()
    assert prior.r.size > 100
    assert prior.r[30:60].max() < 0.5 < 1.5 < prior.r[1]
    assert abs(float(prior.occupancy @ prior.r) - 1.0) < 0.1


def test_shipped_prior_is_reproduced_from_the_sleep_edf_hypnograms(sleep_edf_dir):
    shipped = json.loads((models_dir() / CYCLE_PRIOR_FILE).read_text())
    built = build_cycle_prior(sleep_edf_dir)
    if sorted(shipped["provenance"]["files"]) != sorted(built["provenance"]["files"]):
        pytest.skip("the data folder holds other Sleep-EDF hypnograms than the shipped prior")
    np.testing.assert_allclose(built["r"], shipped["r"], atol=1e-4)
    assert built["counts"] == shipped["counts"]


def test_trained_models_use_the_smoother_of_their_recipe(heart_models):
    from dreamband.staging.heart_train import uses_cycle_prior

    for kind in ("rr", "hr"):
        _, meta = load_heart_model(kind, False)
        assert meta["smoothing"]["method"] == "hmm-cycle"
        assert model_cycle_prior(meta) is not None
        for lag in (0, 40, 60):
            _, meta = load_heart_model(kind, True, lag=lag)
            assert (model_cycle_prior(meta) is not None) == uses_cycle_prior(True, lag)


def test_fixed_lag_staging_with_the_cycle_smoother_is_final_after_lag_epochs(
    tmp_path, heart_models
):
    import shutil

    from dreamband.staging.heart_train import model_filename

    lag = 40
    load_heart_model("rr", True, lag=lag)  # trained on first use
    name = model_filename("slpdb", "rr", True, lag)
    side = json.loads((heart_models / name).with_suffix(".json").read_text())
    folders = {}
    for method in ("hmm-cycle", "hmm"):  # the same booster with either smoother
        folder = tmp_path / method
        folder.mkdir()
        shutil.copy(heart_models / name, folder / name)
        smoothing = {**side["smoothing"], "method": method, "cycle_prior": CYCLE_PRIOR_FILE}
        if method == "hmm":
            smoothing.pop("cycle_prior")
        (folder / name).with_suffix(".json").write_text(
            json.dumps({**side, "smoothing": smoothing}))
        folders[method] = folder
    rng = np.random.default_rng(8)
    beats = np.cumsum(0.9 + 0.05 * rng.standard_normal(6000)
                      + 0.1 * np.sin(np.arange(6000) / 700.0))
    full = stage_heart(BeatSeries(times=beats), live=True, lag=lag,
                       model_dir=folders["hmm-cycle"])
    seen = 60 + lag
    part = stage_heart(BeatSeries(times=beats[beats <= 30.0 * seen]), live=True, lag=lag,
                       n_epochs=seen, model_dir=folders["hmm-cycle"])
    np.testing.assert_allclose(part.probabilities[:60], full.probabilities[:60], atol=1e-12)
    sticky = stage_heart(BeatSeries(times=beats), live=True, lag=lag, model_dir=folders["hmm"])
    assert not np.allclose(sticky.probabilities, full.probabilities)


def test_live_stager_follows_a_sidecar_that_asks_for_the_cycle_smoother(
    tmp_path, heart_models
):
    import shutil

    from dreamband.live.heart import HeartLiveStager
    from dreamband.staging.heart_train import model_filename

    load_heart_model("rr", True)  # trained on first use
    name = model_filename("slpdb", "rr", True)
    shutil.copy(heart_models / name, tmp_path / name)
    side = json.loads((heart_models / name).with_suffix(".json").read_text())
    side["smoothing"].update(method="hmm-cycle", cycle_prior=CYCLE_PRIOR_FILE)
    (tmp_path / name).with_suffix(".json").write_text(json.dumps(side))
    rng = np.random.default_rng(4)
    beats = np.cumsum(0.9 + 0.05 * rng.standard_normal(3000))
    # the stepper scores every epoch (the live participant applies coverage): compare
    # with the stager's every epoch, the partial last one included
    hyp = stage_heart(BeatSeries(times=beats), live=True, model_dir=tmp_path, min_coverage=0.0)
    st = HeartLiveStager("rr", model_dir=tmp_path)
    st.add(beats[1:], np.diff(beats))
    post = np.array([st.step(k).probabilities for k in range(hyp.n_epochs)])
    np.testing.assert_array_equal(post.argmax(axis=1), hyp.stages)
    final = np.array([st.finalise(row)[1] for row in post])
    np.testing.assert_allclose(final, hyp.probabilities, atol=1e-9)
    sticky = stage_heart(BeatSeries(times=beats), live=True)
    assert not np.allclose(sticky.probabilities, hyp.probabilities)


def test_a_sidecar_naming_a_missing_prior_is_refused(tmp_path):
    meta = {"model_file": "m.txt", "smoothing": {"method": "hmm-cycle",
                                                 "cycle_prior": "nowhere_v9.json"}}
    with pytest.raises(ModelError, match=r"nowhere_v9\.json"):
        model_cycle_prior(meta, tmp_path)


@pytest.mark.usefixtures("heart_models")
def test_live_stager_steps_equal_live_stage_heart():
    from dreamband.live.heart import HeartLiveStager

    rng = np.random.default_rng(3)
    beats = np.cumsum(0.9 + 0.05 * rng.standard_normal(4000))
    hyp = stage_heart(BeatSeries(times=beats), live=True, min_coverage=0.0)  # every epoch
    st = HeartLiveStager("rr")
    rr = np.diff(beats)
    st.add(beats[1:], rr)
    post = np.array([st.step(k).probabilities for k in range(hyp.n_epochs)])
    np.testing.assert_array_equal(post.argmax(axis=1), hyp.stages)
