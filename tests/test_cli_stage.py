"""``dreamband stage`` and ``dreamband rem`` on small EDF files written into tmp_path."""

from __future__ import annotations

import csv
import re
import sys
import types

import numpy as np
import pytest

from dreamband.cli import main as cli
from dreamband.core.hypnogram import Hypnogram

FS = 100.0
RNG = np.random.default_rng(11)


@pytest.fixture(scope="module")
def psg(tmp_path_factory):
    mne = pytest.importorskip("mne")
    pytest.importorskip("edfio")
    n = round(12 * 60 * FS)
    eeg = np.cumsum(RNG.standard_normal(n))
    eeg = (eeg - np.convolve(eeg, np.ones(200) / 200, mode="same")) * 2
    t = np.arange(n) / FS
    eeg[n // 2 :] += 60 * np.sin(2 * np.pi * t[n // 2 :])
    eog = RNG.standard_normal(n) * 10
    emg = RNG.standard_normal(n) * 5
    info = mne.create_info(["EEG Fpz-Cz", "EOG horizontal", "EMG submental"], FS,
                           ["eeg", "eog", "emg"])
    raw = mne.io.RawArray(np.vstack([eeg, eog, emg]) * 1e-6, info, verbose="error")
    path = tmp_path_factory.mktemp("psg") / "night-PSG.edf"
    # physical_range is in the file's unit (µV here), not in volts: (-2e-3, 2e-3) would
    # clip every sample to +-0.002 µV
    mne.export.export_raw(path, raw, fmt="edf", physical_range=(-2000, 2000),
                          verbose="error")
    return path


def test_stage_writes_the_csv_output_contract(psg, tmp_path, capsys):
    out = tmp_path / "night.csv"
    assert cli.main(["stage", str(psg), "--out", str(out), "--explain"]) == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["onset", "duration", "stage", "p_W", "p_N1", "p_N2", "p_N3", "p_REM"]
    body = rows[1:]
    assert len(body) == 24  # 12 min of 30-s epochs covering the recording
    assert [float(r[0]) for r in body] == [30.0 * i for i in range(24)]
    assert all(float(r[1]) == 30.0 for r in body)
    assert {r[2] for r in body} <= {"W", "N1", "N2", "N3", "REM"}
    sums = [sum(float(v) for v in r[3:]) for r in body]
    np.testing.assert_allclose(sums, 1.0, atol=1e-6)
    explain = list(csv.reader((tmp_path / "night-explain.csv").open()))
    assert explain[0][:3] == ["epoch", "stage", "reason"] and len(explain) == 25
    err = capsys.readouterr().err
    assert "eog=EOG horizontal" in err
    assert "warning" not in err  # the fixture's signals read back unclipped


@pytest.mark.parametrize("name", ["night.parquet", "night-hypnogram.edf"])
def test_stage_writes_parquet_and_edf_plus(psg, tmp_path, name):
    from dreamband.io.dispatch import read_hypnogram

    out = tmp_path / name
    assert cli.main(["stage", str(psg), "--out", str(out), "--epoch", "20"]) == 0
    hyp = read_hypnogram(out)
    assert hyp.n_epochs == 36 and hyp.epoch_length == 20.0


def test_stage_to_stdout_and_live(psg, capsys):
    assert cli.main(["stage", str(psg), "--live", "--eog", "none", "--emg", "none"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("onset,duration,stage") and len(lines) == 25


def test_stage_refuses_an_unknown_output_suffix_before_staging(psg, tmp_path, capsys):
    assert cli.main(["stage", str(psg), "--out", str(tmp_path / "night.txt")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dreamband: error:") and "night.txt (suffix)" in err
    assert "\n" not in err and not (tmp_path / "night.txt").exists()


def test_stage_reports_a_missing_channel_in_one_line(psg, capsys):
    assert cli.main(["stage", str(psg), "--eeg", "C4-M1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dreamband: error:") and "'C4-M1' not found" in err
    assert "EEG Fpz-Cz" in err and "\n" not in err


def test_stage_names_the_expected_columns_of_an_unknown_csv(tmp_path, capsys):
    bad = tmp_path / "export.csv"
    bad.write_text("a,b\n1,2\n")
    assert cli.main(["stage", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"dreamband: error: {bad} (header):") and "\n" not in err
    assert "rr_ms" in err and "time_s,hr_bpm" in err and err.endswith("a,b")


def test_stage_routes_heart_inputs_to_the_heart_stager(tmp_path, monkeypatch):
    seen = []

    def fake(path, live=False, lag=0):
        seen.append(path)
        return Hypnogram(stages=np.array([0, 1, 2], dtype=np.int8), scheme="wearable")

    monkeypatch.setitem(sys.modules, "dreamband.staging.heart",
                        types.SimpleNamespace(stage_heart_file=fake))
    rr = tmp_path / "beats.csv"
    rr.write_text("time,rr\n0.8,0.8\n1.6,0.8\n")
    out = tmp_path / "h.csv"
    assert cli.main(["stage", str(rr), "--out", str(out)]) == 0
    assert seen and str(seen[0]).endswith("beats.csv")
    assert out.read_text().splitlines()[0] == "onset,duration,stage,p_W,p_NREM,p_REM"


def test_rem_from_a_hypnogram_file(tmp_path, capsys):
    from dreamband.io.hypnogram_files import write_csv_hypnogram

    stages = np.array([0] * 4 + [2] * 10 + [4] * 8 + [2] * 6 + [4] * 6, dtype=np.int8)
    path = write_csv_hypnogram(Hypnogram(stages=stages), tmp_path / "h.csv")
    out = tmp_path / "rem.csv"
    assert cli.main(["rem", str(path), "--out", str(out), "--merge-gap", "60"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [(float(r["start"]), float(r["end"]), r["cycle"]) for r in rows] == [
        (420.0, 660.0, "1"), (840.0, 1020.0, "2")
    ]
    # no EOG: eye movements were not counted, so the cells are empty, not 0
    assert all(r["eye_movements"] == "" and r["density"] == "" for r in rows)
    assert "REM latency from sleep onset: 5.0 min" in capsys.readouterr().err


def test_rem_from_a_recording_counts_eye_movements(psg, tmp_path):
    out = tmp_path / "rem.csv"
    assert cli.main(["rem", str(psg), "--out", str(out)]) == 0
    assert out.read_text().startswith("start,end,duration,cycle,eye_movements")


def test_stage_file_returns_hypnogram_and_rem_periods(psg):
    from dreamband.staging.api import stage_file

    hyp = stage_file(psg)
    assert hyp.n_epochs == 24
    hyp2, periods = stage_file(psg, epoch=20.0, with_rem=True, participant="p1")
    assert hyp2.n_epochs == 36
    assert all(p.participant == "p1" for p in periods)


def test_stage_warns_when_the_eeg_is_flat(tmp_path, capsys):
    mne = pytest.importorskip("mne")
    pytest.importorskip("edfio")
    n = round(3 * 60 * FS)
    x = np.cumsum(RNG.standard_normal(n)) * 2
    x -= np.convolve(x, np.ones(200) / 200, mode="same")
    x[round(60 * FS):round(120 * FS)] = 0.0  # electrode off for the middle minute
    raw = mne.io.RawArray(x[None] * 1e-6, mne.create_info(["C3-A2"], FS, "eeg"), verbose="error")
    path = tmp_path / "flat.edf"
    mne.export.export_raw(path, raw, fmt="edf", physical_range=(-500, 500),
                          verbose="error")
    assert cli.main(["stage", str(path), "--out", str(tmp_path / "h.csv")]) == 0
    err = capsys.readouterr().err
    assert "warning: " in err and "flat.edf: 2 of 6 epochs" in err and "C3-A2" in err


def test_stage_notes_an_eeg_far_smaller_than_a_psg(tmp_path, capsys):
    mne = pytest.importorskip("mne")
    pytest.importorskip("edfio")
    n = round(10 * 60 * FS)
    t = np.arange(n) / FS
    x = np.cumsum(RNG.standard_normal(n))
    x -= np.convolve(x, np.ones(200) / 200, mode="same")
    x[n // 2 :] += 75 * np.sin(2 * np.pi * t[n // 2 :])  # 150 µV slow waves: a PSG's N3

    def stage(gain: float, name: str) -> str:
        raw = mne.io.RawArray(x[None] * gain * 1e-6, mne.create_info(["AF7"], FS, "eeg"),
                              verbose="error")
        path = tmp_path / name
        mne.export.export_raw(path, raw, fmt="edf", physical_range=(-500, 500),
                              verbose="error")
        assert cli.main(["stage", str(path), "--out", str(tmp_path / f"{name}.csv")]) == 0
        return capsys.readouterr().err

    assert "note:" not in stage(1.0, "psg-like.edf")
    err = stage(0.3, "headband.edf")  # the same sleep read 3x smaller
    assert "note: " in err and "headband.edf: AF7 reads far smaller than a PSG's" in err
    used = re.search(r"slow waves counted from (\d+) µV peak to peak instead of 65", err)
    assert used and 20 <= int(used.group(1)) <= 40  # 65 x 0.3 x 1.4 (the band's edge)
