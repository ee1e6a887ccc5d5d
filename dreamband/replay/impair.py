"""Per-band impairments of a replay, from a TOML file (``--impair FILE``).

The file is data, never code::

    # every band
    [default]
    jitter_s = 0.02            # mean exponential extra delay of a notification (s)
    loss = 0.005               # probability that a notification is lost

    # one participant, by name (shell-style patterns such as "slp*" allowed)
    [band.SC4001]
    offset_s = 3.5             # device clock reading at power-on (s)
    drift_ppm = 40             # device clock rate error (ppm, + runs fast)
    latency_s = 0.01           # minimal delay (s)
    disconnects = [[600, 30]]  # [at, duration] in s after the band starts
    disconnect_every = [1800, 20]   # a drop of 20 s every 1800 s

A band's settings are ``[default]`` updated by every matching ``[band.*]`` table, in file
order. Unknown keys, wrong types and out-of-range values are refused with the file and the
key named.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamband.errors import InputFileError
from dreamband.pipeline.spec import Field, Table, validate
from firmware_bridge.virtual import LinkConfig

__all__ = ["IMPAIR_FIELDS", "Impairments", "load_impairments", "parse_impairments"]

#: Scalar keys of an impairment table.
IMPAIR_FIELDS: dict[str, Field] = {
    "offset_s": Field("float", help="device clock reading at power-on, s"),
    "drift_ppm": Field("float", minimum=-1000.0, maximum=1000.0, help="clock rate error, ppm"),
    "latency_s": Field("float", minimum=0.0, maximum=10.0, help="minimal delay, s"),
    "jitter_s": Field("float", minimum=0.0, maximum=10.0, help="mean extra delay, s"),
    "loss": Field("float", minimum=0.0, maximum=0.99, help="notification loss probability"),
}
_PAIRS = ("disconnects", "disconnect_every")


@dataclass
class Impairments:
    """Validated impairments: ``default`` settings and ``(pattern, settings)`` overrides."""

    default: dict[str, Any] = field(default_factory=dict)
    bands: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    source: str = ""

    def settings(self, name: str) -> dict[str, Any]:
        """The merged settings of participant ``name``."""
        out = dict(self.default)
        for pattern, values in self.bands:
            if fnmatch.fnmatchcase(name, pattern):
                out.update(values)
        return out

    def link(self, name: str, seed: int) -> LinkConfig:
        """The :class:`~firmware_bridge.virtual.LinkConfig` of participant ``name``."""
        s = self.settings(name)
        return LinkConfig(
            offset_s=s.get("offset_s", 0.0), drift_ppm=s.get("drift_ppm", 0.0),
            latency_s=s.get("latency_s", 0.0), jitter_s=s.get("jitter_s", 0.0),
            loss=s.get("loss", 0.0), disconnects=list(s.get("disconnects", [])),
            disconnect_every=s.get("disconnect_every"), seed=seed)

    def unmatched(self, names: list[str]) -> list[str]:
        """``[band.*]`` patterns that match none of ``names`` (probably typos)."""
        return [p for p, _ in self.bands if not any(fnmatch.fnmatchcase(n, p) for n in names)]


def _pair(value: Any, key: str, source: str | Path) -> tuple[float, float]:
    ok = (isinstance(value, list) and len(value) == 2
          and all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
                  for v in value))
    if not ok:
        raise InputFileError(source, f"expected [seconds, seconds] (two numbers >= 0), got "
                             f"{value!r}", f"key {key!r}")
    return float(value[0]), float(value[1])


def _one(data: Any, prefix: str, source: str | Path) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise InputFileError(source, f"expected a table, got {type(data).__name__}",
                             f"key {prefix!r}")
    scalars = {k: v for k, v in data.items() if k not in _PAIRS}
    try:
        checked = validate(scalars, Table(IMPAIR_FIELDS), source=source)
    except InputFileError as exc:  # validate() names keys relative to this table
        raise _prefixed(exc, prefix, source) from None
    out = {k: v for k, v in checked.items() if k in scalars}
    if "disconnects" in data:
        drops = data["disconnects"]
        if not isinstance(drops, list):
            raise InputFileError(source, "expected a list of [at, duration] pairs",
                                 f"key '{prefix}.disconnects'")
        out["disconnects"] = [_pair(d, f"{prefix}.disconnects[{i}]", source)
                              for i, d in enumerate(drops)]
    if "disconnect_every" in data:
        period, dur = _pair(data["disconnect_every"], f"{prefix}.disconnect_every", source)
        if not period > dur:
            raise InputFileError(source, f"period must exceed the drop duration, got "
                                 f"[{period:g}, {dur:g}]", f"key '{prefix}.disconnect_every'")
        out["disconnect_every"] = (period, dur)
    return out


def _prefixed(exc: InputFileError, prefix: str, source: str | Path) -> InputFileError:
    inner = (exc.field or "").removeprefix("key ").strip("'")
    return InputFileError(source, exc.reason, f"key '{prefix}.{inner}'" if inner else None)


def parse_impairments(data: Mapping[str, Any], source: str | Path = "<impairments>"
                      ) -> Impairments:
    """Validate parsed impairment data (``default`` and ``band`` tables).

    Raises
    ------
    InputFileError
        Naming ``source`` and the dotted key at fault.
    """
    unknown = [k for k in data if k not in ("default", "band")]
    if unknown:
        raise InputFileError(source, "unknown key; allowed here: default, band",
                             f"key {unknown[0]!r}")
    default = _one(data.get("default", {}), "default", source)
    bands = data.get("band", {})
    if not isinstance(bands, Mapping):
        raise InputFileError(source, "expected tables [band.NAME]", "key 'band'")
    out = []
    for pattern, values in bands.items():
        out.append((pattern, _one(values, f"band.{pattern}", source)))
    return Impairments(default, out, str(source))


def load_impairments(path: str | Path) -> Impairments:
    """Read and validate an impairment TOML file (see the module docstring).

    Raises
    ------
    InputFileError
        Missing file, TOML syntax error, unknown key, wrong type or value.
    """
    from dreamband.pipeline.spec import read_toml

    path = Path(path)
    return parse_impairments(read_toml(path, "impairment file"), path)
