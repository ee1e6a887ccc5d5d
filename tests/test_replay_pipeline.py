"""The ``replay`` and ``demo`` pipeline kinds: validated before anything starts."""

from __future__ import annotations

import json

import pytest

from dreamband.cli.main import main
from dreamband.paths import pipelines_dir


@pytest.mark.parametrize("name", ["replay.toml", "demo.toml"])
def test_shipped_pipelines_are_valid(name, capsys):
    assert main(["run", "--check", str(pipelines_dir() / name)]) == 0
    assert "valid" in capsys.readouterr().out


GOOD = """kind = "replay"
out = "session"
minutes = 1
[[participants]]
source = "virtual:generated:2"
name = "a"
loss = 0.01
disconnect_at = [20]
disconnect_for_s = 5
[[participants]]
source = "virtual:night.csv"
name = "b"
"""


def _night_csv(folder):
    from dreamband.io.hypnogram_files import write_csv_hypnogram
    from dreamband.replay.hypnogen import generate_hypnogram

    write_csv_hypnogram(generate_hypnogram(9, hours=1.0), folder / "night.csv")


def test_replay_pipeline_runs_with_inline_impairments(tmp_path, capsys):
    _night_csv(tmp_path)
    f = tmp_path / "replay.toml"
    f.write_text(GOOD)
    assert main(["run", "--quiet", str(f)]) == 0
    doc = json.loads((tmp_path / "session" / "replay.json").read_text())
    a, b = doc["participants"]
    assert a["drops"] == 1 and a["lost_packets"] > 0
    assert b["drops"] == 0 and b["lost_packets"] == 0
    assert doc["impairments"]["bands"][0][0] == "a"
    assert "replayed 0:01:00 of night" in capsys.readouterr().out


@pytest.mark.parametrize(("edit", "expect"), [
    (("minutes = 1", "minutes = 1\nspede = 3"), "key 'spede'"),
    (("minutes = 1", 'minutes = 1\nspeed = 60'), "key 'speed'"),
    (("minutes = 1", 'minutes = 1\nspeed = "fast"'), "key 'speed'"),
    (("minutes = 1", 'minutes = 1\nimpair = "nope.toml"'), "file or folder not found"),
    (("loss = 0.01", "loss = 1.5"), "key 'participants[0].loss'"),
    (("loss = 0.01", 'disconnect_every = [5, 10]'), "key 'participants[0].disconnect_every'"),
    (('name = "b"', 'name = "b"\ncolour = "red"'), "key 'participants[1].colour'"),
    (('source = "virtual:night.csv"', 'source = "missing.edf"'),
     "key 'participants[1].source'"),
    (('source = "virtual:generated:2"\n', ""), "key 'participants[0].source'"),
])
def test_replay_pipeline_errors_name_file_and_key(tmp_path, capsys, edit, expect):
    _night_csv(tmp_path)
    f = tmp_path / "replay.toml"
    f.write_text(GOOD.replace(*edit, 1))
    assert main(["run", str(f)]) == 2
    err = capsys.readouterr().err
    assert str(f) in err and expect in err
    assert not (tmp_path / "session").exists()  # nothing started


def test_demo_pipeline_errors_name_file_and_key(tmp_path, capsys):
    f = tmp_path / "demo.toml"
    f.write_text('kind = "demo"\nout = "s"\neeg = "three"\n')
    assert main(["run", str(f)]) == 2
    err = capsys.readouterr().err
    assert str(f) in err and "key 'eeg'" in err


def test_demo_pipeline_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DREAMBAND_DATA", raising=False)
    (tmp_path / "empty").mkdir()
    f = tmp_path / "demo.toml"
    f.write_text('kind = "demo"\nout = "s"\neeg = 1\nheart = 1\nminutes = 1\nstart_min = 0\n'
                 'data_dir = "empty"\nlive = false\n')
    assert main(["run", "--quiet", str(f)]) == 0
    assert (tmp_path / "s" / "replay.json").is_file()
    assert "generated" in capsys.readouterr().out
