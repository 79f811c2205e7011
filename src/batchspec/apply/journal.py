"""The resume journal: one small JSON file per spec and target under `<home>/runs/`.

It records which run of the spec is in progress (its run id, so that the job id is the same on
resume), which steps are done, how many tasks were submitted, and ownership: before each create,
what the run is about to create, and after it whether it created the resource or found it
already there. It also keeps, across runs, the content digest of every uploaded file (so `plan`
can say what changed) and of every file a run downloaded (so a later run may replace them).

Every write replaces the file atomically, so a `kill -9` leaves either the old or the new
journal, never half of one. A lock file keeps two applies of the same spec from running at
once; the operating system releases it when the holder dies, however it dies. The lock is the
only part that needs `fcntl` (or `msvcrt` on Windows), imported when a lock is taken, so that
`plan` can read a journal on any platform without it.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from batchspec.errors import BatchspecError

STEPS = (
    "containers",
    "uploads",
    "pool",
    "job",
    "tasks",
    "monitor",
    "downloads",
    "cleanup",
    "schedule",
)

Ownership = Literal["creating", "created", "found"]
"""creating: about to be created (a kill may leave it so); created: this run made it;
found: it existed before this run, and this run never deletes it."""


class JournalBusy(BatchspecError):
    """Another apply of the same spec holds the journal."""


@dataclass(frozen=True)
class Owned:
    """One resource of a run and whether the run created it."""

    kind: Literal["container", "pool", "job", "schedule"]
    name: str
    status: Ownership


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
    resources: tuple[Owned, ...] = ()
    """What this run created or found, in the order it got to them."""
    inputs: tuple[tuple[str, str], ...] = ()
    """(source relative to the spec, sha256) of every uploaded file: what the run ran on."""
    downloaded: tuple[tuple[str, str], ...] = ()
    """(absolute path, md5) of every file a run of this spec wrote; kept across runs."""
    outcome: int | None = None
    """The run's exit code once its work is done, before clean-up (which may still be due)."""
    finished: bool = False
    exit_code: int | None = None
    started_at: str = ""
    updated_at: str = ""

    def owned(self, kind: str, name: str) -> Ownership | None:
        """What this run recorded about a resource, or None if it never got to it."""
        for item in self.resources:
            if item.kind == kind and item.name == name:
                return item.status
        return None

    def with_owned(
        self, kind: Literal["container", "pool", "job", "schedule"], name: str, status: Ownership
    ) -> RunState:
        """This state recording `status` for a resource (replacing what it said before)."""
        kept = tuple(r for r in self.resources if (r.kind, r.name) != (kind, name))
        return dataclasses.replace(self, resources=(*kept, Owned(kind, name, status)))

    def without_owned(self, kind: str, name: str) -> RunState:
        """This state without a resource (it was deleted)."""
        kept = tuple(r for r in self.resources if (r.kind, r.name) != (kind, name))
        return dataclasses.replace(self, resources=kept)

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
        host = socket.gethostname()
        self.origin = f"{host}:{resolved}"
        """Where runs of this journal come from, as other machines are told: host and path."""
        seed = f"{host}\0{resolved}\0{target}\0{home.resolve()}"
        self.owner = hashlib.sha256(seed.encode()).hexdigest()[:16]
        """This checkout's mark on what its runs create (resource metadata)."""

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
        try:
            values["steps_done"] = tuple(values.get("steps_done", ()))
            values["resources"] = tuple(
                Owned(str(r["kind"]), str(r["name"]), str(r["status"]))  # type: ignore[arg-type]
                for r in values.get("resources", ())
            )
            for name in ("inputs", "downloaded"):
                values[name] = tuple((str(a), str(b)) for a, b in values.get(name, ()))
            return RunState(**values)
        except (TypeError, KeyError, ValueError):
            return None

    def save(self, state: RunState) -> RunState:
        """Write `state` atomically (fsync, then rename); returns it with updated_at set."""
        state = dataclasses.replace(state, updated_at=now_iso())
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        data = dataclasses.asdict(state)
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
            if not _try_lock(fd):
                try:
                    holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
                except OSError:  # Windows refuses to read a locked byte range
                    holder = "?"
                raise JournalBusy(
                    f"another apply of this spec is running (pid {holder}); "
                    f"wait for it or stop it first"
                )
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, str(os.getpid()).encode())
            yield
        finally:
            os.close(fd)


def _try_lock(fd: int) -> bool:
    """Take an exclusive lock on the open file `fd` without waiting; False if it is held.

    POSIX: flock, owned by the open file description. Windows: msvcrt.locking on the first
    byte (the pid is written after it is locked, so the byte range is the same for everyone).
    """
    if os.name == "nt":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined,unused-ignore]
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def changes_since(state: RunState, spec_digest: str, inputs: tuple[tuple[str, str], ...]) -> str:
    """Why a plan is not the journal's run, in words: `topn/topn_task.py, a new data/d.txt`."""
    if state.spec_digest == spec_digest:
        return ""
    before, now = dict(state.inputs), dict(inputs)
    changed = [name for name in now if name in before and before[name] != now[name]]
    changed += [f"new {name}" for name in now if name not in before]
    changed += [f"no longer uploaded {name}" for name in before if name not in now]
    if not changed:
        return "the spec or its --var values"
    shown = ", ".join(changed[:5])
    return shown + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
