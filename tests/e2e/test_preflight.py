"""Checks before anything is created, end to end: apply on the session's local Batch service
and Azurite refuses what Batch would refuse, with a located message, and creates nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.batch import BatchClient
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from .live_cli import Cli, blobs, cli, place
from .specs import squares_spec

__all__ = ["blobs", "cli"]  # fixtures
pytestmark = pytest.mark.timeout(300)


def test_an_image_with_another_images_node_agent_is_refused_before_any_container(
    tmp_path: Path,
    cli: Cli,
    batch_client: BatchClient,
    blobs: BlobServiceClient,
) -> None:
    spec = squares_spec(tmp_path, "pfimage", 2)
    spec.write_text(spec.read_text().replace("batch.node.ubuntu 24.04", "batch.node.ubuntu 22.04"))
    result = cli("apply", str(spec), "--yes")

    assert result.exit_code == 2, result.output
    assert (
        f"{spec}:{place(spec, 'node_agent:')}: $.pool.image.node_agent: "
        "node agent 'batch.node.ubuntu 22.04' "
        "does not go with image 'canonical ubuntu-24_04-lts server': use "
        "'batch.node.ubuntu 24.04'"
    ) in result.output
    assert "1 problem on azure; nothing was created" in result.output
    with pytest.raises(ResourceNotFoundError):
        blobs.get_container_client("pfimage-out").get_container_properties()
    with pytest.raises(ResourceNotFoundError):
        batch_client.get_pool("pfimage-pool")


def test_every_problem_is_reported_at_once_at_its_place(
    tmp_path: Path,
    cli: Cli,
    batch_client: BatchClient,
    blobs: BlobServiceClient,
) -> None:
    spec = squares_spec(tmp_path, "pfmany", 2)
    text = spec.read_text().replace("offer: ubuntu-24_04-lts", "offer: ubuntu-99_04-lts")
    text = text.replace("task_slots_per_node: 4", "task_slots_per_node: 9")
    spec.write_text(text)
    blobs.create_container("pfmany-out", public_access="container")
    result = cli("apply", str(spec), "--yes")

    assert result.exit_code == 2, result.output
    container = 'name: "pfmany-out"'
    lines = [line for line in result.output.splitlines() if line.startswith(str(spec))]
    assert lines == [
        f"{spec}:{place(spec, container)}: $.containers.out.name: container pfmany-out "
        "exists with public access 'container'; a spec's containers are private (tasks reach "
        "them with SAS tokens): make it private or name another container",
        f"{spec}:{place(spec, 'task_slots')}: $.pool.task_slots_per_node: 9 task slots "
        "per node is over Batch's limit for standard_d2s_v3 (2 vCPUs): at most 8 "
        "(4 per vCPU, up to 256)",
        f"{spec}:{place(spec, 'offer:')}: $.pool.image.offer: image 'canonical "
        "ubuntu-99_04-lts server' is not among the Batch account's supported images "
        "(az batch pool supported-images list shows them)",
    ]
    with pytest.raises(ResourceNotFoundError):
        batch_client.get_pool("pfmany-pool")


def test_a_pool_with_other_settings_is_refused_before_uploads(
    tmp_path: Path,
    cli: Cli,
    batch_client: BatchClient,
    blobs: BlobServiceClient,
) -> None:
    from azure.batch import models as bm

    image = bm.BatchVmImageReference(
        publisher="canonical", offer="ubuntu-24_04-lts", sku="server", version="latest"
    )
    vm = bm.VirtualMachineConfiguration(
        image_reference=image, node_agent_sku_id="batch.node.ubuntu 24.04"
    )
    batch_client.create_pool(
        bm.BatchPoolCreateOptions(
            id="pfpool-pool", vm_size="standard_d4s_v3", virtual_machine_configuration=vm
        )
    )
    spec = squares_spec(tmp_path, "pfpool", 2)
    result = cli("apply", str(spec), "--yes")

    assert result.exit_code == 2, result.output
    assert (
        f"{spec}:{place(spec, 'id: pfpool-pool')}: $.pool.id: pool pfpool-pool exists with "
        "other settings (vm_size: exists as 'standard_d4s_v3', spec wants 'standard_d2s_v3'; "
        "task_slots_per_node: exists as 1, spec wants 4): change the pool id, or apply with "
        "--recreate-pool to delete and recreate it"
    ) in result.output
    with pytest.raises(ResourceNotFoundError):
        blobs.get_container_client("pfpool-out").get_container_properties()
