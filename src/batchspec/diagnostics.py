"""Diagnostics: one located problem in one input file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True, slots=True)
class Diagnostic:
    """A problem at `file:line:col`, under the JSON path `path` (e.g. `$.pool.nodes`).

    Ordered by file, then position, so reports are stable and sorted. A warning is shown but
    does not make the file invalid (unless `validate --strict`).
    """

    file: str
    line: int
    col: int
    path: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        label = "warning: " if self.severity == "warning" else ""
        return f"{self.file}:{self.line}:{self.col}: {self.path}: {label}{self.message}"
