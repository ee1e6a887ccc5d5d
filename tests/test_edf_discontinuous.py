"""Discontinuous EDF+D: samples at their record times, gaps unscored, replayed as drops."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _edfplus import write_edf_plus

from dreamband.cli import main as cli
from dreamband.core.recording import Channel, Recording
from dreamband.errors import InputFileError
from dreamband.io.edf import edf_gaps, read_edf
from dreamband.io.hypnogram_files import read_csv_hypnogram
from dreamband.rem import detect_eye_movements
from dreamband.staging.api import stage_recording
from dreamband.staging.gaps import gap_epochs, gap_fraction, spread

RNG = np.random.default_rng(5)


def _signals(seconds: int) -> list[tuple[str, float, np.ndarray]]:
    return [("EEG C3-A2", 100.0, RNG.normal(0, 30, 100 * seconds)),
            ("EMG chin", 50.0, RNG.normal(0, 5, 50 * seconds))]


def test_records_are_placed_at_their_onsets_with_nan_gaps(tmp_path: Path) -> None:
    onsets = [0, 1, 2, 5, 6, 7, 8, 20, 21, 22]
    path = tmp_path / "d.edf"
    stored = write_edf_plus(path, _signals(len(onsets)), [float(o) for o in onsets])
    rec = read_edf(path)
    assert rec.meta["file_type"] == "EDF+D"
    assert rec.meta["gaps"] == [(3.0, 5.0), (9.0, 20.0)]
    for c in rec.channels:
        fs = int(c.fs)
        assert c.data.size == 23 * fs
        want = np.full(23 * fs, np.nan)
        for r, on in enumerate(onsets):
            want[on * fs : (on + 1) * fs] = stored[c.name][r * fs : (r + 1) * fs]
        np.testing.assert_allclose(c.data, want, atol=1e-9)
    assert edf_gaps(path) == rec.meta["gaps"]


def test_leading_gap_and_fractional_onsets(tmp_path: Path) -> None:
    path = tmp_path / "lead.edf"
    write_edf_plus(path, _signals(3), [10.5, 11.5, 14.25])
    rec = read_edf(path)
    assert rec.meta["gaps"] == [(0.0, 10.5), (12.5, 14.25)]
    eeg = rec.channel("EEG C3-A2").data
    assert np.isnan(eeg[:1050]).all() and np.isfinite(eeg[1050:1250]).all()
    assert np.isnan(eeg[1250:1425]).all() and np.isfinite(eeg[1425:]).all()


def test_edf_plus_d_without_breaks_reads_as_continuous(tmp_path: Path) -> None:
    sig = _signals(4)
    d, c = tmp_path / "d.edf", tmp_path / "c.edf"
    write_edf_plus(d, sig, [0.0, 1.0, 2.0, 3.0])
    write_edf_plus(c, sig, [0.0, 1.0, 2.0, 3.0], discontinuous=False)
    rd, rc = read_edf(d), read_edf(c)
    assert rd.meta["gaps"] == [] and rc.meta["gaps"] == []
    for a, b in zip(rd.channels, rc.channels, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize(
    ("onsets", "ann", "match"),
    [
        ([0.0, 1.0, 1.5], None, "data record 2 starts at 1.5 s, before data record 1"),
        ([0.0, 2.0, 1.0], None, "data record 2 starts at 1 s"),
        ([0.0, 1.0], b"Xyz\x14\x14", "data record 0 has no time-keeping annotation"),
    ],
)
def test_bad_record_times_name_the_record(tmp_path: Path, onsets, ann, match) -> None:
    path = tmp_path / "bad.edf"
    write_edf_plus(path, _signals(len(onsets)), onsets)
    if ann is not None:  # overwrite the first record's TAL
        raw = bytearray(path.read_bytes())
        first = raw.index(b"+0\x14\x14")
        raw[first : first + len(ann)] = ann
        path.write_bytes(bytes(raw))
    with pytest.raises(InputFileError, match=match) as err:
        read_edf(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_gap_epochs_and_spread() -> None:
    gaps = [(29.0, 31.0), (84.0, 96.0), (150.0, 400.0)]
    np.testing.assert_allclose(gap_fraction(6, 30.0, gaps), [1 / 30, 1 / 30, 0.2, 0.2, 0, 1])
    # the live engine's rule: more than 20 % missing is unscored, less is bridged
    assert gap_epochs(6, 30.0, gaps).tolist() == [False, False, False, False, False, True]
    assert gap_epochs(6, 30.0, gaps, max_missing=0.0).tolist() == [
        True, True, True, True, False, True]
    assert gap_epochs(4, 30.0, [(60.0, 90.0)]).tolist() == [False, False, True, False]
    from dreamband.core.hypnogram import Hypnogram

    h = Hypnogram(np.array([0, 2, 4], dtype=np.int8), probabilities=np.eye(5)[[0, 2, 4]],
                  meta={"bad_epochs": np.array([False, True, False])})
    out = spread(h, np.array([True, False, True, True, False]))
    assert out.stages.tolist() == [0, -1, 2, 4, -1]
    assert np.isnan(out.probabilities[[1, 4]]).all()
    assert out.meta["bad_epochs"].tolist() == [False, False, True, False, False]
    assert out.meta["gap_epochs"].tolist() == [False, True, False, False, True]


def test_staging_leaves_gap_epochs_unscored_on_the_recording_clock(tmp_path: Path) -> None:
    # 8 min of data: records 0-179 s, a 100-s pause, then 300 s more
    onsets = [float(t) for t in range(180)] + [float(t) for t in range(280, 580)]
    path = tmp_path / "pause.edf"
    write_edf_plus(path, _signals(len(onsets)), onsets)
    rec = read_edf(path)
    hyp = stage_recording(rec)
    assert hyp.n_epochs == 580 // 30
    gap = hyp.meta["gap_epochs"]
    assert np.flatnonzero(gap).tolist() == [6, 7, 8, 9]  # 180-280 s touches epochs 6-9
    assert (hyp.stages[gap] == -1).all() and (hyp.stages[~gap] >= 0).all()
    assert np.isnan(hyp.probabilities[gap]).all()
    np.testing.assert_allclose(hyp.probabilities[~gap].sum(axis=1), 1.0)
    explain = hyp.meta["explain"]
    assert explain["epoch"] == np.flatnonzero(~gap).tolist()


def test_stage_cli_writes_unscored_rows_and_a_note(tmp_path: Path, capsys) -> None:
    onsets = [float(t) for t in range(120)] + [float(t) for t in range(200, 320)]
    path = tmp_path / "pause.edf"
    write_edf_plus(path, _signals(len(onsets)), onsets)
    out = tmp_path / "h.csv"
    assert cli.main(["stage", str(path), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "the recording has gaps; 3 of 10 epochs miss more than 20 %" in err
    assert "0 with smaller losses are staged" in err
    hyp = read_csv_hypnogram(out)
    assert hyp.labels()[4:7] == ["?", "?", "?"] and "?" not in hyp.labels()[:4] + hyp.labels()[7:]
    assert cli.main(["info", str(path)]) == 0
    assert "1 gap(s) without data, read as NaN (first at 120-200 s), 80 s in all" in (
        capsys.readouterr().out)


def test_a_recording_wholly_in_gaps_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "short.edf"
    write_edf_plus(path, _signals(40), [float(t) for t in range(20)] +
                   [float(t) for t in range(45, 65)])
    with pytest.raises(InputFileError, match="every 30-s epoch of channel 'EEG C3-A2' misses "
                       "more than 20 % of its time to the recording's 1 gap"):
        stage_recording(read_edf(path))


def test_nan_outside_the_declared_gaps_is_an_error() -> None:
    x = RNG.normal(0, 30, 100 * 300)
    x[100 * 200] = np.nan
    x[100 * 60 : 100 * 90] = np.nan
    rec = Recording([Channel("EEG", x, 100.0)], source="arr", meta={"gaps": [(60.0, 90.0)]})
    with pytest.raises(InputFileError, match=r"sample at 200\.000 s is not finite outside"):
        stage_recording(rec)


def test_eye_movements_are_found_on_either_side_of_a_gap() -> None:
    fs = 100.0
    t = np.arange(int(120 * fs)) / fs
    eog = RNG.normal(0, 3, t.size)
    for at in (20.0, 50.0, 95.0):  # sharp 200-µV saccade-like steps
        eog += 200.0 / (1 + np.exp(np.clip(-(t - at) * 40, -50, 50)))
    full = detect_eye_movements(eog, fs)
    cut = eog.copy()
    cut[int(60 * fs) : int(80 * fs)] = np.nan
    got = detect_eye_movements(cut, fs)
    assert got.size >= 3
    near = lambda ts, at: np.any(np.abs(ts - at) < 0.5)  # noqa: E731
    for at in (20.0, 50.0, 95.0):
        assert near(full, at) and near(got, at)
    assert not np.any((got > 60) & (got < 80))


def test_replay_of_an_edf_plus_d_drops_the_band_for_the_gap(tmp_path: Path) -> None:
    from dreamband.replay.session import ReplayOptions, run_replay
    from dreamband.replay.sources import resolve_source

    onsets = [float(t) for t in range(240)] + [float(t) for t in range(360, 600)]
    path = tmp_path / "pause.edf"
    write_edf_plus(path, _signals(len(onsets)), onsets)
    src = resolve_source(str(path), name="p1")
    assert src.outages == ((240.0, 360.0),)
    res = run_replay([src], options=ReplayOptions(speed="max"), session_dir=tmp_path / "s")
    st = res.participants[0]
    assert st.gaps >= 1
    manifest = json.loads((tmp_path / "s" / "replay.json").read_text())
    assert manifest  # the session folder is complete
    scored = sorted(st.stages)
    assert not any(8 <= e <= 11 for e in scored)  # 240-360 s: no epoch decided from data
    assert any(e < 8 for e in scored) and any(e > 12 for e in scored)


def test_real_dreams_excerpt_with_a_pause_stays_aligned(dreams_dir: Path, tmp_path: Path) -> None:
    """A real excerpt written as EDF+D with a 5-min pause (600-900 s): the epochs after the
    pause keep their stages (read back to back they would be 10 epochs off)."""
    from dreamband.evaluation.metrics import classification_report
    from dreamband.io.dreams import read_dreams_eeg, read_dreams_hypnogram

    rec = read_dreams_eeg(dreams_dir / "excerpt2.txt")
    c = rec.channels[0]
    fs = int(c.fs)
    kept = [r for r in range(c.n_samples // fs) if not 600 <= r < 900]
    x = np.concatenate([c.data[r * fs : (r + 1) * fs] for r in kept])
    path = tmp_path / "excerpt2-paused.edf"
    write_edf_plus(path, [("EEG " + c.name, c.fs, x)], [float(r) for r in kept])
    hyp = stage_recording(read_edf(path))
    whole = stage_recording(rec)
    truth = read_dreams_hypnogram(dreams_dir / "Hypnogram_excerpt2.txt").stages[: hyp.n_epochs]
    assert np.flatnonzero(hyp.stages < 0).tolist() == list(range(20, 30))
    scored = hyp.stages >= 0
    assert np.mean(hyp.stages[scored] == whole.stages[scored]) >= 0.9
    after = scored & (np.arange(hyp.n_epochs) >= 30) & (truth >= 0)
    labels, names = [0, 1, 2, 3, 4], ["W", "N1", "N2", "N3", "REM"]
    placed = classification_report(truth[after], hyp.stages[after], labels, names)["kappa"]
    # what a reader that takes the records back to back reports at the same onsets
    b2b = stage_recording(Recording([Channel("EEG", x, c.fs)])).stages
    m = after[: b2b.size]
    shifted = classification_report(truth[: b2b.size][m], b2b[m], labels, names)["kappa"]
    assert placed >= 0.6 and placed > shifted + 0.3


def test_small_losses_are_bridged_and_staged_like_the_live_engine() -> None:
    """Lost packets (a few short gaps per epoch) do not unscore the epochs: the samples are
    interpolated, as the live epocher does up to 20 % missing."""
    fs = 100.0
    x = RNG.normal(0, 30, int(300 * fs))
    gaps = [(t, t + 0.12) for t in np.arange(1.0, 300.0, 2.0)]  # 6 % of every epoch
    gaps.append((180.0, 210.0))  # and one whole epoch
    y = x.copy()
    for a, b in gaps:
        y[round(a * fs) : round(b * fs)] = np.nan
    hyp = stage_recording(Recording([Channel("EEG", y, fs)], source="lossy",
                                    meta={"gaps": gaps}))
    assert (hyp.stages == -1).tolist() == [False] * 6 + [True] + [False] * 3
    np.testing.assert_allclose(hyp.meta["missing"][[0, 6]], [0.06, 1.0], atol=0.005)


def test_absurd_record_times_are_refused_before_allocating(tmp_path: Path) -> None:
    path = tmp_path / "far.edf"
    write_edf_plus(path, _signals(2), [0.0, 99999999.0])
    with pytest.raises(InputFileError, match=r"leave 27778 h without data \(at most 48 h"):
        read_edf(path)


def test_skip_annotations_of_an_edf_plus_c_count_from_its_sub_second_start(
    tmp_path: Path,
) -> None:
    """EDF+C whose first record starts 0.5 s after the header's start time: a
    BAD_ACQ_SKIP at 10.5-20.5 s (header clock) covers samples 10-20 s."""
    fs = 10.0
    x = np.arange(60 * 10, dtype=float) % 100
    p = tmp_path / "c.edf"
    write_edf_plus(p, [("EEG Cz", fs, x)], [0.5 + k for k in range(60)], discontinuous=False,
                   ann_bytes=120, annotations=[(10.5, 10.0, "BAD_ACQ_SKIP")])
    rec = read_edf(p)
    y = rec.channel("EEG Cz").data
    assert y.size == 600
    assert np.isnan(y[100:200]).all() and np.isfinite(y[:100]).all()
    assert np.isfinite(y[200:]).all()
    assert rec.meta["gaps"] == [(10.0, 20.0)]
