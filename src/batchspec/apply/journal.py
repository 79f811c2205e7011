"""The resume journal: one small JSON file per spec and target under `<home>/runs/`.

It records which run of the spec is in progress (its run id, so that the job id is the same on
resume), which steps are done and how many tasks were submitted. Every write replaces the file
atomically, so a `kill -9` leaves either the old or the new journal, never half of one. A lock
file held with flock keeps two applies of the same spec from running at once; the kernel
releases it when the holder dies, however it dies.
"""

from __future__ import annotations

import dataclasses
import datetime
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STEPS = ("containers", "uploads", "pool", "job", "tasks", "monitor", "downloads", "cleanup")


class JournalBusy(Exception):
    """Another apply of the same spec holds the journal."""


@dataclass(frozen=True)
class RunState:
    """What the journal knows about the current run of a spec."""

    spec_path: str
    spec_digest: str
    target: str
    run_id: str
    run_date: str
    pool_id: str
    job_id: str
    steps_done: tuple[str, ...] = ()
    tasks_submitted: int = 0
    """Tasks known to be added, counted in submission order."""
    pool_created: bool = False
    """This run created the pool (rather than reusing one)."""
    finished: bool = False
    exit_code: int | None = None
    started_at: str = ""
    updated_at: str = ""

    def done(self, step: str) -> bool:
        """Whether `step` (one of STEPS) completed in this run."""
        return step in self.steps_done

    def with_step(self, step: str) -> RunState:
        """This state with `step` marked done."""
        if step not in STEPS:
            raise ValueError(f"unknown step {step!r}")
        return dataclasses.replace(self, steps_done=(*self.steps_done, step))

    def without_steps(self, *steps: str) -> RunState:
        """This state with `steps` marked not done (their resources were cleaned up)."""
        kept = tuple(s for s in self.steps_done if s not in steps)
        return dataclasses.replace(self, steps_done=kept)


def now_iso() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()


class Journal:
    """The journal file for one spec path on one target."""

    def __init__(self, home: Path, spec_path: Path, target: str) -> None:
        resolved = str(spec_path.resolve())
        key = hashlib.sha256(f"{resolved}\0{target}".encode()).hexdigest()[:12]
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", spec_path.stem)[:40] or "spec"
        self.directory = home / "runs"
        self.path = self.directory / f"{stem}-{target}-{key}.json"
        self._lock_path = self.path.with_suffix(".lock")

    def load(self) -> RunState | None:
        """The recorded run, or None when there is none (or the file is unreadable)."""
        try:
            raw: Any = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None
        if not isinstance(raw, dict):
            return None
        names = {f.name for f in dataclasses.fields(RunState)}
        values = {k: v for k, v in raw.items() if k in names}
        values["steps_done"] = tuple(values.get("steps_done", ()))
        try:
            return RunState(**values)
        except TypeError:
            return None

    def save(self, state: RunState) -> RunState:
        """Write `state` atomically (fsync, then rename); returns it with updated_at set."""
        state = dataclasses.replace(state, updated_at=now_iso())
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        data = dataclasses.asdict(state)
        data["steps_done"] = list(state.steps_done)
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        return state

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the spec's lock for the duration; raise JournalBusy if another apply has it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                raise JournalBusy(
                    f"another apply of this spec is running (pid {holder}); "
                    f"wait for it or stop it first"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            os.close(fd)
