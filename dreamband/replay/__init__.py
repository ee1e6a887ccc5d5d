"""Replay: recordings and virtual sleepers played as virtual BLE bands through the live engine.

Sources (:func:`resolve_source`) become bands of a :class:`firmware_bridge.virtual.VirtualWorld`
with per-band impairments (:func:`load_impairments`), are read back by real
:class:`firmware_bridge.Band` s over the virtual bleak backend and pushed into the live engine
(:func:`run_replay`). :func:`demo_sources` picks the demo line-up from the data at hand.
Virtual sleepers are for plumbing, replay and demos, never an accuracy figure.
"""

from dreamband.replay.demo import demo_sources
from dreamband.replay.hypnogen import GENERATED_NOTE, generate_hypnogram
from dreamband.replay.impair import Impairments, load_impairments, parse_impairments
from dreamband.replay.session import ReplayOptions, ReplayResult, replay, run_replay
from dreamband.replay.sources import ReplaySource, resolve_source

__all__ = [
    "GENERATED_NOTE",
    "Impairments",
    "ReplayOptions",
    "ReplayResult",
    "ReplaySource",
    "demo_sources",
    "generate_hypnogram",
    "load_impairments",
    "parse_impairments",
    "replay",
    "resolve_source",
    "run_replay",
]
