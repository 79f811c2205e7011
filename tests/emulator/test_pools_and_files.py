"""Pool resize (nodes join with their StartTask, leave with their tasks requeued), node and task
files, task reactivate/delete, bodies and routes the service cannot read."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from email.utils import formatdate
from typing import Any

import pytest
from azure.batch import BatchClient
from azure.batch import models as m
from azure.core.exceptions import ResourceNotFoundError
from emulator_helpers import (
    job_options,
    pool_options,
    stdout_of,
    unique,
    wait_task_done,
    wait_until,
)

from batchspec.emulator.api.auth import sign, string_to_sign

pytestmark = pytest.mark.timeout(120)


def _idle(client: BatchClient, pool_id: str) -> list[Any]:
    return [n for n in client.list_nodes(pool_id) if n.state == m.BatchNodeState.IDLE]


def test_resize_grows_and_shrinks_with_requeue(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("resize"), unique("job")
    start = m.BatchStartTask(command_line="/bin/true", wait_for_success=True)
    batch_client.create_pool(pool_options(pool_id, nodes=1, start_task=start))
    wait_until(lambda: len(_idle(batch_client, pool_id)) == 1)
    batch_client.begin_resize_pool(
        pool_id, m.BatchPoolResizeOptions(target_dedicated_nodes=3), polling_interval=0
    ).result()
    pool = batch_client.get_pool(pool_id)
    assert pool.allocation_state == m.AllocationState.STEADY
    assert pool.current_dedicated_nodes == 3
    wait_until(lambda: len(_idle(batch_client, pool_id)) == 3)

    batch_client.create_job(job_options(job_id, pool_id))
    batch_client.create_tasks(
        job_id,
        [m.BatchTaskCreateOptions(id=f"w{i}", command_line="/bin/sleep 1") for i in range(3)],
    )
    wait_until(lambda: batch_client.get_job_task_counts(job_id).task_counts.running == 3)
    batch_client.begin_resize_pool(
        pool_id, m.BatchPoolResizeOptions(target_dedicated_nodes=1), polling_interval=0
    ).result()
    assert len(list(batch_client.list_nodes(pool_id))) == 1
    wait_until(lambda: batch_client.get_job_task_counts(job_id).task_counts.succeeded == 3, 30)
    requeued = [t for t in batch_client.list_tasks(job_id) if t.execution_info.requeue_count == 1]
    assert len(requeued) == 2
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_task_and_node_files(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("files"), unique("job")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    batch_client.create_job(job_options(job_id, pool_id))
    command = "/bin/bash -c 'mkdir -p out && printf 0123456789 > out/digits.txt && echo done'"
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="writer", command_line=command))
    task = wait_task_done(batch_client, job_id, "writer")
    assert stdout_of(batch_client, job_id, "writer") == "done\n"
    assert stdout_of(batch_client, job_id, "writer", "wd/out/digits.txt") == "0123456789"
    ranged = batch_client.download_task_file(
        job_id, "writer", "wd/out/digits.txt", ocp_range="bytes=2-4"
    )
    assert b"".join(ranged) == b"234"
    props = batch_client.get_task_file_properties(job_id, "writer", "wd/out/digits.txt")
    assert props.content_length == 10 and not props.is_directory
    top = {f.name: f.is_directory for f in batch_client.list_task_files(job_id, "writer")}
    assert top == {"stdout.txt": False, "stderr.txt": False, "wd": True}
    with pytest.raises(ResourceNotFoundError) as info:
        batch_client.download_task_file(job_id, "writer", "wd/nope.txt")
    assert info.value.status_code == 404  # streamed: the SDK does not read the error body
    info.value.response.close()
    with pytest.raises(ResourceNotFoundError):  # HEAD: a bare 404, as the service answers
        batch_client.get_task_file_properties(job_id, "writer", "wd/nope.txt")
    with pytest.raises(ResourceNotFoundError):
        batch_client.get_task_file_properties(job_id, "writer", "../../../../../../etc/passwd")

    node_id = task.node_info.node_id
    names = {f.name for f in batch_client.list_node_files(pool_id, node_id, recursive=True)}
    assert {"shared", "startup", f"workitems/{job_id}/job-1/writer/stdout.txt"} <= names
    batch_client.delete_task_file(job_id, "writer", "wd/out/digits.txt")
    assert "wd/out/digits.txt" not in {
        f.name for f in batch_client.list_task_files(job_id, "writer", recursive=True)
    }

    fixme = m.BatchTaskCreateOptions(id="fixme", command_line="/bin/false")
    batch_client.create_task(job_id, fixme)
    first = wait_task_done(batch_client, job_id, "fixme").execution_info.end_time
    batch_client.reactivate_task(job_id, "fixme")
    wait_until(
        lambda: batch_client.get_task(job_id, "fixme").execution_info.end_time not in (None, first)
    )
    batch_client.delete_task(job_id, "fixme")
    with pytest.raises(ResourceNotFoundError):
        batch_client.get_task(job_id, "fixme")
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def _raw(service: Any, method: str, path: str, body: bytes | None) -> tuple[int, dict[str, Any]]:
    """A correctly signed request with an arbitrary body (what the SDK would never send)."""
    query = "api-version=2025-06-01"
    headers = {"ocp-date": formatdate(usegmt=True), "content-type": "application/json"}
    if body is not None:
        headers["content-length"] = str(len(body))
    text = string_to_sign(method, path, query, headers, service.account, "0")
    headers["authorization"] = f"SharedKey {service.account}:{sign(service.key, text)}"
    request = urllib.request.Request(
        f"{service.endpoint}{path}?{query}", data=body, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, {}
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read() or b"{}")


def test_bodies_and_routes_the_service_cannot_read(batch_service: Any) -> None:
    status, body = _raw(batch_service, "POST", "/pools", b"{not json")
    assert (status, body["code"]) == (400, "InvalidRequestBody")
    status, body = _raw(
        batch_service, "POST", "/jobs", json.dumps({"id": "j", "poolInfo": "p"}).encode()
    )
    assert (status, body["code"]) == (400, "InvalidRequestBody")
    # Job schedules are listed (there are none); a path that is no Batch resource is refused.
    status, body = _raw(batch_service, "GET", "/jobschedules", None)
    assert status == 200
    status, body = _raw(batch_service, "GET", "/jobschedulez", None)
    assert (status, body["code"]) == (400, "InvalidUri") and body["message"]["lang"] == "en-US"


def test_pool_node_counts(batch_client: BatchClient) -> None:
    pool_id = unique("counts")
    batch_client.create_pool(pool_options(pool_id, nodes=2))
    wait_until(lambda: len(_idle(batch_client, pool_id)) == 2)
    counts = {c.pool_id: c for c in batch_client.list_pool_node_counts()}[pool_id]
    assert (counts.dedicated.idle, counts.dedicated.total, counts.low_priority.total) == (2, 2, 0)
    assert counts.dedicated.start_task_failed == 0
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_shrink_removes_idle_nodes_first(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("shrink"), unique("job")
    batch_client.create_pool(pool_options(pool_id, nodes=2))
    wait_until(lambda: len(_idle(batch_client, pool_id)) == 2)
    batch_client.create_job(job_options(job_id, pool_id))
    batch_client.create_task(
        job_id, m.BatchTaskCreateOptions(id="busy", command_line="/bin/sleep 2")
    )
    wait_until(lambda: batch_client.get_task(job_id, "busy").state == m.BatchTaskState.RUNNING)
    busy_node = batch_client.get_task(job_id, "busy").node_info.node_id
    batch_client.begin_resize_pool(
        pool_id, m.BatchPoolResizeOptions(target_dedicated_nodes=1), polling_interval=0
    ).result()
    assert [n.id for n in batch_client.list_nodes(pool_id)] == [busy_node]
    info = wait_task_done(batch_client, job_id, "busy").execution_info
    assert info.result == m.BatchTaskExecutionResult.SUCCESS and info.requeue_count == 0
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_node_scheduling_and_task_constraints(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("sched"), unique("job")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    node = wait_until(lambda: _idle(batch_client, pool_id))[0]
    option = m.BatchNodeDisableSchedulingOptions(node_disable_scheduling_option="taskcompletion")
    batch_client.disable_node_scheduling(pool_id, node.id, option)
    assert batch_client.get_node(pool_id, node.id).scheduling_state == "disabled"
    batch_client.create_job(job_options(job_id, pool_id))
    batch_client.create_task(
        job_id, m.BatchTaskCreateOptions(id="waits", command_line="/bin/false")
    )
    task = batch_client.get_task(job_id, "waits")
    task.constraints = m.BatchTaskConstraints(max_task_retry_count=2)
    batch_client.replace_task(job_id, "waits", task)
    assert batch_client.get_task(job_id, "waits").constraints.max_task_retry_count == 2
    assert batch_client.get_task(job_id, "waits").state == m.BatchTaskState.ACTIVE
    batch_client.enable_node_scheduling(pool_id, node.id)
    info = wait_task_done(batch_client, job_id, "waits").execution_info
    assert info.result == m.BatchTaskExecutionResult.FAILURE and info.retry_count == 2
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()
