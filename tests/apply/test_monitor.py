"""Monitoring logic against a scripted client (the end-to-end tests use the real service)."""

import io
from typing import Any

import pytest
from azure.batch import models as bm
from rich.console import Console

from batchspec.apply.console import Reporter
from batchspec.apply.monitor import FAILED_FILTER, MonitorTimeout, failed_tasks, watch


class ScriptedCounts:
    """Answers get_job_task_counts from a script; any other call fails the test."""

    def __init__(self, script: list[tuple[int, int, int, int]]) -> None:
        self.script = script
        self.calls = 0

    def get_job_task_counts(self, job_id: str) -> bm.BatchTaskCountsResult:
        active, running, succeeded, failed = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        counts = {
            "active": active,
            "running": running,
            "completed": succeeded + failed,
            "succeeded": succeeded,
            "failed": failed,
        }
        slots = dict(counts)
        return bm.BatchTaskCountsResult({"taskCounts": counts, "taskSlotCounts": slots})


def plain_reporter() -> tuple[Reporter, io.StringIO]:
    buffer = io.StringIO()
    return Reporter(Console(file=buffer, force_terminal=False, width=200)), buffer


def test_watch_polls_counts_only_until_all_complete() -> None:
    client = ScriptedCounts([(3, 0, 0, 0), (1, 2, 0, 0), (0, 1, 2, 0), (0, 0, 2, 1)])
    reporter, buffer = plain_reporter()
    counts = watch(client, "j", 3, reporter, poll=0, timeout=None, sleep=lambda _: None)  # type: ignore[arg-type]
    assert client.calls == 4
    assert (counts.succeeded, counts.failed) == (2, 1)
    # Without a terminal: plain lines, the first and the final state at least.
    text = buffer.getvalue()
    assert "job j: 0/3 completed (3 waiting, 0 running, 0 succeeded, 0 failed)" in text
    assert "job j: 3/3 completed (0 waiting, 0 running, 2 succeeded, 1 failed)" in text


def test_watch_times_out_with_the_counts() -> None:
    client = ScriptedCounts([(1, 1, 0, 0)])
    reporter, _ = plain_reporter()
    with pytest.raises(MonitorTimeout, match=r"0 of 2 tasks completed after -1s \(1 waiting"):
        watch(client, "j", 2, reporter, poll=0, timeout=-1, sleep=lambda _: None)  # type: ignore[arg-type]


class FailedLister:
    def __init__(self) -> None:
        self.kwargs: dict[str, Any] = {}

    def list_tasks(self, job_id: str, **kwargs: Any) -> list[bm.BatchTask]:
        self.kwargs = kwargs
        info = {
            "exitCode": 3,
            "retryCount": 0,
            "requeueCount": 0,
            "result": "failure",
            "failureInfo": {"category": "usererror", "code": "FailureExitCode", "message": "m"},
        }
        return [bm.BatchTask({"id": f"t{i}", "executionInfo": info}) for i in range(30)]

    def get_task_file_properties(self, job_id: str, task_id: str, path: str) -> Any:
        return type("P", (), {"content_length": 5})()

    def download_task_file(self, job_id: str, task_id: str, path: str, **kw: Any) -> list[bytes]:
        assert kw["ocp_range"] == "bytes=0-4"
        return [b"boom\n"]


def test_failed_tasks_uses_a_filter_and_a_limit() -> None:
    client = FailedLister()
    found = failed_tasks(client, "j", limit=4)  # type: ignore[arg-type]
    assert client.kwargs["filter"] == FAILED_FILTER == "executionInfo/result eq 'failure'"
    assert [t.id for t in found] == ["t0", "t1", "t2", "t3"]
    assert found[0].exit_code == 3
    assert found[0].failure == "FailureExitCode: m"
    assert found[0].stderr_tail == "boom"


def test_watch_on_a_terminal_draws_a_live_bar() -> None:
    client = ScriptedCounts([(2, 0, 0, 0), (0, 0, 2, 0)])
    buffer = io.StringIO()
    reporter = Reporter(Console(file=buffer, force_terminal=True, width=120))
    assert reporter.interactive
    watch(client, "j", 2, reporter, poll=0, timeout=None, sleep=lambda _: None)  # type: ignore[arg-type]
    text = buffer.getvalue()
    assert "job j" in text and "2/2" in text
    assert "\x1b[" in text  # drawn with terminal control sequences, not plain lines


def test_counts_that_do_not_change_are_said_once_and_the_wait_goes_on() -> None:
    client = ScriptedCounts([(0, 2, 0, 0)] * 5 + [(0, 0, 2, 0)])
    reporter, buffer = plain_reporter()
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += 400.0

    counts = watch(
        client,  # type: ignore[arg-type]
        "j",
        2,
        reporter,
        poll=1,
        timeout=None,
        sleep=sleep,
        clock=lambda: now[0],
    )
    assert counts.succeeded == 2
    notices = [line for line in buffer.getvalue().splitlines() if "no task has changed" in line]
    assert notices == [
        "warning: job j: no task has changed state for 800s (0 waiting, 2 running, 0 succeeded, "
        "0 failed); a task may be slow, or the service stuck (on the local target, "
        "`batchspec local logs emulator` shows its log)"
    ]


class BlockedJob(ScriptedCounts):
    """first failed; second (depends on first) and third (on second) wait for ever."""

    def __init__(self) -> None:
        super().__init__([(3, 1, 0, 0), (2, 0, 0, 1)])

    def list_tasks(self, job_id: str, filter: str, select: list[str]) -> list[Any]:
        assert filter == FAILED_FILTER
        return [bm.BatchTask({"id": "first"})]


def test_tasks_blocked_by_a_failure_end_the_wait_at_once() -> None:
    from batchspec.apply.monitor import TasksBlocked, blocked_check

    client = BlockedJob()
    reporter, _ = plain_reporter()
    needed_by = {"first": ["second"], "second": ["third"]}
    with pytest.raises(TasksBlocked) as raised:
        watch(
            client,  # type: ignore[arg-type]
            "j",
            4,
            reporter,
            poll=0,
            timeout=None,
            sleep=lambda _: None,
            stuck=blocked_check(client, "j", needed_by),  # type: ignore[arg-type]
        )
    assert raised.value.failed == ("first",)
    assert raised.value.blocked == ("second", "third")
    assert client.calls == 2
