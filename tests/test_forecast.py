"""REM forecaster: past-only tracking, fitting, loading, subject-wise evaluation on real nights."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dreamband.errors import ModelError
from dreamband.sync.evaluate import evaluate_nights, leave_one_subject_out
from dreamband.sync.forecast import NightTracker, fit, load_model, night_periods

W, N, R, U = 0, 1, 2, -1


def _synthetic_night(rng, latency=150, cycle=180, rem=20, n_cycles=4, pre_wake=100):
    """Plumbing night in 30-s epochs: fixed-ish ultradian cycles (never used for accuracy)."""
    codes = [W] * pre_wake + [N] * int(latency + rng.integers(-6, 7))
    for _ in range(n_cycles):
        codes += [R] * int(rem + rng.integers(-4, 5))
        codes += [N] * int(cycle - rem + rng.integers(-6, 7))
    return np.array(codes + [W] * 60, dtype=np.int8)


@st.composite
def nights(draw):
    runs = draw(
        st.lists(
            st.tuples(st.sampled_from([W, N, R, U]), st.integers(1, 80)), min_size=1, max_size=40
        )
    )
    return np.array([c for c, n in runs for _ in range(n)], dtype=np.int8)


@settings(max_examples=200, deadline=None)
@given(nights())
def test_tracker_sees_the_same_periods_as_the_whole_night_rules(codes):
    found = night_periods(codes)
    if found is None:
        tracker = NightTracker()
        for c in codes:
            tracker.update(c)
        assert tracker.sleep_onset is None
        return
    onset, end, periods = found
    tracker = NightTracker()
    for c in codes[:end]:  # up to the end of the main bout: the tracker's night is that bout
        tracker.update(c)
    assert tracker.sleep_onset == onset
    assert tracker.onsets == [p[0] for p in periods]
    for a, b in periods:
        assert b > a and (codes[a] == R) and (codes[b - 1] == R)


def test_prediction_uses_the_past_only():
    rng = np.random.default_rng(1)
    model = fit([_synthetic_night(rng) for _ in range(20)])
    night = _synthetic_night(rng)
    altered = night.copy()
    altered[400:] = W  # change the future after epoch 399
    preds = []
    for codes in (night, altered):
        tr = NightTracker()
        for c in codes[:400]:
            tr.update(c)
        preds.append(model.predict_next_onset(tr))
    assert preds[0] == preds[1]


def test_fit_learns_cycle_and_latency_from_the_nights():
    rng = np.random.default_rng(0)
    model = fit([_synthetic_night(rng, latency=150, cycle=180) for _ in range(20)])
    assert abs(np.median(model.interval[0]) - 150 * 30) < 8 * 30  # first-REM latency
    assert abs(model.interval[1][50] - 180 * 30) < 8 * 30  # cycle length
    slow = fit([_synthetic_night(rng, latency=150, cycle=240) for _ in range(20)])
    assert slow.interval[1][50] > model.interval[1][50] + 40 * 30


@settings(max_examples=100, deadline=None)
@given(st.floats(0, 5e4), st.floats(0, 5e4), st.integers(0, 8), st.floats(0.01, 0.99))
def test_forecast_never_predicts_before_the_lower_bound(ref, extra, cycle, q):
    model = load_model()
    lower = ref + extra
    assert model.next_onset(cycle, ref, lower, q) >= lower


@settings(max_examples=100, deadline=None)
@given(nights(), st.floats(0.01, 0.99))
def test_next_onset_is_never_in_the_past_or_inside_the_merge_gap(codes, q):
    model = load_model()
    tr = NightTracker()
    for c in codes:
        tr.update(c)
    pred = model.predict_next_onset(tr, q)
    if tr.sleep_onset is None:
        assert pred is None
        return
    assert pred >= tr.now - 1e-6
    if tr.last_rem_end is not None:
        assert pred >= (tr.last_rem_end * 30 + model.merge_gap_s) - 1e-6


def test_quantiles_are_ordered_and_bracket_the_median():
    model = load_model()
    tr = NightTracker()
    for c in [W] * 10 + [N] * 100 + [R] * 20 + [N] * 30:
        tr.update(c)
    f = model.forecast(tr, "a")
    assert f.asleep and not f.in_rem and f.cycle == 1
    assert f.next_onset[0.1] <= f.next_onset[0.5] <= f.next_onset[0.9]
    assert f.next_offset[0.5] > f.next_onset[0.5]
    tr.update(R)
    assert model.forecast(tr).in_rem and model.forecast(tr).current_offset


def test_shipped_parameters_record_their_provenance():
    model = load_model()
    prov = model.meta["provenance"]
    names = [f["name"] for f in prov["files"]]
    assert len(names) == 33 and all(
        re.fullmatch(
            r"SC40\d\d[A-Z]{2}-Hypnogram\.edf|"
            r"SC41[0-6]\d[A-Z]{2}-Hypnogram\.edf",
            n,
        )
        for n in names
    )
    assert "dreams" not in json.dumps(names).lower()
    assert prov["command"].startswith("cd $DREAMBAND_DATA/sleep-edf && dreamband forecast")


def test_bad_parameter_files_raise_model_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_model(bad)
    bad.write_text(json.dumps({"format": "other"}), encoding="utf-8")
    with pytest.raises(ModelError, match="field 'format'"):
        load_model(bad)
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "missing.json")
    with pytest.raises(ModelError, match="no REM period"):
        fit([np.zeros(100, dtype=np.int8)])


@pytest.mark.data
def test_model_beats_90_minute_baseline_subject_wise_on_sleep_edf(sleep_edf_dir):
    from dreamband.sync.files import read_hypnogram, subject_of
    from dreamband.sync.timeline import night_codes

    paths = sorted(sleep_edf_dir.glob("SC4*-Hypnogram.edf"))
    nights = [night_codes(read_hypnogram(p)) for p in paths]
    score = leave_one_subject_out(nights, [subject_of(p) for p in paths])
    s = score.summary()
    assert s["n"] > 10000
    assert s["mae_min"] < s["baseline_mae_min"]
    d = s["difference_min"]  # model - baseline, subjects resampled
    assert d["n_subjects"] == len({subject_of(p) for p in paths})
    assert d["ci95"][0] <= d["estimate"] <= d["ci95"][1]
    assert d["estimate"] == pytest.approx(s["mae_min"] - s["baseline_mae_min"], abs=0.02)
    # fitting on the test subject would be cheating: in-sample must not be what LOSO reports
    insample = evaluate_nights(nights, fit(nights)).summary()["mae_min"]
    assert insample != s["mae_min"]
