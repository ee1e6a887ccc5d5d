"""Group forecast (Monte Carlo) and the live schedule."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from dreamband.sync.forecast import NightTracker, load_model
from dreamband.sync.group_forecast import simulate_group
from dreamband.sync.schedule import LiveScheduler
from dreamband.sync.timeline import N_REM, REM
from dreamband.sync.windows import WindowRule, find_windows

W, N, R = 0, 1, 2


def _tracker(codes):
    tr = NightTracker()
    for c in codes:
        tr.update(c)
    return tr


def _plumbing_night(shift: int, n: int = 900) -> np.ndarray:
    """Regular cycles for plumbing only (never an accuracy figure)."""
    codes = np.full(n, N, dtype=np.int8)
    codes[: 40 + shift] = W
    for onset in range(200 + shift, n, 180):
        codes[onset : onset + 20 + onset // 60] = R
    return codes


def test_group_forecast_is_reproducible_and_well_formed():
    model = load_model()
    trackers = {"a": _tracker(_plumbing_night(0)[:300]), "b": _tracker(_plumbing_night(10)[:300])}
    f1 = simulate_group(trackers, model, k=2, n_draws=200, seed=3).first_window()
    f2 = simulate_group(trackers, model, k=2, n_draws=200, seed=3).first_window()
    assert f1 == f2
    assert 0.0 <= f1.probability <= 1.0
    assert f1.start[0.1] <= f1.start[0.5] <= f1.start[0.9]
    assert f1.start[0.1] >= f1.now
    assert set(f1.members) == {"a", "b"} and all(0 <= v <= 1 for v in f1.members.values())


def test_nobody_asleep_means_no_group_window():
    model = load_model()
    trackers = {"a": _tracker([W] * 50), "b": _tracker([W] * 50)}
    f = simulate_group(trackers, model, k=1, n_draws=50).first_window()
    assert f.probability == 0.0 and f.start == {}


def test_group_forecast_rejects_bad_k():
    with pytest.raises(ValueError, match="k must be between 1 and 1"):
        simulate_group({"a": NightTracker()}, load_model(), k=2)


def test_live_scheduler_windows_equal_batch_and_schedule_exports():
    nights = np.stack([_plumbing_night(s) for s in (0, 6, 12)])
    rule = WindowRule(k=2, min_epochs=4)
    live = LiveScheduler(["a", "b", "c"], rule, n_draws=100, horizon_s=3 * 3600)
    kinds = []
    for t in range(nights.shape[1]):
        kinds += [e.kind for e in live.update(nights[:, t])]
        if t == 450:
            mid = live.schedule()
    live.windows.finish()
    batch = find_windows(np.where(nights == N_REM, REM, 0), rule, ("a", "b", "c"))
    assert live.windows.windows == batch and kinds.count("closed") == len(batch)
    statuses = [s.status for s in mid.sessions]
    assert "observed" in statuses and "proposed" in statuses
    doc = json.loads(mid.to_json())
    assert doc["k"] == 2 and doc["now"] == 451 * 30.0
    rows = list(csv.DictReader(io.StringIO(mid.to_csv())))
    assert len(rows) == len(mid.sessions)
    for row in rows:
        assert float(row["end"]) > float(row["start"])
        if row["status"] == "proposed":
            assert float(row["start"]) >= mid.now and 0 < float(row["confidence"]) <= 1
