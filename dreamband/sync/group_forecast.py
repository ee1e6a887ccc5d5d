"""Group forecast by Monte Carlo: the next window when at least ``k`` are in REM together.

Each draw samples, per participant, the end of the current REM period (if one is open) and the
next few REM periods from the learned model (:class:`~dreamband.sync.forecast.ForecastModel`),
conditioned on the night so far. The draws are put on the epoch grid after ``now`` (an epoch is
REM when a sampled period covers its midpoint; merged periods count as REM throughout), the
group criterion ``count >= k`` is applied, and runs shorter than ``min_epochs`` are dropped.
Participants not yet asleep contribute no REM. Required subsets, absence rules and gap
bridging of the batch windows are not modelled here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from dreamband.sync.forecast import ForecastModel, NightTracker
from dreamband.sync.types import GroupForecast

__all__ = ["GroupDraws", "sample_rem_intervals", "simulate_group"]

_LEVELS = (0.1, 0.5, 0.9)


def sample_rem_intervals(
    model: ForecastModel, tracker: NightTracker, n_draws: int, until: float,
    rng: np.random.Generator, max_periods: int = 4,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Draws of the participant's REM periods from now until ``until`` (seconds).

    Returns
    -------
    list of (start, end)
        Arrays of shape ``(n_draws,)`` in the tracker's seconds; the current period (if open)
        first, then future periods in order. Empty when the participant is not asleep.
    """
    drawn = model.sample_next(tracker, n_draws, rng)
    if drawn is None:
        return []
    cur, nxt = drawn
    out = []
    if cur is not None:
        out.append((np.full(n_draws, tracker.onsets[-1] * tracker.epoch_length), cur))
    cycle = len(tracker.onsets)
    for j in range(max_periods):
        c = cycle + 1 + j
        end = nxt + model.sample_duration(c, np.zeros(n_draws), rng.random(n_draws))
        out.append((nxt, end))
        nxt = end + model.sample_after_rem(c, np.full(n_draws, model.merge_gap_s),
                                           rng.random(n_draws))
        if np.all(nxt >= until):
            break
    return out


def _to_epochs(t: np.ndarray, now: float, L: float, H: int) -> np.ndarray:
    return np.clip(np.ceil((t - now) / L - 0.5), 0, H).astype(np.int64)


@dataclass
class GroupDraws:
    """Simulated group REM after ``now``: the raw material of forecasts and schedules.

    Attributes
    ----------
    names : tuple of str
    now, epoch_length : float
    window : numpy.ndarray
        ``(n_draws, H)`` bool, epoch in a qualifying group window.
    rem : list of numpy.ndarray
        Per participant ``(n_draws, H)`` bool REM masks.
    k : int
    """

    names: tuple[str, ...]
    now: float
    epoch_length: float
    window: np.ndarray
    rem: list[np.ndarray]
    k: int

    @property
    def horizon(self) -> float:
        """Simulated seconds after ``now``."""
        return self.window.shape[1] * self.epoch_length

    def first_window(self) -> GroupForecast:
        """Forecast of the first group window after ``now`` (quantiles over draws)."""
        S, H = self.window.shape
        has = self.window.any(axis=1)
        ws = np.argmax(self.window, axis=1)
        after = np.arange(H)[None, :] >= ws[:, None]
        ended = after & ~self.window
        we = np.where(ended.any(axis=1), np.argmax(ended, axis=1), H)
        L = self.epoch_length
        start, dur, members = {}, {}, {}
        if has.any():
            start = {q: float(self.now + np.quantile(ws[has], q) * L) for q in _LEVELS}
            dur = {q: float(np.quantile((we - ws)[has], q) * L) for q in _LEVELS}
            span = we - ws
            for name, rem in zip(self.names, self.rem):
                cs = np.concatenate([np.zeros((S, 1), np.int64), np.cumsum(rem, axis=1)], axis=1)
                inside = np.take_along_axis(cs, we[:, None], 1) - np.take_along_axis(
                    cs, ws[:, None], 1)
                members[name] = float(np.mean(inside[has, 0] == span[has]))
        return GroupForecast(self.now, self.k, float(has.mean()), start, dur, members,
                             self.horizon)


def simulate_group(
    trackers: Mapping[str, NightTracker], model: ForecastModel, k: int, *,
    now: float | None = None, min_epochs: int = 1, horizon_s: float = 4 * 3600.0,
    n_draws: int = 400, seed: int = 0,
) -> GroupDraws:
    """Monte Carlo draws of the group's REM over the next ``horizon_s`` seconds.

    Parameters
    ----------
    trackers : mapping of str to NightTracker
        Each participant's night so far, fed on the common timeline.
    model : ForecastModel
        Learned forecast parameters.
    k : int
        Minimum number of participants in REM together.
    now : float, optional
        Forecast time (s on the timeline); default the latest tracker time.
    min_epochs : int
        Minimum window length in epochs.
    horizon_s : float
        Simulated seconds after ``now``.
    n_draws : int
        Number of Monte Carlo draws.
    seed : int
        Seed of the random generator (results are reproducible).

    Returns
    -------
    GroupDraws

    Raises
    ------
    ValueError
        On no participants, ``k`` out of range or mixed epoch lengths.
    """
    if not trackers:
        raise ValueError("need at least one participant to forecast a group window")
    if not 1 <= k <= len(trackers):
        raise ValueError(f"k must be between 1 and {len(trackers)}; got {k}")
    lengths = {tr.epoch_length for tr in trackers.values()}
    if len(lengths) != 1:
        raise ValueError(f"trackers must share one epoch length; got {sorted(lengths)}")
    L = lengths.pop()
    now = max(tr.now for tr in trackers.values()) if now is None else float(now)
    H = max(1, math.ceil(horizon_s / L))
    rng = np.random.default_rng(seed)
    count = np.zeros((n_draws, H), dtype=np.int32)
    rems = []
    rows = np.arange(n_draws)
    for tr in trackers.values():
        diff = np.zeros((n_draws, H + 1), dtype=np.int32)
        for a, b in sample_rem_intervals(model, tr, n_draws, now + horizon_s, rng):
            ia, ib = _to_epochs(a, now, L, H), _to_epochs(b, now, L, H)
            ok = ib > ia
            np.add.at(diff, (rows[ok], ia[ok]), 1)
            np.add.at(diff, (rows[ok], ib[ok]), -1)
        rem = np.cumsum(diff[:, :H], axis=1) > 0
        rems.append(rem)
        count += rem
    active = count >= k
    idx = np.arange(H)[None, :]
    last_off = np.maximum.accumulate(np.where(~active, idx, -1), axis=1)
    next_off = np.minimum.accumulate(np.where(~active, idx, H)[:, ::-1], axis=1)[:, ::-1]
    run_len = next_off - last_off - 1
    window = active & (run_len >= min_epochs)
    return GroupDraws(tuple(trackers), now, L, window, rems, k)
