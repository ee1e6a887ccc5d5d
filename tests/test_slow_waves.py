"""Slow-wave events: detection on planted waves, properties, the staging detector's counts,
stages, gaps, the table, the CLI, and N3 against N2 on the DREAMS excerpts."""

from __future__ import annotations

import csv
import inspect

import numpy as np
import pytest

from dreamband.cli import main as cli
from dreamband.evaluation.events import match_intervals
from dreamband.features.detectors import slow_wave_intervals, slow_waves
from dreamband.features.eeg import compute_evidence
from dreamband.slowwaves import (
    SLOW_WAVE_COLUMNS,
    detect_slow_waves,
    slow_wave_summary,
    write_slow_waves_csv,
)
from dreamband.spindles import read_event_intervals

FS = 100.0


def _background(seconds: float, seed: int = 3, sd: float = 10.0) -> np.ndarray:
    """1/f-like EEG background (``sd`` µV)."""
    rng = np.random.default_rng(seed)
    n = round(seconds * FS)
    spec = np.fft.rfft(rng.standard_normal(n))
    spec /= np.maximum(np.fft.rfftfreq(n, 1 / FS), 0.5)
    x = np.fft.irfft(spec, n)
    return x / x.std() * sd


def _waves(n: int, first: float, every: float, freq: float, cycles: int,
           amp: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``cycles`` cycles of a ``freq`` sine, negative first, ``amp`` µV peak to peak
    (Hann-shaped when more than one cycle), every ``every`` s from ``first``."""
    x = np.zeros(n)
    starts = np.arange(first, n / FS - 5.0, every)
    m = round(cycles / freq * FS)
    w = -amp / 2 * np.sin(2 * np.pi * freq * np.arange(m) / FS)
    if cycles > 1:
        w *= np.hanning(m)
    for s in starts:
        i = round(s * FS)
        x[i : i + m] += w
    return x, starts, starts + cycles / freq


def _planted(seconds: float = 600.0, every: float = 10.0, sd: float = 10.0, seed: int = 3):
    """Background with a 1-Hz, 150-µV wave every ``every`` s."""
    x = _background(seconds, seed, sd)
    w, s, e = _waves(x.size, 5.0, every, 1.0, 1, 150.0)
    return x + w, s, e


def test_planted_slow_waves_are_found_with_their_properties():
    x, s, e = _planted()
    sw = detect_slow_waves(x, FS, channel="C3")
    m = match_intervals(s, e, sw.start, sw.end)
    assert m["recall"] == 1.0 and m["precision"] >= 0.95, m
    assert m["mean_iou"] >= 0.8
    assert np.median(sw.frequency) == pytest.approx(1.0, abs=0.1)
    assert np.median(sw.ptp) == pytest.approx(150.0, rel=0.1)
    assert np.median(sw.neg_amplitude) == pytest.approx(-75.0, rel=0.15)
    assert np.median(sw.pos_amplitude) == pytest.approx(75.0, rel=0.15)
    assert np.allclose(sw.ptp, sw.pos_amplitude - sw.neg_amplitude)
    assert np.all((sw.start <= sw.neg_peak) & (sw.neg_peak < sw.pos_peak)
                  & (sw.pos_peak <= sw.end))
    # negative peak a quarter period in, positive peak three quarters in
    assert np.median(sw.neg_peak - sw.start) == pytest.approx(0.25, abs=0.1)
    assert np.median(sw.pos_peak - sw.start) == pytest.approx(0.75, abs=0.1)
    # a sine's swing over half a period: 150 µV in 0.5 s
    assert np.median(sw.slope) == pytest.approx(300.0, rel=0.15)
    assert sw.channel == "C3" and np.all(sw.stage == -1)
    assert sw.meta == {"pieces": 1, "threshold_uv": [65.0]}


def test_4hz_bursts_are_not_slow_waves():
    """Slow waves every 20 s, and 4-Hz bursts as large between them: only the first."""
    x, s, e = _planted(every=20.0)
    b, bs, be = _waves(x.size, 15.0, 20.0, 4.0, 4, 150.0)
    sw = detect_slow_waves(x + b, FS)
    assert match_intervals(s, e, sw.start, sw.end)["recall"] == 1.0
    hit = [np.any((sw.start < q) & (sw.end > p)) for p, q in zip(bs, be, strict=True)]
    assert not any(hit)
    assert len(sw) == s.size


def test_events_are_the_ones_the_staging_evidence_counts():
    # a noisier background: waves of the background itself are found too
    x, _, _ = _planted(every=7.0, sd=25.0, seed=5)
    s, e, ptp, thr = slow_wave_intervals(x, FS)
    ev = compute_evidence(x, FS)
    counts = ev.values[:, ev.names.index("sw_count")]
    k = np.floor((s + e) / 2 / 30.0).astype(int)
    assert s.size > counts.size  # more than one wave per epoch on average
    assert np.array_equal(np.bincount(k, minlength=counts.size)[: counts.size], counts)
    assert np.all(ptp >= thr) and np.all((e - s >= 0.5) & (e - s <= 2.0))
    # batch slow_waves with compute_evidence's threshold and adaptation: the same counts
    ref = slow_waves(x, FS, 30.0, False, thr, adapt=False)["sw_count"]
    assert np.array_equal(ref, counts)
    # the defaults are compute_evidence's
    params = inspect.signature(compute_evidence).parameters
    assert slow_wave_intervals(x, FS, adapt=False)[3] == params["sw_threshold_uv"].default
    assert inspect.signature(slow_wave_intervals).parameters["adapt"].default \
        == params["adapt_amplitude"].default
    # the table holds exactly these waves
    sw = detect_slow_waves(x, FS)
    assert np.array_equal(sw.start, s) and np.array_equal(sw.end, e)


def test_stages_and_include():
    x, _, _ = _planted()
    stages = np.array([3] * 10 + [0] * 10, dtype=np.int8)  # N3 then wake
    sw = detect_slow_waves(x, FS, stages=stages)
    centre = (sw.start + sw.end) / 2
    assert np.array_equal(sw.stage, np.where(centre < 300, 3, 0))
    kept = detect_slow_waves(x, FS, stages=stages, include=(1, 2, 3))
    assert len(kept) == np.count_nonzero(centre < 300) and np.all(kept.stage == 3)
    summ = slow_wave_summary(kept, stages)
    assert summ["count"] == len(kept)
    assert summ["density"]["N3"] == pytest.approx(len(kept) / 5.0)
    assert "N2" not in summ["density"]
    assert summ["ptp"] == pytest.approx(kept.ptp.mean())
    assert summ["frequency"] == pytest.approx(kept.frequency.mean())
    # offset: the hypnogram starting 60 s into the recording
    late = detect_slow_waves(x, FS, stages=stages, offset=60.0)
    assert np.array_equal(late.stage[centre < 60], np.full(np.count_nonzero(centre < 60), -1))


def test_gaps_are_searched_piece_by_piece():
    x, s, e = _planted()
    x2 = x.copy()
    x2[round(200 * FS) : round(320 * FS)] = np.nan
    sw = detect_slow_waves(x2, FS)
    assert sw.meta["pieces"] == 2 and len(sw.meta["threshold_uv"]) == 2
    assert not np.any((sw.end > 200) & (sw.start < 320))
    # away from the gap (20 s: the filters' edges) the planted waves are found as before
    away = (s > 340) | (e < 180)
    m = match_intervals(s[away], e[away], sw.start, sw.end)
    assert m["matched"] == away.sum()
    # a piece shorter than an epoch is skipped
    x3 = x.copy()
    x3[round(20 * FS) : round(100 * FS)] = np.nan
    assert detect_slow_waves(x3, FS).meta["pieces"] == 1


def test_lost_packets_are_bridged_as_staging_bridges_them():
    """A NaN hole of 50 ms every few seconds: bridged, one piece, the same waves."""
    x, s, e = _planted()
    rng = np.random.default_rng(8)
    holed = x.copy()
    for t in np.cumsum(rng.uniform(2.0, 8.0, 200)):
        i = round(t * FS)
        holed[i : i + 5] = np.nan
    assert np.isnan(holed[: x.size]).any()
    clean = detect_slow_waves(x, FS)
    sw = detect_slow_waves(holed, FS)
    assert sw.meta["pieces"] == 1
    assert match_intervals(s, e, sw.start, sw.end)["recall"] == 1.0
    assert abs(len(sw) - len(clean)) <= 2


@pytest.mark.parametrize(
    "kwargs, fs, n, match",
    [
        ({}, 8.0, 3000, "too low"),
        ({}, FS, 1000, "at least one 30-s epoch"),
        ({"include": (2,)}, FS, 6000, "include needs"),
    ],
)
def test_clear_errors(kwargs, fs, n, match):
    with pytest.raises(ValueError, match=match):
        detect_slow_waves(np.zeros(n), fs, **kwargs)
    with pytest.raises(ValueError, match="1-D"):
        detect_slow_waves(np.zeros((2, 6000)), FS)


def test_flat_signal_has_no_slow_waves():
    sw = detect_slow_waves(np.zeros(6000), FS, channel="Fz")
    assert len(sw) == 0 and sw.channel == "Fz" and sw.meta["pieces"] == 1


def test_table_round_trip(tmp_path):
    x, _, _ = _planted()
    sw = detect_slow_waves(x, FS, channel="C3", stages=np.full(20, 3, np.int8))
    out = write_slow_waves_csv([sw, sw.select(np.zeros(len(sw), bool))], tmp_path / "sw.csv")
    rows = list(csv.DictReader(out.open()))
    assert tuple(rows[0]) == SLOW_WAVE_COLUMNS
    assert len(rows) == len(sw) and rows[0]["stage"] == "N3" and rows[0]["channel"] == "C3"
    for name, tol in (("start", 0.01), ("end", 0.01), ("neg_peak", 0.001),
                      ("pos_peak", 0.001), ("neg_amplitude", 0.01), ("ptp", 0.01),
                      ("frequency", 0.001), ("slope", 0.1)):
        back = np.array([float(r[name]) for r in rows])
        assert np.allclose(back, getattr(sw, name), atol=tol), name
    s, e = read_event_intervals(out)  # the generic event reader takes the table
    assert np.allclose(s, sw.start, atol=0.01) and np.allclose(e, sw.end, atol=0.01)


@pytest.fixture(scope="module")
def slow_wave_edf(tmp_path_factory):
    mne = pytest.importorskip("mne")
    x, _, _ = _planted(seconds=900.0)
    info = mne.create_info(["EEG C3-M2", "EEG O1-M2"], FS, ["eeg", "eeg"])
    raw = mne.io.RawArray(np.vstack([x, _background(900.0, 5)]) * 1e-6, info,
                          verbose="error")
    path = tmp_path_factory.mktemp("sw") / "night.edf"
    mne.export.export_raw(path, raw, fmt="edf", physical_range=(-2000, 2000), verbose="error")
    return path


def test_cli_writes_the_table(slow_wave_edf, tmp_path, capsys):
    out = tmp_path / "sw.csv"
    assert cli.main(["slow-waves", str(slow_wave_edf), "--eeg", "EEG C3-M2", "--stages",
                     "all", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "EEG C3-M2:" in err and "slow wave(s)" in err and "µV peak to peak" in err
    rows = list(csv.reader(out.open()))
    assert tuple(rows[0]) == SLOW_WAVE_COLUMNS
    assert len(rows) - 1 >= 85 and {r[-1] for r in rows[1:]} == {"EEG C3-M2"}
    # stdout when no --out; a hypnogram file instead of staging
    from dreamband.core.hypnogram import Hypnogram
    from dreamband.io.hypnogram_files import write_hypnogram

    hyp = write_hypnogram(Hypnogram(np.array([3] * 15 + [2] * 15, np.int8)),
                          tmp_path / "hyp.csv")
    assert cli.main(["slow-waves", str(slow_wave_edf), "--eeg", "EEG C3-M2",
                     "--hypnogram", str(hyp), "--stages", "N3"]) == 0
    cap = capsys.readouterr()
    lines = cap.out.strip().splitlines()
    assert lines[0] == ",".join(SLOW_WAVE_COLUMNS) and 40 <= len(lines) - 1 < len(rows) - 1
    assert {ln.split(",")[-2] for ln in lines[1:]} == {"N3"}
    assert "N2 0.00/min" in cap.err and "N3 " in cap.err


def test_cli_clear_errors(slow_wave_edf, capsys):
    assert cli.main(["slow-waves", str(slow_wave_edf), "--eeg", "C9"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "C9" in err[0] and "not found" in err[0]
    with pytest.raises(SystemExit, match="--stages"):
        cli.main(["slow-waves", str(slow_wave_edf), "--stages", "N5"])
    rr = slow_wave_edf.with_name("rr.csv")
    rr.write_text("rr_ms\n800\n810\n")
    assert cli.main(["slow-waves", str(rr)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rr.csv" in err[0] and "slow waves are found in EEG" in err[0]


def test_dreams_n3_density_above_n2(dreams_dir):
    """Slow waves per minute of expert N3 against expert N2, pooled over the five DREAMS
    excerpts (expert hypnograms): measured 24.0 / 8.0 = 3.01 (bench/bench_slow_waves.py;
    yasa.sw_detect 4.69). The floor, 2.2, leaves a margin a regression would cross; every
    excerpt but 7 (measured 1.00) is above 2."""
    from dreamband.io.dreams import read_dreams_eeg, read_dreams_hypnogram

    n = {2: 0, 3: 0}
    minutes = {2: 0.0, 3: 0.0}
    for ex in (1, 2, 3, 4, 7):
        ch = read_dreams_eeg(dreams_dir / f"excerpt{ex}.txt").channels[0]
        hyp = read_dreams_hypnogram(dreams_dir / f"Hypnogram_excerpt{ex}.txt", 30.0)
        sw = detect_slow_waves(ch.data, ch.fs, channel=ch.name, stages=hyp.stages)
        for c in (2, 3):
            n[c] += int(np.count_nonzero(sw.stage == c))
            minutes[c] += np.count_nonzero(np.asarray(hyp.stages) == c) * 0.5
    ratio = (n[3] / minutes[3]) / (n[2] / minutes[2])
    assert ratio >= 2.2, ratio
