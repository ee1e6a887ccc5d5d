"""Time intervals found in a night: REM periods."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RemPeriod"]


@dataclass(frozen=True)
class RemPeriod:
    """One REM period of one participant.

    Parameters
    ----------
    start, end : float
        Seconds from the recording start (or from the common timeline's origin when the
        period has been placed on one); ``end > start``.
    cycle : int
        REM cycle number in the night, starting at 1.
    participant : str
        Participant identifier ("" when there is only one).
    eye_movements : int
        Rapid eye movements detected in the period (0 when no EOG was available).
    confidence : float
        Mean REM probability over the period (1.0 for expert scorings).
    """

    start: float
    end: float
    cycle: int = 1
    participant: str = ""
    eye_movements: int = 0
    confidence: float = 1.0

    def __post_init__(self) -> None:
        if not self.end > self.start:
            raise ValueError(f"REM period end ({self.end}) must be after its start ({self.start})")

    @property
    def duration(self) -> float:
        """Duration in seconds."""
        return self.end - self.start

    @property
    def density(self) -> float:
        """Rapid eye movements per minute of REM."""
        return self.eye_movements / (self.duration / 60.0)
