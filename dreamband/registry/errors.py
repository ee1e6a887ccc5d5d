"""Errors of the dataset registry, each a one-line :class:`~dreamband.errors.DreambandError`."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

from dreamband.errors import DreambandError

__all__ = ["DatasetNotFoundError", "FetchError", "FetchIncompleteError", "SelectionError"]


def _short_list(items: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


class DatasetNotFoundError(DreambandError, ValueError):
    """No manifest has the requested dataset name; lists the known names."""

    def __init__(self, name: str, known: Sequence[str], folder: str | PathLike) -> None:
        self.name = name
        self.known = list(known)
        choices = ", ".join(self.known) if self.known else f"none (no manifest in {folder})"
        super().__init__(f"unknown dataset {name!r}; known datasets: {choices}")


class SelectionError(DreambandError, ValueError):
    """A requested record or subject is not in the dataset."""

    def __init__(self, dataset: str, what: str, value: str, known: Sequence[str]) -> None:
        self.dataset = dataset
        self.value = value
        super().__init__(
            f"{dataset}: no {what} {value!r}; known {what}s: {_short_list(list(known))}"
        )


class FetchError(DreambandError, RuntimeError):
    """A file could not be downloaded or copied (network error, HTTP error, no source)."""

    def __init__(self, target: str, reason: str) -> None:
        self.target = target
        self.reason = reason
        super().__init__(f"{target}: {reason}")


class FetchIncompleteError(DreambandError, RuntimeError):
    """Some explicitly requested files could not be obtained; ``report`` says which."""

    def __init__(self, dataset: str, failures: Sequence[tuple[str, str]], report: object) -> None:
        self.dataset = dataset
        self.failures = list(failures)
        self.report = report
        first_path, first_reason = self.failures[0]
        more = f" (and {len(self.failures) - 1} more)" if len(self.failures) > 1 else ""
        super().__init__(
            f"{dataset}: {len(self.failures)} requested file(s) not obtained: "
            f"{first_path}: {first_reason}{more}"
        )
