"""The follower on a fake Batch client: byte ranges, lines split across reads, redaction, ends."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from azure.batch import models as bm
from azure.core.exceptions import ResourceNotFoundError

from batchspec.live.logs import Follower


class FakeBatch:
    """A job whose task `talk` writes `chunks` to stdout.txt, one chunk per poll."""

    def __init__(self, chunks: list[bytes], extra: dict[str, Any] | None = None) -> None:
        self.chunks, self.written, self.ranges = chunks, b"", list[str]()
        self.tasks = extra or {}

    def get_task(self, job_id: str, task_id: str, select: Any = None) -> Any:
        if task_id in self.tasks:
            return self.tasks[task_id]
        if task_id != "talk":
            raise ResourceNotFoundError("no such task")
        # Each look at the task lets it write one more chunk; it completes after the last.
        if self.chunks:
            self.written += self.chunks.pop(0)
            return SimpleNamespace(state=bm.BatchTaskState.RUNNING, depends_on=None)
        return SimpleNamespace(state=bm.BatchTaskState.COMPLETED, depends_on=None)

    def get_task_file_properties(self, job_id: str, task_id: str, name: str) -> Any:
        return SimpleNamespace(content_length=len(self.written) if name == "stdout.txt" else 0)

    def download_task_file(
        self, job_id: str, task_id: str, name: str, ocp_range: str | None = None
    ) -> Iterator[bytes]:
        assert ocp_range is not None
        self.ranges.append(ocp_range)
        start, end = ocp_range.removeprefix("bytes=").split("-")
        yield self.written[int(start) : int(end) + 1]

    def get_job(self, job_id: str, select: Any = None) -> Any:
        return SimpleNamespace(state=bm.BatchJobState.ACTIVE)


def test_lines_arrive_whole_and_redacted_each_range_once() -> None:
    chunks = [b"one\ntw", b"o\nhttps://a/b?sv=1&s", b"ig=SECRET\n", b"last"]
    fake = FakeBatch(list(chunks))
    lines: list[str] = []
    follower = Follower(fake, "job", lambda t, n, line: lines.append(line), print, poll=0)  # type: ignore[arg-type]
    why = follower.follow(["talk"], ["stdout.txt", "stderr.txt"])
    assert lines == ["one", "two", "https://a/b?sv=1&sig=REDACTED", "last"]
    assert why == "every task followed has completed"
    starts = [sum(map(len, chunks[:i])) for i in range(len(chunks) + 1)]
    assert fake.ranges == [f"bytes={a}-{b - 1}" for a, b in itertools.pairwise(starts)]


def test_a_task_behind_a_failed_dependency_ends_the_follow_with_the_reason() -> None:
    failed = SimpleNamespace(
        execution_info=SimpleNamespace(result=bm.BatchTaskExecutionResult.FAILURE)
    )
    waiting = SimpleNamespace(
        state=bm.BatchTaskState.ACTIVE, depends_on=SimpleNamespace(task_ids=["first"])
    )
    fake = FakeBatch([], {"second": waiting, "first": failed})
    follower = Follower(fake, "job", lambda *a: None, print, poll=0)  # type: ignore[arg-type]
    assert follower.follow(["second"], ["stdout.txt"]) == (
        "task second can never run: it depends on failed task first"
    )
