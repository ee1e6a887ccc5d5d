"""``dreamband batch`` stages live session participants again from their raw streams."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pytest

from dreamband.batch.discover import discover_inputs
from dreamband.batch.restage import restage_participant
from dreamband.cli import main as cli
from dreamband.replay.impair import Impairments
from dreamband.replay.session import ReplayOptions, run_replay
from dreamband.replay.sources import resolve_source
from dreamband.staging.api import stage_recording


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> Path:
    """Ten minutes of two virtual Muse sleepers; one band drops for 70 s."""
    folder = tmp_path_factory.mktemp("restage") / "session"
    srcs = [resolve_source("virtual:generated:5", name="ann"),
            resolve_source("virtual:generated:6", name="bob")]
    impair = Impairments(bands=[("bob", {"disconnects": [(200.0, 70.0)]})])
    run_replay(srcs, options=ReplayOptions(speed="max", duration_s=600.0),
               session_dir=folder, impairments=impair)
    return folder


def _epochs(out: Path) -> dict:
    t = ds.dataset(out / "epochs", partitioning="hive").to_table().to_pandas()
    return {who: g.sort_values("onset_s") for who, g in t.groupby("participant")}


def test_raw_restaging_is_the_default_and_keeps_the_session_grid(session: Path,
                                                                 tmp_path: Path) -> None:
    assert cli.main(["batch", str(session), "--out", str(tmp_path / "raw"), "--quiet",
                     "--workers", "1"]) == 0
    assert cli.main(["batch", str(session), "--out", str(tmp_path / "live"), "--quiet",
                     "--workers", "1", "--session-stages", "live"]) == 0
    raw, live = _epochs(tmp_path / "raw"), _epochs(tmp_path / "live")
    nights = ds.dataset(tmp_path / "raw" / "nights", partitioning="hive").to_table()
    assert all("batch restaging" in s for s in nights.column("hypnogram_source").to_pylist())
    nights_live = ds.dataset(tmp_path / "live" / "nights", partitioning="hive").to_table()
    assert not any("batch restaging" in s
                   for s in nights_live.column("hypnogram_source").to_pylist())
    for who in ("ann", "bob"):
        r, lv = raw[who], live[who]
        common = np.intersect1d(r.onset_s.to_numpy(), lv.onset_s.to_numpy())
        assert common.size >= 19  # the same onsets on the session's host clock
        assert (r.start_time.iloc[0] - lv.start_time.iloc[0]).total_seconds() == pytest.approx(
            r.onset_s.iloc[0] - lv.onset_s.iloc[0])
    # bob's drop (200-270 s after the band started): epochs 6-8 unscored in both
    bob = raw["bob"].set_index(np.round(raw["bob"].onset_s.to_numpy() / 30).astype(int))
    assert (bob.loc[[7, 8], "stage_code"] == -1).all()
    assert (bob.drop(index=[6, 7, 8]).stage_code >= 0).all()


def test_a_session_without_raw_streams_keeps_its_live_stages(session: Path,
                                                             tmp_path: Path) -> None:
    copy = tmp_path / "noraw"
    shutil.copytree(session, copy)
    shutil.rmtree(copy / "raw")
    assert restage_participant(copy, "ann") is None
    assert cli.main(["batch", str(copy), "--out", str(tmp_path / "out"), "--quiet",
                     "--workers", "1"]) == 0
    nights = ds.dataset(tmp_path / "out" / "nights", partitioning="hive").to_table()
    assert nights.num_rows == 2
    assert not any("batch restaging" in s for s in nights.column("hypnogram_source").to_pylist())


def test_a_session_resumed_without_run_clocks_keeps_its_live_stages(session: Path,
                                                                    tmp_path: Path) -> None:
    """Each run of a resumed session keeps host times on its own clock; a resume entry
    without the run's origin and raw row counts (written before they were recorded) leaves
    the later rows unplaceable, so the live stages stay."""
    copy = tmp_path / "resumed"
    shutil.copytree(session, copy)
    meta = json.loads((copy / "session.json").read_text())
    meta["resumes"] = [{"wall_time": "2026-12-06T02:00:00", "first_epoch": 12,
                        "last_epoch_before": 9, "gap_s": 60.0}]
    (copy / "session.json").write_text(json.dumps(meta))
    assert restage_participant(copy, "ann") is None


def test_resume_marker_covers_the_participants_raw_files(session: Path) -> None:
    inputs = {i.participant: i for i in discover_inputs([str(session)])}
    meta = json.loads((session / "session.json").read_text())
    for who in ("ann", "bob"):
        files = inputs[who].files
        assert session / "session.json" in files
        (band,) = meta["participants"][who]["bands"]
        band_dir = band.replace(":", "_")
        assert any(band_dir in str(p) and p.name == "data.parquet" for p in files)
        other = meta["participants"]["bob" if who == "ann" else "ann"]["bands"][0]
        assert not any(other.replace(":", "_") in str(p) for p in files)


def test_real_eeg_replayed_then_restaged_beats_the_live_stages(dreams_dir: Path,
                                                               tmp_path: Path) -> None:
    """DREAMS excerpt 2 (real EEG) played as a Muse band with a 2-min drop: batch from the
    raw streams agrees with the expert far better than the live stages did."""
    import edfio

    from dreamband.evaluation.metrics import classification_report
    from dreamband.io.dreams import read_dreams_eeg, read_dreams_hypnogram

    c = read_dreams_eeg(dreams_dir / "excerpt2.txt").channels[0]
    edf = tmp_path / "excerpt2.edf"
    peak = float(np.ceil(np.abs(c.data).max() + 1))
    edfio.Edf([edfio.EdfSignal(np.asarray(c.data, float), c.fs, label="EEG " + c.name,
                               physical_dimension="uV", physical_range=(-peak, peak))],
              data_record_duration=1.0).write(edf)
    session = tmp_path / "s"
    run_replay([resolve_source(str(edf), name="ex2")], options=ReplayOptions(speed="max"),
               session_dir=session,
               impairments=Impairments(default={"disconnects": [(900.0, 120.0)]}))
    truth = read_dreams_hypnogram(dreams_dir / "Hypnogram_excerpt2.txt").stages
    direct = stage_recording(read_dreams_eeg(dreams_dir / "excerpt2.txt")).stages
    kappas, agree = {}, {}
    for mode in ("raw", "live"):
        out = tmp_path / mode
        assert cli.main(["batch", str(session), "--out", str(out), "--quiet", "--workers",
                         "1", "--session-stages", mode]) == 0
        t = _epochs(out)["ex2"]
        k = np.round(t.onset_s.to_numpy() / 30).astype(int)
        code = t.stage_code.to_numpy()
        ok = (k < truth.size) & (code >= 0)
        ok[ok] &= truth[k[ok]] >= 0
        kappas[mode] = classification_report(truth[k[ok]], code[ok], [0, 1, 2, 3, 4],
                                             ["W", "N1", "N2", "N3", "REM"])["kappa"]
        agree[mode] = float(np.mean(direct[k[ok]] == code[ok]))
    # through the band, the raw streams restaged give what staging the file gives
    assert agree["raw"] >= 0.9 and agree["raw"] > agree["live"], agree
    assert kappas["raw"] > kappas["live"], kappas


def test_chest_strap_is_restaged_from_its_rr_intervals(heart_models: Path, slpdb_dir: Path,
                                                       tmp_path: Path) -> None:
    """slp41's real beats played by a Heart Rate Service strap for an hour: batch restages
    them with the batch heart model and agrees with staging the record's beats directly."""
    from dreamband.io.slpdb import read_slpdb_beats
    from dreamband.staging.heart import stage_heart

    session = tmp_path / "s"
    run_replay([resolve_source(str(slpdb_dir / "slp41.hea"), name="hr")],
               options=ReplayOptions(speed="max", duration_s=3600.0), session_dir=session)
    got = restage_participant(session, "hr")
    assert got is not None
    hyp = got[0]
    assert hyp.scheme == "wearable" and "batch restaging" in hyp.source
    beats = read_slpdb_beats(slpdb_dir / "slp41.hea")
    first_hour = beats.times[beats.times < 3600.0]
    from dreamband.core.beats import BeatSeries

    direct = stage_heart(BeatSeries(first_hour)).stages
    n = min(direct.size, hyp.n_epochs) - 1
    both = (direct[:n] >= 0) & (hyp.stages[:n] >= 0)
    assert both.sum() >= 100
    assert np.mean(direct[:n][both] == hyp.stages[:n][both]) >= 0.85


def test_beat_times_rebuilt_from_intervals_not_notification_times() -> None:
    """A strap notifies about once a second with the intervals since the last notification;
    the beats come back from the intervals, restarting after a lost notification."""
    from dreamband.storage.raw_signals import beat_times

    rng = np.random.default_rng(3)
    beats = np.cumsum(rng.uniform(0.7, 1.1, 400))
    rr = np.diff(beats)
    closes = beats[1:]
    notify = np.ceil(closes) + rng.uniform(0.0, 0.05, closes.size)  # sent after each second
    host = np.maximum.accumulate(notify)
    lost = (closes > 100.0) & (closes < 102.0)  # one lost notification around 101 s
    got = beat_times(host[~lost], rr[~lost])
    err = got - closes[~lost]
    assert np.all(got <= host[~lost] + 1e-12)  # never after the notification
    # within the notifications' own jitter (50 ms); their times alone are up to 1 s off
    assert np.max(np.abs(err)) < 0.05
    assert np.max(np.abs(host[~lost] - closes[~lost])) > 0.9
    # the intervals are kept exactly, except the one spanning the lost notification
    d = np.diff(got)
    assert np.sum(np.abs(d - rr[~lost][1:]) > 1e-9) == 1
