"""The tutorial's workflow end to end, through the azure-batch SDK and a real Azurite:
a 2-node pool whose StartTask stages a script from a SAS container URL into the shared dir,
250 tasks added with create_tasks (3 collection calls), completion from task counts, stdout
downloaded, output files uploaded to Azurite, the job and the pool deleted.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from azure.batch import BatchClient
from azure.batch import models as m
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.storage.blob import (
    BlobSasPermissions,
    BlobServiceClient,
    ContainerSasPermissions,
    generate_blob_sas,
    generate_container_sas,
)
from emulator_helpers import job_options, pool_options, stdout_of, unique, wait_until

pytestmark = pytest.mark.timeout(300)

TASK_SCRIPT = """\
import os, sys
index = sys.argv[1]
with open(os.path.join(os.environ["AZ_BATCH_TASK_WORKING_DIR"], "words.txt")) as f:
    words = f.read().split()
with open(f"task{index}_OUTPUT.txt", "w") as out:
    out.write(f"{index}: {len(words)} words\\n")
print(f"task {index} on {os.environ['AZ_BATCH_NODE_ID']} in job {os.environ['AZ_BATCH_JOB_ID']}")
"""


class CountCollections(SansIOHTTPPolicy):  # type: ignore[misc]
    """Counts addtaskcollection requests the SDK sends."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def on_request(self, request: Any) -> None:
        if request.http_request.url.split("?")[0].endswith("/addtaskcollection"):
            self.calls += 1


def _container_url(azurite: Any, service: BlobServiceClient, name: str, perms: Any) -> str:
    sas = generate_container_sas(
        azurite.account_name,
        name,
        account_key=azurite.account_key,
        permission=perms,
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    return f"{service.get_container_client(name).url}?{sas}"


def test_tutorial_workflow_on_two_nodes(azurite: Any, batch_service: Any) -> None:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    app, data, out = unique("app"), unique("input"), unique("output")
    for name in (app, data, out):
        service.create_container(name)
    service.get_blob_client(app, "scripts/task.py").upload_blob(TASK_SCRIPT.encode())
    service.get_blob_client(data, "words.txt").upload_blob(b"the quick brown fox jumps")
    words_sas = generate_blob_sas(
        azurite.account_name,
        data,
        "words.txt",
        account_key=azurite.account_key,
        permission=BlobSasPermissions(read=True),
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    words_url = f"{service.get_blob_client(data, 'words.txt').url}?{words_sas}"
    app_url = _container_url(azurite, service, app, ContainerSasPermissions(read=True, list=True))
    out_url = _container_url(
        azurite, service, out, ContainerSasPermissions(write=True, create=True)
    )

    counter = CountCollections()
    client = BatchClient(
        batch_service.endpoint,
        AzureNamedKeyCredential(batch_service.account, batch_service.key),
        per_call_policies=[counter],
    )
    pool_id, job_id = unique("pool"), unique("job")
    start = m.BatchStartTask(
        command_line="/bin/bash -c 'cp -r $AZ_BATCH_TASK_WORKING_DIR/* $AZ_BATCH_NODE_SHARED_DIR'",
        resource_files=[m.ResourceFile(storage_container_url=app_url, blob_prefix="scripts/")],
        wait_for_success=True,
        user_identity=m.UserIdentity(
            auto_user=m.AutoUserSpecification(elevation_level="admin", scope="pool")
        ),
    )
    client.create_pool(pool_options(pool_id, nodes=2, start_task=start))
    client.create_job(job_options(job_id, pool_id))

    def task(i: int) -> m.BatchTaskCreateOptions:
        outputs = [
            m.OutputFile(
                file_pattern="*_OUTPUT.txt",
                destination=m.OutputFileDestination(
                    container=m.OutputFileBlobContainerDestination(
                        container_url=out_url, path="results"
                    )
                ),
                upload_options=m.OutputFileUploadConfiguration(upload_condition="tasksuccess"),
            ),
            m.OutputFile(
                file_pattern="../std*.txt",
                destination=m.OutputFileDestination(
                    container=m.OutputFileBlobContainerDestination(
                        container_url=out_url, path=f"logs/{i}"
                    )
                ),
                upload_options=m.OutputFileUploadConfiguration(upload_condition="taskcompletion"),
            ),
        ]
        return m.BatchTaskCreateOptions(
            id=f"task{i}",
            # Batch expands no $VAR in a command line: a shell does it.
            command_line=f"/bin/bash -c 'python3 $AZ_BATCH_NODE_SHARED_DIR/scripts/task.py {i}'",
            resource_files=[m.ResourceFile(http_url=words_url, file_path="words.txt")],
            output_files=outputs if i % 50 == 0 else None,
        )

    client.create_tasks(job_id, [task(i) for i in range(250)])
    assert counter.calls == 3

    def all_done() -> Any:
        counts = client.get_job_task_counts(job_id).task_counts
        return counts if counts.completed == 250 else None

    counts = wait_until(all_done, timeout=240, interval=0.5)
    assert (counts.succeeded, counts.failed, counts.active, counts.running) == (250, 0, 0, 0)

    nodes = list(client.list_nodes(pool_id))
    assert len(nodes) == 2
    assert all(n.id.startswith("tvmps_") and n.id.endswith("_d") for n in nodes)
    assert all(n.start_task_info.result == m.BatchTaskExecutionResult.SUCCESS for n in nodes)
    used = {client.get_task(job_id, f"task{i}").node_info.node_id for i in range(0, 250, 25)}
    assert used == {n.id for n in nodes}

    text = stdout_of(client, job_id, "task7")
    assert text.startswith("task 7 on tvmps_") and f"in job {job_id}" in text
    names = {f.name for f in client.list_task_files(job_id, "task7", recursive=True)}
    assert {"stdout.txt", "stderr.txt", "wd/words.txt", "wd/task7_OUTPUT.txt"} <= names

    blobs = {b.name for b in service.get_container_client(out).list_blobs()}
    assert {f"results/task{i}_OUTPUT.txt" for i in range(0, 250, 50)} <= blobs
    assert {"logs/100/stdout.txt", "logs/100/stderr.txt"} <= blobs
    body = service.get_blob_client(out, "results/task100_OUTPUT.txt").download_blob().readall()
    assert body == b"100: 5 words\n"

    # The documented pattern: add the tasks, then let the job end when they are all complete.
    client.update_job(job_id, m.BatchJobUpdateOptions(all_tasks_complete_mode="terminatejob"))
    wait_until(lambda: client.get_job(job_id).state == m.BatchJobState.COMPLETED)
    assert client.get_job(job_id).execution_info.termination_reason == "AllTasksComplete"

    client.begin_delete_job(job_id, polling_interval=0).result()
    client.begin_delete_pool(pool_id, polling_interval=0).result()
    assert job_id not in {j.id for j in client.list_jobs()}
    assert pool_id not in {p.id for p in client.list_pools()}
    assert not any((batch_service.data_dir / "nodes" / n.id).exists() for n in nodes)
    client.close()
