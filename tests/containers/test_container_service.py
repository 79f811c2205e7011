"""Container pools and tasks end to end: the real local service, a real engine, Azurite.

The service runs with this machine's engine configuration (ENGINE_ENV); `apply` drives it
through azure-batch as on Azure, pointed at it by the az-CLI variables.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.batch import BatchClient
from azure.batch import models as bm
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import HttpResponseError
from click.testing import CliRunner

from batchspec.apply.containers import container_problem
from batchspec.cli import main
from batchspec.emulator.engine.containers import Engine
from batchspec.plan.model import ContainerConfigurationPlan, ImagePlan
from conftest import AzuriteService, BatchService, start_batch_service
from e2e.conftest import azure_env

from .conftest import ENGINE_ENV, REGISTRY_PASSWORD, Registry
from .images import ImageSet

pytestmark = pytest.mark.timeout(300)
SPECS = Path(__file__).resolve().parents[2] / "specs"
IMAGE = bm.BatchVmImageReference(
    publisher="microsoft-dsvm", offer="ubuntu-hpc", sku="2204", version="latest"
)
AGENT = "batch.node.ubuntu 22.04"


@pytest.fixture(scope="module")
def container_service(engine: Engine) -> Iterator[BatchService]:
    """A local Batch service configured with this machine's container engine."""
    with (
        tempfile.TemporaryDirectory(prefix="batch-containers-") as tmp,
        start_batch_service(Path(tmp) / "data", env=ENGINE_ENV) as svc,
    ):
        yield svc


@pytest.fixture(scope="module")
def client(container_service: BatchService) -> Iterator[BatchClient]:
    key = AzureNamedKeyCredential(container_service.account, container_service.key)
    batch = BatchClient(container_service.endpoint, key)
    try:
        yield batch
    finally:
        batch.close()


def _pool(
    client: BatchClient,
    images: list[str],
    registries: list[bm.ContainerRegistryReference] = (),  # type: ignore[assignment]
) -> str:
    pool_id = f"c-{uuid.uuid4().hex[:8]}"
    client.create_pool(
        bm.BatchPoolCreateOptions(
            id=pool_id,
            vm_size="standard_d2s_v3",
            virtual_machine_configuration=bm.VirtualMachineConfiguration(
                image_reference=IMAGE,
                node_agent_sku_id=AGENT,
                container_configuration=bm.BatchContainerConfiguration(
                    type=bm.ContainerType.DOCKER_COMPATIBLE,
                    container_image_names=images or None,
                    container_registries=list(registries) or None,
                ),
            ),
            target_dedicated_nodes=1,
        )
    )
    return pool_id


def _wait(what: str, check: Any, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.3)


def _run_one(client: BatchClient, pool_id: str, task: bm.BatchTaskCreateOptions) -> bm.BatchTask:
    job_id = f"j-{uuid.uuid4().hex[:8]}"
    client.create_job(
        bm.BatchJobCreateOptions(id=job_id, pool_info=bm.BatchPoolInfo(pool_id=pool_id))
    )
    client.create_task(job_id, task)

    def done() -> bm.BatchTask | None:
        got = client.get_task(job_id, task.id)
        return got if got.state == bm.BatchTaskState.COMPLETED else None

    return _wait(f"task {task.id}", done)


def test_the_container_example_runs_in_a_python_image(
    tmp_path: Path,
    container_service: BatchService,
    azurite: AzuriteService,
    test_images: ImageSet,
) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs, ignore=shutil.ignore_patterns("out", "__pycache__"))
    args = ["apply", str(specs / "topn-container.yaml"), "--yes", "--data-dir", str(tmp_path)]
    args += ["--var", f"image={test_images.python}"]
    env = azure_env(container_service, azurite)
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = specs / "out" / "topn-container"
    assert sorted(p.name for p in out.iterdir()) == [
        "lighthouse_OUTPUT.txt",
        "orchard_OUTPUT.txt",
        "river_OUTPUT.txt",
    ]
    # The same words the topn spec finds on the node itself.
    assert (out / "lighthouse_OUTPUT.txt").read_text().splitlines()[0].startswith("the ")


def test_a_private_image_is_prefetched_with_the_spec_credentials(
    tmp_path: Path,
    container_service: BatchService,
    azurite: AzuriteService,
    engine: Engine,
    registry: Registry,
) -> None:
    subprocess.run(engine.command("rmi", "--force", registry.private_image), capture_output=True)
    spec = tmp_path / "private.yaml"
    spec.write_text(
        f"""\
batchspec: 1
name: private
containers:
  output: {{name: private-output-{uuid.uuid4().hex[:6]}}}
pool:
  id: private-{uuid.uuid4().hex[:6]}
  vm_size: standard_d2s_v3
  nodes: {{dedicated: 1}}
  image: {{publisher: microsoft-dsvm, offer: ubuntu-hpc, sku: "2204", node_agent: {AGENT}}}
  container_configuration:
    images: ["{registry.private_image}"]
    registries:
      - {{server: "{registry.server}", username: puller, password_env: TEST_REGISTRY_PASSWORD}}
job:
  id: private-job
  tasks:
    - id: hello
      container_settings: {{image: "{registry.private_image}"}}
      command: "/bin/sh -c 'echo task $AZ_BATCH_TASK_ID in $(pwd) > hello.txt'"
      outputs: [{{pattern: hello.txt, container: output}}]
downloads: [{{container: output, to: out}}]
cleanup: {{containers: delete, job: delete, pool: delete}}
"""
    )
    env = azure_env(container_service, azurite)
    missing = CliRunner().invoke(
        main, ["apply", str(spec), "--yes", "--data-dir", str(tmp_path)], env=env
    )
    assert missing.exit_code == 2
    assert "$TEST_REGISTRY_PASSWORD, which is not set" in missing.output
    env["TEST_REGISTRY_PASSWORD"] = REGISTRY_PASSWORD
    plan = CliRunner().invoke(main, ["plan", "--format", "json", str(spec)], env=env)
    result = CliRunner().invoke(
        main, ["apply", str(spec), "--yes", "--data-dir", str(tmp_path)], env=env
    )
    assert result.exit_code == 0, result.output
    text = (tmp_path / "out" / "hello.txt").read_text()
    assert text.startswith("task hello in /")
    assert text.rstrip().endswith("/wd")
    assert engine.has_image(registry.private_image)
    log = container_service.data_dir.parent / f"{container_service.data_dir.name}.log"
    for shown in (plan.output, result.output, log.read_text(errors="replace")):
        assert REGISTRY_PASSWORD not in shown


def test_the_service_never_answers_a_registry_password(
    client: BatchClient, registry: Registry
) -> None:
    reference = bm.ContainerRegistryReference(
        registry_server=registry.server, username="puller", password=REGISTRY_PASSWORD
    )
    pool_id = _pool(client, [], [reference])
    got = client.get_pool(pool_id)
    config = got.virtual_machine_configuration.container_configuration
    assert config.container_registries[0].username == "puller"
    assert config.container_registries[0].password is None
    assert REGISTRY_PASSWORD not in str(got.as_dict())
    client.begin_delete_pool(pool_id)


def test_a_task_whose_image_cannot_be_pulled_fails_with_the_reason(
    client: BatchClient, registry: Registry
) -> None:
    pool_id = _pool(client, [])
    absent = f"{registry.server}/batchspec/absent-{uuid.uuid4().hex[:6]}:1"
    task = _run_one(
        client,
        pool_id,
        bm.BatchTaskCreateOptions(
            id="absent",
            command_line="true",
            container_settings=bm.BatchTaskContainerSettings(image_name=absent),
        ),
    )
    info = task.execution_info
    assert info.result == bm.BatchTaskExecutionResult.FAILURE
    assert info.exit_code is None
    assert info.failure_info.code == "ContainerInvalidImage"
    assert info.failure_info.message.startswith(f"Pulling the container image '{absent}' failed:")
    client.begin_delete_pool(pool_id)


def test_a_prefetch_that_fails_makes_the_node_unusable(
    client: BatchClient, registry: Registry
) -> None:
    absent = f"{registry.server}/batchspec/absent-{uuid.uuid4().hex[:6]}:1"
    pool_id = _pool(client, [absent])
    node = _wait(
        "an unusable node",
        lambda: next(
            (n for n in client.list_nodes(pool_id) if n.state == bm.BatchNodeState.UNUSABLE), None
        ),
    )
    assert node.errors[0].code == "ContainerInvalidImage"
    assert absent in node.errors[0].message
    client.begin_delete_pool(pool_id)


def test_a_start_task_in_a_container_and_chosen_mounts(
    client: BatchClient, test_images: ImageSet
) -> None:
    image = test_images.busybox
    pool_id = f"c-{uuid.uuid4().hex[:8]}"
    in_container = bm.BatchTaskContainerSettings(image_name=image)
    client.create_pool(
        bm.BatchPoolCreateOptions(
            id=pool_id,
            vm_size="standard_d2s_v3",
            virtual_machine_configuration=bm.VirtualMachineConfiguration(
                image_reference=IMAGE,
                node_agent_sku_id=AGENT,
                container_configuration=bm.BatchContainerConfiguration(
                    type=bm.ContainerType.DOCKER_COMPATIBLE, container_image_names=[image]
                ),
            ),
            target_dedicated_nodes=1,
            start_task=bm.BatchStartTask(
                command_line="/bin/sh -c 'echo staged > $AZ_BATCH_NODE_SHARED_DIR/note.txt'",
                container_settings=in_container,
                wait_for_success=True,
            ),
        )
    )
    mounts = [
        bm.ContainerHostBatchBindMountEntry(
            source=bm.ContainerHostDataPath.SHARED, is_read_only=True
        )
    ]
    script = (
        "cat $AZ_BATCH_NODE_SHARED_DIR/note.txt;"
        " touch $AZ_BATCH_NODE_SHARED_DIR/x 2>/dev/null || echo shared is read-only;"
        " ls $AZ_BATCH_NODE_STARTUP_DIR 2>/dev/null || echo no startup dir"
    )
    task = _run_one(
        client,
        pool_id,
        bm.BatchTaskCreateOptions(
            id="reader",
            command_line=f"/bin/sh -c '{script}'",
            container_settings=bm.BatchTaskContainerSettings(
                image_name=image, container_host_batch_bind_mounts=mounts
            ),
        ),
    )
    assert task.execution_info.exit_code == 0, task.execution_info
    job_id = task.url.split("/jobs/")[1].split("/")[0]
    out = b"".join(client.download_task_file(job_id, "reader", "stdout.txt")).decode()
    assert out == "staged\nshared is read-only\nno startup dir\n"
    client.begin_delete_pool(pool_id)


def test_a_wall_clock_limit_kills_the_container(
    client: BatchClient, engine: Engine, test_images: ImageSet
) -> None:
    pool_id = _pool(client, [test_images.busybox])
    task = _run_one(
        client,
        pool_id,
        bm.BatchTaskCreateOptions(
            id="sleeper",
            command_line="sleep 600",
            container_settings=bm.BatchTaskContainerSettings(image_name=test_images.busybox),
            constraints=bm.BatchTaskConstraints(max_wall_clock_time=dt.timedelta(seconds=3)),
        ),
    )
    info = task.execution_info
    assert info.result == bm.BatchTaskExecutionResult.FAILURE
    assert info.failure_info.code == "TaskEnded"
    assert "maximum wall clock time" in info.failure_info.message
    running = subprocess.run(
        engine.command("ps", "--all", "--format", "{{.Names}}"), capture_output=True, text=True
    ).stdout
    assert "batchspec-sleeper-" not in running
    client.begin_delete_pool(pool_id)


def test_with_an_engine_apply_finds_nothing_in_the_way(tmp_path: Path, client: BatchClient) -> None:
    assert container_problem(_container_plan(tmp_path), client, {}) is None
    images = {
        (i.image_reference.offer, tuple(i.capabilities or []))
        for i in client.list_supported_images()
    }
    assert ("ubuntu-hpc", ("DockerCompatible",)) in images
    assert ("ubuntu-24_04-lts", ()) in images


def test_a_restart_after_a_crash_removes_the_containers_left_running(
    tmp_path: Path, engine: Engine, test_images: ImageSet
) -> None:
    def names() -> str:
        argv = engine.command("ps", "--all", "--format", "{{.Names}}")
        return subprocess.run(argv, capture_output=True, text=True).stdout

    data = tmp_path / "data"
    with start_batch_service(data, env=ENGINE_ENV) as svc:
        batch = BatchClient(svc.endpoint, AzureNamedKeyCredential(svc.account, svc.key))
        pool_id = _pool(batch, [test_images.busybox])
        job_id = "crash"
        batch.create_job(
            bm.BatchJobCreateOptions(id=job_id, pool_info=bm.BatchPoolInfo(pool_id=pool_id))
        )
        settings = bm.BatchTaskContainerSettings(image_name=test_images.busybox)
        batch.create_task(
            job_id,
            bm.BatchTaskCreateOptions(
                id="left-behind", command_line="sleep 600", container_settings=settings
            ),
        )
        _wait("the container", lambda: "batchspec-left-behind-" in names())
        batch.close()
        os.kill(svc.pid, signal.SIGKILL)
        time.sleep(0.5)
        assert "batchspec-left-behind-" in names()  # the crash left it running
    with start_batch_service(data, env=ENGINE_ENV):
        _wait("the leftover removed", lambda: "batchspec-left-behind-" not in names() or None)


def test_without_an_engine_a_container_pool_is_refused_before_anything_is_made(
    tmp_path: Path,
) -> None:
    with start_batch_service(tmp_path / "data", env={"BATCHSPEC_CONTAINER_ENGINE": "none"}) as svc:
        batch = BatchClient(svc.endpoint, AzureNamedKeyCredential(svc.account, svc.key))
        try:
            with pytest.raises(HttpResponseError) as raised:
                _pool(batch, [])
            assert raised.value.status_code == 400
            assert "cannot run containers" in str(raised.value)
            assert "apt-get install podman runc" in str(raised.value)
            plan = _container_plan(tmp_path)
            problem = container_problem(plan, batch, {})
            assert problem is not None
            assert "the local Batch service has no container engine" in problem
            assert "apt-get install podman runc" in problem
            assert list(batch.list_pools()) == []
        finally:
            batch.close()


def test_apply_on_a_local_target_without_an_engine_stops_before_creating_anything(
    tmp_path: Path,
) -> None:
    from azure.storage.blob import BlobServiceClient

    from batchspec.local.services import ensure_running, stop

    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs, ignore=shutil.ignore_patterns("out", "__pycache__"))
    home = tmp_path / "home"
    env = {"AZURE_BATCH_ENDPOINT": "", "BATCHSPEC_CONTAINER_ENGINE": "none"}
    args = ["apply", str(specs / "topn-container.yaml"), "--yes", "--data-dir", str(home)]
    try:
        result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
        assert result.exit_code == 2, result.output
        assert "the local Batch service has no container engine" in result.output
        assert "apt-get install podman runc" in result.output
        assert "containers:" not in result.output
        endpoints = ensure_running(home)
        blobs = BlobServiceClient(
            endpoints.blob_endpoint,
            credential={
                "account_name": endpoints.storage_account,
                "account_key": endpoints.storage_key,
            },
        )
        with blobs:
            assert list(blobs.list_containers()) == []
    finally:
        stop(home)


def _container_plan(root: Path) -> Any:
    import dataclasses

    from apply.handmade_plans import topn_like_plan

    plan = topn_like_plan(root)
    image = ImagePlan("microsoft-dsvm", "ubuntu-hpc", "2204", "latest", AGENT)
    pool = dataclasses.replace(
        plan.pool, image=image, container_configuration=ContainerConfigurationPlan()
    )
    return dataclasses.replace(plan, pool=pool)
