"""``dreamband export``: raw band streams -> EDF+ (gaps under BAD_ACQ_SKIP) and heart CSV."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dreamband.cli import main as cli
from dreamband.errors import InputFileError
from dreamband.io.edf import read_edf
from dreamband.io.rr_csv import read_hr_csv, read_rr_csv
from dreamband.replay.hypnogen import generate_hypnogram
from dreamband.replay.impair import Impairments
from dreamband.replay.session import ReplayOptions, run_replay
from dreamband.replay.sources import resolve_source, sleeper_heart_source
from dreamband.staging.api import stage_recording
from dreamband.storage.export import export_session
from dreamband.storage.raw import read_gaps, read_stream
from dreamband.storage.raw_signals import _place_samples


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> Path:
    """Six minutes of two Muse bands (lossy; ann's drops for 40 s)."""
    folder = tmp_path_factory.mktemp("export") / "session"
    srcs = [resolve_source("virtual:generated:4", name="ann"),
            resolve_source("virtual:generated:8", name="bob")]
    impair = Impairments(default={"loss": 0.01},
                         bands=[("ann", {"disconnects": [(100.0, 40.0)]})])
    run_replay(srcs, options=ReplayOptions(speed="max", duration_s=360.0),
               session_dir=folder, impairments=impair)
    return folder


@pytest.fixture(scope="module")
def heart_session(heart_models, tmp_path_factory) -> Path:
    """Six minutes of a heart-rate strap (its live stager needs the heart models)."""
    folder = tmp_path_factory.mktemp("export-heart") / "session"
    heart = sleeper_heart_source(generate_hypnogram(7, hours=1.0), "cat", "virtual", 7, "t")
    run_replay([heart], options=ReplayOptions(speed="max", duration_s=360.0),
               session_dir=folder)
    return folder


def _band(folder: Path, who: str) -> str:
    meta = json.loads((folder / "session.json").read_text())
    (band,) = meta["participants"][who]["bands"]
    return band


def test_session_records_which_band_is_whose(session: Path) -> None:
    assert _band(session, "ann") != _band(session, "bob")


def test_eeg_edf_holds_every_sample_at_its_place_and_marks_the_gaps(
    session: Path, tmp_path: Path
) -> None:
    files = {(f.participant, f.stream): f for f in export_session(session, tmp_path)}
    assert set(files) == {("ann", "eeg"), ("bob", "eeg")}
    f = files["ann", "eeg"]
    assert f.path.name == "ann-eeg.edf" and f.eeg == "EEG TP9"
    rec = read_edf(f.path)
    assert [c.name for c in rec.channels] == ["EEG TP9", "EEG AF7", "EOG AF8", "EMG TP10"]
    raw = read_stream(session / "raw", _band(session, "ann"), "eeg")
    origin = json.loads((session / "session.json").read_text())["origin"]
    idx = raw.column("index").to_numpy()
    host = raw.column("host_time").to_numpy()
    tp9 = rec.channel("EEG TP9").data
    assert np.isfinite(tp9).sum() == idx.size == f.n_values
    # a sample sits where its host time says, to within a sample (clock mapping jitter)
    pos = np.flatnonzero(np.isfinite(tp9))
    assert np.max(np.abs(pos / 256.0 - (host - origin))) < 1.5 / 256
    # values survive 16-bit EDF within its resolution
    x = raw.column("ch_TP9").to_numpy()
    step = (x.max() - x.min()) * 1.03 / 65535
    np.testing.assert_allclose(tp9[pos], x, atol=step)
    # the drop and the lost packets are gaps; the 40-s drop is one of them
    gaps = rec.meta["gaps"]
    assert len(gaps) == f.gaps >= 3
    recorded = read_gaps(session / "raw", _band(session, "ann")).to_pylist()
    drop = [g for g in recorded if g["reason"] == "disconnect"]
    assert drop and any(abs(a - (drop[0]["start_time"] - origin)) < 0.1 and b - a > 39
                        for a, b in gaps)


def test_exported_edf_is_staged_on_the_session_grid(session: Path, tmp_path: Path) -> None:
    (f,) = export_session(session, tmp_path, participants=["ann"])
    hyp = stage_recording(read_edf(f.path), eeg=f.eeg)
    assert hyp.n_epochs == 12  # 360 s from the grid origin
    gap = hyp.meta["gap_epochs"]
    assert gap[3] and gap[4]  # 100-140 s after the band started: the drop
    assert (hyp.stages[~gap] >= 0).all() and (hyp.stages[gap] == -1).all()


def test_mne_reads_the_export_and_its_skip_annotations(session: Path, tmp_path: Path) -> None:
    import mne

    (f,) = export_session(session, tmp_path, participants=["ann"])
    raw = mne.io.read_raw_edf(f.path, verbose="error")
    assert raw.info["sfreq"] == 256.0
    skips = [a for a in raw.annotations if a["description"] == "BAD_ACQ_SKIP"]
    assert len(skips) == f.gaps and max(a["duration"] for a in skips) > 39


def test_heart_csvs_read_back_with_dreamband_readers(heart_session: Path,
                                                    tmp_path: Path) -> None:
    files = {f.stream: f for f in export_session(heart_session, tmp_path)}
    assert set(files) == {"rr", "hr"} and files["rr"].path.name == "cat-rr.csv"
    rr = read_rr_csv(files["rr"].path)
    raw = read_stream(heart_session / "raw", _band(heart_session, "cat"), "rr")
    v = raw.column("ch_rr").to_numpy() * 1000
    ok = (v >= 200) & (v <= 3000)
    assert rr.times.size - 1 == files["rr"].n_values == ok.sum()  # + the first beat
    assert files["rr"].dropped == (~ok).sum()
    hr = read_hr_csv(files["hr"].path)
    assert hr.hr.min() >= 20 and len(hr) == files["hr"].n_values


def test_cli_export_and_refusals(session: Path, tmp_path: Path, capsys) -> None:
    assert cli.main(["export", str(session), "--out", str(tmp_path / "x"),
                     "--participant", "ann"]) == 0
    err = capsys.readouterr().err
    assert "ann-eeg.edf" in err and "marked BAD_ACQ_SKIP" in err
    assert "dreamband stage" in err and "--eeg 'EEG TP9'" in err
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["ann-eeg.edf"]
    assert cli.main(["export", str(session), "--out", str(tmp_path / "y"),
                     "--participant", "carol"]) == 2
    assert "no raw streams of participant(s) ['carol']" in capsys.readouterr().err
    with pytest.raises(InputFileError, match="holds no raw band streams"):
        export_session(tmp_path / "x", tmp_path / "z")


def test_place_samples_keeps_counter_spacing_and_never_overlaps() -> None:
    idx = np.array([0, 1, 2, 3, 10, 11, 12, 50, 51])
    host = np.array([0.0, 0.01, 0.02, 0.03, 0.10, 0.11, 0.12, 0.45, 0.46]) + 5.0
    pos, n = _place_samples(idx, host, 5.0, 100.0)
    assert pos.tolist() == [0, 1, 2, 3, 10, 11, 12, 45, 46] and n == 47
    # a stretch whose host time falls inside the previous one starts after it
    pos, n = _place_samples(np.array([0, 1, 2, 7, 8]), np.array([0, 0.01, 0.02, 0.015, 0.025]),
                            0.0, 100.0)
    assert pos.tolist() == [0, 1, 2, 3, 4] and n == 5


def test_record_folder_without_session_is_exported_by_band(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    assert cli.main(["record", "--virtual", "2", "--speed", "max", "--duration", "20",
                     "--out", str(out), "--no-status"]) == 0
    files = export_session(out, tmp_path / "x")
    assert files and all(f.participant.startswith("0B_") for f in files)
    edfs = [f for f in files if f.path.suffix == ".edf"]
    assert edfs
    for f in edfs:
        rec = read_edf(f.path)
        assert np.isfinite(rec.channels[0].data).sum() == f.n_values
