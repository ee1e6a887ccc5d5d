"""The live engine: band sample blocks -> epochs -> causal evidence -> stages -> events.

:class:`LiveEngine` (``engine.py``) is the entry point; :func:`run_band` feeds it from a
``firmware_bridge.Band``; :func:`read_session` reads a session folder, even one left by a
crash. Names are imported lazily, so ``dreamband.live.epocher`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Epoch": "epocher", "EpochGrid": "epocher", "RegularEpocher": "epocher",
    "Event": "engine", "LiveEngine": "engine", "run_band": "engine", "run_ticker": "engine",
    "read_session": "session",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"dreamband.live.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'dreamband.live' has no attribute {name!r}")
