"""The service's live state, shared by the API, the rules and the engine (one event loop).

The store is what survives a restart; the rest exists only while the service runs: the
processes of running tasks and StartTasks, the slots they hold, and the scheduler's wake-up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from batchspec.emulator.service.store import Store


class Process(Protocol):
    """A running command the service can stop (the engine's runner.Handle)."""

    def kill(self, reason: str) -> None:
        """Kill it, remembering why."""


@dataclass
class Live:
    """Persistent store plus what only exists while running: processes and slot use."""

    store: Store
    data_dir: Path
    account: str
    key: str
    endpoint: str = ""
    # How long Batch's passing states last here (deleting, terminating, resizing, a node
    # creating or rebooting...): short, but never zero, so clients meet them as on Batch.
    delay: float = 0.5
    # Uploads files to a blob container URL (engine.storage_io.upload_files, set by the server).
    upload_files: Callable[[str, list[tuple[Path, str]]], int] | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    # (job id, task id) -> the running task's process and node
    tasks: dict[tuple[str, str], tuple[Process, str]] = field(default_factory=dict)
    # node id -> the StartTask's process while it runs
    start_tasks: dict[str, Process] = field(default_factory=dict)
    # node id -> task slots in use
    used_slots: dict[str, int] = field(default_factory=dict)
    # jobs to check for onAllTasksComplete at the next tick
    dirty_jobs: set[str] = field(default_factory=set)
    # job id -> when its maxWallClockTime runs out (None until the scheduler's first tick)
    timed_jobs: dict[str, dt.datetime] | None = None
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    # Commits that failed (a full disk) and are retried every tick until they succeed.
    pending: list[Callable[[], None]] = field(default_factory=list)
    # phase -> seconds it takes, when a realistic clock is on (engine/clock.py)
    phases: dict[str, float] = field(default_factory=dict)
    # Why containers cannot run here, or None: the engine layer's answer (asked when needed).
    container_problem: Callable[[], str | None] = lambda: "no container engine is configured"

    def spawn(self, coro: Awaitable[Any]) -> None:
        """Run a coroutine in the background, keeping a reference until it ends."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def due(self, phase: str | None = None) -> str:
        """The time a passing state that starts now ends (ISO 8601): the service's delay, or
        the realistic clock's time for `phase` (allocation, creating, starting) when longer."""
        seconds = max(self.delay, self.phases.get(phase, 0.0)) if phase else self.delay
        return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).strftime(
            "%Y-%m-%dT%H:%M:%S.%f0Z"
        )

    def poke(self) -> None:
        """Ask the scheduler for a tick now."""
        self.wake.set()

    def kill_tasks(
        self, reason: str, job_id: str | None = None, node_ids: set[str] | None = None
    ) -> None:
        """Kill running tasks of a job and/or on some nodes."""
        for (jid, _tid), (handle, node_id) in list(self.tasks.items()):
            if (job_id is None or jid == job_id) and (node_ids is None or node_id in node_ids):
                handle.kill(reason)
