"""Group windows: invariants (hypothesis), brute-force reference, live == batch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dreamband.sync.timeline import ABSENT, NOT_REM, REM, Timeline
from dreamband.sync.windows import (
    LiveGroupWindows,
    WindowRule,
    close_gaps,
    find_windows,
    group_windows,
)

# ----------------------------------------------------------------- brute-force reference


def _ref_close(row: list[int], gap: int) -> list[int]:
    out = list(row)
    i, m = 0, len(row)
    while i < m:
        if row[i] == NOT_REM:
            j = i
            while j < m and row[j] == NOT_REM:
                j += 1
            if 0 < i and j < m and row[i - 1] == REM and row[j] == REM and j - i < gap:
                out[i:j] = [REM] * (j - i)
            i = j
        else:
            i += 1
    return out


def _ref_windows(states: np.ndarray, rule: WindowRule, names: list[str]):
    """Plain-Python reading of the documented semantics, epoch by epoch."""
    rows = [_ref_close(list(map(int, r)), rule.gap) for r in states]
    m = states.shape[1]
    active = []
    for t in range(m):
        col = [r[t] for r in rows]
        count = sum(v == REM for v in col)
        present = sum(v != ABSENT for v in col)
        need = rule.k if rule.absent == "not_rem" else min(rule.k, present)
        ok = count >= need and count >= 1
        ok = ok and all(rows[names.index(q)][t] == REM for q in rule.required)
        active.append(ok)
    runs, t = [], 0
    while t < m:
        if active[t]:
            u = t
            while u < m and active[u]:
                u += 1
            runs.append([t, u])
            t = u
        else:
            t += 1
    merged: list[list[int]] = []
    for r in runs:
        if merged and r[0] - merged[-1][1] < rule.bridge:
            merged[-1][1] = r[1]
        else:
            merged.append(r)
    out = []
    for s, e in merged:
        if e - s >= rule.min_epochs:
            members = sorted(n for n, r in zip(names, rows) if all(v == REM for v in r[s:e]))
            involved = sorted(n for n, r in zip(names, rows) if any(v == REM for v in r[s:e]))
            out.append((s, e, tuple(members), tuple(involved)))
    return out


def _key(w):
    return (w.start_epoch, w.end_epoch, w.members, w.involved)


# ----------------------------------------------------------------- strategies


@st.composite
def groups(draw, max_n: int = 6, max_m: int = 60, absent: bool = True):
    n = draw(st.integers(1, max_n))
    m = draw(st.integers(1, max_m))
    values = [ABSENT, NOT_REM, REM] if absent else [NOT_REM, REM]
    # runs make REM periods look like REM periods rather than noise
    rows = []
    for _ in range(n):
        row: list[int] = []
        while len(row) < m:
            row += [draw(st.sampled_from(values))] * draw(st.integers(1, 8))
        rows.append(row[:m])
    return np.array(rows, dtype=np.int8)


@st.composite
def rules(draw, n: int):
    k = draw(st.integers(1, n))
    required = tuple(draw(st.lists(st.integers(0, n - 1), max_size=2, unique=True)))
    return WindowRule(
        k=k,
        required=tuple(f"p{i}" for i in required),
        absent=draw(st.sampled_from(["not_rem", "reduce"])),
        min_epochs=draw(st.integers(1, 5)),
        gap=draw(st.integers(0, 4)),
        bridge=draw(st.integers(0, 4)),
    )


@st.composite
def group_and_rule(draw):
    states = draw(groups())
    return states, draw(rules(states.shape[0]))


def _names(n: int) -> list[str]:
    return [f"p{i}" for i in range(n)]


def _live(states, rule, confidence=None):
    live = LiveGroupWindows(_names(states.shape[0]), rule)
    events = []
    for t in range(states.shape[1]):
        c = None if confidence is None else confidence[:, t]
        events += live.update(states[:, t], c)
    events += live.finish()
    return live.windows, events


# ----------------------------------------------------------------- properties


@settings(max_examples=300, deadline=None)
@given(group_and_rule())
def test_batch_agrees_with_brute_force_reference(case):
    states, rule = case
    names = _names(states.shape[0])
    got = [_key(w) for w in find_windows(states, rule, tuple(names))]
    assert got == _ref_windows(states, rule, names)


@settings(max_examples=300, deadline=None)
@given(group_and_rule(), st.randoms(use_true_random=False))
def test_live_fed_epoch_by_epoch_equals_batch_exactly(case, rnd):
    states, rule = case
    conf = np.array([[rnd.random() for _ in range(states.shape[1])] for _ in states])
    batch = find_windows(states, rule, tuple(_names(len(states))), conf)
    live, events = _live(states, rule, conf)
    assert live == batch  # dataclass equality: times, members, confidence, all exact
    closed = [e.window for e in events if e.kind == "closed"]
    opened = [e.start for e in events if e.kind == "opened"]
    assert closed == batch
    assert opened == [w.start for w in batch]


@settings(max_examples=200, deadline=None)
@given(group_and_rule())
def test_every_window_lies_inside_the_rem_of_each_member(case):
    states, rule = case
    names = _names(states.shape[0])
    closed = close_gaps(states, rule.gap)
    for w in find_windows(states, rule, tuple(names)):
        assert w.end_epoch - w.start_epoch >= rule.min_epochs
        assert w.duration >= rule.min_epochs * 30.0
        for m in w.members:
            assert (closed[names.index(m), w.start_epoch : w.end_epoch] == REM).all()
        assert set(w.members) <= set(w.involved)
        for q in rule.required:  # required participants are in REM at both ends
            assert closed[names.index(q), w.start_epoch] == REM


@settings(max_examples=200, deadline=None)
@given(group_and_rule(), st.randoms(use_true_random=False))
def test_windows_do_not_depend_on_participant_order(case, rnd):
    states, rule = case
    names = _names(states.shape[0])
    order = list(range(len(names)))
    rnd.shuffle(order)
    a = find_windows(states, rule, tuple(names))
    b = find_windows(states[order], rule, tuple(names[i] for i in order))
    assert [_key(w) for w in a] == [_key(w) for w in b]


@settings(max_examples=200, deadline=None)
@given(groups(absent=False))
def test_k1_is_the_union_and_kn_the_intersection(states):
    n = states.shape[0]
    rem = states == REM
    for k, expect in ((1, rem.any(axis=0)), (n, rem.all(axis=0))):
        got = np.zeros(states.shape[1], dtype=bool)
        for w in find_windows(states, WindowRule(k=k)):
            got[w.start_epoch : w.end_epoch] = True
        assert np.array_equal(got, expect)


# ----------------------------------------------------------------- examples


def test_one_noisy_epoch_does_not_split_a_window_with_gap_closing():
    a = [0, 1, 1, 1, 0, 1, 1, 1, 0]
    b = [0, 1, 1, 1, 1, 1, 1, 1, 0]
    states = np.array([a, b], dtype=np.int8)
    assert len(find_windows(states, WindowRule(k=2))) == 2
    (w,) = find_windows(states, WindowRule(k=2, gap=2))
    assert (w.start_epoch, w.end_epoch, w.members) == (1, 8, ("p0", "p1"))


def test_absent_counts_differently_from_not_in_rem():
    states = np.array([[1, 1, 1, 1], [-1, -1, 1, 1], [0, 0, 0, 0]], dtype=np.int8)
    strict = find_windows(states, WindowRule(k=2))
    assert [(w.start_epoch, w.end_epoch) for w in strict] == [(2, 4)]
    # with "reduce", p1 absent reduces n: two present participants, need min(3, 2) = 2
    loose = find_windows(states, WindowRule(k=3, absent="reduce"))
    assert loose == []
    everyone_present = np.array([[1, 1, 1, 1], [-1, -1, 1, 1]], dtype=np.int8)
    (w,) = find_windows(everyone_present, WindowRule(k=2, absent="reduce"))
    assert (w.start_epoch, w.end_epoch, w.members) == (0, 4, ("p0",))


def test_hand_over_keeps_one_window_but_members_are_only_those_in_rem_throughout():
    states = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], np.int8)
    (w,) = find_windows(states, WindowRule(k=2))
    assert (w.start_epoch, w.end_epoch) == (0, 6)
    assert w.members == ("p0",) and w.involved == ("p0", "p1", "p2")


def test_bad_rules_raise_one_line_errors():
    with pytest.raises(ValueError, match="k must be"):
        WindowRule(k=0)
    with pytest.raises(ValueError, match="absent must be one of"):
        WindowRule(k=1, absent="ignore")
    with pytest.raises(ValueError, match="exceeds"):
        find_windows(np.zeros((2, 3), np.int8), WindowRule(k=3))
    with pytest.raises(ValueError, match="required participant 'zz'"):
        find_windows(np.zeros((2, 3), np.int8), WindowRule(k=1, required=("zz",)))


def test_timeline_windows_are_in_seconds_with_confidence():
    tl = Timeline.from_arrays(
        ["a", "b"],
        np.array([[1, 1, 0], [1, 1, 1]]),
        np.array([[0.9, 0.7, 0.0], [0.5, 0.5, 0.9]]),
        epoch_length=20.0,
    )
    (w,) = group_windows(tl, WindowRule(k=2))
    assert (w.start, w.end, w.duration, w.n_members) == (0.0, 40.0, 40.0, 2)
    assert w.mean_confidence == pytest.approx((0.9 + 0.7 + 0.5 + 0.5) / 4)


def test_live_events_lag_by_gap_and_announce_at_minimum_duration():
    rule = WindowRule(k=1, min_epochs=3, gap=3)
    live = LiveGroupWindows(["a"], rule)
    seq = [1, 1, 1, 1, 0, 0, 0, 0]
    log = [(t, e.kind) for t, s in enumerate(seq) for e in live.update(np.array([s]))]
    assert log == [(4, "opened"), (6, "closed")]
    assert live.windows[0].end_epoch == 4
