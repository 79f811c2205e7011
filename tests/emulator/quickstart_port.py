"""The Azure Batch Python quickstart (Azure-Samples/batch-python-quickstart), ported to the
azure-batch 15.x API.

Its shape is the quickstart's: upload input files to a storage container, create a pool, a job
and one task per input file (`cat` of the file), wait for the tasks to complete, print each
task's stdout, clean up. Nothing in it knows about the local service: it reads the endpoint and
the credentials from the environment, as one would configure it for Azure:

    BATCH_ACCOUNT_URL, BATCH_ACCOUNT_NAME, BATCH_ACCOUNT_KEY,
    STORAGE_ACCOUNT_URL, STORAGE_ACCOUNT_NAME, STORAGE_ACCOUNT_KEY
"""

import datetime
import io
import os
import sys
import time

import azure.batch.models as batchmodels
from azure.batch import BatchClient
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas

BATCH_ACCOUNT_NAME = os.environ["BATCH_ACCOUNT_NAME"]
BATCH_ACCOUNT_KEY = os.environ["BATCH_ACCOUNT_KEY"]
BATCH_ACCOUNT_URL = os.environ["BATCH_ACCOUNT_URL"]
STORAGE_ACCOUNT_NAME = os.environ["STORAGE_ACCOUNT_NAME"]
STORAGE_ACCOUNT_KEY = os.environ["STORAGE_ACCOUNT_KEY"]
STORAGE_ACCOUNT_URL = os.environ.get(
    "STORAGE_ACCOUNT_URL", f"https://{STORAGE_ACCOUNT_NAME}.blob.core.windows.net"
)
POOL_ID = os.environ.get("POOL_ID", "PythonQuickstartPool")
POOL_NODE_COUNT = 2
POOL_VM_SIZE = "STANDARD_DS1_V2"
JOB_ID = os.environ.get("JOB_ID", "PythonQuickstartJob")
STANDARD_OUT_FILE_NAME = "stdout.txt"
DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "quickstart_data")


def print_batch_exception(batch_exception: HttpResponseError) -> None:
    """Prints the contents of the specified Batch exception."""
    print("-------------------------------------------")
    print("Exception encountered:")
    if batch_exception.error and batch_exception.error.message:
        print(batch_exception.error.message)
        for detail in batch_exception.error.details or []:
            print(f"{detail.code}:\t{detail.message}")
    print("-------------------------------------------")


def upload_file_to_container(
    blob_storage_service_client: BlobServiceClient, container_name: str, file_path: str
) -> batchmodels.ResourceFile:
    """Uploads a local file to a container; returns a ResourceFile with a read SAS URL."""
    blob_name = os.path.basename(file_path)
    blob_client = blob_storage_service_client.get_blob_client(container_name, blob_name)
    print(f"Uploading file {file_path} to container [{container_name}]...")
    with open(file_path, "rb") as data:
        blob_client.upload_blob(data, overwrite=True)
    sas_token = generate_blob_sas(
        STORAGE_ACCOUNT_NAME,
        container_name,
        blob_name,
        account_key=STORAGE_ACCOUNT_KEY,
        permission=BlobSasPermissions(read=True),
        expiry=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=2),
    )
    sas_url = f"{blob_client.url}?{sas_token}"
    return batchmodels.ResourceFile(http_url=sas_url, file_path=blob_name)


def create_pool(batch_service_client: BatchClient, pool_id: str) -> None:
    """Creates a pool of compute nodes with the specified OS settings."""
    print(f"Creating pool [{pool_id}]...")
    new_pool = batchmodels.BatchPoolCreateOptions(
        id=pool_id,
        virtual_machine_configuration=batchmodels.VirtualMachineConfiguration(
            image_reference=batchmodels.BatchVmImageReference(
                publisher="canonical",
                offer="0001-com-ubuntu-server-jammy",
                sku="22_04-lts",
                version="latest",
            ),
            node_agent_sku_id="batch.node.ubuntu 22.04",
        ),
        vm_size=POOL_VM_SIZE,
        target_dedicated_nodes=POOL_NODE_COUNT,
    )
    batch_service_client.create_pool(new_pool)


def create_job(batch_service_client: BatchClient, job_id: str, pool_id: str) -> None:
    """Creates a job with the specified ID, associated with the specified pool."""
    print(f"Creating job [{job_id}]...")
    job = batchmodels.BatchJobCreateOptions(
        id=job_id, pool_info=batchmodels.BatchPoolInfo(pool_id=pool_id)
    )
    batch_service_client.create_job(job)


def add_tasks(
    batch_service_client: BatchClient,
    job_id: str,
    resource_input_files: list[batchmodels.ResourceFile],
) -> None:
    """Adds a task for each input file in the collection to the specified job."""
    print(f"Adding {len(resource_input_files)} tasks to job [{job_id}]...")
    tasks = []
    for idx, input_file in enumerate(resource_input_files):
        command = f'/bin/bash -c "cat {input_file.file_path}"'
        tasks.append(
            batchmodels.BatchTaskCreateOptions(
                id=f"Task{idx}", command_line=command, resource_files=[input_file]
            )
        )
    batch_service_client.create_tasks(job_id=job_id, task_collection=tasks)


def wait_for_tasks_to_complete(
    batch_service_client: BatchClient, job_id: str, timeout: datetime.timedelta
) -> bool:
    """Returns when all tasks in the specified job reach the Completed state."""
    timeout_expiration = datetime.datetime.now() + timeout
    print(f"Monitoring all tasks for 'Completed' state, timeout in {timeout}...", end="")
    while datetime.datetime.now() < timeout_expiration:
        print(".", end="")
        sys.stdout.flush()
        tasks = batch_service_client.list_tasks(job_id)
        incomplete_tasks = [
            task for task in tasks if task.state != batchmodels.BatchTaskState.COMPLETED
        ]
        if not incomplete_tasks:
            print()
            return True
        time.sleep(1)
    print()
    raise RuntimeError(
        f"ERROR: Tasks did not reach 'Completed' state within timeout period of {timeout}"
    )


def print_task_output(
    batch_service_client: BatchClient, job_id: str, text_encoding: str = "utf-8"
) -> None:
    """Prints the stdout.txt file for each task in the job."""
    print("Printing task output...")
    tasks = batch_service_client.list_tasks(job_id)
    for task in tasks:
        node_id = batch_service_client.get_task(job_id, task.id).node_info.node_id
        print(f"Task: {task.id}")
        print(f"Node: {node_id}")
        stream = batch_service_client.download_task_file(job_id, task.id, STANDARD_OUT_FILE_NAME)
        file_text = _read_stream_as_string(stream, text_encoding)
        print("Standard output:")
        print(file_text)


def _read_stream_as_string(stream: object, encoding: str) -> str:
    """Read stream as string."""
    output = io.BytesIO()
    try:
        for data in stream:  # type: ignore[attr-defined]
            output.write(data)
        return output.getvalue().decode(encoding)
    finally:
        output.close()


if __name__ == "__main__":
    start_time = datetime.datetime.now().replace(microsecond=0)
    print(f"Sample start: {start_time}")
    print()

    blob_service_client = BlobServiceClient(
        account_url=STORAGE_ACCOUNT_URL,
        credential={"account_name": STORAGE_ACCOUNT_NAME, "account_key": STORAGE_ACCOUNT_KEY},
    )
    input_container_name = "input"
    try:  # noqa: SIM105 (kept as the quickstart writes it)
        blob_service_client.create_container(input_container_name)
    except ResourceExistsError:
        pass

    input_file_paths = [os.path.join(DATA_DIR, f"taskdata{i}.txt") for i in range(3)]
    input_files = [
        upload_file_to_container(blob_service_client, input_container_name, file_path)
        for file_path in input_file_paths
    ]

    credentials = AzureNamedKeyCredential(BATCH_ACCOUNT_NAME, BATCH_ACCOUNT_KEY)
    batch_client = BatchClient(endpoint=BATCH_ACCOUNT_URL, credential=credentials)

    try:
        create_pool(batch_client, POOL_ID)
        create_job(batch_client, JOB_ID, POOL_ID)
        add_tasks(batch_client, JOB_ID, input_files)
        wait_for_tasks_to_complete(batch_client, JOB_ID, datetime.timedelta(minutes=30))
        print(
            "  Success! All tasks reached the 'Completed' state "
            "within the specified timeout period."
        )
        print_task_output(batch_client, JOB_ID)
        end_time = datetime.datetime.now().replace(microsecond=0)
        print()
        print(f"Sample end: {end_time}")
        print(f"Elapsed time: {end_time - start_time}")
        print()
    except HttpResponseError as err:
        print_batch_exception(err)
        raise
    finally:
        blob_service_client.delete_container(input_container_name)
        batch_client.begin_delete_job(JOB_ID, polling_interval=1).result()
        batch_client.begin_delete_pool(POOL_ID, polling_interval=1).result()
