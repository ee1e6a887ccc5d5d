"""Core types shared by every layer of dreamband: stages, hypnograms, recordings, REM periods."""

from dreamband.core.beats import BeatSeries
from dreamband.core.hypnogram import Hypnogram
from dreamband.core.periods import RemPeriod
from dreamband.core.recording import Channel, Recording
from dreamband.core.stages import FIVE_CLASS, THREE_CLASS, SleepStage, WearableStage

__all__ = [
    "FIVE_CLASS",
    "THREE_CLASS",
    "BeatSeries",
    "Channel",
    "Hypnogram",
    "Recording",
    "RemPeriod",
    "SleepStage",
    "WearableStage",
]
