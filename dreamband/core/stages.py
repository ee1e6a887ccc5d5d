"""Sleep stages and converters from every coding dreamband reads.

There is one five-class enum, :class:`SleepStage` (AASM: W, N1, N2, N3, REM, plus
UNSCORED), and one three-class enum for wearables, :class:`WearableStage`
(W, NREM, REM, plus UNSCORED). Every dataset's coding is converted here and nowhere
else, so stage strings never spread through the code.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

import numpy as np

__all__ = [
    "FIVE_CLASS",
    "THREE_CLASS",
    "SleepStage",
    "WearableStage",
    "from_dreams",
    "from_rk",
    "from_slpdb",
    "parse_stage",
    "stages_from_ints",
    "to_wearable",
]


class SleepStage(IntEnum):
    """AASM sleep stage of one epoch.

    The integer values are stable (they are written to Parquet files): W=0, N1=1,
    N2=2, N3=3, REM=4 and UNSCORED=-1 (movement, artefact, not scored, missing).
    """

    UNSCORED = -1
    W = 0
    N1 = 1
    N2 = 2
    N3 = 3
    REM = 4

    @property
    def label(self) -> str:
        """Short label used in files: ``W N1 N2 N3 REM`` or ``?`` for unscored."""
        return "?" if self is SleepStage.UNSCORED else self.name


class WearableStage(IntEnum):
    """Three-class stage used by heart-rate and wrist bands: W=0, NREM=1, REM=2."""

    UNSCORED = -1
    W = 0
    NREM = 1
    REM = 2

    @property
    def label(self) -> str:
        """Short label used in files: ``W NREM REM`` or ``?`` for unscored."""
        return "?" if self is WearableStage.UNSCORED else self.name


#: Scored five-class stages in column order of probability tables.
FIVE_CLASS: tuple[SleepStage, ...] = (
    SleepStage.W,
    SleepStage.N1,
    SleepStage.N2,
    SleepStage.N3,
    SleepStage.REM,
)
#: Scored three-class stages in column order of probability tables.
THREE_CLASS: tuple[WearableStage, ...] = (WearableStage.W, WearableStage.NREM, WearableStage.REM)

# Rechtschaffen & Kales labels as written in Sleep-EDF EDF+ annotations.
_RK_LABELS: dict[str, SleepStage] = {
    "Sleep stage W": SleepStage.W,
    "Sleep stage 1": SleepStage.N1,
    "Sleep stage 2": SleepStage.N2,
    "Sleep stage 3": SleepStage.N3,
    "Sleep stage 4": SleepStage.N3,
    "Sleep stage R": SleepStage.REM,
    "Sleep stage ?": SleepStage.UNSCORED,
    "Movement time": SleepStage.UNSCORED,
}

# Short codes (slpdb's first aux_note token, and R&K shorthand).
_SHORT_CODES: dict[str, SleepStage] = {
    "W": SleepStage.W,
    "1": SleepStage.N1,
    "2": SleepStage.N2,
    "3": SleepStage.N3,
    "4": SleepStage.N3,
    "R": SleepStage.REM,
    "MT": SleepStage.UNSCORED,
    "M": SleepStage.UNSCORED,
    "?": SleepStage.UNSCORED,
}

# DREAMS hypnograms: 5 wake, 4 REM, 3 S1, 2 S2, 1 S3, 0 S4, -1 movement, -2/-3 unknown.
_DREAMS_CODES: dict[int, SleepStage] = {
    5: SleepStage.W,
    4: SleepStage.REM,
    3: SleepStage.N1,
    2: SleepStage.N2,
    1: SleepStage.N3,
    0: SleepStage.N3,
    -1: SleepStage.UNSCORED,
    -2: SleepStage.UNSCORED,
    -3: SleepStage.UNSCORED,
}

_TO_WEARABLE: dict[SleepStage, WearableStage] = {
    SleepStage.W: WearableStage.W,
    SleepStage.N1: WearableStage.NREM,
    SleepStage.N2: WearableStage.NREM,
    SleepStage.N3: WearableStage.NREM,
    SleepStage.REM: WearableStage.REM,
    SleepStage.UNSCORED: WearableStage.UNSCORED,
}

# Names accepted by parse_stage (case-insensitive), for files and the command line.
_NAMES: dict[str, SleepStage] = {
    "W": SleepStage.W,
    "WAKE": SleepStage.W,
    "N1": SleepStage.N1,
    "N2": SleepStage.N2,
    "N3": SleepStage.N3,
    "N4": SleepStage.N3,
    "REM": SleepStage.REM,
    "R": SleepStage.REM,
    "?": SleepStage.UNSCORED,
    "UNSCORED": SleepStage.UNSCORED,
    "ART": SleepStage.UNSCORED,
}


def from_rk(label: str) -> SleepStage:
    """Convert a Rechtschaffen & Kales annotation label to a :class:`SleepStage`.

    Parameters
    ----------
    label : str
        Sleep-EDF annotation text such as ``"Sleep stage 4"`` or ``"Movement time"``.

    Returns
    -------
    SleepStage
        S3 and S4 both map to N3; ``?`` and movement time map to UNSCORED.

    Raises
    ------
    ValueError
        If the label is not one of the eight R&K labels.
    """
    try:
        return _RK_LABELS[label.strip()]
    except KeyError:
        allowed = ", ".join(repr(k) for k in _RK_LABELS)
        raise ValueError(f"unknown R&K stage label {label!r}; expected one of {allowed}") from None


def from_slpdb(aux_note: str) -> SleepStage:
    """Convert an MIT-BIH slpdb ``.st`` annotation to a :class:`SleepStage`.

    Parameters
    ----------
    aux_note : str
        The annotation's ``aux_note``; its first token is the stage (``W``, ``1``-``4``,
        ``R``, ``MT``/``M``), later tokens are respiratory events. A trailing NUL is ignored.

    Returns
    -------
    SleepStage

    Raises
    ------
    ValueError
        If the first token is not a stage code.
    """
    tokens = aux_note.replace("\x00", " ").split()
    if not tokens:
        raise ValueError("empty slpdb stage annotation")
    try:
        return _SHORT_CODES[tokens[0].upper()]
    except KeyError:
        allowed = ", ".join(_SHORT_CODES)
        raise ValueError(
            f"unknown slpdb stage code {tokens[0]!r}; expected one of {allowed}"
        ) from None


def from_dreams(code: int) -> SleepStage:
    """Convert a DREAMS hypnogram code (5 W, 4 REM, 3 S1, 2 S2, 1 S3, 0 S4, <0 unknown)."""
    try:
        return _DREAMS_CODES[int(code)]
    except KeyError:
        raise ValueError(
            f"unknown DREAMS stage code {code!r}; expected one of {sorted(_DREAMS_CODES)}"
        ) from None


def to_wearable(stage: SleepStage | int) -> WearableStage:
    """Collapse a five-class stage to the three-class wearable stage (N1-N3 -> NREM)."""
    return _TO_WEARABLE[SleepStage(stage)]


def parse_stage(text: str) -> SleepStage:
    """Parse a stage name as written in files or typed by a user.

    Accepts ``W``/``Wake``, ``N1``, ``N2``, ``N3`` (and ``N4``), ``REM``/``R`` and ``?``,
    case-insensitively.

    Raises
    ------
    ValueError
        Naming the bad value and the allowed ones.
    """
    try:
        return _NAMES[text.strip().upper()]
    except KeyError:
        raise ValueError(
            f"stage must be one of W, N1, N2, N3, REM, ?; got {text!r}"
        ) from None


def stages_from_ints(values: Iterable[int]) -> np.ndarray:
    """Validate integer stage codes and return them as an ``int8`` array.

    Raises
    ------
    ValueError
        If any value is not a :class:`SleepStage` value.
    """
    arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"stage codes must be integers; got dtype {arr.dtype}")
    arr = arr.astype(np.int8, copy=False)
    bad = ~np.isin(arr, [s.value for s in SleepStage])
    if bad.any():
        raise ValueError(
            f"invalid stage code {int(arr[bad][0])} at epoch {int(np.flatnonzero(bad)[0])}; "
            f"expected one of {[s.value for s in SleepStage]}"
        )
    return arr
