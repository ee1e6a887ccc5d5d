"""EDF/EDF+/BDF reader: per-channel rates, µV, channel selection, header checks, bad files."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pytest

from dreamband.errors import ChannelNotFoundError, InputFileError
from dreamband.io.edf import channel_kind, read_edf, read_edf_info

# Sleep-EDF's PSG layout: (label, fs, unit)
SLEEP_EDF_LAYOUT = [
    ("EEG Fpz-Cz", 100, "uV"),
    ("EEG Pz-Oz", 100, "uV"),
    ("EOG horizontal", 100, "uV"),
    ("Resp oro-nasal", 1, ""),
    ("EMG submental", 1, "uV"),
    ("Temp rectal", 1, "DegC"),
    ("Event marker", 1, ""),
]
START = datetime(1989, 4, 24, 16, 13, 0)


def make_signals(layout, seconds: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for name, fs, unit in layout:
        n = int(seconds * fs)
        if unit.lower() in ("uv", "mv", "v"):
            out[name] = rng.normal(0, 30, n)
        else:
            out[name] = 37 + rng.normal(0, 0.2, n)
    return out


def write_edf(path: Path, layout, seconds: int = 120, record: float = 30, seed: int = 0):
    """Write an EDF+C with edfio; returns the physical values written per channel."""
    import edfio

    values = make_signals(layout, seconds, seed)
    sigs = [
        edfio.EdfSignal(values[name], fs, label=name, physical_dimension=unit)
        for name, fs, unit in layout
    ]
    edfio.Edf(
        sigs,
        starttime=START.time(),
        recording=edfio.Recording(startdate=START.date()),
        data_record_duration=record,
        annotations=[edfio.EdfAnnotation(0, None, "Recording starts")],
    ).write(path)
    # edfio quantises to 16 bits: read its stored values back as the reference
    stored = edfio.read_edf(path)
    return {s.label: s.data for s in stored.signals}


def write_bdf(path: Path, channels, seconds: int = 4, record: float = 1.0):
    """Hand-write a minimal BDF (24-bit) file: channels = (label, fs, unit, digital samples)."""
    ns = len(channels)
    n_rec = int(seconds / record)

    def f(text, width):
        return str(text).ljust(width)[:width].encode("latin-1")

    head = b"\xffBIOSEMI" + f("X", 80) + f("Startdate 02-JAN-2020 X X X", 80)
    head += f("02.01.20", 8) + f("03.04.05", 8) + f(256 * (ns + 1), 8) + f("24BIT", 44)
    head += f(n_rec, 8) + f(record, 8) + f(ns, 4)
    fields = [
        [f(c[0], 16) for c in channels],
        [f("", 80) for _ in channels],
        [f(c[2], 8) for _ in [0] for c in channels],
        [f(-8388608, 8) for _ in channels],
        [f(8388607, 8) for _ in channels],
        [f(-8388608, 8) for _ in channels],
        [f(8388607, 8) for _ in channels],
        [f("", 80) for _ in channels],
        [f(int(c[1] * record), 8) for c in channels],
        [f("", 32) for _ in channels],
    ]
    for column in fields:
        head += b"".join(column)
    body = bytearray()
    for r in range(n_rec):
        for _, fs, _, digital in channels:
            spr = int(fs * record)
            chunk = np.asarray(digital[r * spr : (r + 1) * spr], dtype=np.int32)
            b = chunk.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3]
            body += b.tobytes()
    path.write_bytes(head + bytes(body))


@pytest.fixture
def sleep_edf_like(tmp_path):
    path = tmp_path / "SC4001E0-PSG.edf"
    stored = write_edf(path, SLEEP_EDF_LAYOUT)
    return path, stored


def test_each_channel_keeps_its_own_rate(sleep_edf_like):
    path, stored = sleep_edf_like
    rec = read_edf(path)
    assert rec.names == [n for n, _, _ in SLEEP_EDF_LAYOUT]
    for (name, fs, _unit), chan in zip(SLEEP_EDF_LAYOUT, rec.channels):
        assert chan.fs == fs
        assert chan.n_samples == 120 * fs
        np.testing.assert_allclose(chan.data, stored[name], rtol=1e-6, atol=1e-6)
    assert rec.start_time == START
    assert rec.duration == 120


def test_units_voltage_in_microvolts_others_untouched(sleep_edf_like):
    path, _ = sleep_edf_like
    rec = read_edf(path)
    assert rec.channel("EEG Fpz-Cz").unit == "uV"
    assert rec.channel("Temp rectal").unit == "DegC"
    assert 35 < np.mean(rec.channel("Temp rectal").data) < 39
    assert rec.channel("EEG Fpz-Cz").kind == "eeg"
    assert rec.channel("EMG submental").kind == "emg"


@pytest.mark.parametrize(
    ("unit", "factor"), [("mV", 1e3), ("V", 1e6), ("nV", 1e-3), ("UV", 1.0), ("µV", 1.0)]
)
def test_any_voltage_unit_is_converted_to_microvolts(tmp_path, unit, factor):
    path = tmp_path / "u.edf"
    stored = write_edf(path, [("EEG C3-A2", 128, unit if unit.isascii() else "uV")], 4, 1)
    if not unit.isascii():  # edfio writes ASCII only: patch the unit field (latin-1 µ)
        data = bytearray(path.read_bytes())
        at = 256 + 2 * (16 + 80)  # 2 signals: EEG + EDF Annotations
        data[at : at + 8] = unit.encode("latin-1").ljust(8)
        path.write_bytes(bytes(data))
    assert read_edf_info(path).channels[0].unit == unit
    chan = read_edf(path).channels[0]
    assert chan.unit == "uV"
    np.testing.assert_allclose(chan.data, stored["EEG C3-A2"] * factor, rtol=1e-6)


def test_channel_selection_by_name_keeps_requested_order(sleep_edf_like):
    path, stored = sleep_edf_like
    rec = read_edf(path, channels=["temp rectal", "EEG Pz-Oz", "EEG Fpz-Cz"], preload=False)
    assert rec.names == ["Temp rectal", "EEG Pz-Oz", "EEG Fpz-Cz"]
    assert [c.fs for c in rec.channels] == [1, 100, 100]
    for chan in rec.channels:
        np.testing.assert_allclose(chan.data, stored[chan.name], rtol=1e-6, atol=1e-6)


def test_missing_channel_lists_the_available_ones(sleep_edf_like):
    path, _ = sleep_edf_like
    with pytest.raises(ChannelNotFoundError) as e:
        read_edf(path, channels=["EEG C4-A1"])
    msg = str(e.value)
    assert "'EEG C4-A1' not found" in msg and "EEG Fpz-Cz" in msg and "Event marker" in msg


def test_header_only_info(sleep_edf_like):
    path, _ = sleep_edf_like
    info = read_edf_info(path)
    assert info.file_type == "EDF+C"
    assert [(c.name, c.fs, c.unit) for c in info.channels] == SLEEP_EDF_LAYOUT
    assert info.duration == 120 and info.start_time == START
    assert info.has_annotations


def test_bdf_is_read_in_microvolts(tmp_path):
    rng = np.random.default_rng(1)
    d1 = rng.integers(-100000, 100000, 4 * 256)
    d2 = rng.integers(-1000, 1000, 4 * 32)
    path = tmp_path / "x.bdf"
    write_bdf(path, [("Fz", 256, "uV", d1), ("Resp", 32, "mV", d2)])
    info = read_edf_info(path)
    assert info.file_type == "BDF" and info.start_time == datetime.combine(
        date(2020, 1, 2), time(3, 4, 5)
    )
    rec = read_edf(path)
    gain = (8388607 - -8388608) / (8388607 - -8388608)  # physical range = digital range
    np.testing.assert_allclose(rec.channel("Fz").data, d1 * gain, atol=1e-3)
    np.testing.assert_allclose(rec.channel("Resp").data, d2 * 1e3, atol=1)
    assert rec.channel("Resp").fs == 32


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="no such file"):
        read_edf(tmp_path / "absent.edf")


def test_not_an_edf_names_the_version_field(tmp_path):
    path = tmp_path / "notes.edf"
    path.write_text("this is a text file, not a recording\n" * 20)
    with pytest.raises(InputFileError, match="not an EDF file") as e:
        read_edf(path)
    assert "version" in str(e.value) and "notes.edf" in str(e.value)
    short = tmp_path / "short.edf"
    short.write_bytes(b"0       abc")
    with pytest.raises(InputFileError, match="shorter than an EDF header"):
        read_edf_info(short)


def test_truncated_edf_names_the_record_count(sleep_edf_like, tmp_path):
    path, _ = sleep_edf_like
    cut = tmp_path / "cut.edf"
    data = path.read_bytes()
    cut.write_bytes(data[: len(data) - 5000])
    with pytest.raises(InputFileError, match="truncated") as e:
        read_edf(cut)
    assert "number of data records" in str(e.value) and "cut.edf" in str(e.value)


def test_malformed_header_number_names_the_field(sleep_edf_like, tmp_path):
    path, _ = sleep_edf_like
    data = bytearray(path.read_bytes())
    data[236:244] = b"abc     "
    bad = tmp_path / "bad.edf"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputFileError, match="number of data records"):
        read_edf_info(bad)


def test_channel_kind_guesses():
    assert channel_kind("EEG Fpz-Cz") == "eeg"
    assert channel_kind("C3-A1") == "eeg"
    assert channel_kind("EOG1-A1") == "eog"
    assert channel_kind("ECG") == "ecg"
    assert channel_kind("SAO2") == "misc"


# ----------------------------------------------------------------- real file
@pytest.mark.data
def test_real_excerpt3_edf(dreams_dir):
    path = dreams_dir / "excerpt3.edf"
    if not path.exists():
        pytest.skip("excerpt3.edf absent")
    info = read_edf_info(path)
    names = info.names
    for expected in ("C3-A1", "O1-A1", "FP1-A1", "EOG1-A1", "EOG2-A1", "EMG1", "hypnogram"):
        assert expected in names
    assert info.duration == 1800
    rec = read_edf(path, channels=["C3-A1", "hypnogram"])
    assert rec.channel("C3-A1").fs == 50 and rec.channel("hypnogram").fs == 1
    c3 = rec.channel("C3-A1").data
    assert 10 < np.std(c3) < 40  # µV, as the MANIFEST describes
    # independent check: the text export of the same channel
    from dreamband.io.dreams import read_dreams_eeg

    txt = read_dreams_eeg(dreams_dir / "excerpt3.txt").channels[0].data
    np.testing.assert_allclose(c3[: txt.size], txt, atol=0.01)


@pytest.mark.filterwarnings("ignore:Channel names are not unique")
def test_duplicate_labels_get_mne_style_running_numbers(tmp_path):
    path = tmp_path / "dup.edf"
    stored = write_edf(path, [("EEG", 64, "uV"), ("EEG", 64, "uV"), ("ECG", 64, "uV")], 4, 1)
    assert read_edf_info(path).names == ["EEG-0", "EEG-1", "ECG"]
    rec = read_edf(path, channels=["EEG-1"])
    assert rec.names == ["EEG-1"]
    assert rec.channels[0].data.shape == stored["EEG"].shape


def test_channels_mne_would_treat_as_stim_are_scaled_like_any_other(tmp_path):
    path = tmp_path / "st.edf"
    stored = write_edf(path, [("Status", 64, "uV"), ("Trigger", 64, "mV")], 4, 1)
    rec = read_edf(path)
    np.testing.assert_allclose(rec.channel("Status").data, stored["Status"], rtol=1e-6)
    np.testing.assert_allclose(rec.channel("Trigger").data, stored["Trigger"] * 1e3, rtol=1e-6)
