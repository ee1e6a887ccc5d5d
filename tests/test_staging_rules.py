"""The stage() API, the rules engine, the HMM smoother and the transition table (plumbing)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dreamband.core.hypnogram import Hypnogram
from dreamband.errors import ChannelNotFoundError, DreambandError, ModelError
from dreamband.paths import models_dir
from dreamband.staging.api import stage
from dreamband.staging.channels import pick_channels
from dreamband.staging.hmm import forward_backward, forward_filter
from dreamband.staging.transitions import TABLE_NAME, count_transitions, load_transitions

FS = 100.0
RNG = np.random.default_rng(3)


def synthetic_night(minutes: int = 30) -> np.ndarray:
    """Alpha wake, then spindle sleep, then 1-Hz slow waves (plumbing only)."""
    n = round(minutes * 60 * FS)
    x = np.cumsum(RNG.standard_normal(n))
    x = (x - np.convolve(x, np.ones(200) / 200, mode="same")) * 2.0
    t = np.arange(n) / FS
    third = n // 3
    x[:third] += 25 * np.sin(2 * np.pi * 10 * t[:third])
    for s in np.arange(third, 2 * third - 300, 900):
        x[s : s + 120] += 30 * np.sin(2 * np.pi * 13 * t[:120]) * np.hanning(120)
    x[2 * third :] += 60 * np.sin(2 * np.pi * 1.0 * t[2 * third :])
    return x


def test_stage_returns_a_hypnogram_with_probabilities_summing_to_one():
    x = synthetic_night()
    hyp = stage(x, FS)
    assert isinstance(hyp, Hypnogram)
    assert hyp.n_epochs == 60
    np.testing.assert_allclose(hyp.probabilities.sum(axis=1), 1.0, atol=1e-9)
    assert set(np.unique(hyp.stages)) <= {0, 1, 2, 3, 4}
    assert hyp.meta["explain"]["stage"] == hyp.labels()
    # plumbing sanity: the slow-wave third is not staged as wake
    assert (hyp.stages[45:] == 3).mean() > 0.5
    assert (hyp.stages[:15] == 0).mean() > 0.5


def test_stage_accepts_mne_raw_in_volts():
    mne = pytest.importorskip("mne")
    x = synthetic_night(10)
    info = mne.create_info(["EEG Fpz-Cz", "EOG horizontal"], FS, ["eeg", "eog"])
    raw = mne.io.RawArray(np.vstack([x, x * 0.1]) * 1e-6, info, verbose="error")
    a = stage(raw)
    b = stage(np.vstack([x, x * 0.1]), FS, ch_names=["EEG Fpz-Cz", "EOG horizontal"])
    np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-6)
    assert a.meta["channels"]["eeg"] == "EEG Fpz-Cz"
    assert a.meta["channels"]["eog"] == "EOG horizontal"


def test_twenty_second_epochs():
    hyp = stage(synthetic_night(10), FS, epoch_length=20.0)
    assert hyp.n_epochs == 30 and hyp.epoch_length == 20.0


def test_live_stage_of_an_epoch_does_not_depend_on_later_epochs():
    x = synthetic_night(12)
    y = x.copy()
    y[round(8 * 60 * FS) :] = RNG.standard_normal(y.size - round(8 * 60 * FS)) * 50
    a = stage(x, FS, causal=True)
    b = stage(y, FS, causal=True)
    np.testing.assert_allclose(a.probabilities[:16], b.probabilities[:16], atol=1e-9)


def test_clear_errors_for_missing_channel_short_recording_and_low_rate():
    x = synthetic_night(5)
    with pytest.raises(ChannelNotFoundError, match="'C4-M1' not found"):
        stage(np.vstack([x, x]), FS, ch_names=["Fpz-Cz", "Pz-Oz"], eeg="C4-M1")
    with pytest.raises(DreambandError, match="shorter than one 30-s epoch"):
        stage(x[:1000], FS)
    with pytest.raises(DreambandError, match="too low for the sleep bands"):
        stage(x[::4], FS / 4)
    with pytest.raises(ValueError, match="engine must be one of rules, model"):
        stage(x, FS, engine="magic")
    with pytest.raises(ValueError, match="fs"):
        stage(x)
    with pytest.raises(ModelError, match="no such model"):
        stage(x, FS, engine="model", model="/nonexistent/model.txt")


def test_channel_picking_prefers_clinical_derivations_and_finds_eog_emg():
    c = pick_channels(["EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal", "EMG submental"])
    assert (c.eeg, c.eog, c.roc, c.emg) == ("EEG Fpz-Cz", "EOG horizontal", None, "EMG submental")
    c = pick_channels(["F4-M1", "C4-M1", "E1-M2", "E2-M2", "Chin1-Chin2"])
    assert (c.eeg, c.eog, c.roc, c.emg) == ("C4-M1", "E1-M2", "E2-M2", "Chin1-Chin2")
    assert pick_channels(["TP9", "AF7", "AF8", "TP10"]).eeg == "AF7"
    with pytest.raises(ChannelNotFoundError, match="EEG"):
        pick_channels(["ECG", "Resp"])


def test_forward_filter_is_causal_and_forward_backward_uses_the_future():
    trans, init = load_transitions()
    lik = RNG.random((40, 5))
    lik2 = lik.copy()
    lik2[30:] = RNG.random((10, 5))
    f1, f2 = forward_filter(lik, trans, init), forward_filter(lik2, trans, init)
    np.testing.assert_allclose(f1[:30], f2[:30])
    s1, s2 = forward_backward(lik, trans, init), forward_backward(lik2, trans, init)
    assert not np.allclose(s1[:30], s2[:30])
    np.testing.assert_allclose(s1.sum(axis=1), 1.0)
    np.testing.assert_allclose(s1[-1], f1[-1])  # the last epoch has no future
    with pytest.raises(ValueError, match="shape"):
        forward_filter(lik[:, :3], trans, init)


def test_hmm_smoothing_removes_a_one_epoch_blip():
    trans, init = load_transitions()
    lik = np.full((21, 5), 0.05)
    lik[:, 2] = 0.8
    lik[10] = [0.05, 0.05, 0.35, 0.5, 0.05]  # weak N3 evidence inside N2
    assert forward_backward(lik, trans, init).argmax(axis=1)[10] == 2


def test_shipped_transition_table_has_provenance_and_stochastic_rows():
    table = json.loads((models_dir() / TABLE_NAME).read_text())
    assert "Sleep-EDF" in table["provenance"]["source"]
    assert len(table["provenance"]["files"]) >= 30
    t30, occ = load_transitions(30.0)
    t20, _ = load_transitions(20.0)
    np.testing.assert_allclose(t30.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(t20.sum(axis=1), 1.0, atol=1e-6)
    assert (np.diag(t20) > np.diag(t30)).all()  # shorter epochs: more self-transitions
    assert occ.sum() == pytest.approx(1.0)


def test_count_transitions_by_hand():
    h = Hypnogram(stages=np.array([0, 0, 1, 2, 2, -1, 2, 4], dtype=np.int8))
    counts, occ = count_transitions([h])
    expected = np.zeros((5, 5))
    expected[0, 0] = expected[0, 1] = expected[1, 2] = expected[2, 2] = expected[2, 4] = 1
    np.testing.assert_array_equal(counts, expected)
    np.testing.assert_array_equal(occ, [2, 1, 3, 0, 1])
