"""The heart stager leaves unscored the epochs its beats or heart-rate samples do not cover."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from dreamband.core.beats import BeatSeries
from dreamband.io.rr_csv import HeartRateSeries
from dreamband.live.heart import coverage
from dreamband.staging.heart import stage_heart
from dreamband.staging.heart_coverage import MIN_COVERAGE, epoch_coverage, uncovered_epochs

HOUR = 3600.0


def beat_times(hours: float, seed: int = 0) -> np.ndarray:
    """A beat train with a slow HR cycle and respiratory variation, from 0 s."""
    rng = np.random.default_rng(seed)
    n = int(hours * HOUR / 0.8)
    k = np.arange(n)
    rr = 0.9 + 0.08 * np.sin(2 * np.pi * k / 6000) + 0.04 * np.sin(2 * np.pi * k / 4.5)
    times = np.concatenate([[0.0], np.cumsum(rr + rng.normal(0, 0.02, n))])
    return times[times <= hours * HOUR]


def with_hole(times: np.ndarray, start: float, end: float) -> np.ndarray:
    """No beats in ``(start, end)``: the first beat after the hole at ``end``."""
    after = times[times >= start]
    return np.concatenate([times[times < start], after - after[0] + end])


def with_long_interval(times: np.ndarray, at: float, length: float) -> np.ndarray:
    """The interval closing after ``at`` lasts ``length`` seconds (later beats shifted)."""
    i = int(np.searchsorted(times, at))
    out = times.copy()
    out[i:] += length - (times[i] - times[i - 1])
    return out


# -- coverage alone ---------------------------------------------------------------------


def test_coverage_of_every_epoch_equals_the_live_engines_epoch_by_epoch() -> None:
    rng = np.random.default_rng(5)
    beats = with_hole(beat_times(2.0, seed=1), 1800.0, 2400.0) + 1000.25  # a host clock
    t, rr = beats[1:], np.diff(beats)
    for offset in (1000.0, 1007.3):
        n = int((beats[-1] - offset) // 30) + 2
        got = epoch_coverage("rr", t, rr, n, offset)
        gaps_out = np.where(rr <= 3.0, rr, 0.0)
        want = [
            coverage("rr", t, gaps_out, offset + 30 * k, offset + 30 * (k + 1)) for k in range(n)
        ]
        np.testing.assert_allclose(got, want, atol=1e-9)
    hr_t = np.sort(rng.uniform(0.0, 7200.0, 4000))  # irregular, with holes of every length
    for offset in (0.0, 0.3, 13.75):
        got = epoch_coverage("hr", hr_t, None, 240, offset)
        want = [
            coverage("hr", hr_t, hr_t, offset + 30 * k, offset + 30 * (k + 1)) for k in range(240)
        ]
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(("gap", "covered", "lost"), [(4.5, 0.85, False), (9.0, 0.70, True)])
def test_an_epoch_85_percent_covered_is_staged_70_percent_is_not(gap, covered, lost) -> None:
    beats = with_long_interval(beat_times(1.0), 3010.0, gap)  # inside epoch 100
    t, rr = beats[1:], np.diff(beats)
    n = int(beats[-1] // 30)
    cov = epoch_coverage("rr", t, rr, n)
    assert cov[100] == pytest.approx(covered, abs=1e-9)
    np.testing.assert_allclose(np.delete(cov, 100), 1.0, atol=1e-9)
    assert uncovered_epochs("rr", t, rr, n).tolist() == [k == 100 and lost for k in range(n)]


def test_heart_rate_samples_cover_three_seconds_after_them() -> None:
    """The feature grid holds a sample 3 s: samples every 2 s cover an epoch, every 5 s
    only 70 % of its 2-Hz grid points, a hole of a minute none."""
    t = np.concatenate(
        [np.arange(0.0, 60.0, 2.0), np.arange(60.0, 90.0, 5.0), np.arange(150.0, 240.0, 1.0)]
    )
    cov = epoch_coverage("hr", t, None, 8)
    np.testing.assert_allclose(cov, [1.0, 1.0, 0.7, 0.0, 0.0, 1.0, 1.0, 1.0])
    assert uncovered_epochs("hr", t, None, 8).tolist() == [
        False,
        False,
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert MIN_COVERAGE == pytest.approx(0.8)


def test_no_samples_cover_nothing_and_an_unknown_kind_is_refused() -> None:
    assert epoch_coverage("rr", np.empty(0), np.empty(0), 3).tolist() == [0.0, 0.0, 0.0]
    assert epoch_coverage("hr", np.array([1.0]), None, 0).size == 0
    with pytest.raises(ValueError, match="kind"):
        epoch_coverage("ecg", np.arange(3.0), None, 1)


# -- the stager -------------------------------------------------------------------------

needs_models = pytest.mark.usefixtures("heart_models")


def _check_hole(hyp, first: int, last: int) -> None:
    """Epochs ``first..last`` (the hole) unscored, every other epoch scored."""
    hole = np.zeros(hyp.n_epochs, dtype=bool)
    hole[first : last + 1] = True
    assert (hyp.stages[hole] == -1).all()
    assert np.isnan(hyp.probabilities[hole]).all()
    assert (hyp.stages[~hole] >= 0).all()
    np.testing.assert_allclose(hyp.probabilities[~hole].sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_array_equal(hyp.stages[~hole], hyp.probabilities[~hole].argmax(axis=1))
    assert hyp.meta["unscored_epochs"] == hole.sum()


@needs_models
@pytest.mark.parametrize(("live", "lag"), [(False, 0), (True, 0), (True, 40)])
def test_a_two_hour_hole_in_the_beats_is_unscored(live, lag) -> None:
    """A strap off from 1 h to 3 h of a 4-h night: epochs 120-359 unscored, the rest staged
    as without the rule (the mask comes after smoothing)."""
    beats = with_hole(beat_times(4.0), HOUR, 3 * HOUR)
    n = int(beats[-1] // 30)  # whole epochs only
    hyp = stage_heart(BeatSeries(beats), live=live, lag=lag, n_epochs=n)
    _check_hole(hyp, 120, 359)
    every = stage_heart(BeatSeries(beats), live=live, lag=lag, n_epochs=n, min_coverage=0.0)
    assert (every.stages >= 0).all() and every.meta["unscored_epochs"] == 0
    scored = hyp.stages >= 0
    np.testing.assert_array_equal(hyp.stages[scored], every.stages[scored])


@needs_models
@pytest.mark.parametrize(("gap", "lost"), [(4.5, False), (9.0, True)])
def test_the_stager_keeps_an_85_percent_epoch_and_drops_a_70_percent_one(gap, lost) -> None:
    beats = with_long_interval(beat_times(1.0), 3010.0, gap)
    hyp = stage_heart(BeatSeries(beats), n_epochs=int(beats[-1] // 30))
    assert bool(hyp.stages[100] == -1) is lost
    assert hyp.meta["unscored_epochs"] == int(lost)


@needs_models
@pytest.mark.parametrize("live", [False, True])
def test_a_hole_in_heart_rate_samples_is_unscored(live) -> None:
    t = np.arange(0.0, 4 * HOUR)
    t = t[(t < HOUR) | (t >= 3 * HOUR)]
    hr = 60 + 4 * np.sin(2 * np.pi * t / 1800)
    hyp = stage_heart(HeartRateSeries(t, hr, source="band"), live=live)
    # the last sample before the hole covers 3 s of epoch 120; the last epoch holds one sample
    assert hyp.n_epochs == 480
    _check_hole(hyp, 120, 359)


@needs_models
def test_dreamband_stage_writes_the_hole_of_an_rr_csv_unscored_with_a_note(
    tmp_path, capsys
) -> None:
    from dreamband.cli import main as cli

    beats = with_hole(beat_times(4.0), HOUR, 3 * HOUR)
    rr_ms = np.diff(beats) * 1000
    rr_ms[rr_ms > 3000] = 900.0  # a strap reports the interval it measured, not the hole
    path = tmp_path / "strap.csv"
    path.write_text(
        "time_s,rr_ms\n" + "".join(f"{t:.3f},{v:.1f}\n" for t, v in zip(beats[1:], rr_ms))
    )
    assert cli.main(["stage", str(path)]) == 0
    out, err = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out)))
    stages = np.array([r["stage"] for r in rows])
    onsets = np.array([float(r["onset"]) for r in rows])
    hole = (onsets >= HOUR) & (onsets < 3 * HOUR)
    assert hole.sum() == 240 and (stages[hole] == "?").all()
    assert all(r["p_W"] == "" for r, h in zip(rows, hole) if h)
    assert set(stages[~hole][:-1]) <= {"W", "NREM", "REM"}  # the last epoch is partial
    notes = [line for line in err.splitlines() if "unscored" in line]
    assert len(notes) == 1 and notes[0].startswith("dreamband: note: ")
    assert f"{240 + (stages[-1] == '?')} of {len(rows)} epochs" in notes[0]


@needs_models
def test_no_note_when_only_the_last_partial_epoch_is_unscored(tmp_path, capsys) -> None:
    from dreamband.cli import main as cli

    beats = beat_times(1.1)
    beats = beats[beats <= 3610.0]  # 120 whole epochs, a few seconds of the next
    path = tmp_path / "strap.csv"
    path.write_text("rr_ms\n" + "".join(f"{v:.1f}\n" for v in np.diff(beats) * 1000))
    assert cli.main(["stage", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[-1].split(",")[2] == "?"
    assert "unscored" not in err


@needs_models
def test_restaged_chest_strap_leaves_its_dropout_unscored(
    heart_models: Path, slpdb_dir: Path, tmp_path: Path
) -> None:
    """Batch restaging relies on the stager's rule: a strap off for 10 min is unscored."""
    from dreamband.batch.restage import restage_participant
    from dreamband.replay.impair import Impairments
    from dreamband.replay.session import ReplayOptions, run_replay
    from dreamband.replay.sources import resolve_source

    session = tmp_path / "s"
    run_replay(
        [resolve_source(str(slpdb_dir / "slp41.hea"), name="hr")],
        options=ReplayOptions(speed="max", duration_s=1800.0),
        session_dir=session,
        impairments=Impairments(bands=[("hr", {"disconnects": [(600.0, 600.0)]})]),
    )
    got = restage_participant(session, "hr")
    assert got is not None
    hyp = got[0]
    assert "batch restaging" in hyp.source
    assert (hyp.stages[22:38] == -1).all() and np.isnan(hyp.probabilities[22:38]).all()
    assert (hyp.stages[2:18] >= 0).all() and (hyp.stages[42:58] >= 0).all()
    assert hyp.meta["unscored_epochs"] >= 16


def test_heart_rate_sampled_too_slowly_is_refused_with_its_cadence(tmp_path) -> None:
    """A watch export with one HR value every 5 s: the feature grid holds a sample 3 s, so
    the night would come out unscored throughout; the file is refused, saying why."""
    from dreamband.errors import InputFileError
    from dreamband.staging.heart import stage_heart_file

    t = np.arange(0.0, 3600.0, 5.0)
    path = tmp_path / "watch.csv"
    path.write_text("time_s,hr_bpm\n" + "".join(f"{a:.1f},{60 + (a % 7):.1f}\n" for a in t))
    with pytest.raises(InputFileError, match=r"watch\.csv: heart-rate samples come every "
                                             r"5\.0 s \(median\)"):
        stage_heart_file(path)
