"""The runs a data directory's journals record, and whether an apply is working on one now.

Each journal (`<home>/runs/<spec>-<target>-<key>.json`) holds the last run of one spec on one
target. Whether an apply holds it is seen by trying its lock without waiting and letting go
at once: the lock is the only thing that knows, since the kernel drops it when apply dies.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUNNING, STOPPED, SUCCEEDED, FAILED, INTERRUPTED = (
    "running",
    "stopped",
    "succeeded",
    "failed",
    "interrupted",
)


@dataclass(frozen=True)
class RunRecord:
    """One journal's run, as `batchspec runs` lists it."""

    spec: str
    target: str
    run_id: str
    job_id: str
    pool_id: str
    started_at: str
    updated_at: str
    state: str
    exit_code: int | None
    journal: str


def state_word(finished: bool, exit_code: int | None, journal_path: Path) -> str:
    """succeeded, failed or interrupted once finished; else running (an apply holds the
    journal) or stopped (none does: apply again continues it)."""
    if finished:
        if exit_code == 0:
            return SUCCEEDED
        return INTERRUPTED if exit_code == 130 else FAILED
    return RUNNING if apply_holds(journal_path) else STOPPED


def apply_holds(journal_path: Path) -> bool:
    """Whether an apply holds this journal's lock now."""
    lock = journal_path.with_suffix(".lock")
    if os.name == "nt":  # pragma: no cover - msvcrt locks cannot be probed without a handle
        return True
    import fcntl

    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the lock if it was taken
    return False


def list_runs(home: Path, target: str | None = None) -> list[RunRecord]:
    """Every readable journal's run under `home`, oldest start first."""
    folder = home / "runs"
    records = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if path.name.startswith("."):
            continue  # a journal being written
        record = _read(path)
        if record is not None and (target is None or record.target == target):
            records.append(record)
    return sorted(records, key=lambda r: (r.started_at, r.spec))


def _read(path: Path) -> RunRecord | None:
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
        exit_code = raw.get("exit_code")
        return RunRecord(
            spec=str(raw["spec_path"]),
            target=str(raw["target"]),
            run_id=str(raw["run_id"]),
            job_id=str(raw.get("job_id", "")),
            pool_id=str(raw.get("pool_id", "")),
            started_at=str(raw.get("started_at", "")),
            updated_at=str(raw.get("updated_at", "")),
            state=state_word(bool(raw.get("finished")), exit_code, path),
            exit_code=exit_code if isinstance(exit_code, int) else None,
            journal=str(path),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
