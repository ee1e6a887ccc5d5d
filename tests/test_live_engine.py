"""Live engine: chunking-invariant stages, gaps never invented, ordered events, live = batch.

Signals come from virtual sleepers (plumbing only; no accuracy is measured here).
"""

from __future__ import annotations

import asyncio
import itertools
from types import SimpleNamespace

import numpy as np
import pytest
from test_live_helpers import eeg_blocks, rr_blocks, sleeper

from dreamband.core.beats import BeatSeries
from dreamband.features.context import feature_priors, robust_scale
from dreamband.features.eeg import CONTEXT_FEATURES, compute_evidence
from dreamband.features.heart_context import heart_features
from dreamband.heart.grid import prepare_beats
from dreamband.live.eeg import EegLiveStager, causal_z_last
from dreamband.live.engine import LiveEngine, run_band, run_ticker
from dreamband.live.epocher import EpochGrid
from dreamband.live.heart import HeartLiveStager
from dreamband.staging.heart import load_heart_model, stage_heart
from dreamband.staging.hmm import fixed_lag
from dreamband.staging.rules import stage_rules
from dreamband.sync.timeline import hysteresis
from dreamband.sync.windows import WindowRule, find_windows
from firmware_bridge.types import Gap, SampleBlock

ORIGIN = 5000.0


class Clock:
    """A fake host clock that only moves forward."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 1e-3
        return self.t


def stage_events(events, who=None):
    return [e for e in events if e.kind == "stage" and (who is None or e.participant == who)]


def run_eeg(sl, cuts=None, block=12, **kw) -> list:
    events: list = []
    eng = LiveEngine(EpochGrid(ORIGIN), clock=Clock(), forecast_every=0,
                     on_events=events.extend, **kw)
    eng.add_participant("a", "eeg", sl.channels, sl.fs, eeg="AF7", eog="AF8")
    for b in eeg_blocks(sl, ORIGIN, cuts, block):
        eng.push("a", b)
    eng.close()
    return events


def test_chunking_of_blocks_does_not_change_the_stages() -> None:
    sl = sleeper(16)
    rng = np.random.default_rng(3)
    n = int(sl.duration * sl.fs)
    cuts = np.sort(rng.choice(n, 400, replace=False))
    a = stage_events(run_eeg(sl, block=12))
    b = stage_events(run_eeg(sl, cuts=cuts))
    assert [e.epoch for e in a] == [e.epoch for e in b] == list(range(16))
    for x, y in zip(a, b):
        assert x.data["stage"] == y.data["stage"]
        assert x.data["probabilities"] == y.data["probabilities"]


def test_incremental_eeg_stager_agrees_with_the_whole_night_causal_path() -> None:
    sl = sleeper(40, seed=4)
    x = sl.generate(0, sl.duration)
    eeg, eog = x["AF7"].astype(float), x["AF8"].astype(float)
    ev = compute_evidence(eeg, sl.fs, eog=eog, fs_eog=sl.fs, causal=True)
    ref = stage_rules(ev).probabilities.argmax(axis=1)
    st = EegLiveStager(sl.fs, ("eeg", "eog"))
    L = int(30 * sl.fs)
    got = np.array([st.step({"eeg": eeg[k * L:(k + 1) * L], "eog": eog[k * L:(k + 1) * L]}).stage
                    for k in range(40)])
    assert np.mean(got == ref) >= 0.85
    assert st.n_rows == 40  # one evidence row per epoch, no signal kept beyond the context


def test_causal_z_of_the_last_row_matches_robust_scale() -> None:
    v = np.random.default_rng(0).normal(size=(37, len(CONTEXT_FEATURES)))
    prior = feature_priors(CONTEXT_FEATURES, 30.0, True, False)
    np.testing.assert_allclose(causal_z_last(v, prior),
                               robust_scale(v, causal=True, prior=prior)[-1])
    np.testing.assert_allclose(causal_z_last(v), robust_scale(v, causal=True)[-1])


def test_an_epoch_with_too_much_missing_signal_is_unscored_never_invented() -> None:
    sl = sleeper(14)
    eng = LiveEngine(EpochGrid(ORIGIN), clock=Clock(), forecast_every=0)
    eng.add_participant("a", "eeg", sl.channels, sl.fs)
    events = []
    fs = sl.fs
    for b in eeg_blocks(sl, ORIGIN, block=32):
        t = b.host_time - ORIGIN
        if 150.0 <= t[0] < 180.0:            # all of epoch 5 lost
            continue
        if 243.0 <= t[0] < 246.0:            # 10 % of epoch 8 lost
            continue
        events += eng.push("a", b)
    events += eng.push("a", Gap("muse", "eeg", int(30 * fs), ORIGIN + 150, ORIGIN + 180))
    summary = eng.close()
    st = {e.epoch: e.data for e in stage_events(events)}
    assert st[5]["scored"] is False and st[5]["stage"] == "UNSCORED" and st[5]["p_rem"] is None
    assert st[5]["missing"] == pytest.approx(1.0)
    assert st[8]["scored"] is True and 0.05 < st[8]["missing"] < 0.2
    assert all(st[k]["scored"] for k in st if k not in (5,))
    assert [e.kind for e in events].count("gap") == 1
    assert summary["participants"]["a"]["n_scored"] == summary["participants"]["a"]["n_epochs"] - 1


@pytest.mark.usefixtures("heart_models")
def test_a_band_that_drops_out_gets_unscored_epochs_from_tick_and_the_group_moves_on() -> None:
    sl = sleeper(6)
    eng = LiveEngine(EpochGrid(ORIGIN), clock=Clock(), forecast_every=0, grace=5.0)
    eng.add_participant("a", "eeg", sl.channels, sl.fs)
    eng.add_participant("late", "heart", ("rr",), None)  # never sends anything
    events = []
    for b in eeg_blocks(sl, ORIGIN, block=64):
        events += eng.push("a", b)
    assert eng.snapshot()["group"] is None  # the silent participant holds the group back
    events += eng.tick(ORIGIN + 12 * 30 + 5.0)  # 6 more epochs of silence
    st = stage_events(events, "a")
    assert [e.epoch for e in st] == list(range(12))
    assert [e.data["scored"] for e in st] == [True] * 5 + [False] * 7 or \
        [e.data["scored"] for e in st] == [True] * 6 + [False] * 6
    assert not stage_events(events, "late")  # absent before joining: no epochs invented
    snap = eng.snapshot()
    assert snap["group"]["epoch"] == 11
    assert snap["participants"]["late"]["n_epochs"] == 0


@pytest.mark.usefixtures("heart_models")
def test_events_are_ordered_per_participant_and_in_host_time() -> None:
    sl = sleeper(12)
    beats = sl.beats().times
    eng = LiveEngine(EpochGrid(ORIGIN), clock=Clock(), forecast_every=3)
    eng.add_participant("eeg", "eeg", sl.channels, sl.fs)
    eng.add_participant("hr", "heart", ("rr",), None)
    rr = list(rr_blocks(beats, ORIGIN, per_block=3))
    events = []
    for b in eeg_blocks(sl, ORIGIN, block=128):
        events += eng.push("eeg", b)
        while rr and rr[0].host_time[-1] <= b.host_time[-1]:
            events += eng.push("hr", rr.pop(0))
    events += eng.tick(ORIGIN + sl.duration + 60)
    for who in ("eeg", "hr"):
        ep = [e.epoch for e in stage_events(events, who)]
        assert ep == sorted(ep) and len(set(ep)) == len(ep)
    times = [e.host_time for e in events]
    assert times == sorted(times)
    assert all(e.latency_s >= 0 for e in events)
    assert any(e.kind == "forecast" for e in events)


@pytest.mark.usefixtures("heart_models")
def test_heart_participant_through_rr_blocks_matches_the_live_heart_stager() -> None:
    sl = sleeper(150, seed=2)
    beats = sl.beats().times
    ref = stage_heart(BeatSeries(beats, None, source="virtual"), live=True)
    for per_block in (1, 7):
        eng = LiveEngine(EpochGrid(0.0), clock=Clock(), forecast_every=0)
        eng.add_participant("h", "heart", ("rr",), None)
        events = []
        for b in rr_blocks(beats, 0.0, per_block):
            events += eng.push("h", b)
        eng.close()
        st = stage_events(events)
        assert len(st) >= ref.n_epochs - 1
        codes = np.array([{"W": 0, "NREM": 1, "REM": 2}[e.data["stage"]] for e in st])
        np.testing.assert_array_equal(codes, ref.stages[: codes.size])
        p = np.array([e.data["p_rem"] for e in st])
        np.testing.assert_allclose(p, ref.probabilities[: p.size, 2], atol=1e-9)


@pytest.mark.usefixtures("heart_models")
def test_fixed_lag_announces_each_epoch_late_with_the_fixed_lag_posterior() -> None:
    sl = sleeper(60, seed=2)
    beats = sl.beats().times
    hs = prepare_beats(beats)
    X, _ = heart_features(hs, 60, 0.0, live=True)
    booster, _ = load_heart_model("rr", live=True)
    raw = np.clip(booster.predict(X), 1e-9, None)
    st = HeartLiveStager("rr")
    ref = fixed_lag(raw, st.transitions, np.full(3, 1 / 3), 3).argmax(axis=1)
    events: list = []
    eng = LiveEngine(EpochGrid(0.0), clock=Clock(), forecast_every=0, lag=3,
                     on_events=events.extend)
    eng.add_participant("h", "heart", ("rr",), None)
    announced = []
    for b in rr_blocks(beats, 0.0, 4):
        new = [e.epoch for e in stage_events(eng.push("h", b))]
        if new:
            announced.append((b.host_time[-1], new))
    eng.close()
    # epoch j is announced once epoch j + 3 has ended
    assert all(t >= 30 * (j + 4) for t, js in announced for j in js)
    got = {e.epoch: {"W": 0, "NREM": 1, "REM": 2}[e.data["stage"]] for e in stage_events(events)}
    assert sorted(got) == list(range(len(got))) and len(got) >= 59
    np.testing.assert_array_equal([got[j] for j in range(len(got))], ref[: len(got)])


@pytest.mark.usefixtures("heart_models")
def test_heart_rate_samples_match_the_live_heart_stager() -> None:
    sl = sleeper(60, seed=5)
    t, bpm = sl.heart_rate()
    ok = np.isfinite(bpm)
    t, bpm = t[ok], bpm[ok]
    ref = stage_heart(SimpleNamespace(times=t, hr=bpm, source="virtual hr"), live=True)
    st = HeartLiveStager("hr")
    got = []
    for k in range(ref.n_epochs):
        sel = (t > 30 * k) & (t <= 30 * (k + 1))
        st.add(t[sel], bpm[sel])
        got.append(st.step(k).stage)
    np.testing.assert_array_equal(got, ref.stages)


@pytest.mark.usefixtures("heart_models")
def test_live_group_windows_equal_the_batch_sweep_on_the_same_streams() -> None:
    rule = WindowRule(k=1, min_epochs=2, gap=2)
    events: list = []
    eng = LiveEngine(EpochGrid(0.0), clock=Clock(), forecast_every=0, rule=rule,
                     p_on=0.3, p_off=0.2, on_events=events.extend)
    names = ("p0", "p1", "p2")
    streams = []
    for i, name in enumerate(names):
        eng.add_participant(name, "heart", ("rr",), None)
        beats = sleeper(200, seed=10 + i, shift=17 * i).beats().times
        streams.append(list(rr_blocks(beats + 40.0 * i, 0.0, per_block=5)))  # staggered joins
    while any(streams):  # interleave the bands in host-time order
        i = min((s[0].host_time[-1], i) for i, s in enumerate(streams) if s)[1]
        eng.push(names[i], streams[i].pop(0))
    summary = eng.close()
    n_ep = 1 + max(e.epoch for e in stage_events(events))
    p = np.full((3, n_ep), np.nan)
    for e in stage_events(events):
        if e.data["scored"]:
            p[names.index(e.participant), e.epoch] = e.data["p_rem"]
    states = hysteresis(p, 0.3, 0.2)
    batch = find_windows(states, rule, names, np.nan_to_num(p), 30.0)
    live = summary["group_windows"]
    assert len(batch) >= 1
    assert [(w["start_epoch"], w["end_epoch"], tuple(w["members"])) for w in live] == [
        (w.start_epoch, w.end_epoch, w.members) for w in batch]
    for w, b in zip(live, batch):
        assert w["mean_confidence"] == pytest.approx(b.mean_confidence)
    kinds = [e.kind for e in events]
    assert kinds.count("group_open") == kinds.count("group_close") == len(batch)
    rem = [e for e in events if e.kind in ("rem_start", "rem_end")]
    assert rem and rem[0].kind == "rem_start"


def test_unknown_participant_and_bad_registration_are_refused() -> None:
    eng = LiveEngine(EpochGrid(0.0))
    with pytest.raises(ValueError, match="unknown participant 'x'"):
        eng.push("x", Gap("d", "eeg", 1, 0.0, 1.0))
    with pytest.raises(ValueError, match="needs fs"):
        eng.add_participant("a", "eeg", ("AF7",), None)
    with pytest.raises(ValueError, match="needs fs >= 40"):
        eng.add_participant("a", "eeg", ("AF7",), 10.0)
    with pytest.raises(ValueError, match="kind must be"):
        eng.add_participant("a", "ppg", ("x",), 10.0)
    eng.add_participant("a", "eeg", ("TP9", "AF7"), 128.0)
    with pytest.raises(ValueError, match="already registered"):
        eng.add_participant("a", "heart", ("rr",), None)


def test_run_band_feeds_an_async_band_until_it_ends_or_stop_is_set() -> None:
    sl = sleeper(4)
    blocks = list(eeg_blocks(sl, ORIGIN, block=256))

    class FakeBand:
        def __init__(self, forever: bool) -> None:
            self.items = list(blocks)
            self.forever = forever

        def __aiter__(self):
            return self

        async def __anext__(self) -> SampleBlock:
            await asyncio.sleep(0)
            if not self.items:
                if self.forever:
                    await asyncio.sleep(3600)
                raise StopAsyncIteration
            return self.items.pop(0)

    async def main() -> tuple[list, list]:
        got: list = []
        eng = LiveEngine(EpochGrid(ORIGIN), forecast_every=0)
        eng.add_participant("a", "eeg", sl.channels, sl.fs)
        await run_band(eng, "a", FakeBand(False), on_events=got.extend)
        eng2 = LiveEngine(EpochGrid(ORIGIN), forecast_every=0)
        eng2.add_participant("a", "eeg", sl.channels, sl.fs)
        stop = asyncio.Event()
        task = asyncio.ensure_future(run_band(eng2, "a", FakeBand(True), stop))
        await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 2.0)
        return got, list(eng2.recent)

    got, got2 = asyncio.run(main())
    assert [e.epoch for e in stage_events(got)] == [0, 1, 2]
    assert [e.epoch for e in stage_events(got2)] == [0, 1, 2]


@pytest.mark.usefixtures("heart_models")
def test_heart_rate_blocks_go_through_the_engine_and_run_ticker_closes_silent_epochs() -> None:
    sl = sleeper(20, seed=8)
    t, bpm = sl.heart_rate()
    ok = np.isfinite(bpm)
    t, bpm = t[ok], bpm[ok]

    class Timebase:  # simulated clock: each sleep jumps ahead
        now_s = 0.0

        def now(self) -> float:
            return self.now_s

        async def sleep(self, dt: float) -> None:
            self.now_s += dt
            await asyncio.sleep(0)

    async def main() -> list:
        events: list = []
        eng = LiveEngine(EpochGrid(0.0), forecast_every=0, grace=5.0, on_events=events.extend)
        eng.add_participant("w", "heart", ("hr",), None)
        for i in range(0, t.size, 5):  # 10 min of 1-Hz heart rate, then the band goes quiet
            if t[i] < 600:
                eng.push("w", SampleBlock("watch", "hr", ("hr",), None, bpm[None, i:i + 5],
                                          t[i:i + 5], t[i:i + 5], i))
        tb, stop = Timebase(), asyncio.Event()
        tb.now_s = 600.0
        task = asyncio.ensure_future(run_ticker(eng, tb, stop, interval=30.0))
        while tb.now_s < 600.0 + 6 * 30:
            await asyncio.sleep(0)
        stop.set()
        await task
        return events

    st = stage_events(asyncio.run(main()))
    scored = [e.data["scored"] for e in st]
    assert [e.epoch for e in st] == list(range(len(st))) and len(st) >= 24
    assert all(scored[:19]) and not any(scored[20:])


def test_non_finite_samples_leave_the_epoch_unscored_without_stopping_the_session() -> None:
    sl = sleeper(5)
    events: list = []
    eng = LiveEngine(EpochGrid(ORIGIN), forecast_every=0, on_events=events.extend)
    eng.add_participant("a", "eeg", sl.channels, sl.fs, eeg="AF7")
    for b in eeg_blocks(sl, ORIGIN, block=128):
        if 62.0 <= b.host_time[0] - ORIGIN < 63.0:   # a few samples of epoch 2 are infinite
            x = b.samples.copy()
            x[1, :5] = np.inf  # (NaN would count as missing and be bridged)
            b = SampleBlock(b.device, b.stream, b.channels, b.fs, x, b.device_time,
                            b.host_time, b.seq, b.first_index)
        eng.push("a", b)
    eng.close()
    assert [e.data["scored"] for e in stage_events(events)] == [True, True, False, True, True]


def test_a_group_rule_larger_than_the_session_is_reduced_not_fatal() -> None:
    sl = sleeper(3)
    eng = LiveEngine(EpochGrid(ORIGIN), forecast_every=0, rule=WindowRule(k=3))
    eng.add_participant("a", "eeg", sl.channels, sl.fs)
    for b in eeg_blocks(sl, ORIGIN, block=512):
        eng.push("a", b)
    assert eng.snapshot()["group"]["k"] == 1
    eng.close()
    with pytest.raises(ValueError, match="closed"):
        eng.tick(ORIGIN + 1000)


def test_heart_fixed_lag_model_gives_the_heart_stagers_lagged_stages_late() -> None:
    from dreamband.errors import ModelError

    try:
        load_heart_model("rr", True, None, 40)
    except (ModelError, TypeError):
        pytest.skip("no fixed-lag (40) heart model shipped")
    sl = sleeper(90, seed=2)
    beats = sl.beats().times
    ref = stage_heart(BeatSeries(beats, None, source="virtual"), live=True, lag=40)
    events: list = []
    eng = LiveEngine(EpochGrid(0.0), clock=Clock(), forecast_every=0, heart_lag=40,
                     on_events=events.extend)
    eng.add_participant("h", "heart", ("rr",), None)
    late = []
    for b in rr_blocks(beats, 0.0, 8):
        late += [b.host_time[-1] - 30 * (e.epoch + 1) for e in stage_events(eng.push("h", b))]
    eng.close()
    assert late and min(late) >= 40 * 30  # announced 40 epochs after the epoch ended
    st = stage_events(events)
    codes = np.array([{"W": 0, "NREM": 1, "REM": 2}.get(e.data["stage"], -1) for e in st])
    assert [e.epoch for e in st] == list(range(len(st))) and len(st) >= 89
    ok = codes >= 0
    np.testing.assert_array_equal(codes[ok], ref.stages[: codes.size][ok])


@pytest.mark.usefixtures("heart_models")
def test_a_participant_is_in_rem_whenever_rem_is_the_decided_stage() -> None:
    # a 3-class heart stager can decide REM with p(REM) under p_on: that epoch counts as REM
    sl = sleeper(150, seed=2)
    eng = LiveEngine(EpochGrid(0.0), clock=Clock(), forecast_every=0, p_on=0.6, p_off=0.4)
    eng.add_participant("h", "heart", ("rr",), None)
    events = []
    for b in rr_blocks(sl.beats().times, 0.0, 7):
        events += eng.push("h", b)
    eng.close()
    st = stage_events(events)
    rem_stage = [e for e in st if e.data["stage"] == "REM"]
    assert any(e.data["p_rem"] < 0.6 for e in rem_stage), "no REM decided under p_on"
    assert all(e.data["rem"] for e in rem_stage)
    # leaving REM still follows the hysteresis: p(REM) must fall under p_off
    for prev, cur in itertools.pairwise(st):
        if prev.data["rem"] and not cur.data["rem"] and cur.data["scored"]:
            assert cur.data["p_rem"] < 0.4
