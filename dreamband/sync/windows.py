"""Group REM windows: when at least ``k`` of ``n`` participants are in REM together.

Exact semantics (shared by the batch sweep :func:`find_windows` and the live
:class:`LiveGroupWindows`, which a test proves equal):

1. **Gap closing per participant** (``gap``): a run of NOT_REM epochs shorter than ``gap``
   epochs with REM right before and right after it counts as REM (one noisy epoch does not
   break a participant's REM). ABSENT epochs are never filled and a run touching absence is
   never filled. ``gap <= 1`` closes nothing. Everything below uses these closed states.
2. **Criterion per epoch**: ``count >= need`` and ``count >= 1``, where ``count`` is the number of
   participants in REM and ``need`` is ``k`` when ``absent="not_rem"`` (an absent participant is
   simply not in REM) or ``min(k, n_present)`` when ``absent="reduce"`` (absent participants
   reduce ``n``: with ``k = n`` it means "everyone present"); and every ``required`` participant
   is in REM (an absent required participant fails the criterion).
3. **Bridging** (``bridge``): a run of epochs failing the criterion shorter than ``bridge``
   epochs between two runs meeting it is absorbed into one window (``bridge <= 1``: none).
4. **Windows** are the maximal runs after bridging that last at least ``min_epochs`` epochs.
   They start and end on epochs meeting the criterion.
5. **Members** of a window are the participants in (closed) REM at *every* epoch of it, so every
   window lies inside the REM of each of its members; **involved** are those in REM at some
   epoch. ``mean_confidence`` is the mean confidence over the REM participant-epochs inside.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np

from dreamband.sync.timeline import ABSENT, NOT_REM, REM, Timeline
from dreamband.sync.types import GroupWindow, WindowEvent

__all__ = [
    "LiveGroupWindows",
    "WindowRule",
    "close_gaps",
    "find_windows",
    "group_active",
    "group_windows",
]

Absent = Literal["not_rem", "reduce"]


@dataclass(frozen=True)
class WindowRule:
    """Parameters of the group criterion (see the module docstring for the exact semantics).

    Parameters
    ----------
    k : int
        Minimum number of participants in REM (0 allowed when ``required`` is given).
    required : tuple of str
        Participants who must all be in REM.
    absent : {"not_rem", "reduce"}
        How absent participants count.
    min_epochs : int
        Minimum window length in epochs (>= 1).
    gap : int
        Per-participant gap closing: NOT_REM runs shorter than this between REM are REM.
    bridge : int
        Group-level bridging: criterion breaks shorter than this do not split a window.
    """

    k: int = 2
    required: tuple[str, ...] = ()
    absent: Absent = "not_rem"
    min_epochs: int = 1
    gap: int = 0
    bridge: int = 0

    def __post_init__(self) -> None:
        if self.absent not in ("not_rem", "reduce"):
            raise ValueError(f"absent must be one of 'not_rem', 'reduce'; got {self.absent!r}")
        if self.k < 0 or (self.k == 0 and not self.required):
            raise ValueError(f"k must be >= 1 (or 0 with required participants); got {self.k}")
        if self.min_epochs < 1:
            raise ValueError(f"min_epochs must be >= 1; got {self.min_epochs}")
        if self.gap < 0 or self.bridge < 0:
            raise ValueError(f"gap and bridge must be >= 0; got {self.gap}, {self.bridge}")
        object.__setattr__(self, "required", tuple(self.required))

    @classmethod
    def from_seconds(
        cls, k: int, epoch_length: float, min_duration: float = 0.0, gap: float = 0.0,
        bridge: float = 0.0, **kwargs,
    ) -> WindowRule:
        """Rule with durations in seconds, rounded up to whole epochs of ``epoch_length``."""
        def ep(s: float) -> int:
            return max(0, math.ceil(float(s) / epoch_length - 1e-9))

        return cls(k=k, min_epochs=max(1, ep(min_duration)), gap=ep(gap), bridge=ep(bridge),
                   **kwargs)

    def required_rows(self, names: tuple[str, ...]) -> np.ndarray:
        """Row indices of the required participants; ValueError naming an unknown one."""
        index = {n: i for i, n in enumerate(names)}
        missing = [r for r in self.required if r not in index]
        if missing:
            raise ValueError(f"required participant {missing[0]!r} is not on the timeline")
        return np.array([index[r] for r in self.required], dtype=np.intp)

    def check(self, names: tuple[str, ...]) -> np.ndarray:
        """Validate against the participants; return the required rows."""
        if self.k > len(names):
            raise ValueError(f"k = {self.k} exceeds the {len(names)} participants")
        return self.required_rows(names)


def close_gaps(states: np.ndarray, gap: int) -> np.ndarray:
    """Fill NOT_REM runs shorter than ``gap`` epochs that have REM on both sides (vectorised).

    Parameters
    ----------
    states : numpy.ndarray
        ``(n, n_epochs)`` ``int8`` states.
    gap : int
        Gap tolerance in epochs.

    Returns
    -------
    numpy.ndarray
        A new state array.
    """
    out = np.array(states, dtype=np.int8, copy=True)
    if gap <= 1 or out.size == 0:
        return out
    n, m = out.shape
    nr = np.zeros((n, m + 2), dtype=np.int8)
    nr[:, 1:-1] = out == NOT_REM
    d = np.diff(nr, axis=1)
    sr, sc = np.nonzero(d == 1)    # run starts (row-major order pairs them with the ends)
    _, ec = np.nonzero(d == -1)    # run ends, exclusive
    ok = (ec - sc < gap) & (sc > 0) & (ec < m)
    sr, sc, ec = sr[ok], sc[ok], ec[ok]
    ok = (out[sr, sc - 1] == REM) & (out[sr, ec] == REM)
    sr, sc, ec = sr[ok], sc[ok], ec[ok]
    mark = np.zeros((n, m + 1), dtype=np.int8)
    mark[sr, sc] = 1
    mark[sr, ec] = -1
    fill = np.cumsum(mark, axis=1, dtype=np.int8)[:, :m] > 0
    out[fill] = REM
    return out


def group_active(states: np.ndarray, rule: WindowRule, required_rows: np.ndarray) -> np.ndarray:
    """Whether the criterion holds at each epoch of ``(n, m)`` closed states -> ``(m,)`` bool."""
    rem = states == REM
    count = rem.sum(axis=0)
    if rule.absent == "not_rem":
        need = np.full(count.shape, rule.k)
    else:
        need = np.minimum(rule.k, (states != ABSENT).sum(axis=0))
    ok = (count >= need) & (count >= 1)
    if required_rows.size:
        ok &= rem[required_rows].all(axis=0)
    return ok


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    d = np.diff(padded)
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def _bridge(active: np.ndarray, bridge: int) -> np.ndarray:
    if bridge <= 1:
        return active
    starts, ends = _runs(active)
    out = active.copy()
    for e, s in zip(ends[:-1], starts[1:]):
        if s - e < bridge:
            out[e:s] = True
    return out


def _summarise(
    rem: np.ndarray, conf: np.ndarray, names: tuple[str, ...], s: int, e: int,
    rule: WindowRule, epoch_length: float,
) -> GroupWindow:
    rem = np.ascontiguousarray(rem, dtype=bool)
    conf = np.ascontiguousarray(conf, dtype=np.float64)
    members = np.flatnonzero(rem.all(axis=1))
    involved = np.flatnonzero(rem.any(axis=1))
    n_rem = int(rem.sum())
    mean_conf = float(conf[rem].sum() / n_rem) if n_rem else 0.0
    return GroupWindow(
        start=s * epoch_length, end=e * epoch_length, start_epoch=int(s), end_epoch=int(e),
        members=tuple(sorted(names[i] for i in members)),
        involved=tuple(sorted(names[i] for i in involved)),
        k=rule.k, n=len(names), mean_confidence=mean_conf,
    )


def find_windows(
    states: np.ndarray,
    rule: WindowRule,
    names: tuple[str, ...] | None = None,
    confidence: np.ndarray | None = None,
    epoch_length: float = 30.0,
) -> list[GroupWindow]:
    """Group windows of a ``(n, n_epochs)`` state matrix in one vectorised sweep.

    Parameters
    ----------
    states : numpy.ndarray
        :data:`REM` / :data:`NOT_REM` / :data:`ABSENT` codes per participant and epoch.
    rule : WindowRule
        The criterion.
    names : tuple of str, optional
        Participant names (default ``"p0"``, ``"p1"``, ...).
    confidence : numpy.ndarray, optional
        REM confidence per participant-epoch (default 1.0 where in REM).
    epoch_length : float
        Seconds per epoch (window times are ``epoch * epoch_length``).

    Returns
    -------
    list of GroupWindow
        In time order.
    """
    states = np.asarray(states, dtype=np.int8)
    if states.ndim != 2:
        raise ValueError(f"states must be 2-D (participants, epochs); got shape {states.shape}")
    names = tuple(names) if names is not None else tuple(f"p{i}" for i in range(states.shape[0]))
    if len(names) != states.shape[0]:
        raise ValueError(f"{len(names)} names for {states.shape[0]} participant rows")
    req = rule.check(names)
    closed = close_gaps(states, rule.gap)
    if confidence is None:
        confidence = (states == REM).astype(np.float64)
    active = _bridge(group_active(closed, rule, req), rule.bridge)
    starts, ends = _runs(active)
    keep = ends - starts >= rule.min_epochs
    return [
        _summarise(closed[:, s:e] == REM, confidence[:, s:e], names, s, e, rule, epoch_length)
        for s, e in zip(starts[keep], ends[keep])
    ]


def group_windows(timeline: Timeline, rule: WindowRule) -> list[GroupWindow]:
    """Group windows of a :class:`Timeline` (times in seconds from its origin)."""
    return find_windows(timeline.states, rule, timeline.names, timeline.confidence,
                        timeline.epoch_length)


class LiveGroupWindows:
    """Incremental group windows: feed all participants' states one epoch at a time.

    Events lag the truth by ``gap - 1`` epochs (gap closing needs to see REM resume) and a
    window is announced ``"opened"`` once it has lasted ``min_epochs``; it is ``"closed"``
    after ``bridge`` epochs failing the criterion (or at :meth:`finish`). The windows collected
    after :meth:`finish` equal :func:`find_windows` on the whole night exactly.

    Parameters
    ----------
    names : sequence of str
        Participant names, fixed for the session (late joiners are ABSENT until they join).
    rule : WindowRule
        The criterion.
    epoch_length : float
        Seconds per epoch.
    """

    def __init__(self, names, rule: WindowRule, epoch_length: float = 30.0) -> None:
        self.names = tuple(names)
        self.rule = rule
        self.epoch_length = float(epoch_length)
        self._req = rule.check(self.names)
        n = len(self.names)
        self._prev = np.full(n, ABSENT, dtype=np.int8)
        self._run = np.zeros(n, dtype=np.int64)        # trailing NOT_REM run length
        self._after_rem = np.zeros(n, dtype=bool)      # that run follows REM
        self._pending: deque[tuple[np.ndarray, np.ndarray]] = deque()
        self._t = -1            # last epoch fed
        self._final = -1        # last epoch finalised
        self._cols: list[tuple[np.ndarray, np.ndarray]] = []  # finalised columns of open window
        self._win_start: int | None = None
        self._last_active = -1
        self._inactive = 0
        self._opened = False
        self.windows: list[GroupWindow] = []
        self._done = False

    @property
    def epoch(self) -> int:
        """Index of the last epoch fed (-1 before the first)."""
        return self._t

    @property
    def open_since(self) -> float | None:
        """Start (s) of the window currently open and confirmed, else None."""
        if self._opened and self._win_start is not None:
            return self._win_start * self.epoch_length
        return None

    def update(self, states: np.ndarray, confidence: np.ndarray | None = None) -> list[WindowEvent]:
        """Feed one epoch: ``states`` ``(n,)`` REM/NOT_REM/ABSENT, optional confidence ``(n,)``.

        Returns
        -------
        list of WindowEvent
            Windows confirmed open or closed by this epoch.
        """
        if self._done:
            raise ValueError("live group windows already finished; start a new session")
        s = np.asarray(states, dtype=np.int8)
        if s.shape != self._prev.shape:
            raise ValueError(f"expected states for {self._prev.size} participants; got {s.shape}")
        if s.size and not np.isin(s, (ABSENT, NOT_REM, REM)).all():
            raise ValueError("states must be ABSENT (-1), NOT_REM (0) or REM (1)")
        c = (s == REM).astype(np.float64) if confidence is None else np.array(
            confidence, dtype=np.float64)
        if c.shape != s.shape:
            raise ValueError(f"confidence shape {c.shape} differs from states {s.shape}")
        self._t += 1
        s = s.copy()
        gap = self.rule.gap
        if gap > 1:
            fill = (s == REM) & self._after_rem & (self._run >= 1) & (self._run < gap)
            if fill.any():
                for j in range(1, gap):
                    rows = fill & (self._run >= j)
                    if not rows.any():
                        break
                    self._pending[-j][0][rows] = REM
            is_nr = s == NOT_REM
            self._after_rem = np.where(is_nr & (self._prev != NOT_REM), self._prev == REM,
                                       self._after_rem & is_nr)
            self._run = np.where(is_nr, self._run + 1, 0)
            self._prev = s.copy()
        self._pending.append((s, c))
        events: list[WindowEvent] = []
        while len(self._pending) > max(gap - 1, 0):
            events += self._finalise(*self._pending.popleft())
        return events

    def _finalise(self, s: np.ndarray, c: np.ndarray) -> list[WindowEvent]:
        self._final += 1
        e = self._final
        active = bool(group_active(s[:, None], self.rule, self._req)[0])
        events: list[WindowEvent] = []
        if active:
            if self._win_start is None:
                self._win_start = e
                self._cols = []
            self._cols.append((s, c))
            self._last_active = e
            self._inactive = 0
            if not self._opened and e + 1 - self._win_start >= self.rule.min_epochs:
                self._opened = True
                events.append(WindowEvent("opened", self._t, self._win_start * self.epoch_length))
        elif self._win_start is not None:
            self._cols.append((s, c))
            self._inactive += 1
            if self._inactive >= self.rule.bridge:
                events += self._close()
        return events

    def _close(self) -> list[WindowEvent]:
        s0, e1 = self._win_start, self._last_active + 1
        cols = self._cols[: e1 - s0]
        self._win_start, self._cols, self._inactive = None, [], 0
        opened, self._opened = self._opened, False
        if e1 - s0 < self.rule.min_epochs:
            return []
        rem = np.stack([col[0] for col in cols], axis=1) == REM
        conf = np.stack([col[1] for col in cols], axis=1)
        win = _summarise(rem, conf, self.names, s0, e1, self.rule, self.epoch_length)
        self.windows.append(win)
        events = [] if opened else [WindowEvent("opened", self._t, win.start)]
        return [*events, WindowEvent("closed", self._t, win.start, win)]

    def finish(self) -> list[WindowEvent]:
        """End of the stream: finalise pending epochs and close any open window."""
        events: list[WindowEvent] = []
        while self._pending:
            events += self._finalise(*self._pending.popleft())
        if self._win_start is not None:
            events += self._close()
        self._done = True
        return events
