"""YASA tutorial files: npz EOG, one-sample-per-line EEG, integer 30-s hypnograms."""

from __future__ import annotations

import numpy as np
import pytest

from dreamband.errors import InputFileError
from dreamband.io import read_hypnogram
from dreamband.io.yasa_samples import read_int_hypnogram, read_yasa_eeg_txt, read_yasa_npz


def test_npz_channels(tmp_path):
    path = tmp_path / "eog.npz"
    data = np.random.default_rng(0).normal(size=(2, 512))
    np.savez(path, data=data, sf=256, chan=np.array(["LOC", "ROC"]))
    rec = read_yasa_npz(path)
    assert rec.names == ["LOC", "ROC"] and rec.channels[0].fs == 256
    np.testing.assert_array_equal(rec.channel("ROC").data, data[1])
    np.savez(tmp_path / "bad.npz", data=data)
    with pytest.raises(InputFileError, match="missing key"):
        read_yasa_npz(tmp_path / "bad.npz")


def test_eeg_txt_rate_from_name(tmp_path):
    path = tmp_path / "data_N3_30sec_100Hz.txt"
    path.write_text("".join(f"{v}\n" for v in range(3000)))
    rec = read_yasa_eeg_txt(path)
    assert rec.channels[0].fs == 100 and rec.duration == 30
    with pytest.raises(InputFileError, match="sampling rate"):
        (tmp_path / "x.txt").write_text("1\n")
        read_yasa_eeg_txt(tmp_path / "x.txt")


def test_int_hypnogram_with_comments_and_a_bad_line(tmp_path):
    path = tmp_path / "h.txt"
    path.write_text("# 1 value per 30 s\n# 0 W\n0\n1\n2\n3\n4\n-1\n")
    hyp = read_hypnogram(path)
    assert hyp.stages.tolist() == [0, 1, 2, 3, 4, -1]
    path.write_text("0\n7\n")
    with pytest.raises(InputFileError, match="line 2"):
        read_int_hypnogram(path)


@pytest.mark.data
def test_real_yasa_files(yasa_dir):
    rec = read_yasa_npz(yasa_dir / "data_EOGs_REM_256Hz.npz")
    assert rec.names == ["LOC", "ROC"] and rec.channels[0].n_samples == 219904
    n2 = read_yasa_eeg_txt(yasa_dir / "data_N2_spindles_15sec_200Hz.txt")
    assert n2.duration == 15
    n3 = read_yasa_eeg_txt(yasa_dir / "data_N3_no-spindles_30sec_100Hz.txt")
    assert n3.duration == 30
    hyp = read_hypnogram(yasa_dir / "data_full_6hrs_100Hz_hypno_30s.txt")
    raw = np.loadtxt(yasa_dir / "data_full_6hrs_100Hz_hypno_30s.txt")
    assert hyp.n_epochs == raw.size == 720
    assert hyp.minutes_per_stage()["REM"] == np.count_nonzero(raw == 4) / 2
