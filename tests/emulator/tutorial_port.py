"""The Azure Batch Python tutorial (Azure-Samples/batch-python-ffmpeg-tutorial), ported to the
azure-batch 15.x API, in the shape of the azure-batch-samples article samples.

Its shape differs from the quickstart's: a pool whose StartTask prepares every node (the
tutorial installs ffmpeg there; here it writes the "converter" script into the shared
directory), input and output containers, one conversion task per input file whose result goes
to the output container through `output_files` with a container SAS, and a final task that
depends on all conversions (`uses_task_dependencies`). The job is created with
`on_all_tasks_complete: noaction` and switched to `terminatejob` after the tasks are added.
The program waits by listing tasks with `$filter`/`$select`, reads task files and node files,
updates the job and the pool, handles errors by `err.error.code`, and cleans up. Nothing in it
knows about the local service; it is configured as one would configure it for Azure:

    BATCH_ACCOUNT_URL, BATCH_ACCOUNT_NAME, BATCH_ACCOUNT_KEY,
    STORAGE_ACCOUNT_URL, STORAGE_ACCOUNT_NAME, STORAGE_ACCOUNT_KEY, POOL_ID, JOB_ID
"""

import datetime
import os
import sys
import time

import azure.batch.models as batchmodels
from azure.batch import BatchClient
from azure.core import MatchConditions
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import (
    BlobSasPermissions,
    BlobServiceClient,
    ContainerSasPermissions,
    generate_blob_sas,
    generate_container_sas,
)

BATCH_ACCOUNT_NAME = os.environ["BATCH_ACCOUNT_NAME"]
BATCH_ACCOUNT_KEY = os.environ["BATCH_ACCOUNT_KEY"]
BATCH_ACCOUNT_URL = os.environ["BATCH_ACCOUNT_URL"]
STORAGE_ACCOUNT_NAME = os.environ["STORAGE_ACCOUNT_NAME"]
STORAGE_ACCOUNT_KEY = os.environ["STORAGE_ACCOUNT_KEY"]
STORAGE_ACCOUNT_URL = os.environ["STORAGE_ACCOUNT_URL"]
POOL_ID = os.environ.get("POOL_ID", "LinuxFfmpegPool")
JOB_ID = os.environ.get("JOB_ID", "LinuxFfmpegJob")
INPUT_CONTAINER = "input"
OUTPUT_CONTAINER = "output"
INPUT_NAMES = ["LowPriVMs-1.mp4", "LowPriVMs-2.mp4", "LowPriVMs-3.mp4", "LowPriVMs-4.mp4"]

# The tutorial's StartTask installs ffmpeg; this "converter" stands in for it and also
# leaves a file in the node's shared directory, as installers do.
CONVERTER = (
    "import sys, pathlib; src, dst = sys.argv[1], sys.argv[2]; "
    "pathlib.Path(dst).write_bytes(pathlib.Path(src).read_bytes().upper()); "
    "pathlib.Path('logs').mkdir(exist_ok=True); "
    "pathlib.Path('logs/convert.log').write_text(src + ' -> ' + dst + chr(10))"
)


def check(condition: bool, what: str) -> None:
    """Stop the sample with a message when the service answered something unexpected."""
    if not condition:
        raise SystemExit(f"UNEXPECTED: {what}")


def query_yes_no() -> None:
    """The tutorial asks before deleting; this port always deletes."""


def upload_inputs(blobs: BlobServiceClient) -> list[batchmodels.ResourceFile]:
    """Create the containers and upload the inputs; resource files with read SAS URLs."""
    for name in (INPUT_CONTAINER, OUTPUT_CONTAINER):
        blobs.create_container(name)
    files = []
    for i, name in enumerate(INPUT_NAMES):
        blob = blobs.get_blob_client(INPUT_CONTAINER, name)
        blob.upload_blob(f"video {i} frames\n".encode() * (i + 1), overwrite=True)
        sas = generate_blob_sas(
            STORAGE_ACCOUNT_NAME,
            INPUT_CONTAINER,
            name,
            account_key=STORAGE_ACCOUNT_KEY,
            permission=BlobSasPermissions(read=True),
            expiry=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=2),
        )
        files.append(batchmodels.ResourceFile(http_url=f"{blob.url}?{sas}", file_path=name))
    return files


def output_container_sas_url(blobs: BlobServiceClient) -> str:
    """A write SAS URL for the output container, as the tutorial builds it."""
    sas = generate_container_sas(
        STORAGE_ACCOUNT_NAME,
        OUTPUT_CONTAINER,
        account_key=STORAGE_ACCOUNT_KEY,
        permission=ContainerSasPermissions(write=True, create=True, add=True),
        expiry=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=2),
    )
    return f"{blobs.get_container_client(OUTPUT_CONTAINER).url}?{sas}"


def create_pool(client: BatchClient) -> None:
    """A pool of two nodes with a StartTask that prepares the converter."""
    print(f"Creating pool [{POOL_ID}]...")
    start = batchmodels.BatchStartTask(
        command_line=(
            '/bin/bash -c \'printf "%s" "$CONVERTER" > $AZ_BATCH_NODE_SHARED_DIR/convert.py'
            " && echo installed'"
        ),
        environment_settings=[batchmodels.EnvironmentSetting(name="CONVERTER", value=CONVERTER)],
        wait_for_success=True,
        user_identity=batchmodels.UserIdentity(
            auto_user=batchmodels.AutoUserSpecification(
                scope=batchmodels.AutoUserScope.POOL,
                elevation_level=batchmodels.ElevationLevel.ADMIN,
            )
        ),
    )
    pool = batchmodels.BatchPoolCreateOptions(
        id=POOL_ID,
        vm_size="STANDARD_A1_v2",
        virtual_machine_configuration=batchmodels.VirtualMachineConfiguration(
            image_reference=batchmodels.BatchVmImageReference(
                publisher="canonical", offer="ubuntu-24_04-lts", sku="server", version="latest"
            ),
            node_agent_sku_id="batch.node.ubuntu 24.04",
        ),
        target_dedicated_nodes=2,
        task_slots_per_node=2,
        start_task=start,
        metadata=[batchmodels.BatchMetadataItem(name="sample", value="ffmpeg")],
    )
    try:
        client.create_pool(pool)
    except HttpResponseError as err:
        if err.error is None or err.error.code != "PoolExists":
            raise
        print("Pool already exists")


def create_job(client: BatchClient) -> None:
    """A job using task dependencies; it terminates itself once the tasks are all added."""
    print(f"Creating job [{JOB_ID}]...")
    client.create_job(
        batchmodels.BatchJobCreateOptions(
            id=JOB_ID,
            pool_info=batchmodels.BatchPoolInfo(pool_id=POOL_ID),
            uses_task_dependencies=True,
            all_tasks_complete_mode=batchmodels.BatchAllTasksCompleteMode.NO_ACTION,
            common_environment_settings=[
                batchmodels.EnvironmentSetting(name="SAMPLE", value="ffmpeg")
            ],
        )
    )
    try:
        client.create_job(
            batchmodels.BatchJobCreateOptions(
                id=JOB_ID, pool_info=batchmodels.BatchPoolInfo(pool_id=POOL_ID)
            )
        )
        check(False, "a second create of the job succeeded")
    except HttpResponseError as err:
        check(err.status_code == 409, f"JobExists status {err.status_code}")
        check(err.error is not None and err.error.code == "JobExists", f"code {err.error}")


def add_tasks(
    client: BatchClient, inputs: list[batchmodels.ResourceFile], output_url: str
) -> list[str]:
    """One conversion task per input (outputs to the output container), then a merge task."""
    tasks = []
    for i, resource in enumerate(inputs):
        out_name = resource.file_path.replace(".mp4", ".mp3")
        tasks.append(
            batchmodels.BatchTaskCreateOptions(
                id=f"Task{i}",
                # As the tutorial does, a shell runs the command: Batch expands no $VAR itself.
                command_line=(
                    "/bin/bash -c 'python3 $AZ_BATCH_NODE_SHARED_DIR/convert.py "
                    f"{resource.file_path} {out_name}'"
                ),
                resource_files=[resource],
                output_files=[
                    batchmodels.OutputFile(
                        file_pattern=out_name,
                        destination=batchmodels.OutputFileDestination(
                            container=batchmodels.OutputFileBlobContainerDestination(
                                container_url=output_url
                            )
                        ),
                        upload_options=batchmodels.OutputFileUploadConfiguration(
                            upload_condition=batchmodels.OutputFileUploadCondition.TASK_SUCCESS
                        ),
                    ),
                    batchmodels.OutputFile(
                        file_pattern="../std*.txt",
                        destination=batchmodels.OutputFileDestination(
                            container=batchmodels.OutputFileBlobContainerDestination(
                                container_url=output_url, path=f"logs/Task{i}"
                            )
                        ),
                        upload_options=batchmodels.OutputFileUploadConfiguration(
                            upload_condition=batchmodels.OutputFileUploadCondition.TASK_COMPLETION
                        ),
                    ),
                ],
            )
        )
    ids = [t.id for t in tasks]
    tasks.append(
        batchmodels.BatchTaskCreateOptions(
            id="Merge",
            command_line='/bin/bash -c "echo merged $SAMPLE"',
            depends_on=batchmodels.BatchTaskDependencies(task_ids=ids),
        )
    )
    result = client.create_task_collection(JOB_ID, batchmodels.BatchTaskGroup(task_values=tasks))
    for item in result.result_values or []:
        check(item.status == batchmodels.BatchTaskAddStatus.SUCCESS, f"add {item.task_id}")
    return [*ids, "Merge"]


def wait_for_tasks(client: BatchClient, timeout: datetime.timedelta) -> None:
    """Poll with $filter for the unfinished tasks, selecting only id and state."""
    deadline = datetime.datetime.now() + timeout
    while datetime.datetime.now() < deadline:
        left = list(
            client.list_tasks(JOB_ID, filter="state ne 'completed'", select=["id", "state"])
        )
        for task in left:
            check(task.command_line is None, "$select returned unselected properties")
        if not left:
            return
        time.sleep(0.5)
    raise SystemExit("ERROR: tasks did not complete in time")


def report(client: BatchClient) -> None:
    """Task results, files, paging, nodes and node files."""
    failed = list(client.list_tasks(JOB_ID, filter="executionInfo/result eq 'failure'"))
    check(not failed, f"failed tasks: {[t.id for t in failed]}")
    pages = client.list_tasks(JOB_ID, max_results=2, select=["id"]).by_page()
    sizes = [len(list(p)) for p in pages]
    check(sizes == [2, 2, 1], f"pages of 2 gave {sizes}")

    for task in client.list_tasks(JOB_ID, select=["id", "nodeInfo", "executionInfo"]):
        info = task.execution_info
        check(info is not None and info.exit_code == 0, f"{task.id} exit code")
        props = client.get_task_file_properties(JOB_ID, task.id, "stdout.txt")
        names = sorted(f.name for f in client.list_task_files(JOB_ID, task.id, recursive=True))
        stdout = b"".join(client.download_task_file(JOB_ID, task.id, "stdout.txt")).decode()
        check(len(stdout.encode()) == props.content_length, "stdout length")
        print(f"Task: {task.id} on {task.node_info.node_id}: {len(names)} files")
        if task.id == "Merge":
            print(f"Merge output: {stdout.strip()}")
        else:
            check("wd/logs/convert.log" in names, f"{task.id} recursive list: {names}")
            log = "wd/logs/convert.log"
            head = b"".join(client.download_task_file(JOB_ID, task.id, log, ocp_range="bytes=0-4"))
            check(head == b"LowPr", f"ranged read gave {head!r}")

    for node in client.list_nodes(POOL_ID, select=["id", "state", "startTaskInfo"]):
        st = node.start_task_info
        check(st is not None and st.exit_code == 0, f"start task of {node.id}")
        startup = b"".join(client.download_node_file(POOL_ID, node.id, "startup/stdout.txt"))
        shared = [f.name for f in client.list_node_files(POOL_ID, node.id, recursive=True)]
        check("shared/convert.py" in shared, f"node files of {node.id}: {shared}")
        print(f"Node: {node.id} {node.state} start task said {startup.decode().strip()}")


def update_job_and_pool(client: BatchClient) -> None:
    """Metadata updates, guarded by ETags, and the job switched to terminate when done."""
    job = client.get_job(JOB_ID)
    client.update_job(
        JOB_ID,
        batchmodels.BatchJobUpdateOptions(
            all_tasks_complete_mode=batchmodels.BatchAllTasksCompleteMode.TERMINATE_JOB,
            metadata=[batchmodels.BatchMetadataItem(name="stage", value="converting")],
        ),
        etag=job.etag,
        match_condition=MatchConditions.IfNotModified,
    )
    try:
        client.update_job(
            JOB_ID,
            batchmodels.BatchJobUpdateOptions(priority=10),
            etag=job.etag,
            match_condition=MatchConditions.IfNotModified,
        )
        check(False, "an update with a stale ETag succeeded")
    except ResourceModifiedError as err:
        check(err.error is not None and err.error.code == "ConditionNotMet", f"{err.error}")

    pool = client.get_pool(POOL_ID, select=["id", "metadata", "startTask"])
    check(pool.vm_size is None and pool.id == POOL_ID, "$select on get_pool")
    client.update_pool(
        POOL_ID,
        batchmodels.BatchPoolUpdateOptions(
            metadata=[batchmodels.BatchMetadataItem(name="sample", value="ffmpeg-done")]
        ),
    )
    items = {m.name: m.value for m in client.get_pool(POOL_ID).metadata or []}
    check(items == {"sample": "ffmpeg-done"}, f"pool metadata {items}")
    client.replace_pool_properties(
        POOL_ID,
        batchmodels.BatchPoolReplaceOptions(
            start_task=pool.start_task,
            metadata=[batchmodels.BatchMetadataItem(name="sample", value="replaced")],
            application_package_references=[],
        ),
    )
    items = {m.name: m.value for m in client.get_pool(POOL_ID).metadata or []}
    check(items == {"sample": "replaced"}, f"pool metadata after replace {items}")


def wait_for_job(client: BatchClient) -> batchmodels.BatchJob:
    """The job completes by itself once all tasks are complete."""
    for _ in range(200):
        job = client.get_job(JOB_ID)
        if job.state == batchmodels.BatchJobState.COMPLETED:
            return job
        time.sleep(0.2)
    raise SystemExit("ERROR: the job did not complete")


def errors(client: BatchClient) -> None:
    """What a sample handles by error code."""
    cases = {
        "TaskNotFound": lambda: client.get_task(JOB_ID, "NoSuchTask"),
        "FileNotFound": lambda: client.delete_task_file(JOB_ID, "Task0", "nothing.txt"),
        "JobCompleted": lambda: client.create_task(
            JOB_ID, batchmodels.BatchTaskCreateOptions(id="Late", command_line="true")
        ),
        "PoolNotFound": lambda: list(client.list_nodes("NoSuchPool")),
        "InvalidQueryParameterValue": lambda: list(client.list_tasks(JOB_ID, filter="id eq")),
    }
    # A HEAD answer has no body, and the SDK raises a streamed download's error before reading
    # its body: for these two only the status tells what happened.
    for name, read in (
        ("properties", lambda: client.get_task_file_properties(JOB_ID, "Task0", "no.txt")),
        ("download", lambda: b"".join(client.download_task_file(JOB_ID, "Task0", "no.txt"))),
    ):
        try:
            read()
            check(False, f"no error for the {name} of a missing file")
        except ResourceNotFoundError as err:
            print(f"Handled missing file {name} ({err.status_code})")
    for code, call in cases.items():
        try:
            call()
            check(False, f"no error for {code}")
        except HttpResponseError as err:
            got = err.error.code if err.error else None
            check(got == code, f"expected {code}, got {got} ({err.status_code})")
            print(f"Handled {code} ({err.status_code})")


def main() -> int:
    """Run the tutorial end to end."""
    blobs = BlobServiceClient(
        account_url=STORAGE_ACCOUNT_URL,
        credential={"account_name": STORAGE_ACCOUNT_NAME, "account_key": STORAGE_ACCOUNT_KEY},
    )
    inputs = upload_inputs(blobs)
    output_url = output_container_sas_url(blobs)
    client = BatchClient(
        endpoint=BATCH_ACCOUNT_URL,
        credential=AzureNamedKeyCredential(BATCH_ACCOUNT_NAME, BATCH_ACCOUNT_KEY),
    )
    try:
        create_pool(client)
        create_job(client)
        add_tasks(client, inputs, output_url)
        update_job_and_pool(client)
        wait_for_tasks(client, datetime.timedelta(minutes=3))
        report(client)
        job = wait_for_job(client)
        print(f"Job {job.id}: {job.state} ({job.execution_info.termination_reason})")
        outputs = sorted(b.name for b in blobs.get_container_client(OUTPUT_CONTAINER).list_blobs())
        print("Outputs: " + " ".join(outputs))
        converted = blobs.get_blob_client(OUTPUT_CONTAINER, "LowPriVMs-2.mp3").download_blob()
        print(f"Converted: {converted.readall().decode().strip()}")
        errors(client)
        print("Success")
        return 0
    except HttpResponseError as err:
        code = err.error.code if err.error else None
        print(f"Batch error {err.status_code} {code}: {err.message}")
        return 1
    finally:
        query_yes_no()
        client.begin_delete_job(JOB_ID, polling_interval=1).result()
        client.begin_delete_pool(POOL_ID, polling_interval=1).result()
        for name in (INPUT_CONTAINER, OUTPUT_CONTAINER):
            blobs.delete_container(name)
        client.close()


if __name__ == "__main__":
    sys.exit(main())
