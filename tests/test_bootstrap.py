"""Subject-bootstrap intervals of pooled scores."""

from __future__ import annotations

import numpy as np
import pytest

from dreamband.evaluation.bootstrap import (
    confusions_from_records,
    paired_difference,
    paired_mean_difference,
    score_intervals,
    subject_confusions,
)
from dreamband.evaluation.metrics import classification_report

LABELS = [0, 1, 2]
NAMES = ["W", "NREM", "REM"]


def _nights(seed: int = 3, n_nights: int = 6, noise: float = 0.3):
    rng = np.random.default_rng(seed)
    ys, ps, subs = [], [], []
    for i in range(n_nights):
        y = rng.integers(0, 3, 200)
        y[:5] = -1  # unscored epochs are left out
        p = np.where(rng.random(200) < noise, rng.integers(0, 3, 200), y)
        p[p < 0] = 1
        ys.append(y)
        ps.append(p)
        subs.append(f"s{i // 2}")  # two nights per subject
    return ys, ps, subs


def test_point_estimates_equal_the_pooled_report():
    ys, ps, subs = _nights()
    ps[0][10:14] = 7  # predictions outside the stage list count as wrong
    names, cms = subject_confusions(ys, ps, subs, LABELS)
    assert names == ["s0", "s1", "s2"]
    out = score_intervals(cms, NAMES, replicates=200)
    rep = classification_report(np.concatenate(ys), np.concatenate(ps), LABELS, NAMES)
    for key in ("accuracy", "kappa", "macro_f1"):
        assert out[key].estimate == pytest.approx(rep[key], abs=1e-12)
    for name in NAMES:
        assert out["f1"][name].estimate == pytest.approx(rep["f1"][name], abs=1e-12)
    assert out["n_subjects"] == 3


def test_interval_brackets_the_estimate_and_narrows_with_agreeing_subjects():
    ys, ps, subs = _nights(noise=0.3, n_nights=12)
    _, cms = subject_confusions(ys, ps, subs, LABELS)
    wide = score_intervals(cms, NAMES)["kappa"]
    assert wide.low <= wide.estimate <= wide.high
    assert wide.high - wide.low > 0.0
    # one subject staged all wrong: replicates with and without it disagree
    ps2 = [p.copy() for p in ps]
    for i in (0, 1):  # both nights of subject s0
        ps2[i] = np.where(ys[i] >= 0, (ys[i] + 1) % 3, 1)
    _, cms2 = subject_confusions(ys, ps2, subs, LABELS)
    spread = score_intervals(cms2, NAMES)["kappa"]
    assert spread.high - spread.low > 2 * (wide.high - wide.low)


def test_same_seed_same_interval_and_resampling_is_by_subject():
    ys, ps, subs = _nights()
    _, cms = subject_confusions(ys, ps, subs, LABELS)
    a = score_intervals(cms, NAMES, seed=5)["kappa"]
    b = score_intervals(cms, NAMES, seed=5)["kappa"]
    assert a == b
    # one subject holding every night: nothing to resample
    with pytest.raises(ValueError, match="at least 2 subjects"):
        score_intervals(cms[:1], NAMES)


def test_paired_difference_is_zero_for_identical_stagers_and_signed():
    ys, ps, subs = _nights(noise=0.2)
    _, good = subject_confusions(ys, ps, subs, LABELS)
    worse = [np.where(np.arange(p.size) % 3 == 0, (p + 1) % 3, p) for p in ps]
    _, bad = subject_confusions(ys, worse, subs, LABELS)
    same = paired_difference(good, good)
    assert same.estimate == 0.0 and same.low == 0.0 and same.high == 0.0
    d = paired_difference(good, bad)
    assert d.estimate > 0 and d.low > 0  # better on every resampled subject set
    f1 = paired_difference(good, bad, score="f1", stage=2)
    assert f1.estimate > 0
    with pytest.raises(ValueError, match="label position"):
        paired_difference(good, bad, score="f1")
    with pytest.raises(ValueError, match="differ in shape"):
        paired_difference(good, bad[:2])


def test_lengths_must_match():
    ys, ps, subs = _nights()
    with pytest.raises(ValueError, match="one reference, prediction and subject per night"):
        subject_confusions(ys, ps[:-1], subs, LABELS)


def test_confusions_from_record_reports_match_the_raw_ones():
    ys, ps, subs = _nights()
    records = [{"name": f"n{i}", "subject": s,
                "report": classification_report(y, p, LABELS, NAMES)}
               for i, (y, p, s) in enumerate(zip(ys, ps, subs, strict=True))]
    names, cms = confusions_from_records(records)
    names2, cms2 = subject_confusions(ys, ps, subs, LABELS)
    assert names == names2
    np.testing.assert_array_equal(cms, cms2)
    ps[0][3:9] = 9  # outside the stage list: the record's matrix cannot place them
    records[0]["report"] = classification_report(ys[0], ps[0], LABELS, NAMES)
    with pytest.raises(ValueError, match="record 'n0' has predictions outside"):
        confusions_from_records(records)


def test_paired_mean_difference_resamples_subjects():
    rng = np.random.default_rng(1)
    subjects = np.repeat([f"s{i}" for i in range(8)], 50)
    base = rng.gamma(2.0, 10.0, subjects.size)
    better = base - 5.0 + rng.normal(0, 1, subjects.size)
    d = paired_mean_difference(better, base, subjects)
    assert d.estimate == pytest.approx(np.mean(better - base))
    assert d.low < d.estimate < d.high < 0  # better everywhere: the interval excludes 0
    # one subject much worse: the interval widens and reaches past 0
    worse = better.copy()
    worse[subjects == "s0"] += 60.0
    w = paired_mean_difference(worse, base, subjects)
    assert w.high > 0 and (w.high - w.low) > 5 * (d.high - d.low)
    with pytest.raises(ValueError, match="one value of each and one subject per item"):
        paired_mean_difference(better, base[:-1], subjects)
