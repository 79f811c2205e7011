"""specs/mpi.yaml runs for real: `batchspec apply` on the session's local Batch service and
Azurite builds the C ping-pong on two nodes (Open MPI from Debian, installed by `make unit`)
and runs it with mpirun across them; then the service is asked about the subtasks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from azure.batch import models as bm
from click.testing import CliRunner

from batchspec.cli import main

from .conftest import SecretCheck, azure_env
from .live_cli import copy_specs

pytestmark = pytest.mark.timeout(300)


def _spec_keeping_the_job(tmp_path: Path) -> Path:
    """A copy of the specs whose mpi.yaml keeps its job, so that its subtasks can be read."""
    spec = copy_specs(tmp_path) / "mpi.yaml"
    text = spec.read_text()
    assert "job: delete" in text
    spec.write_text(text.replace("job: delete", "job: keep"))
    return spec


def _apply(spec: Path, tmp_path: Path, env: dict[str, str], check: SecretCheck, *args: str) -> Any:
    argv = ["apply", str(spec), "--yes", "--data-dir", str(tmp_path / "home"), *args]
    result = CliRunner().invoke(main, argv, env=env, catch_exceptions=False)
    check.add(f"apply {spec.name}", result.output)
    return result


def _job_id(output: str) -> str:
    found = re.search(r"job (mpi-[0-9a-f]{8}): created", output)
    assert found is not None, output
    return found.group(1)


def test_the_ping_pong_runs_one_rank_on_each_of_two_nodes(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    batch_client: Any,
    secret_check: SecretCheck,
) -> None:
    spec = _spec_keeping_the_job(tmp_path)
    env = azure_env(batch_service, azurite)
    result = _apply(spec, tmp_path, env, secret_check, "--var", "round_trips=200")
    assert result.exit_code == 0, result.output
    job_id = _job_id(result.output)
    pool_nodes = {n.id for n in batch_client.list_nodes("mpi-pool")}
    for size in (8, 1024, 65536):
        text = (spec.parent / "out" / "mpi" / f"pingpong_{size}_OUTPUT.txt").read_text()
        ranks = dict(re.findall(r"^rank (\d) of 2 on host \S+ node (\S+)$", text, re.M))
        assert set(ranks) == {"0", "1"}, text
        assert f"200 round trips of {size} bytes, counter 400 (expected 400)" in text
        assert re.search(r"round trip: mean [\d.]+ us, min [\d.]+ us, max [\d.]+ us", text)
        task = batch_client.get_task(job_id, f"pingpong-{size}")
        assert task.multi_instance_settings.number_of_instances == 2
        (sub,) = batch_client.list_subtasks(job_id, f"pingpong-{size}")
        assert sub.id == 1 and sub.state == bm.BatchSubtaskState.COMPLETED
        assert sub.exit_code == 0
        # Both ranks ran, on the two different nodes the task was given.
        assert set(ranks.values()) == {task.node_info.node_id, sub.node_info.node_id}
        assert task.node_info.node_id != sub.node_info.node_id
        assert set(ranks.values()) <= pool_nodes
    # The subtask built the program in its own task shared directory, on its own node.
    files = {
        f.name
        for f in batch_client.list_node_files("mpi-pool", sub.node_info.node_id, recursive=True)
    }
    assert f"{sub.node_info.task_root_directory}/pingpong" in files
    assert f"{sub.node_info.task_root_directory}/pingpong.c" in files


def test_a_failing_coordination_command_fails_the_task_as_batch_reports_it(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    batch_client: Any,
    secret_check: SecretCheck,
) -> None:
    spec = _spec_keeping_the_job(tmp_path)
    env = azure_env(batch_service, azurite)
    result = _apply(spec, tmp_path, env, secret_check, "--var", "break_coordination=1")
    assert result.exit_code == 1, result.output
    assert "pingpong-8" in result.output and "FailureExitCode" in result.output

    job_id = _job_id(result.output)
    info = batch_client.get_task(job_id, "pingpong-8").execution_info
    assert info.result == bm.BatchTaskExecutionResult.FAILURE
    assert info.exit_code == 3
    assert info.failure_info.category == "usererror"
    assert info.failure_info.code == "FailureExitCode"
    assert "coordination command failed on subtask 1" in info.failure_info.message
    (sub,) = batch_client.list_subtasks(job_id, "pingpong-8")
    assert sub.result == bm.BatchTaskExecutionResult.FAILURE and sub.exit_code == 3
    assert sub.failure_info.code == "FailureExitCode"
    stderr = b"".join(
        batch_client.download_node_file(
            "mpi-pool", sub.node_info.node_id, f"{sub.node_info.task_root_directory}/stderr.txt"
        )
    ).decode()
    assert "coordination broken on purpose" in stderr
    # mpirun never ran: nothing was uploaded, so nothing was downloaded.
    assert not (spec.parent / "out" / "mpi").exists() or not any(
        (spec.parent / "out" / "mpi").iterdir()
    )
