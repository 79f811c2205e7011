"""What a program using azure-batch 15.x relies on beyond the happy path: conditional writes,
operations answering with the status the SDK expects, and Batch-shaped errors for requests the
local service cannot serve."""

from __future__ import annotations

import datetime as dt
import socket
from email.utils import formatdate
from typing import Any

import pytest
from azure.batch import BatchClient
from azure.batch import models as m
from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.core.rest import HttpRequest
from emulator_helpers import job_options, pool_options, unique, wait_task_done, wait_until

from batchspec.emulator.api.auth import sign, string_to_sign

pytestmark = pytest.mark.timeout(120)


def test_writes_honour_etag_and_modification_time_conditions(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("cond"), unique("cond")
    batch_client.create_pool(pool_options(pool_id, nodes=0))
    batch_client.create_job(job_options(job_id, pool_id))
    job = batch_client.get_job(job_id)
    stale = job.etag
    batch_client.update_job(
        job_id,
        m.BatchJobUpdateOptions(priority=5),
        etag=stale,
        match_condition=MatchConditions.IfNotModified,
    )
    with pytest.raises(ResourceModifiedError) as info:
        batch_client.update_job(
            job_id,
            m.BatchJobUpdateOptions(priority=9),
            etag=stale,
            match_condition=MatchConditions.IfNotModified,
        )
    assert info.value.status_code == 412 and info.value.error.code == "ConditionNotMet"
    assert batch_client.get_job(job_id).priority == 5
    long_ago = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(HttpResponseError) as since:
        batch_client.update_pool(
            pool_id, m.BatchPoolUpdateOptions(metadata=[]), if_unmodified_since=long_ago
        )
    assert since.value.status_code == 412 and since.value.error.code == "ConditionNotMet"
    batch_client.update_pool(
        pool_id, m.BatchPoolUpdateOptions(metadata=[]), if_modified_since=long_ago
    )
    with pytest.raises(ResourceModifiedError):
        batch_client.begin_delete_pool(
            pool_id, etag=stale, match_condition=MatchConditions.IfNotModified
        )
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="t", command_line="true"))
    with pytest.raises(ResourceModifiedError):
        batch_client.terminate_task(
            job_id, "t", etag=stale, match_condition=MatchConditions.IfNotModified
        )
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_replace_pool_properties_replaces_start_task_and_metadata(
    batch_client: BatchClient,
) -> None:
    pool_id = unique("replace")
    start = m.BatchStartTask(command_line="/bin/true")
    batch_client.create_pool(
        pool_options(
            pool_id,
            nodes=0,
            start_task=start,
            metadata=[m.BatchMetadataItem(name="a", value="1")],
        )
    )
    batch_client.replace_pool_properties(
        pool_id,
        m.BatchPoolReplaceOptions(
            metadata=[m.BatchMetadataItem(name="b", value="2")],
            application_package_references=[],
        ),
    )
    pool = batch_client.get_pool(pool_id)
    assert [(i.name, i.value) for i in pool.metadata or []] == [("b", "2")]
    assert pool.start_task is None  # omitted from a replace: removed
    with pytest.raises(HttpResponseError) as info:
        batch_client.replace_pool_properties(
            pool_id,
            m.BatchPoolReplaceOptions(
                start_task=m.BatchStartTask(command_line=""),
                metadata=[],
                application_package_references=[],
            ),
        )
    assert info.value.status_code == 400
    assert info.value.error.code == "MissingRequiredProperty"
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_features_the_account_has_none_of_answer_as_for_an_account_without_them(
    batch_client: BatchClient,
) -> None:
    pool_id, job_id = unique("none"), unique("none")
    batch_client.create_pool(pool_options(pool_id, nodes=0))
    batch_client.create_job(job_options(job_id, pool_id))
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="t", command_line="true"))
    assert list(batch_client.list_applications()) == []
    assert list(batch_client.list_job_schedules()) == []
    assert list(batch_client.list_subtasks(job_id, "t")) == []
    for call, code in (
        (lambda: batch_client.get_application("app"), "ApplicationNotFound"),
        (lambda: batch_client.get_job_schedule("sched"), "JobScheduleNotFound"),
        (lambda: list(batch_client.list_jobs_from_schedule("sched")), "JobScheduleNotFound"),
        (lambda: list(batch_client.list_subtasks(job_id, "nope")), "TaskNotFound"),
    ):
        with pytest.raises(ResourceNotFoundError) as missing:
            call()
        assert missing.value.error.code == code
    with pytest.raises(HttpResponseError) as info:
        list(batch_client.list_job_preparation_and_release_task_status(job_id))
    assert info.value.status_code == 409
    assert info.value.error.code == "JobPreparationTaskOrReleaseTaskNotSpecified"
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/nosuchcollection", 400, "InvalidUri"),
        ("POST", "/pools/p/nosuchaction", 400, "InvalidUri"),
        ("DELETE", "/supportedimages", 405, "UnsupportedHttpVerb"),
        ("PATCH", "/jobs/j/tasks/t", 405, "UnsupportedHttpVerb"),
    ],
)
def test_requests_for_no_batch_resource_get_the_service_error(
    batch_client: BatchClient, method: str, path: str, status: int, code: str
) -> None:
    request = HttpRequest(
        method, f"{path}?api-version=2025-06-01", json={} if method in ("POST", "PATCH") else None
    )
    # The SDK's error policy raises for any error status, send_request included.
    with pytest.raises(HttpResponseError) as info:
        batch_client.send_request(request)
    assert info.value.status_code == status
    assert info.value.error.code == code
    assert info.value.response.headers["request-id"]


def test_task_files_list_with_a_dangling_symlink_in_the_working_directory(
    batch_client: BatchClient,
) -> None:
    pool_id, job_id = unique("links"), unique("links")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    batch_client.create_job(job_options(job_id, pool_id))
    line = "/bin/bash -c 'ln -s /nonexistent/target dangling && echo made'"
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="t", command_line=line))
    task = wait_task_done(batch_client, job_id, "t")
    assert task.execution_info.exit_code == 0
    files = {f.name: f for f in batch_client.list_task_files(job_id, "t", recursive=True)}
    assert "wd/dangling" in files and not files["wd/dangling"].is_directory
    for name in ("wd/dangling", "wd/" + "x" * 5000):
        with pytest.raises(ResourceNotFoundError):
            batch_client.get_task_file_properties(job_id, "t", name)
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_nodes_are_found_whatever_the_case_of_the_pool_id(batch_client: BatchClient) -> None:
    pool_id = unique("CasePool")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    nodes = wait_until(lambda: list(batch_client.list_nodes(pool_id.lower())))
    node = batch_client.get_node(pool_id.upper(), nodes[0].id)
    assert node.id == nodes[0].id
    assert node.url.endswith(f"/pools/{pool_id}/nodes/{node.id}")
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_moving_an_active_job_to_another_pool_is_refused_not_ignored(
    batch_client: BatchClient,
) -> None:
    pool_id, job_id = unique("move"), unique("move")
    batch_client.create_pool(pool_options(pool_id, nodes=0))
    batch_client.create_job(job_options(job_id, pool_id))
    with pytest.raises(HttpResponseError) as info:
        batch_client.update_job(
            job_id, m.BatchJobUpdateOptions(pool_info=m.BatchPoolInfo(pool_id="elsewhere"))
        )
    assert info.value.status_code == 409
    assert info.value.error.code == "OperationInvalidForCurrentState"
    batch_client.update_job(
        job_id, m.BatchJobUpdateOptions(pool_info=m.BatchPoolInfo(pool_id=pool_id), priority=3)
    )
    job = batch_client.get_job(job_id)
    assert job.pool_info.pool_id == pool_id and job.priority == 3
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_pool_node_counts_honour_filter_and_paging(batch_client: BatchClient) -> None:
    pools = [unique("counts"), unique("counts")]
    for pool_id in pools:
        batch_client.create_pool(pool_options(pool_id, nodes=0))
    only = list(batch_client.list_pool_node_counts(filter=f"poolId eq '{pools[1]}'"))
    assert [c.pool_id for c in only] == [pools[1]]
    assert only[0].dedicated is not None and only[0].dedicated.total == 0
    pages = list(batch_client.list_pool_node_counts(max_results=1).by_page())
    assert len(pages) >= 2
    for pool_id in pools:
        batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_a_malformed_container_url_fails_the_task_as_a_user_error(
    batch_client: BatchClient,
) -> None:
    pool_id, job_id = unique("badurl"), unique("badurl")
    sas = "sv=2024-01-01&sp=rwl&sig=NotARealSignature%3D"
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    batch_client.create_job(job_options(job_id, pool_id))
    upload = m.OutputFile(
        file_pattern="../stdout.txt",
        destination=m.OutputFileDestination(
            container=m.OutputFileBlobContainerDestination(container_url=f"not-a-url?{sas}")
        ),
        upload_options=m.OutputFileUploadConfiguration(upload_condition="taskcompletion"),
    )
    source = m.ResourceFile(storage_container_url=f"http://127.0.0.1:1/?{sas}")
    batch_client.create_tasks(
        job_id,
        [
            m.BatchTaskCreateOptions(id="out", command_line="true", output_files=[upload]),
            m.BatchTaskCreateOptions(id="in", command_line="true", resource_files=[source]),
        ],
    )
    for task_id, code in (("out", "FileUploadMiscError"), ("in", "BlobDownloadMiscError")):
        info = wait_task_done(batch_client, job_id, task_id).execution_info
        assert info.result == m.BatchTaskExecutionResult.FAILURE
        assert info.failure_info.code == code
        assert info.failure_info.category == m.BatchErrorSourceCategory.USER_ERROR
        assert "sig=" not in (info.failure_info.message or "")
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_task_file_ranges_outside_the_file_or_malformed_are_refused(
    batch_client: BatchClient,
) -> None:
    pool_id, job_id = unique("range"), unique("range")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    batch_client.create_job(job_options(job_id, pool_id))
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="t", command_line="echo 12345"))
    wait_task_done(batch_client, job_id, "t")
    read = batch_client.download_task_file
    assert b"".join(read(job_id, "t", "stdout.txt", ocp_range="bytes=1-2")) == b"23"
    assert b"".join(read(job_id, "t", "stdout.txt", ocp_range="bytes=3-")) == b"45\n"
    # Errors through send_request: the SDK leaves an errored streamed download's socket open.
    url = f"/jobs/{job_id}/tasks/t/files/stdout.txt?api-version=2025-06-01"
    with pytest.raises(HttpResponseError) as beyond:
        batch_client.send_request(HttpRequest("GET", url, headers={"ocp-range": "bytes=100-200"}))
    assert (beyond.value.status_code, beyond.value.error.code) == (416, "InvalidRange")
    with pytest.raises(HttpResponseError) as malformed:
        batch_client.send_request(HttpRequest("GET", url, headers={"ocp-range": "bytes=x-y"}))
    assert malformed.value.status_code == 400
    assert malformed.value.error.code == "InvalidHeaderValue"
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_replace_job_resets_what_the_body_omits(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("putjob"), unique("putjob")
    batch_client.create_pool(pool_options(pool_id, nodes=0))
    batch_client.create_job(
        job_options(
            job_id,
            pool_id,
            priority=7,
            constraints=m.BatchJobConstraints(max_task_retry_count=4),
            metadata=[m.BatchMetadataItem(name="k", value="v")],
        )
    )
    job = batch_client.get_job(job_id)
    job.priority = None
    job.constraints = None
    job.metadata = None
    batch_client.replace_job(job_id, job)
    replaced = batch_client.get_job(job_id)
    assert replaced.priority == 0
    assert replaced.constraints.max_task_retry_count == 0
    assert not replaced.metadata
    assert replaced.pool_info.pool_id == pool_id
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_datetime_filters_compare_instants_not_text(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("when"), unique("when")
    batch_client.create_pool(pool_options(pool_id, nodes=0))
    batch_client.create_job(job_options(job_id, pool_id))
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="t", command_line="true"))
    created = batch_client.get_task(job_id, "t").creation_time
    second = created.replace(microsecond=0)
    for literal, op in (
        (second.strftime("%Y-%m-%dT%H:%M:%SZ"), "ge"),  # same second, no fraction
        (second.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat(), "ge"),
        ((second + dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z"), "lt"),
    ):
        found = batch_client.list_tasks(job_id, filter=f"creationTime {op} datetime'{literal}'")
        assert [t.id for t in found] == ["t"], literal
    with pytest.raises(HttpResponseError) as info:
        list(batch_client.list_tasks(job_id, filter="creationTime gt datetime'yesterday'"))
    assert info.value.error.code == "InvalidQueryParameterValue"
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_writes_answer_with_the_entity_headers_the_sdk_reads(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("hdrs"), unique("hdrs")

    def headers(_response: Any, _body: Any, found: dict[str, Any]) -> dict[str, Any]:
        return found

    batch_client.create_pool(pool_options(pool_id, nodes=0))
    batch_client.create_job(job_options(job_id, pool_id))
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="t", command_line="true"))
    job_url = batch_client.get_job(job_id).url
    cases = {
        job_url: batch_client.update_job(job_id, m.BatchJobUpdateOptions(priority=1), cls=headers),
        batch_client.get_pool(pool_id).url: batch_client.update_pool(
            pool_id, m.BatchPoolUpdateOptions(metadata=[]), cls=headers
        ),
        f"{job_url}/tasks/t": batch_client.terminate_task(job_id, "t", cls=headers),
    }
    for url, found in cases.items():
        assert found["DataServiceId"] == url
        assert found["ETag"] and found["Last-Modified"] is not None
        assert found["request-id"]
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_an_announced_oversized_body_is_refused_without_waiting_for_it(
    batch_service: Any,
) -> None:
    # A client announcing a body of 2 MB that it sends slowly (or never) gets its 413 at once,
    # rather than the service waiting for, and holding, the whole body first.
    path, query = "/pools", "api-version=2025-06-01"
    headers = {
        "ocp-date": formatdate(usegmt=True),
        "content-type": "application/json",
        "content-length": str(2_000_000),
    }
    text = string_to_sign("POST", path, query, headers, batch_service.account, "0")
    headers["authorization"] = f"SharedKey {batch_service.account}:{sign(batch_service.key, text)}"
    host, port = batch_service.endpoint.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        conn.sendall(f"POST {path}?{query} HTTP/1.1\r\nhost: {host}\r\n{head}\r\n{{".encode())
        answer = b""
        while b'"code"' not in answer and (chunk := conn.recv(65536)):
            answer += chunk
    status_line, _, rest = answer.decode("latin-1").partition("\r\n")
    assert status_line.split()[1] == "413"
    assert '"code":"RequestBodyTooLarge"' in rest.replace(" ", "")


def test_files_of_a_task_that_never_ran(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("norun"), unique("norun")
    batch_client.create_pool(pool_options(pool_id, nodes=0))
    batch_client.create_job(job_options(job_id, pool_id))
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="t", command_line="true"))
    with pytest.raises(HttpResponseError) as queued:
        list(batch_client.list_task_files(job_id, "t"))
    assert (queued.value.status_code, queued.value.error.code) == (409, "TaskNotYetStarted")
    batch_client.terminate_task(job_id, "t")
    with pytest.raises(HttpResponseError) as never:
        list(batch_client.list_task_files(job_id, "t"))
    assert (never.value.status_code, never.value.error.code) == (409, "TaskFilesUnavailable")
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_pool_exists_answers_with_the_pool_etag(batch_client: BatchClient) -> None:
    pool_id = unique("exists")
    batch_client.create_pool(pool_options(pool_id, nodes=0))
    pool = batch_client.get_pool(pool_id)

    def headers(_response: Any, _body: Any, found: dict[str, Any]) -> dict[str, Any]:
        return found

    found = batch_client.pool_exists(pool_id, cls=headers)
    assert found["ETag"] == pool.etag
    assert found["Last-Modified"] == pool.last_modified.replace(microsecond=0)
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


@pytest.mark.timeout(60)
def test_a_fifo_left_by_a_task_is_not_read(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("fifo"), unique("fifo")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    batch_client.create_job(job_options(job_id, pool_id))
    line = "/bin/bash -c 'mkfifo pipe && echo 0123456789'"
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="t", command_line=line))
    wait_task_done(batch_client, job_id, "t")
    names = [f.name for f in batch_client.list_task_files(job_id, "t", recursive=True)]
    assert "wd/pipe" in names
    url = f"/jobs/{job_id}/tasks/t/files/wd/pipe?api-version=2025-06-01"
    with pytest.raises(ResourceNotFoundError) as info:
        batch_client.send_request(HttpRequest("GET", url))
    assert info.value.error.code == "FileNotFound"
    read = batch_client.download_task_file
    assert b"".join(read(job_id, "t", "stdout.txt")) == b"0123456789\n"
    assert b"".join(read(job_id, "t", "stdout.txt", ocp_range="bytes=8-100")) == b"89\n"
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_file_reads_honour_modification_conditions(
    batch_client: BatchClient,
) -> None:
    pool_id, job_id = unique("fcond"), unique("fcond")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    batch_client.create_job(job_options(job_id, pool_id))
    line = "/bin/bash -c 'mkdir empty full && touch full/x && echo hi'"
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="t", command_line=line))
    wait_task_done(batch_client, job_id, "t")
    props = batch_client.get_task_file_properties
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    long_ago = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)
    assert props(job_id, "t", "stdout.txt", if_modified_since=long_ago).content_length == 3
    with pytest.raises(ResourceModifiedError) as unchanged:
        props(job_id, "t", "stdout.txt", if_modified_since=later)
    assert unchanged.value.status_code == 304
    with pytest.raises(HttpResponseError) as changed:
        props(job_id, "t", "stdout.txt", if_unmodified_since=long_ago)
    assert changed.value.status_code == 412
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_an_empty_directory_deletes_without_recursive(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("rmdir"), unique("rmdir")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    batch_client.create_job(job_options(job_id, pool_id))
    line = "/bin/bash -c 'mkdir empty full && touch full/x'"
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="t", command_line=line))
    wait_task_done(batch_client, job_id, "t")
    batch_client.delete_task_file(job_id, "t", "wd/empty")
    with pytest.raises(ResourceExistsError) as full:
        batch_client.delete_task_file(job_id, "t", "wd/full")
    assert full.value.error.code == "DirectoryNotEmpty"
    batch_client.delete_task_file(job_id, "t", "wd/full", recursive=True)
    names = [f.name for f in batch_client.list_task_files(job_id, "t", recursive=True)]
    assert not [n for n in names if n.startswith(("wd/empty", "wd/full"))]
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_a_symbolic_link_loop_is_listed_and_not_found(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("loop"), unique("loop")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    batch_client.create_job(job_options(job_id, pool_id))
    line = "/bin/bash -c 'ln -s loop loop'"
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="t", command_line=line))
    wait_task_done(batch_client, job_id, "t")
    names = [f.name for f in batch_client.list_task_files(job_id, "t", recursive=True)]
    assert "wd/loop" in names
    with pytest.raises(ResourceNotFoundError) as info:
        batch_client.delete_task_file(job_id, "t", "wd/loop", retry_total=0)
    assert info.value.error.code == "FileNotFound"
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_wrongly_typed_properties_are_refused_at_create_time(batch_client: BatchClient) -> None:
    # The models do not check types, so a program passing a string where a list belongs sends
    # it; the service refuses it then, not when a node boots or the task runs.
    pool_id, job_id = unique("types"), unique("types")
    bad_start = m.BatchStartTask(command_line="true", environment_settings="X=1")  # type: ignore[arg-type]
    with pytest.raises(HttpResponseError) as pool:
        batch_client.create_pool(pool_options(pool_id, nodes=1, start_task=bad_start))
    assert pool.value.error.code == "InvalidPropertyValue"
    assert pool.value.error.details[0].message == "startTask.environmentSettings"
    batch_client.create_pool(pool_options(pool_id, nodes=0))
    batch_client.create_job(job_options(job_id, pool_id, uses_task_dependencies=True))
    for name, task in (
        ("commandLine", m.BatchTaskCreateOptions(id="a", command_line=5)),  # type: ignore[arg-type]
        (
            "userIdentity",
            m.BatchTaskCreateOptions(id="b", command_line="true", user_identity="admin"),  # type: ignore[arg-type]
        ),
        (
            "dependsOn.taskIds",
            m.BatchTaskCreateOptions(
                id="c",
                command_line="true",
                depends_on=m.BatchTaskDependencies(task_ids="a"),  # type: ignore[arg-type]
            ),
        ),
    ):
        with pytest.raises(HttpResponseError) as info:
            batch_client.create_task(job_id, task)
        assert info.value.status_code == 400
        assert info.value.error.details[0].message == name
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()
