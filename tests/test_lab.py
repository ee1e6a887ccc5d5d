"""Lab runs: participants, profiles -> live participants, the run through bleak's virtual
backend (drops, reconnects, gaps, Ctrl-C), the CLI and the pipeline file.

The bands are virtual (no radio here) but reached through real ``BleakClient`` calls; the
sleepers are SIMULATED: plumbing only, no accuracy is read from these tests.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dreamband.cli.main import main
from dreamband.lab import (
    LabError,
    LabOptions,
    LabParticipant,
    engine_participant,
    parse_participant,
    run_lab,
)
from dreamband.replay.hypnogen import generate_hypnogram
from dreamband.replay.sources import sleeper_heart_source, sleeper_source
from firmware_bridge.timebase import SimulatedTime
from firmware_bridge.virtual import (
    LinkConfig,
    VirtualBleakClient,
    VirtualBleakScanner,
    VirtualWorld,
)


# ----------------------------------------------------------------------------- participants
def test_participants_parse_addresses_names_and_profiles() -> None:
    p = parse_participant("alice=00:11:22:33:44:55")
    assert (p.name, p.target, p.profile) == ("alice", "00:11:22:33:44:55", None)
    p = parse_participant("bob=Polar H10 1A2B3C4D:polar_h10")
    assert (p.target, p.profile) == ("Polar H10 1A2B3C4D", "polar_h10")
    p = parse_participant("carol=00:11:22:33:44:66:muse")
    assert (p.target, p.profile) == ("00:11:22:33:44:66", "muse")
    # a trailing word that is not a profile stays part of the name
    assert parse_participant("dan=Band:XY").target == "Band:XY"
    with pytest.raises(ValueError, match="expected NAME=ADDRESS"):
        parse_participant("00:11:22:33:44:55")
    with pytest.raises(ValueError, match="participant name 'a b'"):
        parse_participant("a b=00:11:22:33:44:55")
    with pytest.raises(ValueError, match="empty band address"):
        parse_participant("eve=")
    with pytest.raises(ValueError, match="unknown profile 'fitbit'"):
        LabParticipant("eve", "x", profile="fitbit")


def test_profiles_become_eeg_or_heart_participants() -> None:
    who = LabParticipant("a", "x")
    muse = engine_participant("muse", who)
    assert muse["kind"] == "eeg" and muse["channels"] == ("TP9", "AF7", "AF8", "TP10")
    assert muse["fs"] == 256
    assert engine_participant("ganglion", who)["kind"] == "eeg"
    assert engine_participant("heart_rate", who) | {} == {
        "name": "a", "kind": "heart", "channels": ("rr",), "fs": None, "stream": "rr"}
    assert engine_participant("polar_h10", who)["stream"] == "rr"
    ecg = engine_participant("polar_h10", LabParticipant("a", "x", stream="ecg"))
    assert ecg["stream"] == "ecg" and ecg["fs"] and ecg["channels"] == ("ECG",)
    with pytest.raises(ValueError, match=r"participant 'a': band 'x' \(heart_rate\) has no "
                                         r"stream 'ecg'; it sends hr, rr"):
        engine_participant("heart_rate", LabParticipant("a", "x", stream="ecg"))


# ----------------------------------------------------------------------------- runs
def _world(disconnect_hr: list[tuple[float, float]] | None = None):
    world = VirtualWorld(SimulatedTime())
    eeg = sleeper_source(generate_hypnogram(1, hours=1.0), "alice", "v", 1, "t")
    hr = sleeper_heart_source(generate_hypnogram(2, hours=1.0), "bob", "v", 2, "t")
    d_eeg = world.add_band("muse", source=eeg.make_signal(0.0), link=LinkConfig(seed=1))
    d_hr = world.add_band("heart_rate", source=hr.make_signal(0.0),
                          link=LinkConfig(seed=2, disconnects=disconnect_hr or []))
    people = [LabParticipant("alice", d_eeg.address, None, eeg=eeg.eeg, eog=eeg.eog,
                             emg=eeg.emg),
              LabParticipant("bob", d_hr.name)]  # by advertised name, profile from the band
    options = {"backend": VirtualBleakClient, "scanner_backend": VirtualBleakScanner,
               "backend_kwargs": {"world": world}, "backoff": (0.5, 2.0),
               "scan_timeout": 5.0}
    return world, people, options


@pytest.mark.usefixtures("heart_models")
def test_a_lab_run_stages_both_bands_marks_the_drop_and_records_wall_clock(tmp_path) -> None:
    world, people, band_options = _world(disconnect_hr=[(300.0, 60.0)])
    updates: list[dict] = []
    out = tmp_path / "night"
    before = datetime.now().astimezone()
    result = asyncio.run(run_lab(people, session_dir=out,
                                 options=LabOptions(duration_s=900, k=1, refresh_s=60),
                                 band_options=band_options, timebase=world.timebase,
                                 on_update=updates.append))
    assert before <= result.wall_origin <= datetime.now().astimezone()
    bands = result.bands
    assert bands["alice"]["profile"] == "muse" and bands["bob"]["profile"] == "heart_rate"
    assert bands["bob"]["reconnects"] >= 1 and bands["alice"]["reconnects"] == 0
    parts = result.engine_summary["participants"]
    assert parts["alice"]["kind"] == "eeg" and parts["bob"]["kind"] == "heart"
    assert parts["alice"]["n_scored"] >= 28  # 30 epochs in 15 min, the last may be partial
    # the minute without link: a gap event, and epochs without signal are not scored
    events = pq.read_table(out / "events.parquet").to_pylist()
    gaps = [e for e in events if e["kind"] == "gap" and e["participant"] == "bob"]
    assert gaps and any(json.loads(e["data"])["reason"] == "disconnect" for e in gaps)
    epochs = pq.read_table(out / "epochs.parquet").to_pylist()
    bob = {e["epoch"]: e for e in epochs if e["participant"] == "bob"}
    assert not bob[11]["scored"]  # 330-360 s: inside the drop
    assert bob[5]["scored"] and bob[25]["scored"]
    meta = json.loads((out / "session.json").read_text())
    assert datetime.fromisoformat(meta["wall_origin"]) == result.wall_origin
    lab = json.loads((out / "lab.json").read_text())
    assert lab["bands"]["bob"]["reconnects"] == bands["bob"]["reconnects"]
    assert (out / "summary.json").exists()
    assert updates[-1]["final"] and updates[0]["bands"]["alice"]["profile"] == "muse"

    # batch places the session's epochs on the recorded wall clock, not a synthetic date
    from dreamband.batch.night import read_session_participant

    hyp = read_session_participant(out / "epochs.parquet", "alice")
    assert hyp.start_time == result.wall_origin.replace(tzinfo=None)


def test_a_band_that_never_answers_stops_the_start_with_a_line_naming_it(tmp_path) -> None:
    world, people, band_options = _world()
    ghost = LabParticipant("carol", "0B:00:00:00:99:99")  # no such band, no profile
    with pytest.raises(LabError, match=r"participant 'carol': band '0B:00:00:00:99:99' did not "
                                       r"connect within 30 s .*carol=0B:00:00:00:99:99:PROFILE"):
        asyncio.run(run_lab([*people, ghost], session_dir=tmp_path / "s",
                            options=LabOptions(duration_s=60, connect_timeout=30),
                            band_options=band_options, timebase=world.timebase))
    assert not (tmp_path / "s" / "session.json").exists()  # nothing started
    with pytest.raises(LabError, match="participant 'dan': band 'Nobody'"):
        asyncio.run(run_lab([LabParticipant("dan", "Nobody", "heart_rate")], session_dir=None,
                            options=LabOptions(duration_s=60), band_options=band_options,
                            timebase=world.timebase))
    with pytest.raises(LabError, match="names must be unique"):
        asyncio.run(run_lab([people[0], people[0]], session_dir=None,
                            band_options=band_options, timebase=world.timebase))


class _NoBluetoothScanner(VirtualBleakScanner):
    """A scanner on a Linux machine without BlueZ: D-Bus's socket file is missing."""

    async def start(self) -> None:
        raise FileNotFoundError(2, "No such file or directory")


def test_a_band_by_name_without_a_bluetooth_service_says_so(tmp_path) -> None:
    world, _, band_options = _world()
    band_options = {**band_options, "scanner_backend": _NoBluetoothScanner}
    with pytest.raises(LabError, match=r"participant 'eve': band 'SomeStrap': no Bluetooth "
                                       r"service reachable \(Linux: BlueZ over D-Bus\)"):
        asyncio.run(run_lab([LabParticipant("eve", "SomeStrap", "heart_rate")], session_dir=None,
                            options=LabOptions(duration_s=60), band_options=band_options,
                            timebase=world.timebase))


@pytest.mark.usefixtures("heart_models")
def test_a_band_with_a_known_profile_may_join_late(tmp_path) -> None:
    world, people, band_options = _world()
    dev = world.add_band("heart_rate", link=LinkConfig(disconnects=[(0.0, 240.0)]))
    late = LabParticipant("dora", dev.address, "heart_rate")
    result = asyncio.run(run_lab([*people, late], session_dir=tmp_path / "s",
                                 options=LabOptions(duration_s=600, connect_timeout=5),
                                 band_options=band_options, timebase=world.timebase))
    dora = result.engine_summary["participants"]["dora"]
    assert result.bands["dora"]["ever_connected"] and dora["n_scored"] >= 9
    epochs = pq.read_table(tmp_path / "s" / "epochs.parquet").to_pylist()
    first = min(e["epoch"] for e in epochs if e["participant"] == "dora")
    assert 7 <= first <= 9  # out of range for the first 4 minutes: absent until then


@pytest.mark.usefixtures("heart_models")
def test_cancelling_a_lab_run_closes_the_session_cleanly(tmp_path) -> None:
    world, people, band_options = _world()
    out = tmp_path / "s"

    async def go() -> None:
        task = asyncio.ensure_future(run_lab(people, session_dir=out,
                                             band_options=band_options,
                                             timebase=world.timebase))
        await world.timebase.sleep(300)
        task.cancel()  # what Ctrl-C does to asyncio.run's main task
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())
    assert (out / "summary.json").exists() and (out / "epochs.parquet").exists()
    assert not list(out.glob("epochs/seg-*.arrows"))  # compacted
    assert pq.read_table(out / "epochs.parquet").num_rows >= 2 * 9


# ----------------------------------------------------------------------------- CLI, pipeline
def test_cli_lab_virtual_runs_and_bad_arguments_are_one_line(tmp_path, capsys,
                                                             heart_models) -> None:
    assert main(["lab", "--virtual", "2", "--speed", "max", "--minutes", "10",
                 "--out", str(tmp_path / "s"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "sleeper1: muse" in out and "sleeper2: heart_rate" in out
    assert "group REM windows:" in out
    assert main(["lab", "--out", str(tmp_path / "t")]) == 2
    assert "give NAME=ADDRESS_OR_NAME" in capsys.readouterr().err
    assert main(["lab", "x=AA:BB", "--minutes", "-1", "--out", str(tmp_path / "t")]) == 2
    assert "--minutes must be > 0" in capsys.readouterr().err


def test_lab_pipeline_file_is_validated_before_anything_starts(tmp_path: Path, capsys) -> None:
    from dreamband.paths import pipelines_dir

    shipped = pipelines_dir() / "lab.toml"
    assert main(["run", str(shipped), "--check"]) == 0
    bad = tmp_path / "lab.toml"
    bad.write_text('kind = "lab"\nout = "s"\n[[participants]]\nname = "a"\nband = "x"\n'
                   'profile = "fitbit"\n')
    assert main(["run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "lab.toml" in err and "profile" in err and "fitbit" in err


def test_lab_pipeline_file_reaches_the_lab_run_as_written(tmp_path: Path, monkeypatch) -> None:
    import dreamband.lab.console as console
    from dreamband.lab.run import LabError

    seen: dict = {}

    def fake_run(people, out, options, band_options, timebase, live, quiet, events, stages):
        seen.update(people=people, out=out, options=options, live=live, events=events,
                    stages=stages)
        raise LabError("band 'b' did not connect")

    monkeypatch.setattr(console, "run_and_show", fake_run)
    pipe = tmp_path / "lab.toml"
    pipe.write_text(
        'kind = "lab"\nout = "night"\nminutes = 90\nk = 2\nmin_window_min = 2.5\n'
        'epoch_s = 30\nheart_lag = 40\nlive = false\nevents = "ev.jsonl"\n'
        'stage_events = false\n'
        '[[participants]]\nname = "a"\nband = "AA:BB"\nprofile = "muse"\neeg = "TP9"\n'
        '[[participants]]\nname = "b"\nband = "Polar H10 1"\nprofile = "polar_h10"\n'
        'stream = "ecg"\n'
    )
    assert main(["run", "--quiet", str(pipe)]) == 2  # the lab's own error, one line
    o = seen["options"]
    assert (o.duration_s, o.k, o.min_epochs, o.heart_lag) == (5400.0, 2, 5, 40)
    assert seen["out"] == tmp_path / "night" and seen["events"] == str(tmp_path / "ev.jsonl")
    assert seen["live"] is False and seen["stages"] is False
    a, b = seen["people"]
    assert (a.name, a.target, a.profile, a.eeg) == ("a", "AA:BB", "muse", "TP9")
    assert (b.profile, b.stream) == ("polar_h10", "ecg")


def test_lab_view_shows_links_stages_and_the_group() -> None:
    from rich.console import Console

    from dreamband.lab.view import lab_line, render_lab

    state = {
        "elapsed_s": 3725.0, "wall_origin": datetime(2026, 1, 1, 23, 5), "final": False,
        "bands": {"alice": {"profile": "muse", "connected": True, "reconnects": 0,
                            "battery": 81},
                  "bob": {"profile": "heart_rate", "connected": False, "reconnects": 2,
                          "battery": None}},
        "snapshot": {"participants": {"alice": {"stage": "REM", "p_rem": 0.9, "quality": 1.0,
                                                "gaps": 0, "n_epochs": 124},
                                      "bob": {"stage": "UNSCORED", "p_rem": None,
                                              "quality": 0.0, "gaps": 3, "n_epochs": 124}},
                     "group": {"in_rem": ["alice"], "k": 2, "open_since_s": None,
                               "n_windows": 1}},
    }
    console = Console(record=True, width=120)
    console.print(render_lab(state))
    text = console.export_text()
    assert "started 2026-01-01 23:05" in text and "elapsed 1:02:05" in text
    assert "81%" in text and "down ↻2" in text and "0.90" in text
    assert "1 in REM (need 2): alice; windows so far: 1" in text
    line = lab_line(state)
    assert line.startswith("[lab 1:02:05]") and "bob DOWN ? p(REM)=- q=0.00 gaps=3" in line


@pytest.mark.usefixtures("heart_models")
def test_events_are_written_as_json_lines_with_wall_clock_times(tmp_path) -> None:
    world, people, band_options = _world(disconnect_hr=[(300.0, 60.0)])
    out, log = tmp_path / "s", tmp_path / "events.jsonl"
    result = asyncio.run(run_lab(people, session_dir=out, options=LabOptions(duration_s=600),
                                 band_options=band_options, timebase=world.timebase,
                                 events_out=log, event_stages=False))
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    kinds = {x["kind"] for x in lines}
    assert "stage" not in kinds and {"gap", "forecast"} <= kinds
    stored = [e for e in pq.read_table(out / "events.parquet").to_pylist()
              if e["kind"] != "stage"]
    assert len(lines) == len(stored)  # the same events as the session folder
    gap = next(x for x in lines if x["kind"] == "gap")
    t = datetime.fromisoformat(gap["time"])
    assert 295 <= (t - result.wall_origin).total_seconds() <= 370  # the drop at 300 s
    assert gap["participant"] == "bob" and gap["data"]["reason"] == "disconnect"


def test_a_reader_that_goes_away_stops_the_event_log_not_the_session(tmp_path) -> None:
    from dreamband.live.engine import Event
    from dreamband.live.eventlog import JsonlEvents

    log = JsonlEvents(tmp_path / "e.jsonl", stages=True)

    class Gone:
        def write(self, _text: str) -> None:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            pass

    ev = Event("rem_start", "alice", 3, 90.0, 0.001, {"p_rem": 0.9})
    log([ev])
    log._out.close()
    log._out = Gone()
    log([ev])  # no exception: the log stops
    log([ev])
    assert log.n_written == 1 and log._out is None
    assert json.loads((tmp_path / "e.jsonl").read_text())["data"] == {"p_rem": 0.9}


@pytest.mark.parametrize("stream", ["ecg", None])
@pytest.mark.usefixtures("heart_models")
def test_a_polar_strap_is_staged_from_its_raw_ecg_or_its_rr_intervals(tmp_path, stream) -> None:
    world = VirtualWorld(SimulatedTime())
    dev = world.add_band("polar_h10", link=LinkConfig(seed=3))
    band_options = {"backend": VirtualBleakClient, "scanner_backend": VirtualBleakScanner,
                    "backend_kwargs": {"world": world}}
    out = tmp_path / "s"
    result = asyncio.run(run_lab([LabParticipant("p", dev.address, stream=stream)],
                                 session_dir=out, options=LabOptions(duration_s=600),
                                 band_options=band_options, timebase=world.timebase))
    assert result.bands["p"]["profile"] == "polar_h10"  # read from the band's services
    assert result.engine_summary["participants"]["p"]["n_scored"] >= 18
    roles = json.loads((out / "session.json").read_text())["participants"]["p"]["roles"]
    assert roles == {"heart": stream or "rr"}


def test_cli_lab_says_which_bands_never_connected(tmp_path, capsys, monkeypatch) -> None:
    import dreamband.lab.console as console
    from dreamband.lab.run import LabResult

    def fake(people, out, *args, **kwargs):
        bands = {"a": {"target": "AA", "profile": "heart_rate", "address": "AA",
                       "ever_connected": True},
                 "b": {"target": "BB", "profile": "heart_rate", "address": "BB",
                       "ever_connected": False, "last_error": "TimeoutError: slow"}}
        return LabResult(out, datetime.now().astimezone(), 1.0, {}, bands)

    monkeypatch.setattr(console, "run_and_show", fake)
    assert main(["lab", "a=AA:heart_rate", "b=BB:heart_rate", "--out", str(tmp_path)]) == 0
    assert "never connected: b (BB: TimeoutError: slow)" in capsys.readouterr().err

    def none(people, out, *args, **kwargs):
        res = fake(people, out)
        res.bands["a"]["ever_connected"] = False
        return res

    monkeypatch.setattr(console, "run_and_show", none)
    assert main(["lab", "a=AA:heart_rate", "b=BB:heart_rate", "--out", str(tmp_path)]) == 2
    assert "lab: no band ever connected: a (AA: no answer); b" in capsys.readouterr().err


def test_cli_lab_virtual_without_a_heart_model_uses_headbands_and_says_why(
        tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("DREAMBAND_DATA", str(tmp_path / "no-data"))
    monkeypatch.setenv("DREAMBAND_MODELS", str(tmp_path / "models"))
    assert main(["lab", "--virtual", "2", "--speed", "max", "--minutes", "2",
                 "--out", str(tmp_path / "s"), "--quiet"]) == 0
    got = capsys.readouterr()
    assert "every band is a Muse headband" in got.err and "dreamband fetch slpdb" in got.err
    assert "sleeper1: muse" in got.out and "sleeper2: muse" in got.out
    assert not (tmp_path / "models").exists()
