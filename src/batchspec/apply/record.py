"""What one apply run did, gathered as it goes, and the summary document `--format json` prints.

The workflow's steps tell the Reporter's RunRecord what they created, found, kept and deleted,
what the tasks ended as and which files arrived; `summary_document` turns that into typed JSON
(numbers stay numbers, an absent value is null). Its keys are documented in the README.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from batchspec.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_NO_RUN, EXIT_OK, EXIT_USAGE

Kind = Literal["container", "pool", "job", "schedule"]
Origin = Literal["created", "found"]
End = Literal["kept", "deleted"]

SUMMARY_VERSION = 1
OUTCOMES = {
    EXIT_OK: "succeeded",
    EXIT_FAILED: "failed",
    EXIT_USAGE: "refused",
    EXIT_NO_RUN: "no-run",
    EXIT_INTERRUPTED: "interrupted",
}
"""The `outcome` word for each exit code (batchspec.errors has the codes)."""


@dataclass
class _Resource:
    kind: Kind
    name: str
    origin: Origin | None = None
    end: End = "kept"


@dataclass
class RunRecord:
    """Filled in by the workflow as it runs; read once, by the summary, when it has ended."""

    target: str | None = None
    run_id: str | None = None
    resources: dict[tuple[Kind, str], _Resource] = field(default_factory=dict)
    tasks: dict[str, int] | None = None
    failed_tasks: list[str] = field(default_factory=list)
    blocked_tasks: list[str] = field(default_factory=list)
    uploads: dict[str, int] | None = None
    downloaded: list[Path] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def resource(self, kind: Kind, name: str, status: str) -> None:
        """A resource was created or found (its origin), or kept or deleted by the clean-up."""
        with self._lock:
            item = self.resources.setdefault((kind, name), _Resource(kind, name))
            if status in ("created", "found"):
                item.origin = status  # type: ignore[assignment]
                item.end = "kept"
            elif status in ("kept", "deleted"):
                item.end = status  # type: ignore[assignment]


def summary_document(
    record: RunRecord, *, target: str, spec: str, exit_code: int
) -> dict[str, Any]:
    """The final summary of an apply run as JSON-ready values."""
    return {
        "version": SUMMARY_VERSION,
        "target": target,
        "spec": spec,
        "run_id": record.run_id,
        "exit_code": exit_code,
        "outcome": OUTCOMES.get(exit_code, "failed"),
        "resources": [
            {"kind": r.kind, "name": r.name, "origin": r.origin, "end": r.end}
            for r in record.resources.values()
        ],
        "uploads": record.uploads,
        "tasks": record.tasks,
        "failed_tasks": sorted(record.failed_tasks),
        "blocked_tasks": sorted(record.blocked_tasks),
        "downloaded": [str(p) for p in record.downloaded],
    }
