"""Live (causal) evidence is what a stream knows at each epoch end; ablation switches."""

from __future__ import annotations

import numpy as np
import pytest

from dreamband.features.detectors import KC_ALONE_S, slow_waves
from dreamband.features.eeg import LIVE_PARTS, SW_THRESHOLD_UV, compute_evidence
from dreamband.staging.rules import stage_rules

FS = 100.0
RNG = np.random.default_rng(7)


def _night(seconds: float) -> np.ndarray:
    """Noise with slow-wave trains, lone large waves and 13-Hz bursts scattered over the
    night, many of them straddling epoch boundaries (plumbing only)."""
    n = round(seconds * FS)
    x = np.cumsum(RNG.standard_normal(n))
    x = (x - np.convolve(x, np.ones(200) / 200, mode="same")) * 2.0
    t = np.arange(n) / FS
    for s in RNG.integers(0, n - 800, 40):
        x[s : s + 600] += 50 * np.sin(2 * np.pi * 1.0 * t[:600])  # 100 µV p-p, 6 s
    for s in RNG.integers(0, n - 200, 30):
        x[s : s + 100] += -60 * np.sin(2 * np.pi * 1.0 * t[:100])  # a lone 120-µV wave
    for s in RNG.integers(0, n - 200, 60):
        x[s : s + 110] += 30 * np.sin(2 * np.pi * 13 * t[:110]) * np.hanning(110)
    return x


def test_causal_evidence_of_a_stream_cut_at_any_epoch_end_equals_the_whole_night():
    x = _night(30 * 24)
    eog = np.cumsum(RNG.standard_normal(x.size)) * 0.5
    for s in RNG.integers(0, x.size - 100, 80):
        eog[s : s + 60] += np.linspace(0, 90, 60)  # steep deflections near epoch edges too
    full = compute_evidence(x, FS, eog=eog, causal=True)
    n_per = round(30 * FS)
    for k in range(1, 24):
        part = compute_evidence(x[: k * n_per], FS, eog=eog[: k * n_per], causal=True)
        for name in ("sp_count", "kc_count", "sw_fraction", "sw_count", "rem_count", "z_total"):
            np.testing.assert_allclose(part[name], full[name][:k], atol=1e-9,
                                       err_msg=f"{name} after {k} epochs")


def test_a_lone_wave_at_an_epoch_end_counts_live_only_once_it_is_known_to_be_alone():
    x = RNG.standard_normal(round(90 * FS)) * 3
    t = np.arange(round(1.0 * FS)) / FS
    i = round(58.0 * FS)  # a 1-s wave ending 1 s before the end of epoch 1
    x[i : i + t.size] += -60 * np.sin(2 * np.pi * 1.0 * t)
    batch = slow_waves(x, FS, 30.0, causal=False, threshold_uv=75.0)
    live = slow_waves(x, FS, 30.0, causal=True, threshold_uv=75.0)
    assert batch["kc_count"].tolist() == [0, 1, 0]
    # live: "no other large wave within 3 s after it" is known KC_ALONE_S + 1 s after its
    # centre, inside epoch 2
    assert KC_ALONE_S + 1.0 > 1.5
    assert live["kc_count"].tolist() == [0, 0, 1]
    assert live["sw_count"].tolist() == [0, 1, 0]  # the wave itself is known at its end


def test_evidence_reads_slow_waves_at_the_band_limited_threshold():
    t = np.arange(round(30 * FS)) / FS
    x = RNG.standard_normal(round(120 * FS)) * 3
    amp = (SW_THRESHOLD_UV + 75.0) / 2  # between the evidence threshold and the AASM's 75
    x[round(30 * FS) : round(60 * FS)] += amp / 2 * np.sin(2 * np.pi * 1.0 * t)
    assert SW_THRESHOLD_UV < 75.0
    assert compute_evidence(x, FS)["sw_fraction"][1] > 0.8
    assert slow_waves(x, FS, 30.0, causal=False, threshold_uv=75.0)["sw_fraction"][1] == 0.0


def test_live_parts_switch_single_ingredients_and_all_of_them_are_the_live_path():
    x = _night(30 * 16)
    batch = compute_evidence(x, FS)
    live = compute_evidence(x, FS, causal=True)
    every = compute_evidence(x, FS, live_parts=LIVE_PARTS)
    assert every.causal and not batch.causal
    np.testing.assert_array_equal(every.values, live.values)
    ctx = compute_evidence(x, FS, live_parts=("context",))
    assert not ctx.causal
    np.testing.assert_array_equal(ctx["sp_count"], batch["sp_count"])  # detectors: batch
    assert not np.allclose(ctx["ctx_total"], batch["ctx_total"])  # context: past-only
    det = compute_evidence(x, FS, live_parts=["detectors"])
    np.testing.assert_array_equal(det["kc_count"], live["kc_count"])
    with pytest.raises(ValueError, match="live_parts must be among detectors, context"):
        compute_evidence(x, FS, live_parts=("hmm",))


def test_forward_only_smoothing_of_batch_evidence_is_the_forward_filter():
    from dreamband.staging.hmm import forward_filter
    from dreamband.staging.transitions import load_transitions

    ev = compute_evidence(_night(30 * 16), FS)
    fwd = stage_rules(ev, forward_only=True)
    trans, init = load_transitions(30.0)
    # the same (unnormalised) likelihoods, filtered forward only
    np.testing.assert_allclose(fwd.probabilities, forward_filter(fwd.likelihoods, trans, init),
                               atol=1e-9)
    assert not np.allclose(stage_rules(ev).probabilities, fwd.probabilities)


@pytest.mark.data
def test_the_real_yasa_n3_snippet_meets_the_slow_wave_criterion_only_band_limited(yasa_dir):
    from dreamband.io.yasa_samples import read_yasa_eeg_txt

    ch = read_yasa_eeg_txt(yasa_dir / "data_N3_no-spindles_30sec_100Hz.txt").channels[0]
    # an expert-scored N3 epoch (not DREAMS): 75 µV read on the 0.3-4 Hz band finds slow
    # waves in under 10 % of it (measured 6 %); the band-limited threshold finds about
    # the AASM's 20 % (measured 18 %)
    aasm = slow_waves(ch.data, ch.fs, 30.0, causal=False, threshold_uv=75.0)["sw_fraction"][0]
    ours = slow_waves(ch.data, ch.fs, 30.0, causal=False,
                      threshold_uv=SW_THRESHOLD_UV)["sw_fraction"][0]
    assert aasm < 0.1 and 0.15 < ours
