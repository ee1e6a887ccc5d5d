"""``dreamband demo`` and ``dreamband replay`` from the command line (short smoke runs)."""

from __future__ import annotations

import json
import time

import pytest

from dreamband.cli.main import main


def test_demo_smoke_runs_in_seconds_with_the_data_folder(tmp_path, real_data, capsys):
    out = tmp_path / "session"
    t = time.perf_counter()
    code = main(["demo", "--minutes", "1.5", "--start-min", "0", "--out", str(out),
                 "--data-dir", str(real_data), "--no-live"])
    wall = time.perf_counter() - t
    text = capsys.readouterr().out
    assert code == 0
    assert wall < 30
    assert f"data folder: {real_data}" in text
    assert "heart-rate bands: 3 real slpdb" in text
    doc = json.loads((out / "replay.json").read_text())
    assert len(doc["participants"]) == 6
    kinds = [p["kind"] for p in doc["participants"]]
    assert kinds.count("eeg") == 3 and kinds.count("heart") == 3
    for p in doc["participants"]:
        assert ("SIMULATED" in p["label"]) == p["simulated"]
        assert p["events"].get("stage", 0) >= 2  # 1.5 min = 3 epochs, the last may be partial
        assert p["gaps"] == 0  # no impairment: nothing lost, no queue overflow at max speed
    assert (out / "summary.json").is_file()  # the engine's clean close
    assert "replayed 0:01:30 of night" in text


def _demo_without_data(tmp_path, monkeypatch) -> tuple[int, dict]:
    monkeypatch.delenv("DREAMBAND_DATA", raising=False)
    empty = tmp_path / "no-data"
    empty.mkdir()
    code = main(["demo", "--minutes", "1", "--start-min", "0", "--eeg", "1", "--heart", "1",
                 "--out", str(tmp_path / "s"), "--data-dir", str(empty), "--quiet"])
    doc = json.loads((tmp_path / "s" / "replay.json").read_text())
    return code, doc


def test_demo_on_a_fresh_machine_replaces_heart_bands_and_says_why(tmp_path, capsys,
                                                                   monkeypatch):
    """No data and no trained heart model (none ships): EEG bands only, and a note."""
    monkeypatch.setenv("DREAMBAND_MODELS", str(tmp_path / "models"))
    code, doc = _demo_without_data(tmp_path, monkeypatch)
    text = capsys.readouterr().out
    assert code == 0
    assert "SIMULATED virtual sleepers driven by built-in generated nights" in text
    assert "heart-rate bands: none, 1 more EEG bands instead" in text
    assert "dreamband fetch slpdb" in text
    assert [p["kind"] for p in doc["participants"]] == ["eeg", "eeg"]
    assert all(p["simulated"] for p in doc["participants"])
    assert not (tmp_path / "models").exists()  # nothing was trained


def test_demo_without_data_but_a_trained_heart_model_uses_simulated_beats(
        tmp_path, capsys, monkeypatch, heart_models):
    from dreamband.staging.heart_store import ensure_heart_model

    ensure_heart_model("rr", live=True)  # trained from slpdb before the data goes away
    code, doc = _demo_without_data(tmp_path, monkeypatch)
    text = capsys.readouterr().out
    assert code == 0
    assert "SIMULATED beat series" in text
    assert sorted(p["kind"] for p in doc["participants"]) == ["eeg", "heart"]
    assert all(p["simulated"] for p in doc["participants"])


def test_replay_cli_with_impairment_file_marks_gaps(tmp_path, capsys):
    impair = tmp_path / "impair.toml"
    impair.write_text('[default]\nloss = 0.02\n[band."gen*"]\ndisconnects = [[20, 10]]\n')
    code = main(["replay", "virtual:generated:3", "--minutes", "1", "--impair", str(impair),
                 "--out", str(tmp_path / "s"), "--quiet", "--speed", "max"])
    text = capsys.readouterr().out
    assert code == 0
    doc = json.loads((tmp_path / "s" / "replay.json").read_text())
    (p,) = doc["participants"]
    assert p["drops"] == 1 and p["gap_reasons"].get("loss", 0) > 0
    assert "disconnect" in p["gap_reasons"]
    assert "SIM" in text


@pytest.mark.parametrize(("body", "expect"), [
    ("[default]\nloss = 2\n", "key 'default.loss'"),
    ("[default]\njiter_s = 0.1\n", "did you mean 'jitter_s'"),
    ('[band.a]\ndisconnects = [[1, 2, 3]]\n', "key 'band.a.disconnects[0]'"),
    ('[band.a]\ndisconnect_every = [10, 20]\n', "period must exceed"),
    ("[defaults]\n", "key 'defaults'"),
    ("[default\n", "not valid TOML"),
])
def test_replay_cli_rejects_bad_impairment_files(tmp_path, capsys, body, expect):
    impair = tmp_path / "impair.toml"
    impair.write_text(body)
    code = main(["replay", "virtual:generated:1", "--impair", str(impair), "--out",
                 str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 2
    assert str(impair) in err and expect in err
    assert not (tmp_path / "s").exists()  # refused before anything started


def test_replay_cli_rejects_bad_speed_and_missing_sources(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["replay", "virtual:generated:1", "--speed", "fast", "--out", str(tmp_path)])
    assert main(["replay", str(tmp_path / "missing.edf"), "--out", str(tmp_path / "s")]) == 2
    assert "missing.edf" in capsys.readouterr().err


def test_window_members_shows_who_handed_over():
    from dreamband.replay.console import window_members

    assert window_members({"members": ["a", "b"], "involved": ["a", "b"]}) == "a, b"
    # a and b hand over to c: nobody is in REM throughout, yet k are at every epoch
    assert window_members({"members": [], "involved": ["a", "b", "c"]}) == (
        "a (part), b (part), c (part)")
    assert window_members({"members": ["b"], "involved": ["a", "b"]}) == "a (part), b"
    assert window_members({"members": ["x"]}) == "x"  # older summaries without "involved"
