"""Who wears which band in a lab run, and how a band's profile becomes a live participant.

A participant is written ``NAME=TARGET`` or ``NAME=TARGET:PROFILE`` on the command line
(``alice=00:11:22:33:44:55``, ``bob=Polar H10 1A2B3C4D:polar_h10``); ``TARGET`` is a
Bluetooth address (or macOS UUID) or the band's advertised name, ``PROFILE`` one of
:data:`firmware_bridge.profiles.PROFILES`. Without a profile the band's advertisement or
GATT services decide it when it first connects.

:func:`engine_participant` maps a profile to the live engine's participant: EEG headbands
(Muse, Ganglion) are staged from their EEG stream; heart bands from RR intervals when the
profile sends them (Heart Rate Service straps and wristbands, Polar H10), else from heart
rate, or from the raw ECG when asked (``stream = "ecg"``, Polar H10).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from firmware_bridge.profiles import PROFILES, Profile, get_profile

__all__ = ["LabParticipant", "engine_participant", "parse_participant"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HEART_STREAMS = ("rr", "hr", "ecg")


@dataclass(frozen=True)
class LabParticipant:
    """One sleeper and the band they wear.

    Parameters
    ----------
    name : str
        Participant name (letters, digits, ``_ . -``; unique in the session).
    target : str
        Bluetooth address or advertised name of the band.
    profile : str or None
        Device profile; None = decided by the band when it connects.
    stream : {"rr", "hr", "ecg"} or None
        Heart bands: the stream to stage (default: RR when the band sends it, else HR).
    eeg, eog, emg : str or None
        EEG bands: channels to use (picked automatically when None).
    """

    name: str
    target: str
    profile: str | None = None
    stream: str | None = None
    eeg: str | None = None
    eog: str | None = None
    emg: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"participant name {self.name!r}: use letters, digits, '_', '.', "
                             "'-' (at most 64 characters)")
        if not self.target.strip():
            raise ValueError(f"participant {self.name!r}: empty band address or name")
        if self.profile is not None and self.profile not in PROFILES:
            raise ValueError(f"participant {self.name!r}: unknown profile {self.profile!r}; "
                             f"known: {', '.join(sorted(PROFILES))}")
        if self.stream is not None and self.stream not in _HEART_STREAMS:
            raise ValueError(f"participant {self.name!r}: stream must be one of "
                             f"{', '.join(_HEART_STREAMS)}; got {self.stream!r}")


def parse_participant(text: str) -> LabParticipant:
    """Parse ``NAME=TARGET[:PROFILE]``.

    A trailing ``:word`` is a profile only when it names one, so addresses
    (``00:11:22:33:44:55``) and names containing colons stay whole.

    Raises
    ------
    ValueError
        Malformed text, a bad name or an empty target (the message quotes the text).
    """
    name, sep, rest = text.partition("=")
    if not sep:
        raise ValueError(f"participant {text!r}: expected NAME=ADDRESS_OR_NAME[:PROFILE]")
    target, profile = rest, None
    head, colon, tail = rest.rpartition(":")
    if colon and tail in PROFILES:
        target, profile = head, tail
    return LabParticipant(name.strip(), target.strip(), profile)


def engine_participant(profile: Profile | str, who: LabParticipant) -> dict[str, Any]:
    """Keyword arguments of :meth:`dreamband.live.engine.LiveEngine.add_participant` for a
    band of ``profile`` worn by ``who``.

    Raises
    ------
    ValueError
        The profile has neither an EEG nor a heart stream, or not the stream asked for.
    """
    prof = get_profile(profile) if isinstance(profile, str) else profile
    kinds = {s.kind: s for s in prof.streams}
    if "eeg" in kinds and who.stream is None:
        spec = kinds["eeg"]
        return {"name": who.name, "kind": "eeg", "channels": spec.channels, "fs": spec.fs,
                "eeg": who.eeg, "eog": who.eog, "emg": who.emg}
    wanted = [who.stream] if who.stream else [k for k in _HEART_STREAMS[:2] if k in kinds]
    if not wanted or wanted[0] not in kinds:
        have = ", ".join(kinds)
        ask = f"stream {who.stream!r}" if who.stream else "an EEG, RR or HR stream"
        raise ValueError(f"participant {who.name!r}: band {who.target!r} ({prof.name}) has no "
                         f"{ask}; it sends {have}")
    spec = kinds[wanted[0]]
    return {"name": who.name, "kind": "heart", "channels": spec.channels, "fs": spec.fs,
            "stream": wanted[0]}
