"""``dreamband info``: summaries of every kind of input, bad input → one line and exit 2."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from test_io_edf import SLEEP_EDF_LAYOUT, write_edf
from test_io_sleepedf import SPANS, _manifest_rows, write_sleepedf_hypnogram

from dreamband.cli import main as cli
from dreamband.core import Hypnogram

# wfdb 4.x triggers pandas deprecation warnings in rdann (used directly below).
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(autouse=True)
def _info_registered(monkeypatch):
    if "info" not in cli.COMMANDS:
        monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, "info"))


def info_json(capsys, *args) -> dict:
    assert cli.main(["info", *map(str, args), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def fails(capsys, *args) -> str:
    code = cli.main(["info", *map(str, args)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("dreamband: error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_recording_lists_channels_with_rates(tmp_path, capsys):
    path = tmp_path / "night.edf"
    write_edf(path, SLEEP_EDF_LAYOUT)
    out = info_json(capsys, path)
    assert out["kind"] == "recording"
    assert [(c["name"], c["fs"]) for c in out["channels"]] == [
        (n, fs) for n, fs, _ in SLEEP_EDF_LAYOUT
    ]
    assert out["start_time"] == "1989-04-24 16:13:00" and out["duration_s"] == 120
    # the table form prints the same channel names and rates
    assert cli.main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "Temp rectal" in text and re.search(r"EEG Fpz-Cz.*100", text)


def test_sleep_edf_psg_is_checked_against_its_hypnogram(tmp_path, capsys):
    psg = tmp_path / "SC4001E0-PSG.edf"
    write_edf(psg, SLEEP_EDF_LAYOUT, seconds=300)
    write_sleepedf_hypnogram(tmp_path / "SC4001EC-Hypnogram.edf", SPANS)
    out = info_json(capsys, psg)
    hyp = out["hypnogram"]
    assert hyp["n_epochs"] == 10  # clipped to the 300-s PSG
    assert hyp["minutes"]["REM"] == 1.0


def test_hypnogram_not_matching_its_recording(tmp_path, capsys):
    psg = tmp_path / "SC4001E0-PSG.edf"
    write_edf(psg, SLEEP_EDF_LAYOUT, seconds=120)
    write_sleepedf_hypnogram(tmp_path / "SC4001EC-Hypnogram.edf", SPANS)
    err = fails(capsys, psg)
    assert "SC4001EC-Hypnogram.edf" in err and "does not match its recording" in err
    other = tmp_path / "scores.csv"
    from dreamband.io import write_hypnogram

    write_hypnogram(Hypnogram(np.zeros(20, dtype=np.int8)), other)
    err = fails(capsys, psg, "--hypnogram", other)
    assert "scores.csv" in err and "does not match its recording" in err


def test_hypnogram_minutes(tmp_path, capsys):
    from dreamband.io import write_hypnogram

    path = write_hypnogram(Hypnogram(np.array([0, 0, 1, 2, 2, 2, 4, -1])), tmp_path / "h.parquet")
    out = info_json(capsys, path)
    assert out["minutes"] == {"W": 1.0, "N1": 0.5, "N2": 1.5, "N3": 0.0, "REM": 0.5, "?": 0.5}
    assert out["total_minutes"] == 4.0 and out["n_epochs"] == 8
    assert cli.main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "8 epochs of 30 s" in text and "scored 3.5 min of 4.0 min" in text
    assert re.search(r"N2\W+1\.5\W+3\W", text) and re.search(r"total\W+4\.0\W+8\W", text)


def test_hypnogram_sleep_statistics(tmp_path, capsys):
    """The night's statistics as batch reports them: text lines, and JSON with None where a
    latency has no value; a whole-day hypnogram is described over its in-bed window."""
    from dreamband.io import write_hypnogram

    #            W  W  N1 N2 N2 W  N2 N3 REM REM W
    stages = np.array([0, 0, 1, 2, 2, 0, 2, 3, 4, 4, 0])
    path = write_hypnogram(Hypnogram(stages), tmp_path / "h.csv")
    st = info_json(capsys, path)["statistics"]
    assert (st["window_start_s"], st["window_end_s"]) == (0.0, 330.0)
    assert st["tst_min"] == 3.5 and st["sol_min"] == 1.0 and st["waso_min"] == 0.5
    assert st["rem_latency_min"] == 3.0 and st["awakenings"] == 1.0
    assert st["REM_pct"] == pytest.approx(100 * 1.0 / 3.5)
    assert cli.main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "TST 3.5 min, sleep efficiency 63.6 %, WASO 0.5 min" in text
    assert "sleep-onset latency 1.0 min, REM latency 3.0 min, 1 awakenings" in text
    assert "N3 0.5 min (14.3 %), REM 1.0 min (28.6 %)" in text

    no_rem = write_hypnogram(Hypnogram(np.array([0, 2, 2, 0])), tmp_path / "n.csv")
    assert info_json(capsys, no_rem)["statistics"]["rem_latency_min"] is None
    day = np.zeros(2 * 24 * 60, dtype=int)  # 24 h of wake around 2 h of N2
    day[1200:1440] = 2
    whole = write_hypnogram(Hypnogram(day), tmp_path / "day.csv")
    st = info_json(capsys, whole)["statistics"]
    assert (st["window_start_s"], st["window_end_s"]) == ((1200 - 60) * 30.0, (1440 + 60) * 30.0)
    assert st["tst_min"] == 120.0 and st["sol_min"] == 30.0


def test_missing_file(tmp_path, capsys):
    err = fails(capsys, tmp_path / "absent.edf")
    assert "absent.edf" in err and "no such file" in err


def test_not_an_edf(tmp_path, capsys):
    path = tmp_path / "fake.edf"
    path.write_text("hello\n" * 100)
    err = fails(capsys, path)
    assert "fake.edf" in err and "not an EDF file" in err and "version" in err


def test_truncated_edf(tmp_path, capsys):
    path = tmp_path / "cut.edf"
    write_edf(path, SLEEP_EDF_LAYOUT)
    path.write_bytes(path.read_bytes()[:-3000])
    err = fails(capsys, path)
    assert "cut.edf" in err and "truncated" in err and "number of data records" in err


def test_channel_not_there(tmp_path, capsys):
    path = tmp_path / "night.edf"
    write_edf(path, SLEEP_EDF_LAYOUT)
    err = fails(capsys, path, "--channels", "EEG C3-A2")
    assert "'EEG C3-A2' not found" in err and "EEG Fpz-Cz" in err


def test_unknown_name_is_neither_file_nor_dataset(capsys):
    err = fails(capsys, "no-such-dataset-xyz")
    assert "no-such-dataset-xyz" in err and "not a dataset name" in err


def test_dataset_status_through_the_registry(tmp_path, capsys, monkeypatch):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "toy.toml").write_text(
        'name = "toy"\ntitle = "Toy"\nversion = "1"\nlicence = "CC0"\n'
        'citations = ["none"]\nbase_url = "http://127.0.0.1:9/"\n'
        '[[records]]\nid = "r1"\nsubject = "s1"\nfiles = [{ path = "r1.edf" }]\n'
        '[[records]]\nid = "r2"\nsubject = "s1"\nfiles = [{ path = "r2.edf" }]\n'
    )
    monkeypatch.setenv("DREAMBAND_MANIFESTS", str(manifests))
    data = tmp_path / "data"
    (data / "toy").mkdir(parents=True)
    (data / "toy" / "r1.edf").write_bytes(b"x")
    from dreamband.cli import cmd_info

    out = cmd_info._dataset_summary("toy", str(data))
    assert (out["n_present"], out["n_missing"]) == (1, 1)
    assert out["records"][1]["missing_files"] == ["r2.edf"]
    assert cli.main(["info", "toy", "--data-dir", str(data)]) == 0
    assert "1 of 2 records present" in capsys.readouterr().out


# ----------------------------------------------------------------- real files
@pytest.mark.data
def test_info_on_every_sleep_edf_hypnogram_matches_the_manifest(sleep_edf_dir, real_data, capsys):
    rows = _manifest_rows(real_data)
    files = sorted(sleep_edf_dir.glob("*-Hypnogram.edf"))
    assert files
    for f in files:
        out = info_json(capsys, f)
        epochs = {k: round(v * 2) for k, v in out["minutes"].items()}
        assert epochs == rows[f.name]["counts"], f.name
        assert out["in_bed"]["n_epochs"] == rows[f.name]["in_bed"]


@pytest.mark.data
def test_info_on_dreams_files(dreams_dir, capsys):
    out = info_json(capsys, dreams_dir / "excerpt3.edf")
    fs = {c["name"]: c["fs"] for c in out["channels"]}
    assert fs["C3-A1"] == 50 and fs["EOG1-A1"] == 50 and fs["hypnogram"] == 1
    for n, rate in {1: 100, 2: 200, 3: 50, 4: 200, 7: 200}.items():
        out = info_json(capsys, dreams_dir / f"excerpt{n}.txt")
        assert out["channels"][0]["fs"] == rate
        hyp = info_json(capsys, dreams_dir / f"Hypnogram_excerpt{n}.txt")
        raw = np.loadtxt(dreams_dir / f"Hypnogram_excerpt{n}.txt", skiprows=1)
        assert hyp["n_epochs"] == 60
        assert hyp["minutes"]["W"] == np.count_nonzero(raw[3::6] == 5) / 2


@pytest.mark.data
def test_info_on_slpdb_records(slpdb_dir, capsys):
    import wfdb

    for hea in sorted(slpdb_dir.glob("*.hea")):
        if not (slpdb_dir / f"{hea.stem}.st").exists():
            continue
        out = info_json(capsys, hea)
        assert out["fs"] == 250
        ann = wfdb.rdann(str(slpdb_dir / hea.stem), "ecg")
        assert out["beats"]["n_beats"] <= len(ann.sample)
        st = wfdb.rdann(str(slpdb_dir / hea.stem), "st")
        n_wake = sum(a.replace("\x00", " ").split()[0] == "W" for a in st.aux_note)
        assert out["hypnogram"]["minutes"]["W"] == n_wake / 2
    assert cli.main(["info", str(hea)]) == 0  # the last record, as text
    text = capsys.readouterr().out
    assert f"WFDB record {hea.stem}" in text and "250 Hz" in text
    assert f"beats: {out['beats']['n_beats']} (" in text and "Stages minutes per stage" in text


@pytest.mark.data
def test_info_on_every_other_real_file(real_data, capsys):
    """Every data file of the shared folder gets a summary (no crash, exit 0)."""
    skip = {".md", ".shtml", ".xws", ".ecg", ".st", ".st-", ".hea-", ".ecg-", ""}
    seen = 0
    for f in sorted(real_data.rglob("*")):
        if (
            not f.is_file()
            or f.suffix in skip
            or "SHA256" in f.name
            or "LICENSE" in f.name.upper()
            or f.parent.name == "slpdb"
        ):
            continue
        out = info_json(capsys, f)
        assert out["kind"] in {"recording", "hypnogram", "spindles", "features", "wfdb"}, f
        seen += 1
    assert seen > 200


def test_text_recording_with_a_hypnogram(tmp_path, capsys):
    from dreamband.io import write_hypnogram

    eeg = tmp_path / "excerpt9.txt"
    eeg.write_text("[C3-A1]\n" + "0.5\n" * (1800 * 10))  # 10 Hz for 1800 s
    good = write_hypnogram(Hypnogram(np.full(60, 2, dtype=np.int8)), tmp_path / "good.csv")
    out = info_json(capsys, eeg, "--hypnogram", good)
    assert out["hypnogram"]["minutes"]["N2"] == 30.0
    long = write_hypnogram(Hypnogram(np.full(62, 2, dtype=np.int8)), tmp_path / "long.csv")
    err = fails(capsys, eeg, "--hypnogram", long)
    assert "long.csv" in err and "does not match its recording" in err
