"""REM periods from hypnograms, eye-movement counting, and the detector on real REM EOG."""

from __future__ import annotations

import numpy as np
import pytest

from dreamband.core.hypnogram import Hypnogram
from dreamband.rem import (
    count_eye_movements,
    detect_eye_movements,
    match_events,
    rem_latency,
    rem_periods,
    write_rem_csv,
)


def _hyp(codes: str, **kw) -> Hypnogram:
    lut = {"W": 0, "1": 1, "2": 2, "3": 3, "R": 4, "?": -1}
    return Hypnogram(stages=np.array([lut[c] for c in codes], dtype=np.int8), **kw)


def test_rem_epochs_merge_across_short_interruptions_and_get_cycle_numbers():
    #       0         1         2         3
    codes = "WW1222333222RRRR2RRR22222222222RRRRRR"
    hyp = _hyp(codes)
    periods = rem_periods(hyp, merge_gap=60.0, min_duration=60.0)
    assert [(p.start, p.end, p.cycle) for p in periods] == [(360.0, 600.0, 1), (930.0, 1110.0, 2)]
    # an interruption longer than the gap splits the period
    split = rem_periods(hyp, merge_gap=0.0, min_duration=60.0)
    assert [(p.start, p.end) for p in split] == [(360.0, 480.0), (510.0, 600.0), (930.0, 1110.0)]
    # too short periods are dropped
    assert rem_periods(hyp, merge_gap=0.0, min_duration=100.0)[0].start == 360.0
    assert len(rem_periods(hyp, merge_gap=0.0, min_duration=100.0)) == 2


def test_rem_latency_counts_from_sleep_onset_and_offset_is_respected():
    hyp = _hyp("WWWW22RRR", offset=600.0)
    periods = rem_periods(hyp, min_duration=0.0)
    assert periods[0].start == 600.0 + 6 * 30
    assert rem_latency(hyp, periods) == 60.0
    assert rem_latency(_hyp("WWWW")) is None


def test_rem_from_probabilities_threshold():
    p = np.zeros((6, 5))
    p[:, 2] = 1.0
    p[2:5] = [0.1, 0.0, 0.3, 0.0, 0.6]
    hyp = Hypnogram(stages=p.argmax(axis=1).astype(np.int8), probabilities=p)
    assert [(r.start, r.end) for r in rem_periods(hyp, min_duration=0, threshold=0.5)] == [
        (60.0, 150.0)
    ]
    assert rem_periods(hyp, min_duration=0, threshold=0.7) == []
    assert rem_periods(hyp, min_duration=0)[0].confidence == pytest.approx(0.6)


def test_eye_movements_counted_per_period_and_written_as_csv(tmp_path):
    hyp = _hyp("22RRRR22RR")
    periods = rem_periods(hyp, merge_gap=0, min_duration=0)
    periods = count_eye_movements(periods, np.array([10.0, 61.0, 100.0, 179.0, 250.0, 400]))
    assert [p.eye_movements for p in periods] == [3, 1]
    out = write_rem_csv(periods, tmp_path / "rem.csv")
    lines = out.read_text().splitlines()
    assert lines[0].startswith("start,end,duration,cycle,eye_movements")
    assert lines[1].split(",")[:5] == ["60.000", "180.000", "120.000", "1", "3"]


def test_match_events_by_hand():
    m = match_events(np.array([1.0, 5.0, 9.0]), np.array([1.2, 5.9, 20.0]), tolerance=0.5)
    assert (m["matched"], m["n_detected"], m["n_reference"]) == (1, 3, 3)
    assert m["precision"] == pytest.approx(1 / 3) and m["f1"] == pytest.approx(1 / 3)


def test_detector_input_errors():
    with pytest.raises(ValueError, match="differ in shape"):
        detect_eye_movements(np.zeros(1000), 100.0, np.zeros(999))
    with pytest.raises(ValueError, match="too low"):
        detect_eye_movements(np.zeros(1000), 5.0)


@pytest.mark.data
def test_detector_agrees_with_yasa_on_real_rem_eog(yasa_dir):
    yasa = pytest.importorskip("yasa")
    d = np.load(yasa_dir / "data_EOGs_REM_256Hz.npz")
    loc, roc = d["data"]
    sf = float(d["sf"])
    ref = yasa.rem_detect(loc, roc, sf).summary()["Peak"].to_numpy()
    ours = detect_eye_movements(loc, sf, roc)
    m = match_events(ref, ours, tolerance=1.0)
    assert m["f1"] > 0.55  # measured 0.68 (bench/bench_rem.py)
    edges = np.arange(0, loc.size / sf + 30, 30)
    r = np.corrcoef(np.histogram(ref, edges)[0], np.histogram(ours, edges)[0])[0, 1]
    assert r > 0.7  # per-epoch density, measured 0.86
