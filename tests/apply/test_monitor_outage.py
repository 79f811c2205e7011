"""Watching through a Batch service outage, against a scripted client and a scripted clock
(the end-to-end tests inject real 503s through a proxy in front of the local service)."""

from __future__ import annotations

import io

import pytest
from azure.batch import models as bm
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceResponseError
from rich.console import Console

from batchspec.apply.console import Reporter
from batchspec.apply.monitor import MonitorTimeout, watch
from batchspec.apply.pool import wait_for_nodes
from batchspec.apply.service_faults import ServiceOutage


def busy() -> HttpResponseError:
    error = HttpResponseError(message="The server is busy.")
    error.status_code = 503
    return error


class FlakyCounts:
    """Fails each poll with the next scripted error, then answers that all tasks completed."""

    def __init__(self, errors: list[Exception], total: int = 2) -> None:
        self.errors = errors
        self.total = total
        self.calls = 0

    def get_job_task_counts(self, job_id: str) -> bm.BatchTaskCountsResult:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        counts = {"active": 0, "running": 0, "completed": self.total}
        counts |= {"succeeded": self.total, "failed": 0}
        return bm.BatchTaskCountsResult({"taskCounts": counts, "taskSlotCounts": dict(counts)})


class Clock:
    """Time that moves only when the watcher sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def run_watch(client: FlakyCounts, outage: float) -> tuple[object, str]:
    buffer = io.StringIO()
    reporter = Reporter(Console(file=buffer, force_terminal=False, width=300))
    clock = Clock()
    try:
        result: object = watch(
            client,  # type: ignore[arg-type]
            "j",
            client.total,
            reporter,
            poll=10,
            timeout=None,
            outage=outage,
            sleep=clock.sleep,
            clock=clock,
        )
    except (MonitorTimeout, ServiceOutage) as exc:
        result = exc
    return result, buffer.getvalue()


def test_an_outage_shorter_than_the_limit_is_waited_out_and_said_once() -> None:
    client = FlakyCounts([busy(), ServiceResponseError("connection reset"), busy()])
    result, text = run_watch(client, outage=60)
    assert not isinstance(result, Exception), result
    assert client.calls == 4
    assert text.count("warning: the Batch service is not answering (The server is busy.)") == 1
    assert "still watching job j for up to 60s" in text
    assert "the Batch service answers again after 30s" in text
    assert "job j: 2/2 completed" in text


def test_an_outage_longer_than_the_limit_ends_the_watch_with_one_clear_reason() -> None:
    client = FlakyCounts([busy() for _ in range(20)])
    result, _ = run_watch(client, outage=45)
    assert isinstance(result, ServiceOutage)
    assert str(result) == (
        "the Batch service did not answer for 50s while watching job j "
        "(The server is busy.); its tasks go on without apply"
    )
    assert client.calls == 6


def test_a_refusal_is_not_waited_out() -> None:
    client = FlakyCounts([ResourceNotFoundError("(JobNotFound) The specified job does not exist.")])
    with pytest.raises(ResourceNotFoundError):
        run_watch(client, outage=60)
    assert client.calls == 1


class FlakyNodes:
    """Fails list_nodes with the scripted errors, then lists one idle node."""

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.calls = 0

    def list_nodes(self, pool_id: str) -> list[bm.BatchNode]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return [bm.BatchNode({"id": "n1", "state": "idle"})]


def test_waiting_for_nodes_rides_out_an_outage_and_says_so() -> None:
    client = FlakyNodes([busy(), ServiceResponseError("connection reset")])
    lines: list[str] = []
    wait_for_nodes(
        client,  # type: ignore[arg-type]
        "p",
        1,
        timeout=60,
        say=lines.append,
        warn=lambda text: lines.append("warning: " + text),
        poll=0,
        outage=60,
    )
    assert client.calls == 3
    assert lines[0] == (
        "warning: the Batch service is not answering (The server is busy.); "
        "still waiting for the nodes of pool p for up to 60s"
    )
    assert lines[1].startswith("the Batch service answers again after ")
    assert lines[2] == "pool p: 1 node(s) ready"


def test_waiting_for_nodes_ends_when_the_outage_outlasts_the_limit() -> None:
    client = FlakyNodes([busy() for _ in range(5)])
    with pytest.raises(ServiceOutage, match=r"while waiting for the nodes of pool p \(The server"):
        wait_for_nodes(
            client,  # type: ignore[arg-type]
            "p",
            1,
            timeout=60,
            say=lambda _: None,
            poll=0.01,
            outage=0,
        )
    assert client.calls == 2
