"""Simulated nights written as Sleep-EDF-like EDF files, and driven by real expert hypnograms.

For plumbing and batch tests: simulated signals never give an accuracy figure.
"""

from __future__ import annotations

from datetime import datetime

import mne
import numpy as np
import pytest

from dreamband.core import Hypnogram, SleepStage
from dreamband.errors import InputFileError
from dreamband.sim import VirtualSleeper, write_edf

W, N1, N2, N3, R = (
    int(s) for s in (SleepStage.W, SleepStage.N1, SleepStage.N2, SleepStage.N3, SleepStage.REM)
)


def test_write_edf_round_trips_through_mne(tmp_path):
    stages = np.array([W] * 4 + [N1, N2, N2, N3, N3, R, R, -1, W])
    hyp = Hypnogram(stages, start_time=datetime(2024, 3, 1, 23, 15, 0), source="t")
    sleeper = VirtualSleeper(hyp, channels="psg", seed=6)
    psg = write_edf(
        sleeper, tmp_path / "SIM01-PSG.edf", hypnogram_path=tmp_path / "SIM01-Hypnogram.edf"
    )
    raw = mne.io.read_raw_edf(psg, preload=True, verbose="error")
    assert raw.ch_names == ["EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal", "EMG submental"]
    assert raw.info["sfreq"] == 100.0
    assert raw.n_times == sleeper.n_samples
    assert raw.info["meas_date"].replace(tzinfo=None) == datetime(2024, 3, 1, 23, 15, 0)
    expected = sleeper.generate(0, hyp.duration)
    got = raw.get_data() * 1e6  # V -> µV
    for i, name in enumerate(raw.ch_names):
        x = expected[name].astype(float)
        resolution = 2 * max(100.0, np.ceil(np.max(np.abs(x)) / 50) * 50) / 65535
        np.testing.assert_allclose(got[i], x, atol=resolution)
    ann = mne.read_annotations(tmp_path / "SIM01-Hypnogram.edf")
    assert ann.description[0] == "Sleep stage W"
    assert "Sleep stage R" in set(ann.description)
    assert ann.onset[0] == 0.0
    assert float(np.sum(ann.duration)) == pytest.approx(hyp.duration)


def test_write_edf_names_a_missing_folder(tmp_path):
    sleeper = VirtualSleeper(Hypnogram(np.array([W, N1])), seed=0)
    with pytest.raises(InputFileError, match="nowhere"):
        write_edf(sleeper, tmp_path / "nowhere" / "x.edf")


def _read_real_hypnogram(path) -> Hypnogram:
    try:
        from dreamband.io import read_hypnogram
    except ImportError:  # reader not there yet: parse the EDF+ annotations directly
        from dreamband.core.stages import from_rk

        ann = mne.read_annotations(path)
        codes = []
        for dur, text in zip(ann.duration, ann.description):
            codes += [int(from_rk(text))] * round(dur / 30)
        return Hypnogram(np.array(codes), source=str(path))
    return read_hypnogram(path)


@pytest.mark.data
def test_a_real_sleep_edf_night_drives_the_simulator(sleep_edf_dir):
    files = sorted(sleep_edf_dir.glob("SC4*-Hypnogram.edf"))
    if not files:
        pytest.skip(f"no Sleep-EDF hypnogram in {sleep_edf_dir}")
    hyp = _read_real_hypnogram(files[0]).crop_in_bed()
    sleeper = VirtualSleeper(hyp, channels=["EMG submental"], fs=64, seed=1)
    assert sleeper.duration == hyp.duration
    emg = sleeper.generate(0, hyp.duration)["EMG submental"].astype(float)
    rms = emg[: hyp.n_epochs * 1920].reshape(hyp.n_epochs, 1920).std(1)
    by = {s: np.median(rms[hyp.stages == s]) for s in (W, N2, R) if np.any(hyp.stages == s)}
    assert by[R] < by[N2] < by[W]
    beats = sleeper.beats()
    ep = np.minimum((beats.rr_times // 30).astype(int), hyp.n_epochs - 1)
    hr = {
        s: 60 / np.median(beats.rr[hyp.stages[ep] == s])
        for s in (W, N3, R)
        if np.any(hyp.stages == s)
    }
    assert hr[W] > hr[R] > hr[N3]
