"""specs/prepare.yaml runs for real: the job preparation task prepares each node before its
first task there, every task reads what it wrote, and the release task cleans up when the job
ends; Batch's per-node status API and `batchspec status` say so."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from azure.batch import models as bm
from click.testing import CliRunner

from batchspec.cli import main

from .conftest import SecretCheck, azure_env
from .live_cli import copy_specs

pytestmark = pytest.mark.timeout(300)


def _cli(env: dict[str, str], check: SecretCheck, *argv: str) -> Any:
    result = CliRunner().invoke(main, list(argv), env=env, catch_exceptions=False)
    check.add(" ".join(argv[:2]), result.output)
    return result


def _completed(batch_client: Any, job_id: str) -> bm.BatchJob:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = batch_client.get_job(job_id)
        if job.state == bm.BatchJobState.COMPLETED:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} is still {job.state} 60s after its tasks completed")


def test_prepare_runs_preparation_before_tasks_and_release_at_the_end(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    batch_client: Any,
    secret_check: SecretCheck,
) -> None:
    specs = copy_specs(tmp_path)
    env = azure_env(batch_service, azurite)
    home = str(tmp_path / "home")
    spec = str(specs / "prepare.yaml")
    applied = _cli(env, secret_check, "apply", spec, "--yes", "--data-dir", home)
    assert applied.exit_code == 0, applied.output
    found = re.search(r"job (prepare-[0-9a-f]{8}): created", applied.output)
    assert found is not None, applied.output
    job_id = found.group(1)

    # Every task read the file the preparation task wrote on its own node.
    outputs = sorted((specs / "out" / "prepare").glob("task*.txt"))
    assert [p.name for p in outputs] == [f"task{n}.txt" for n in range(1, 5)]
    task_nodes = set()
    for path in outputs:
        prepared, read = path.read_text().splitlines()
        node = read.rsplit(" on ", 1)[1]
        assert prepared == f"prepared by jobpreparation on {node}"
        assert read == f"read by {path.stem} on {node}"
        task_nodes.add(node)

    job = _completed(batch_client, job_id)
    assert job.execution_info.termination_reason == "AllTasksComplete"
    assert job.job_preparation_task.constraints.max_task_retry_count == 1
    assert job.job_release_task.max_wall_clock_time.total_seconds() == 300
    statuses = list(batch_client.list_job_preparation_and_release_task_status(job_id))
    assert {s.node_id for s in statuses} == task_nodes
    for status in statuses:
        prep, release = (
            status.job_preparation_task_execution_info,
            status.job_release_task_execution_info,
        )
        assert (prep.state, prep.result, prep.exit_code) == ("completed", "success", 0)
        assert (release.state, release.result, release.exit_code) == ("completed", "success", 0)
        shared = batch_client.list_node_files("prepare-pool", status.node_id, recursive=True)
        names = {f.name for f in shared if f.name.startswith("shared/")}
        assert "shared/job_prep_and_release.txt" not in names  # the release removed it
        line = b"".join(
            batch_client.download_node_file(
                "prepare-pool", status.node_id, "shared/job_release.txt"
            )
        ).decode()
        assert f"released {job_id} on {status.node_id}\n" in line

    shown = _cli(env, secret_check, "status", spec, "--data-dir", home)
    for node in task_nodes:
        assert f"job preparation task on {node}: completed, success (exit code 0)" in shown.output
        assert f"job release task on {node}: completed, success (exit code 0)" in shown.output
    data = json.loads(
        _cli(env, secret_check, "status", spec, "--data-dir", home, "--format", "json").output
    )
    kinds = sorted((t["node_id"], t["kind"], t["result"]) for t in data["node_tasks"])
    assert kinds == sorted(
        (n, k, "success") for n in task_nodes for k in ("preparation", "release")
    )
    # The preparation and release tasks' own output, per node.
    logged = _cli(env, secret_check, "logs", spec, "--data-dir", home, "--job-tasks")
    assert logged.exit_code == 0, logged.output
    for node in task_nodes:
        assert f"==> node {node} jobpreparation: stdout.txt <==\nnode {node} prepared\n" in (
            logged.output
        )
        assert f"==> node {node} jobrelease: stdout.txt <==\nnode {node} released\n" in (
            logged.output
        )
    batch_client.begin_delete_job(job_id, polling_interval=1).result()


def test_apply_stops_when_the_preparation_failed_on_every_node(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    batch_client: Any,
    secret_check: SecretCheck,
) -> None:
    specs = copy_specs(tmp_path)
    text = (specs / "prepare.yaml").read_text()
    broken = text.replace("    retries: 1\n", "    retries: 0\n").replace(
        "      - 'echo \"node $AZ_BATCH_NODE_ID prepared\"'\n",
        "      - 'echo \"node $AZ_BATCH_NODE_ID cannot prepare\" >&2; exit 4'\n",
    )
    assert broken != text
    broken = broken.replace("id: prepare-pool", "id: prepare-broken-pool")
    (specs / "prepare.yaml").write_text(broken)
    env = azure_env(batch_service, azurite)
    home = str(tmp_path / "home")
    spec = str(specs / "prepare.yaml")
    applied = _cli(env, secret_check, "apply", spec, "--yes", "--data-dir", home)
    assert applied.exit_code == 1, applied.output
    assert "its preparation task failed on every node of pool prepare-broken-pool" in (
        applied.output
    )
    assert "(exit code 4; FailureExitCode: " in applied.output
    shown = _cli(env, secret_check, "status", spec, "--data-dir", home).output
    assert "waiting: the job's preparation task failed on 2 node(s)" in shown
    found = re.search(r"job (prepare-[0-9a-f]{8}): created", applied.output)
    assert found is not None
    batch_client.begin_delete_job(found.group(1), polling_interval=1).result()
    batch_client.begin_delete_pool("prepare-broken-pool", polling_interval=1).result()
