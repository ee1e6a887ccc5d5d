"""Turn wrapped device sample counters into absolute indices and explicit gaps (pure)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CounterTracker", "Placement"]


@dataclass(frozen=True)
class Placement:
    """Where a packet goes: absolute first index, and how many samples are missing before it.

    ``missing < 0`` means the packet overlaps what was already delivered (a duplicate or a
    late, reordered packet): the caller must drop it.
    """

    first_index: int
    missing: int


class CounterTracker:
    """Unwraps a counter that wraps every ``modulo`` samples, using host time to tell how
    many wraps a long outage spanned.

    Parameters
    ----------
    fs : float
        Nominal sampling rate (Hz).
    modulo : int or None
        Counter period in samples; ``None`` when positions are absolute (timestamps).
    tolerance : int
        Differences up to this many samples are treated as rounding of device timestamps
        and re-anchored to contiguity (0 for exact counters).
    """

    def __init__(self, fs: float, modulo: int | None, tolerance: int = 0) -> None:
        self.fs = float(fs)
        self.modulo = modulo
        self.tolerance = int(tolerance)
        self.next_index: int | None = None
        self.last_host: float | None = None

    def place(self, position: int, n: int, host_time: float) -> Placement:
        """Place a packet of ``n`` samples whose first sample has counter ``position``,
        received at ``host_time`` (s). Updates the state unless the packet is a duplicate."""
        if self.next_index is None or self.last_host is None:
            first, missing = int(position), 0
        elif self.modulo is None:
            missing = int(position) - self.next_index
            if abs(missing) <= self.tolerance:
                missing = 0
            first = self.next_index + missing
        else:
            m = self.modulo
            delta = (int(position) - self.next_index) % m
            # samples that elapsed between the two packets' ends, from host time
            elapsed = (host_time - self.last_host) * self.fs
            k = round((elapsed - n - delta) / m)  # k = -1: a step back (duplicate)
            missing = delta + k * m
            first = self.next_index + missing
        if missing < 0:
            return Placement(first, missing)
        self.next_index = first + n
        self.last_host = host_time
        return Placement(first, missing)
