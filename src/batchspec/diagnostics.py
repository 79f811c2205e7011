"""Diagnostics: one located problem in one input file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True, slots=True)
class Diagnostic:
    """A problem at `file:line:col`, under the JSON path `path` (e.g. `$.pool.nodes`).

    Ordered by file, then position, so reports are stable and sorted.
    """

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.path}: {self.message}"
