"""Spindles and eye movements in nightly batch: the ``spindles`` table, the nights'
spindle columns, and events on a restaged session's host clock."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pytest

from dreamband.cli import main as cli
from dreamband.core.hypnogram import Hypnogram
from dreamband.core.recording import Channel, Recording
from dreamband.spindles import detect_spindles
from dreamband.staging.night_events import SPINDLE_STAGES, night_events, spindle_figures


@pytest.fixture(scope="module")
def dreams_edf(dreams_dir: Path, tmp_path_factory) -> Path:
    """DREAMS excerpt 2 (real N2/N3 EEG, 200 Hz) written as EDF."""
    mne = pytest.importorskip("mne")
    from dreamband.io.dreams import read_dreams_eeg

    ch = read_dreams_eeg(dreams_dir / "excerpt2.txt").channels[0]
    info = mne.create_info(["EEG Cz-A1"], ch.fs, ["eeg"])
    raw = mne.io.RawArray(ch.data[None, :] * 1e-6, info, verbose="error")
    path = tmp_path_factory.mktemp("spb") / "dreams2.edf"
    mne.export.export_raw(path, raw, fmt="edf", physical_range=(-400, 400), verbose="error")
    return path


def test_batch_writes_the_spindles_of_an_eeg_night(dreams_edf: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli.main(["batch", str(dreams_edf), "--out", str(out), "--quiet",
                     "--workers", "1"]) == 0
    sp = ds.dataset(out / "spindles", partitioning="hive").to_table().to_pandas()
    nights = ds.dataset(out / "nights", partitioning="hive").to_table().to_pylist()
    epochs = ds.dataset(out / "epochs", partitioning="hive").to_table().to_pandas()
    assert len(nights) == 1
    night = nights[0]
    assert len(sp) == night["spindles"] > 20  # measured: 58 on the whole excerpt
    assert set(sp.stage) <= {"N1", "N2", "N3"} and set(sp.channel) == {"EEG Cz-A1"}
    assert (sp.end_s > sp.start_s).all() and sp.frequency_hz.between(10.5, 16.5).all()
    n2_min = (epochs.stage == "N2").sum() * 0.5
    assert night["spindle_density_N2_per_min"] == pytest.approx((sp.stage == "N2").sum() / n2_min)
    assert 10.5 < night["spindle_frequency_hz"] < 16.5
    # the table's spindles are the detector's on the staged channel
    from dreamband.io.edf import read_edf

    ch = read_edf(dreams_edf).channels[0]
    stages = epochs.sort_values("onset_s").stage_code.to_numpy()
    direct = detect_spindles(ch.data, ch.fs, stages=stages, include=SPINDLE_STAGES)
    assert np.allclose(np.sort(sp.start_s.to_numpy()), direct.start)


def test_heart_and_scored_nights_have_an_empty_spindles_table(tmp_path: Path) -> None:
    csv = tmp_path / "night.csv"
    csv.write_text("onset,duration,stage,p_W,p_N1,p_N2,p_N3,p_REM\n" + "".join(
        f"{30 * k},30,{'N2' if k % 4 else 'REM'},0.2,0.2,0.2,0.2,0.2\n" for k in range(40)))
    out = tmp_path / "out"
    assert cli.main(["batch", str(csv), "--out", str(out), "--quiet", "--workers", "1"]) == 0
    nights = ds.dataset(out / "nights", partitioning="hive").to_table().to_pylist()
    assert nights[0]["spindles"] is None and nights[0]["spindle_density_N2_per_min"] is None
    sp = ds.dataset(out / "spindles", partitioning="hive").to_table()
    assert sp.num_rows == 0


def _eye_night(fs: float = 100.0, minutes: int = 20):
    """EEG + EOG with saccade-like steps in the second half, staged REM there."""
    rng = np.random.default_rng(4)
    n = round(minutes * 60 * fs)
    eeg = rng.standard_normal(n) * 15
    eog = rng.standard_normal(n) * 5
    for t in np.arange(minutes * 30 + 5.0, minutes * 60 - 5.0, 4.0):  # every 4 s
        i = round(t * fs)
        eog[i : i + round(0.3 * fs)] += np.linspace(0, 150, round(0.3 * fs))
        eog[i + round(0.3 * fs) : i + round(1.0 * fs)] += 150
    rec = Recording([Channel("EEG C3", eeg, fs), Channel("EOG L", eog, fs, kind="eog")])
    stages = np.array([2] * (minutes) + [4] * (minutes), dtype=np.int8)
    hyp = Hypnogram(stages=stages, epoch_length=30.0,
                    meta={"channels": {"eeg": "EEG C3", "eog": "EOG L"}})
    return rec, hyp


def test_events_follow_the_hypnogram_clock() -> None:
    """A restaged session's hypnogram counts from the host clock's grid origin (t0), the
    recording from 0: eye movements and spindles must land on the same clock."""
    rec, hyp = _eye_night()
    periods0, sp0 = night_events(rec, hyp, "p")
    assert periods0 and sum(p.eye_movements for p in periods0) > 50
    t0 = 86_400.5  # a monotonic host clock a day after boot
    shifted = replace(hyp, offset=t0)
    periods, sp = night_events(rec, shifted, "p", clock_offset=t0)
    assert [p.eye_movements for p in periods] == [p.eye_movements for p in periods0]
    assert [p.start - t0 for p in periods] == pytest.approx([p.start for p in periods0])
    assert np.allclose(sp.start - t0, sp0.start) and np.array_equal(sp.stage, sp0.stage)
    figures = spindle_figures(sp, shifted)
    assert figures["spindles"] == len(sp)


def test_no_eeg_channel_no_spindles() -> None:
    rec, hyp = _eye_night()
    periods, sp = night_events(rec, replace(hyp, meta={}), "p")
    assert sp is None and all(p.eye_movements == 0 for p in periods)
    assert spindle_figures(None, hyp) == {}
