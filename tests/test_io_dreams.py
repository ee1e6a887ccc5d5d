"""DREAMS readers: EEG text, 5-s hypnograms to 20/30-s epochs, spindle scorings."""

from __future__ import annotations

import numpy as np
import pytest

from dreamband.core import SleepStage
from dreamband.errors import InputFileError
from dreamband.io.dreams import read_dreams_eeg, read_dreams_hypnogram, read_dreams_spindles


def write_hypnogram(path, codes):
    path.write_text("[Hypnogram]\n" + "".join(f"{c}\n" for c in codes))
    return path


def test_eeg_rate_is_samples_over_1800_s(tmp_path):
    path = tmp_path / "excerpt9.txt"
    values = np.round(np.random.default_rng(0).normal(0, 20, 1800 * 50), 4)
    path.write_text("[C3-A1]\n" + "".join(f"{v:10.4f}\n" for v in values))
    rec = read_dreams_eeg(path)
    chan = rec.channels[0]
    assert (chan.name, chan.fs, chan.unit) == ("C3-A1", 50.0, "uV")
    np.testing.assert_allclose(chan.data, values, atol=1e-9)


def test_eeg_with_a_bad_line_or_length_is_named(tmp_path):
    bad = tmp_path / "b.txt"
    bad.write_text("[C3-A1]\n1.0\nabc\n")
    with pytest.raises(InputFileError, match="line 3"):
        read_dreams_eeg(bad)
    short = tmp_path / "s.txt"
    short.write_text("[C3-A1]\n" + "1.0\n" * 1000)
    with pytest.raises(InputFileError, match="whole sampling rate"):
        read_dreams_eeg(short)
    nohead = tmp_path / "n.txt"
    nohead.write_text("1.0\n2.0\n")
    with pytest.raises(InputFileError, match="header"):
        read_dreams_eeg(nohead)


def test_20_s_epochs_are_the_experts_epochs(tmp_path):
    # expert epochs of 20 s = 4 labels each: W, S2, S4, REM, movement
    codes = [5] * 4 + [2] * 4 + [0] * 4 + [4] * 4 + [-1] * 4
    hyp = read_dreams_hypnogram(write_hypnogram(tmp_path / "h.txt", codes), epoch_length=20)
    S = SleepStage
    assert hyp.stages.tolist() == [S.W, S.N2, S.N3, S.REM, S.UNSCORED]
    assert hyp.epoch_length == 20


def test_30_s_epochs_take_the_centre_label(tmp_path):
    # 5-s labels; 30-s window k covers labels 6k..6k+5, its centre label is 6k+3
    codes = [*[5, 5, 5, 5, 3, 3], *[3, 3, 2, 1, 1, 1], *[4, 4, 4, 4]]
    hyp = read_dreams_hypnogram(write_hypnogram(tmp_path / "h.txt", codes))
    assert hyp.epoch_length == 30
    assert hyp.stages.tolist() == [SleepStage.W, SleepStage.N3]  # trailing 20 s dropped


def test_bad_hypnogram_code_and_epoch_length(tmp_path):
    path = write_hypnogram(tmp_path / "h.txt", [5, 5, 9, 5, 5, 5])
    with pytest.raises(InputFileError, match="unknown DREAMS stage code"):
        read_dreams_hypnogram(path)
    with pytest.raises(ValueError, match="multiple of 5"):
        read_dreams_hypnogram(write_hypnogram(tmp_path / "g.txt", [5] * 6), epoch_length=12)


def test_spindle_scoring(tmp_path):
    path = tmp_path / "Visual_scoring1_excerpt9.txt"
    path.write_text("[vis1_Spindles/C3-A1]\n  282.2400\t    0.7200\n  311.7200\t    1.5400\n")
    sp = read_dreams_spindles(path)
    assert sp.channel == "C3-A1" and len(sp) == 2
    np.testing.assert_allclose(sp.onsets, [282.24, 311.72])
    np.testing.assert_allclose(sp.durations, [0.72, 1.54])


# ----------------------------------------------------------------- real files
EXPECTED_FS = {1: 100, 2: 200, 3: 50, 4: 200, 7: 200}


@pytest.mark.data
@pytest.mark.parametrize("n", sorted(EXPECTED_FS))
def test_real_excerpts(dreams_dir, n):
    eeg = dreams_dir / f"excerpt{n}.txt"
    if not eeg.exists():
        pytest.skip(f"{eeg} absent")
    rec = read_dreams_eeg(eeg)
    assert rec.channels[0].fs == EXPECTED_FS[n]
    assert rec.channels[0].name == ("C3-A1" if n in (1, 3) else "CZ-A1")
    hyp_path = dreams_dir / f"Hypnogram_excerpt{n}.txt"
    raw = np.loadtxt(hyp_path, skiprows=1)
    assert raw.size == 360
    # the experts' changes fall on 20-s boundaries: 20-s epochs reproduce every 5-s label
    h20 = read_dreams_hypnogram(hyp_path, epoch_length=20)
    assert h20.n_epochs == 90
    from dreamband.core.stages import from_dreams

    expanded = np.repeat(h20.stages, 4)
    assert expanded.tolist() == [int(from_dreams(int(c))) for c in raw]
    h30 = read_dreams_hypnogram(hyp_path)
    assert h30.n_epochs == 60
    assert h30.stages.tolist() == [int(from_dreams(int(c))) for c in raw[3::6]]
