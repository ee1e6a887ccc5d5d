"""Validation of declarative pipeline files (TOML) before anything runs.

A pipeline file is data, never code. Each pipeline kind declares a schema built from
:class:`Field` and :class:`Table`; :func:`validate` checks a parsed file against it and
raises one :class:`~dreamband.errors.InputFileError` naming the file, the key (as a dotted
path such as ``sources[2].speed``) and what was expected. Unknown keys are refused (with a
suggestion when one is close), missing required keys are named, relative paths are resolved
against the pipeline file's folder and checked for existence when the field asks for it.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dreamband.errors import InputFileError

__all__ = ["Field", "Table", "load_pipeline", "read_toml", "validate"]

_MISSING = object()


@dataclass(frozen=True)
class Field:
    """One key of a pipeline table.

    Parameters
    ----------
    kind : str
        ``"str"``, ``"int"``, ``"float"`` (ints accepted), ``"bool"``, ``"path"`` (a string
        resolved against the pipeline's folder; ``{start}`` in it becomes the local time the
        pipeline was loaded, ``YYYYmmdd-HHMMSS``, so that a session folder is new every
        run), ``"list[str]"``, ``"list[float]"``, ``"list[path]"``.
    required : bool
        Whether the key must be present.
    default : object
        Value used when the key is absent.
    choices : sequence, optional
        Allowed values.
    minimum, maximum : float, optional
        Inclusive numeric bounds.
    must_exist : bool
        For paths: the file or folder must exist.
    check : callable, optional
        ``check(value) -> str | None``: a message when the value is wrong.
    help : str
        What the key means (shown in errors as the expectation).
    """

    kind: str
    required: bool = False
    default: Any = None
    choices: Sequence[Any] | None = None
    minimum: float | None = None
    maximum: float | None = None
    must_exist: bool = False
    check: Callable[[Any], str | None] | None = None
    help: str = ""


@dataclass(frozen=True)
class Table:
    """A TOML table (or, with ``many=True``, an array of tables) of known keys."""

    fields: Mapping[str, Field | Table] = field(default_factory=dict)
    required: bool = False
    many: bool = False
    help: str = ""


def load_pipeline(path: str | Path, schema: Table) -> dict[str, Any]:
    """Read a TOML pipeline file and validate it against ``schema``.

    Parameters
    ----------
    path : path
        The pipeline file.
    schema : Table
        The schema of the pipeline's kind.

    Returns
    -------
    dict
        The validated configuration with defaults filled in and paths resolved.

    Raises
    ------
    InputFileError
        Missing file, TOML syntax error (with line), or any schema violation.
    """
    path = Path(path)
    return validate(read_toml(path, "pipeline file"), schema, source=path)


def read_toml(path: str | Path, what: str = "file") -> dict[str, Any]:
    """Parse a TOML file; one-line :class:`InputFileError` naming it when that fails.

    Parameters
    ----------
    path : path
        The file.
    what : str
        What the file is, for the "not found" message (``"pipeline file"``).
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, f"{what} not found")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(path, f"not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise InputFileError(path, "not a UTF-8 text file") from None


def validate(data: Mapping[str, Any], schema: Table, source: str | Path = "<pipeline>") -> dict:
    """Validate parsed pipeline data; see :func:`load_pipeline`."""
    base = Path(source).parent if str(source) != "<pipeline>" else Path.cwd()
    return _table(data, schema, "", _Context(Path(source), base))


@dataclass(frozen=True)
class _Context:
    source: Path
    base: Path
    start: str = field(default_factory=lambda: datetime.now().strftime("%Y%m%d-%H%M%S"))

    def fail(self, key: str, reason: str) -> InputFileError:
        return InputFileError(self.source, reason, f"key {key!r}" if key else None)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _table(data: Any, schema: Table, prefix: str, ctx: _Context) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ctx.fail(prefix, f"expected a table, got {_typename(data)}")
    unknown = [k for k in data if k not in schema.fields]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(key, list(schema.fields), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        allowed = ", ".join(schema.fields)
        raise ctx.fail(_join(prefix, key), f"unknown key{hint}; allowed here: {allowed}")
    out: dict[str, Any] = {}
    for name, spec in schema.fields.items():
        key = _join(prefix, name)
        value = data.get(name, _MISSING)
        if isinstance(spec, Table):
            if value is _MISSING:
                if spec.required:
                    raise ctx.fail(key, f"missing required table{_expect(spec.help)}")
                out[name] = [] if spec.many else _table({}, spec, key, ctx)
            elif spec.many:
                if not isinstance(value, list):
                    raise ctx.fail(key, f"expected an array of tables ([[{key}]]), "
                                        f"got {_typename(value)}")
                if spec.required and not value:
                    raise ctx.fail(key, "needs at least one entry")
                out[name] = [_table(v, spec, f"{key}[{i}]", ctx) for i, v in enumerate(value)]
            else:
                out[name] = _table(value, spec, key, ctx)
            continue
        if value is _MISSING:
            if spec.required:
                raise ctx.fail(key, f"missing required key{_expect(spec.help or spec.kind)}")
            out[name] = spec.default
            continue
        out[name] = _value(value, spec, key, ctx)
    return out


def _value(value: Any, spec: Field, key: str, ctx: _Context) -> Any:
    kind = spec.kind
    if kind.startswith("list["):
        inner = Field(kind[5:-1], choices=spec.choices, minimum=spec.minimum,
                      maximum=spec.maximum, must_exist=spec.must_exist)
        if not isinstance(value, list):
            raise ctx.fail(key, f"expected a list of {inner.kind}, got {_typename(value)}")
        result: Any = [_value(v, inner, f"{key}[{i}]", ctx) for i, v in enumerate(value)]
    else:
        result = _scalar(value, spec, key, ctx)
    if spec.check is not None:
        problem = spec.check(result)
        if problem:
            raise ctx.fail(key, problem)
    return result


def _scalar(value: Any, spec: Field, key: str, ctx: _Context) -> Any:
    kind = spec.kind
    ok = {
        "str": isinstance(value, str),
        "path": isinstance(value, str),
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
    }
    if kind not in ok:
        raise ValueError(f"schema error: unknown field kind {kind!r} for {key}")
    if not ok[kind]:
        raise ctx.fail(key, f"expected {_article(kind)}{_expect(spec.help)}, "
                            f"got {_typename(value)} {value!r}")
    if spec.choices is not None and value not in spec.choices:
        allowed = ", ".join(repr(c) for c in spec.choices)
        raise ctx.fail(key, f"expected one of {allowed}, got {value!r}")
    if kind in ("int", "float"):
        if spec.minimum is not None and value < spec.minimum:
            raise ctx.fail(key, f"must be >= {spec.minimum}, got {value}")
        if spec.maximum is not None and value > spec.maximum:
            raise ctx.fail(key, f"must be <= {spec.maximum}, got {value}")
        return float(value) if kind == "float" else value
    if kind == "path":
        path = Path(value.replace("{start}", ctx.start)).expanduser()
        if not path.is_absolute():
            path = ctx.base / path
        if spec.must_exist and not path.exists():
            raise ctx.fail(key, f"file or folder not found: {path}")
        return path
    return value


def _expect(text: str) -> str:
    return f" ({text})" if text else ""


def _article(kind: str) -> str:
    return {"int": "an integer", "float": "a number", "bool": "true or false",
            "str": "a string", "path": "a path string"}.get(kind, kind)


def _typename(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
            dict: "table"}.get(type(value), type(value).__name__)
