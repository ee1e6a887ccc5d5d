"""The spindle detector in a second thread gives the same evidence, and its errors surface."""

from __future__ import annotations

import numpy as np
import pytest

import dreamband.features.eeg as eeg

FS = 100.0


def _night(minutes: float) -> np.ndarray:
    rng = np.random.default_rng(5)
    n = int(minutes * 60 * FS)
    x = np.cumsum(rng.standard_normal(n))
    return (x - np.convolve(x, np.ones(200) / 200, mode="same")) * 2.0


def test_threaded_evidence_equals_one_thread(monkeypatch):
    x = _night(12)
    monkeypatch.setenv("DREAMBAND_THREADS", "1")
    one = eeg.compute_evidence(x, FS)
    monkeypatch.delenv("DREAMBAND_THREADS")
    monkeypatch.setattr(eeg, "PARALLEL_MIN_SECONDS", 0.0)
    monkeypatch.setattr(eeg, "_threads_allowed", lambda: True)
    two = eeg.compute_evidence(x, FS)
    assert one.names == two.names
    np.testing.assert_array_equal(one.values, two.values)


def test_an_error_in_the_thread_is_raised_in_the_caller(monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("EEG: spindle detector failed")

    monkeypatch.setattr(eeg, "PARALLEL_MIN_SECONDS", 0.0)
    monkeypatch.setattr(eeg, "_threads_allowed", lambda: True)
    monkeypatch.setattr(eeg, "spindles", broken)
    with pytest.raises(ValueError, match="spindle detector failed"):
        eeg.compute_evidence(_night(2), FS)


def test_a_non_finite_sample_is_named_after_the_cheap_check():
    x = _night(2)
    x[4321] = np.inf
    with pytest.raises(ValueError, match="sample 4321 is not finite"):
        eeg.compute_evidence(x, FS)
