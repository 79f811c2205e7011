"""Task and StartTask output files: read whole, or followed by byte range as they grow.

Following asks for a file's size, then for the bytes past what it has shown (`ocp-range:
bytes=N-M`), as `az batch task file download` and Batch Explorer read a growing file. Only
complete lines are shown, each redacted, so a SAS token split across two reads is still found.
Following ends when every followed task has completed and its files are read to the end, or
when the task or its job is gone or the job has ended; the reason is said.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

from azure.batch import BatchClient
from azure.batch import models as bm
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from batchspec.redact import describe_error, redact

STD_FILES = ("stdout.txt", "stderr.txt")
START_TASK_FILES = ("startup/stdout.txt", "startup/stderr.txt")


@dataclass(frozen=True)
class LogFile:
    """One file's redacted text, or why it could not be read."""

    owner: str
    """The task id, or the node id for a StartTask's file."""
    name: str
    text: str | None
    note: str = ""

    def as_json(self, kind: str) -> dict[str, object]:
        return {kind: self.owner, "file": self.name, "text": self.text, "note": self.note or None}


class LogsError(Exception):
    """The tasks asked for are not there; the message names them."""


def select_tasks(
    batch: BatchClient, job_id: str, wanted: Sequence[str], *, failed: bool
) -> list[bm.BatchTask]:
    """The job's tasks named in `wanted` (all when empty), only the failed ones with `failed`."""
    tasks = list(batch.list_tasks(job_id, select=["id", "state", "executionInfo"]))
    if wanted:
        by_id = {t.id: t for t in tasks}
        missing = [w for w in wanted if w not in by_id]
        if missing:
            raise LogsError(f"job {job_id} has no task {', '.join(missing)}")
        tasks = [by_id[w] for w in dict.fromkeys(wanted)]
    if failed:
        tasks = [t for t in tasks if is_failed(t)]
    return tasks


def is_failed(task: bm.BatchTask) -> bool:
    """Whether the task completed and Batch counts it as failed."""
    info = task.execution_info
    return info is not None and info.result == bm.BatchTaskExecutionResult.FAILURE


def read_task_files(
    batch: BatchClient, job_id: str, tasks: Iterable[bm.BatchTask], names: Sequence[str]
) -> list[LogFile]:
    """Each task's files `names`, in order."""
    return [
        _read(task.id, name, partial(batch.download_task_file, job_id, task.id, name))
        for task in tasks
        for name in names
    ]


def read_start_task_files(
    batch: BatchClient, pool_id: str, node_ids: Sequence[str], names: Sequence[str]
) -> list[LogFile]:
    """The StartTask files of the pool's nodes (those in `node_ids`, or all when empty)."""
    nodes = [n.id for n in batch.list_nodes(pool_id, select=["id"])]
    if node_ids:
        missing = [n for n in node_ids if n not in nodes]
        if missing:
            raise LogsError(f"pool {pool_id} has no node {', '.join(missing)}")
        nodes = list(dict.fromkeys(node_ids))
    return [
        _read(node, name, partial(batch.download_node_file, pool_id, node, name))
        for node in nodes
        for name in names
    ]


def read_job_task_files(
    batch: BatchClient, job_id: str, node_ids: Sequence[str], names: Sequence[str]
) -> list[LogFile]:
    """The job preparation and release tasks' files on each node that ran them (those in
    `node_ids`, or all when empty), read from their task directories on the node."""
    found = []
    for entry in batch.list_job_preparation_and_release_task_status(job_id):
        if node_ids and entry.node_id not in node_ids:
            continue
        pairs = (
            ("jobpreparation", entry.job_preparation_task_execution_info),
            ("jobrelease", entry.job_release_task_execution_info),
        )
        for task_id, info in pairs:
            if info is not None and info.task_root_directory and entry.pool_id:
                found.append(
                    (entry.pool_id, entry.node_id or "?", task_id, info.task_root_directory)
                )
    if node_ids:
        missing = [n for n in node_ids if n not in {node for _, node, _, _ in found}]
        if missing:
            raise LogsError(f"no job preparation task ran on node {', '.join(missing)}")
    return [
        _read(
            f"{node} {task_id}",
            name,
            partial(batch.download_node_file, pool, node, f"{root.rstrip('/')}/{name}"),
        )
        for pool, node, task_id, root in found
        for name in names
    ]


def _read(owner: str, name: str, fetch: Callable[[], Iterable[bytes]]) -> LogFile:
    try:
        data = b"".join(fetch())
    except HttpResponseError as exc:
        return LogFile(owner, name, None, f"not available: {describe_error(exc)}")
    return LogFile(owner, name, redact(data.decode("utf-8", errors="replace")))


@dataclass
class _Followed:
    task_id: str
    name: str
    offset: int = 0
    pending: bytes = b""


@dataclass
class Follower:
    """Follows files of running tasks; `write(task_id, name, line)` gets each complete line."""

    batch: BatchClient
    job_id: str
    write: Callable[[str, str, str], None]
    say: Callable[[str], None]
    poll: float = 1.0
    _files: list[_Followed] = field(default_factory=list)
    _failed: set[str] = field(default_factory=set)

    def follow(self, task_ids: Sequence[str], names: Sequence[str]) -> str:
        """Stream until every task has completed and been read out; returns why it ended."""
        self._files = [_Followed(t, n) for t in task_ids for n in names]
        open_tasks = list(dict.fromkeys(task_ids))
        never: list[str] = []
        while True:
            # The state is read before the files: a task seen completed has written its last byte.
            finished: set[str] = set()
            for task_id in open_tasks:
                try:
                    task = self.batch.get_task(
                        self.job_id, task_id, select=["id", "state", "dependsOn"]
                    )
                except ResourceNotFoundError:
                    self._drain(task_id)
                    return f"task {task_id} is gone (its job was deleted?)"
                if task.state == bm.BatchTaskState.COMPLETED:
                    finished.add(task_id)
                elif task.state == bm.BatchTaskState.ACTIVE:
                    blocker = self._failed_dependency(task)
                    if blocker:
                        never.append(
                            f"task {task_id} can never run: it depends on failed {blocker}"
                        )
                        finished.add(task_id)
            for followed in self._files:
                if followed.task_id in open_tasks:
                    self._read_more(followed)
            for task_id in finished:
                self._drain(task_id)
            open_tasks = [t for t in open_tasks if t not in finished]
            if not open_tasks:
                return "; ".join(never) or "every task followed has completed"
            ended = self._job_ended()
            if ended:
                for task_id in open_tasks:
                    self._drain(task_id)
                return ended
            time.sleep(self.poll)

    def _read_more(self, followed: _Followed) -> None:
        try:
            size = int(
                self.batch.get_task_file_properties(
                    self.job_id, followed.task_id, followed.name
                ).content_length
            )
            if size <= followed.offset:
                return
            rng = f"bytes={followed.offset}-{size - 1}"
            data = b"".join(
                self.batch.download_task_file(
                    self.job_id, followed.task_id, followed.name, ocp_range=rng
                )
            )
        except HttpResponseError:
            # Not written yet (the task has not started: 409 TaskFilesUnavailable or 404).
            return
        followed.offset += len(data)
        followed.pending += data
        *lines, followed.pending = followed.pending.split(b"\n")
        for line in lines:
            self.write(followed.task_id, followed.name, _text(line))

    def _drain(self, task_id: str) -> None:
        for followed in self._files:
            if followed.task_id != task_id:
                continue
            self._read_more(followed)
            if followed.pending:
                self.write(followed.task_id, followed.name, _text(followed.pending))
                followed.pending = b""

    def _failed_dependency(self, task: bm.BatchTask) -> str:
        """The first task `task` depends on that failed (Batch then blocks it), or ''."""
        needs = (task.depends_on.task_ids if task.depends_on else None) or []
        for need in needs:
            if need in self._failed:
                return f"task {need}"
            try:
                other = self.batch.get_task(self.job_id, need, select=["id", "executionInfo"])
            except ResourceNotFoundError:
                continue
            if is_failed(other):
                self._failed.add(need)
                return f"task {need}"
        return ""

    def _job_ended(self) -> str:
        try:
            job = self.batch.get_job(self.job_id, select=["id", "state"])
        except ResourceNotFoundError:
            return f"job {self.job_id} is gone"
        if job.state in (bm.BatchJobState.COMPLETED, bm.BatchJobState.TERMINATING):
            state = getattr(job.state, "value", job.state)
            return f"job {self.job_id} has ended ({state}); its tasks will not run"
        if job.state == bm.BatchJobState.DELETING:
            return f"job {self.job_id} is being deleted"
        return ""


def _text(line: bytes) -> str:
    return redact(line.decode("utf-8", errors="replace").rstrip("\r"))
