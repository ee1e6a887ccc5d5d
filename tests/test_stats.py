"""Sleep statistics against hand counts and, side by side, YASA's implementation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dreamband.core import Hypnogram
from dreamband.stats import sleep_statistics


def test_statistics_of_a_small_night_match_a_hand_count() -> None:
    # W W N1 N2 N2 N3 N3 N2 W N2 REM REM W W  (30-s epochs)
    hyp = Hypnogram(np.array([0, 0, 1, 2, 2, 3, 3, 2, 0, 2, 4, 4, 0, 0]))
    s = sleep_statistics(hyp)
    assert s["tib_min"] == 7.0
    assert s["sol_min"] == 1.0
    assert s["spt_min"] == 5.0  # epochs 2..11
    assert s["tst_min"] == 4.5
    assert s["waso_min"] == 0.5
    assert s["awakenings"] == 1
    assert s["rem_latency_min"] == 4.0  # epoch 10 - onset epoch 2
    assert s["sleep_efficiency"] == pytest.approx(100 * 4.5 / 7)
    assert s["N2_min"] == 2.0 and s["N2_pct"] == pytest.approx(100 * 2 / 4.5)


def test_night_without_sleep_has_nan_latencies() -> None:
    s = sleep_statistics(Hypnogram(np.zeros(10, dtype=int)))
    assert s["tst_min"] == 0 and np.isnan(s["sol_min"]) and np.isnan(s["rem_latency_min"])


def test_wearable_scheme_reports_nrem_and_rem() -> None:
    hyp = Hypnogram(np.array([0, 1, 1, 2, 0, 1]), scheme="wearable")
    s = sleep_statistics(hyp)
    assert s["NREM_min"] == 1.5 and s["REM_min"] == 0.5 and s["awakenings"] == 1


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=5, max_size=300))
def test_statistics_agree_with_yasa(codes: list[int]) -> None:
    yasa = pytest.importorskip("yasa")
    hyp = Hypnogram(np.array(codes))
    ours = sleep_statistics(hyp)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = yasa.sleep_statistics(np.array(codes), sf_hyp=1 / 30)
    assert ours["tib_min"] == pytest.approx(ref["TIB"])
    assert ours["tst_min"] == pytest.approx(ref["TST"])
    if ours["tst_min"] > 0:
        assert ours["spt_min"] == pytest.approx(ref["SPT"])
        assert ours["waso_min"] == pytest.approx(ref["WASO"])
        assert ours["sol_min"] == pytest.approx(ref["SOL"])
        assert ours["sleep_efficiency"] == pytest.approx(ref["SE"])
        for stage in ("N1", "N2", "N3", "REM"):
            assert ours[f"{stage}_min"] == pytest.approx(ref[stage])
        if not np.isnan(ours["rem_latency_min"]):
            # YASA counts REM latency from the hypnogram start, we from sleep onset
            assert ours["rem_latency_min"] + ours["sol_min"] == pytest.approx(ref["Lat_REM"])
