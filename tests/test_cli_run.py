"""``dreamband run``: pipeline files are validated before anything starts."""

from __future__ import annotations

from pathlib import Path

from dreamband.cli.main import main
from dreamband.paths import pipelines_dir


def test_shipped_nightly_pipeline_is_valid(capsys) -> None:
    assert main(["run", "--check", str(pipelines_dir() / "nightly.toml")]) == 0
    assert "valid nightly pipeline" in capsys.readouterr().out


def test_unknown_kind_and_bad_key_are_refused_with_one_line(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text('kind = "party"\n')
    assert main(["run", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dreamband: error: ") and "key 'kind'" in err and "'nightly'" in err
    assert "\n" not in err

    bad.write_text('kind = "nightly"\ninputs = ["x"]\nout = "o"\nworkers = "two"\n')
    assert main(["run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "key 'workers'): expected an integer" in err


def test_nightly_pipeline_runs_a_batch(tmp_path: Path, capsys) -> None:
    import numpy as np

    from dreamband.core import Hypnogram
    from dreamband.io import write_hypnogram

    (tmp_path / "in").mkdir()
    stages = np.r_[np.zeros(10), np.full(100, 2), np.full(30, 4), np.zeros(10)].astype(int)
    write_hypnogram(Hypnogram(stages), tmp_path / "in" / "a.csv")
    pipe = tmp_path / "p.toml"
    pipe.write_text('kind = "nightly"\ninputs = ["in"]\nout = "res"\nworkers = 1\n')
    assert main(["run", "--quiet", str(pipe)]) == 0
    assert (tmp_path / "res" / "nights" / "night=a" / "part-0.parquet").is_file()
