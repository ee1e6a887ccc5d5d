"""Automatic choice of the EEG, EOG and chin-EMG channels of a recording."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from dreamband.errors import ChannelNotFoundError

__all__ = ["ChannelChoice", "pick_channels"]

# EEG derivations in order of preference: central/frontal referenced to a mastoid (what
# the AASM manual and the DREAMS/Sleep-EDF scorers used), then bipolar Fpz-Cz (Sleep-EDF),
# then consumer headbands (Muse AF7/AF8/TP9/TP10).
_EEG_PREF = (
    r"c4-?(m1|a1)", r"c3-?(m2|a2)", r"c3-?(m1|a1)", r"c4-?(m2|a2)", r"cz-?(m\d|a\d)",
    r"f4-?(m1|a1)", r"f3-?(m2|a2)", r"fpz-?cz", r"pz-?oz", r"c[34z]\b", r"fp[12z]\b",
    r"af[78]\b", r"tp(9|10)\b", r"o[12]-?(m\d|a\d)",
)
_EOG_PREF = (
    r"eog.*hor", r"horizontal", r"\be1\b", r"\bloc\b", r"eog ?1", r"eog.*\bl", r"^eog", r"\be2\b"
)
_ROC = (r"\be2\b", r"\broc\b", r"eog ?2", r"eog.*\br")
_LEFT = r"\be1\b|\bloc\b|eog ?1|eog.*\bl"
_EMG_PREF = (r"emg.*(chin|sub|ment)", r"chin", r"^emg")


@dataclass(frozen=True)
class ChannelChoice:
    """Channels chosen for staging (None when absent)."""

    eeg: str
    eog: str | None = None
    roc: str | None = None
    emg: str | None = None


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", name.lower().replace("eeg ", "").strip())


def _first(
    names: Sequence[str], patterns: Sequence[str], exclude: Sequence[str] = ()
) -> str | None:
    for pat in patterns:
        for n in names:
            if n in exclude:
                continue
            if re.search(pat, _norm(n)):
                return n
    return None


def _resolve(names: Sequence[str], want: str, source: str) -> str:
    for n in names:
        if n == want:
            return n
    low = [n for n in names if n.lower() == want.lower()]
    if len(low) == 1:
        return low[0]
    raise ChannelNotFoundError(source, want, names)


def pick_channels(
    names: Sequence[str],
    eeg: str | None = None,
    eog: str | None = None,
    emg: str | None = None,
    source: str = "recording",
) -> ChannelChoice:
    """Choose the channels to stage from.

    Parameters
    ----------
    names : sequence of str
        Channel names of the recording.
    eeg, eog, emg : str, optional
        Names forced by the user (``--eeg`` etc.); ``"none"`` disables EOG/EMG.
    source : str
        Recording name for messages.

    Returns
    -------
    ChannelChoice

    Raises
    ------
    ChannelNotFoundError
        If a forced channel is missing, or no EEG channel can be found.
    """
    names = list(names)
    if eeg:
        eeg_ch = _resolve(names, eeg, source)
    else:
        eog_like = [n for n in names if re.search(r"eog|emg|ecg|ekg|resp|loc|roc", n.lower())]
        eeg_ch = _first(names, _EEG_PREF, exclude=eog_like)
        if eeg_ch is None:
            eeg_ch = next((n for n in names if n.lower().startswith("eeg")), None)
        if eeg_ch is None:
            raise ChannelNotFoundError(source, "EEG (C4-M1, C3-M2, Cz, Fpz-Cz, AF7, ...)", names)
    eog_ch = roc_ch = None
    if eog and eog.lower() == "none":
        pass
    elif eog:
        eog_ch = _resolve(names, eog, source)
    else:
        eog_ch = _first(names, _EOG_PREF, exclude=[eeg_ch])
        if eog_ch is not None:
            roc_ch = _first(names, _ROC, exclude=[eeg_ch, eog_ch])
            if roc_ch is not None and not re.search(_LEFT, _norm(eog_ch)):
                roc_ch = None  # a horizontal bipolar EOG needs no partner
    emg_ch = None
    if emg and emg.lower() == "none":
        pass
    elif emg:
        emg_ch = _resolve(names, emg, source)
    else:
        emg_ch = _first(names, _EMG_PREF, exclude=[eeg_ch])
    return ChannelChoice(eeg=eeg_ch, eog=eog_ch, roc=roc_ch, emg=emg_ch)
