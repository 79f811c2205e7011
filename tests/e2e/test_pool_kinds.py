"""Auto pools, existing pools and autoscale, applied for real on the session's local Batch
service and Azurite: specs/hello.yaml, specs/autoscale.yaml and the existing-pool example of
docs/batch-mapping.md."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from azure.batch import BatchClient
from azure.batch import models as bm
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from .live_cli import Cli, blobs, cli, copy_specs

__all__ = ["blobs", "cli"]  # fixtures
pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parents[2]
IMAGE = bm.BatchVmImageReference(
    publisher="canonical", offer="ubuntu-24_04-lts", sku="server", version="latest"
)


def _until(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not so after {timeout:.0f}s")
        time.sleep(0.2)


def _gone(batch: BatchClient, pool_id: str) -> bool:
    try:
        batch.get_pool(pool_id)
    except ResourceNotFoundError:
        return True
    return False


def test_hello_runs_on_an_auto_pool_that_goes_with_its_job(
    tmp_path: Path, cli: Cli, batch_client: BatchClient
) -> None:
    specs = copy_specs(tmp_path)
    result = cli("apply", str(specs / "hello.yaml"), "--yes")
    assert result.exit_code == 0, result.output
    found = re.search(r"pool (hello_[0-9A-F-]{36}): the job's auto pool", result.output)
    assert found is not None, result.output
    pool_id = found.group(1)
    assert "pool: an auto pool (hello_...), created by Batch with the job" in result.output
    assert "created on an auto pool hello_..." in result.output

    lines = (specs / "out" / "hello" / "hello.txt").read_text().splitlines()
    assert lines[0] == "Hello world from the Batch Hello world sample!"
    assert re.fullmatch(rf"Running on node tvmps_[0-9a-f]+_d of pool {pool_id}", lines[1])
    # Clean-up deleted the job; Batch deletes its auto pool with it.
    _until(f"auto pool {pool_id} deleted with its job", lambda: _gone(batch_client, pool_id))
    assert not [p.id for p in batch_client.list_pools() if p.id.startswith("hello")]

    survey = cli("destroy", str(specs / "hello.yaml"), "--dry-run", "--format", "json")
    assert survey.exit_code == 0, survey.output
    kinds = [item["kind"] for item in json.loads(survey.stdout)["items"]]
    assert "pool" not in kinds


def test_autoscale_sizes_the_pool_and_a_new_formula_is_set_on_it(
    tmp_path: Path, cli: Cli, batch_client: BatchClient
) -> None:
    specs = copy_specs(tmp_path)
    spec = specs / "autoscale.yaml"
    spec.write_text(spec.read_text().replace("pool: delete}", "pool: keep}"))
    try:
        first = cli("apply", str(spec), "--yes")
        assert first.exit_code == 0, first.output
        assert "pool autoscale-pool: created (standard_d2s_v3, autoscale)" in first.output
        squares = sorted((specs / "out" / "autoscale").glob("square-*.txt"))
        assert sorted(int(p.read_text()) for p in squares) == [1, 4, 9, 16, 25, 36]
        pool = batch_client.get_pool("autoscale-pool")
        assert pool.enable_auto_scale is True
        assert pool.auto_scale_evaluation_interval is not None
        assert pool.auto_scale_evaluation_interval.total_seconds() == 300
        assert "min(4, pending)" in (pool.auto_scale_formula or "")
        # The formula gave the pool its node: Batch's first evaluation is at creation.
        assert (pool.current_dedicated_nodes or 0) >= 1
        assert pool.auto_scale_run is None or pool.auto_scale_run.error is None

        # Another formula is a size change, not a conflict: it is set on the live pool.
        second = cli("apply", str(spec), "--yes", "--var", "max_nodes=2")
        assert second.exit_code == 0, second.output
        assert "pool autoscale-pool: same settings, setting its autoscale formula" in second.output
        again = batch_client.get_pool("autoscale-pool")
        assert "min(2, pending)" in (again.auto_scale_formula or "")
    finally:
        batch_client.begin_delete_pool("autoscale-pool", polling_interval=0).result()


def _docs_example() -> str:
    text = (REPO / "docs" / "batch-mapping.md").read_text()
    after = text.split("<!-- existing-pool example", 1)[1]
    return after.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_the_docs_existing_pool_example_runs_on_a_pool_it_leaves_untouched(
    tmp_path: Path, cli: Cli, batch_client: BatchClient, blobs: BlobServiceClient
) -> None:
    spec = tmp_path / "on-shared.yaml"
    spec.write_text(_docs_example())
    pool_id = f"shared-{uuid.uuid4().hex[:8]}"

    # Not there yet: refused before anything is created, naming the pool.
    missing = cli("apply", str(spec), "--yes", "--var", f"pool={pool_id}")
    assert missing.exit_code == 2, missing.output
    assert f"$.pool.existing: pool {pool_id} does not exist" in missing.output
    assert "nothing was created" in missing.output
    assert _gone(batch_client, pool_id)
    assert not blobs.get_container_client("on-shared-output").exists()

    batch_client.create_pool(
        bm.BatchPoolCreateOptions(
            id=pool_id,
            vm_size="standard_d2s_v3",
            virtual_machine_configuration=bm.VirtualMachineConfiguration(
                image_reference=IMAGE, node_agent_sku_id="batch.node.ubuntu 24.04"
            ),
            target_dedicated_nodes=1,
        )
    )
    steady = bm.AllocationState.STEADY
    _until(
        f"pool {pool_id} steady",
        lambda: batch_client.get_pool(pool_id).allocation_state == steady,
    )
    before = batch_client.get_pool(pool_id)
    try:
        result = cli("apply", str(spec), "--yes", "--var", f"pool={pool_id}")
        assert result.exit_code == 0, result.output
        assert f"pool {pool_id}: existing, not managed by this spec" in result.output
        where = tmp_path / "out" / "on-shared" / "where.txt"
        assert where.read_text().strip() == f"ran on {pool_id}"

        status = cli("status", str(spec), "--var", f"pool={pool_id}")
        assert f"pool {pool_id}:" in status.stdout, status.output
        destroy = cli("destroy", str(spec), "--yes", "--var", f"pool={pool_id}")
        assert destroy.exit_code == 0, destroy.output
        assert f"keep pool {pool_id} (an existing pool, not managed by this spec)" in (
            destroy.output
        )

        after = batch_client.get_pool(pool_id)
        assert after.state == bm.BatchPoolState.ACTIVE
        assert (after.etag, after.last_modified) == (before.etag, before.last_modified)
        assert after.metadata == before.metadata  # no ownership mark was put on it
        assert after.target_dedicated_nodes == 1
    finally:
        batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_a_kept_auto_pool_job_ends_its_pool_and_status_and_destroy_know_it(
    tmp_path: Path, cli: Cli, batch_client: BatchClient
) -> None:
    specs = copy_specs(tmp_path)
    spec = specs / "hello.yaml"
    spec.write_text(spec.read_text().replace("job: delete}", "job: keep}"))
    result = cli("apply", str(spec), "--yes")
    assert result.exit_code == 0, result.output
    found = re.search(r"pool (hello_[0-9A-F-]{36}): the job's auto pool", result.output)
    assert found is not None, result.output
    pool_id = found.group(1)
    job = re.search(r"job (hello-[0-9a-f]{8}): created", result.output)
    assert job is not None, result.output
    job_id = job.group(1)
    # The kept job is terminated at the end of the run; Batch deletes its pool when it completes.
    _until(f"auto pool {pool_id} deleted with its job", lambda: _gone(batch_client, pool_id))
    assert batch_client.get_job(job_id).state == bm.BatchJobState.COMPLETED

    status = cli("status", str(spec), "--format", "json")
    assert status.exit_code == 0, status.output
    assert f'"pool_id": "{pool_id}"' in status.stdout
    assert f'"id": "{pool_id}"' in status.stdout  # the pool looked at is the auto pool

    destroy = cli("destroy", str(spec), "--yes")
    assert destroy.exit_code == 0, destroy.output
    assert f"deleted job {job_id}" in destroy.output
    assert "destroyed: 1 deleted, 0 kept" in destroy.output  # the job; no pool of its own
    with pytest.raises(ResourceNotFoundError):
        batch_client.get_job(job_id)
