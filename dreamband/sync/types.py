"""Result types of the synchronizer: group windows, forecasts and live events."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["GroupForecast", "GroupWindow", "RemForecast", "WindowEvent"]


@dataclass(frozen=True)
class GroupWindow:
    """An interval when the group criterion (at least ``k`` in REM, required members in REM) holds.

    Parameters
    ----------
    start, end : float
        Seconds from the common timeline's origin; ``end > start``.
    start_epoch, end_epoch : int
        Epoch indices on the common grid, ``end_epoch`` exclusive.
    members : tuple of str
        Participants in REM at *every* epoch of the window (sorted). The window lies inside the
        (gap-closed) REM of each member; there may be fewer than ``k`` members when people hand
        over (one leaves REM while another enters).
    involved : tuple of str
        Participants in REM at *some* epoch of the window (sorted); a superset of ``members``.
    k, n : int
        The criterion's ``k`` and the number of participants on the timeline.
    mean_confidence : float
        Mean REM confidence (probability, 1.0 for expert scorings) over every
        participant-epoch in REM inside the window.
    """

    start: float
    end: float
    start_epoch: int
    end_epoch: int
    members: tuple[str, ...]
    involved: tuple[str, ...]
    k: int
    n: int
    mean_confidence: float

    @property
    def duration(self) -> float:
        """Duration in seconds."""
        return self.end - self.start

    @property
    def n_members(self) -> int:
        """Number of participants in REM throughout the window."""
        return len(self.members)


@dataclass(frozen=True)
class WindowEvent:
    """A live event: a group window opened (confirmed) or closed.

    Parameters
    ----------
    kind : {"opened", "closed"}
        ``"opened"`` is emitted as soon as the window is certain (it has reached the minimum
        duration); ``"closed"`` carries the final window.
    epoch : int
        Index of the last epoch fed when the event was emitted (the emission lags the window's
        true start/end by the gap tolerance and minimum duration).
    start : float
        Window start in seconds on the common timeline.
    window : GroupWindow or None
        The final window (``"closed"`` only).
    """

    kind: str
    epoch: int
    start: float
    window: GroupWindow | None = None


@dataclass(frozen=True)
class RemForecast:
    """One participant's forecast of the next REM period, from the night so far.

    Times are seconds on the participant's (or the common) timeline; quantile dicts map a level
    such as ``0.1``, ``0.5``, ``0.9`` to a time.

    Parameters
    ----------
    participant : str
        Participant identifier.
    now : float
        Time of the forecast (end of the last epoch seen).
    asleep : bool
        Whether sleep onset has been seen (no forecast is meaningful before).
    in_rem : bool
        Whether the participant's current REM period is still open.
    cycle : int
        Number of REM periods started so far (the next one is ``cycle + 1``).
    next_onset, next_offset : dict of float to float
        Quantiles of the next REM period's onset and offset.
    current_offset : dict of float to float
        Quantiles of the end of the current REM period (empty when not in REM).
    """

    participant: str
    now: float
    asleep: bool
    in_rem: bool
    cycle: int
    next_onset: dict[float, float] = field(default_factory=dict)
    next_offset: dict[float, float] = field(default_factory=dict)
    current_offset: dict[float, float] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupForecast:
    """The next group window (at least ``k`` participants in REM together) with its uncertainty.

    Parameters
    ----------
    now : float
        Time of the forecast on the common timeline (s).
    k : int
        Group criterion.
    probability : float
        Fraction of Monte Carlo draws in which a window starts within the horizon.
    start, duration : dict of float to float
        Quantiles of the next window's start (s on the timeline) and duration (s), over the
        draws that have a window; empty when none does.
    members : dict of str to float
        Per participant, the fraction of draws with a window in which they are a member.
    horizon : float
        Seconds after ``now`` that were simulated.
    """

    now: float
    k: int
    probability: float
    start: dict[float, float]
    duration: dict[float, float]
    members: dict[str, float]
    horizon: float

    @property
    def expected_members(self) -> tuple[str, ...]:
        """Participants who are members in at least half of the draws that have a window."""
        return tuple(sorted(p for p, f in self.members.items() if f >= 0.5))
