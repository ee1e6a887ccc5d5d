"""Live per-night scaling shrunk toward population priors; the priors' provenance."""

from __future__ import annotations

import numpy as np

from dreamband.features.context import (
    EVIDENCE_PRIORS,
    GAIN_DEPENDENT,
    feature_priors,
    prior_weight,
    robust_scale,
    robust_scale_last,
)
from dreamband.features.eeg import CONTEXT_FEATURES, compute_evidence

FS = 100.0


def test_prior_weight_grows_with_the_epochs_seen():
    w = prior_weight(np.array([1, 20, 200]), 30.0)  # n0 = 10 min = 20 epochs of 30 s
    np.testing.assert_allclose(w, [1 / 21, 0.5, 200 / 220])
    assert prior_weight(30, 20.0) == prior_weight(20, 30.0)  # same minutes, same weight


def test_live_scaling_starts_at_the_prior_and_ends_near_the_night():
    rng = np.random.default_rng(0)
    v = rng.normal(5.0, 1.0, size=(400, 1))
    prior = (np.array([2.0]), np.array([0.5]))
    z = robust_scale(v, causal=True, prior=prior)
    # first epoch: judged against the prior, not against itself (which would give 0)
    assert z[0, 0] > 4.0
    assert robust_scale(v, causal=True)[0, 0] == 0.0
    # after 400 epochs (w = 0.95) the night's own statistics dominate
    batch = robust_scale(v, causal=False)
    assert abs(z[-1, 0] - batch[-1, 0]) < 0.3 * abs(batch[-1, 0]) + 0.2
    # a NaN prior leaves that column to the night alone
    z_nan = robust_scale(v, causal=True, prior=(np.array([np.nan]), np.array([np.nan])))
    np.testing.assert_allclose(z_nan, robust_scale(v, causal=True))


def test_last_row_helper_matches_the_whole_night_live_scaling():
    v = np.random.default_rng(1).normal(size=(37, 3))
    prior = (np.array([0.5, np.nan, -1.0]), np.array([2.0, 1.0, np.nan]))
    np.testing.assert_allclose(
        robust_scale_last(v, prior=prior, epoch_length=20.0),
        robust_scale(v, causal=True, prior=prior, epoch_length=20.0)[-1],
    )


def test_priors_drop_gain_dependent_medians_and_scale_counts():
    loc, sd = feature_priors(CONTEXT_FEATURES, 20.0, has_eog=False, has_emg=True)
    for j, name in enumerate(CONTEXT_FEATURES):
        assert np.isfinite(sd[j]) or name == "rem_count"
        assert np.isnan(loc[j]) == (name in GAIN_DEPENDENT)
    j = CONTEXT_FEATURES.index("sp_count")
    assert sd[j] == EVIDENCE_PRIORS["sp_count"][1] * 20.0 / 30.0
    j = CONTEXT_FEATURES.index("emg")
    assert sd[j] == EVIDENCE_PRIORS["emg@emg"][1]


def test_live_z_scores_do_not_depend_on_the_amplifier_gain():
    rng = np.random.default_rng(2)
    n = int(20 * 60 * FS)
    x = np.cumsum(rng.standard_normal(n))
    x = (x - np.convolve(x, np.ones(300) / 300, mode="same")) * 3.0
    a = compute_evidence(x, FS, causal=True)
    b = compute_evidence(0.3 * x, FS, causal=True)  # a dry headband: 3x smaller
    for k in ("abs_sdelta", "abs_alpha", "total", "rel_theta", "entropy"):
        np.testing.assert_allclose(a[f"z_{k}"], b[f"z_{k}"], atol=1e-3)


def test_population_priors_are_rebuilt_from_the_simulator():
    from dreamband.evaluation.eeg_priors import build_priors

    got = build_priors(nights=1, hours=1.0)
    assert set(CONTEXT_FEATURES) <= set(got)
    for name in ("rel_sdelta", "rel_alpha", "entropy", "sef95"):
        med, sd = got[name]
        assert np.isfinite(med) and sd > 0
        # one short night lands near the shipped 6-night table
        assert abs(med - EVIDENCE_PRIORS[name][0]) < 3 * EVIDENCE_PRIORS[name][1]
