"""`batchspec status` end to end: during a run, after it succeeded, after a failure, while a
job of another spec holds the pool, and with no run; the JSON checked field by field."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from azure.batch import BatchClient
from azure.batch import models as bm

from batchspec.apply.job import terminate_job
from batchspec.apply.journal import Journal

from .conftest import SecretCheck
from .live_cli import Cli, blobs, cli
from .live_specs import CHATTY, TALKER, write_spec

__all__ = ["blobs", "cli"]  # fixtures
pytestmark = pytest.mark.timeout(300)


def _start_apply(cli: Cli, spec: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "batchspec", "apply", str(spec), "--yes"]
    command += ["--target", "azure", "--data-dir", str(cli.home)]
    env = {**os.environ, **cli.env}
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _wait_for_task(
    journal: Journal, batch: BatchClient, task_id: str, state: bm.BatchTaskState, proc: Any
) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = journal.load()
        done = run is not None and "tasks" in run.steps_done
        if done and run is not None and batch.get_task(run.job_id, task_id).state == state:
            return run.job_id
        assert proc.poll() is None, "apply ended early"
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} never reached {state}")


def test_status_during_and_after_a_run(
    tmp_path: Path, cli: Cli, batch_client: BatchClient, secret_check: SecretCheck
) -> None:
    spec = write_spec(tmp_path, "stlive", TALKER.replace("LINES", "6"))
    none = cli("status", str(spec), "--format", "json")
    assert none.exit_code == 3
    assert "no run of" in none.stderr and none.stdout == ""

    apply = _start_apply(cli, spec)
    journal = Journal(cli.home, spec, "azure")
    try:
        job_id = _wait_for_task(journal, batch_client, "talk", bm.BatchTaskState.RUNNING, apply)
        during = cli("status", str(spec), "--format", "json")
    finally:
        secret_check.add("apply", apply.communicate(timeout=180)[0])
    assert during.exit_code == 0, during.output
    doc = json.loads(during.stdout)
    run = journal.load()
    assert run is not None
    assert doc["spec"] == str(spec.resolve())
    assert doc["name"] == "stlive"
    assert doc["target"] == "azure"
    assert doc["run"]["id"] == run.run_id
    assert doc["run"]["state"] == "running"
    assert doc["run"]["finished"] is False
    assert doc["run"]["exit_code"] is None
    assert doc["run"]["started_at"] == run.started_at
    assert doc["pool"]["id"] == "stlive-pool"
    assert doc["pool"]["exists"] is True
    assert doc["pool"]["state"] == "active"
    assert doc["pool"]["allocation_state"] == "steady"
    assert doc["pool"]["vm_size"] == "standard_d2s_v3"
    assert doc["pool"]["dedicated_nodes"] == {"current": 1, "target": 1}
    assert doc["pool"]["spot_nodes"] == {"current": 0, "target": 0}
    assert doc["pool"]["task_slots_per_node"] == 4
    assert doc["pool"]["nodes"] == {"running": 1}
    assert doc["pool"]["resize_errors"] == []
    assert doc["job"]["id"] == job_id
    assert doc["job"]["exists"] is True
    assert doc["job"]["state"] == "active"
    assert doc["job"]["created"] is not None
    assert doc["job"]["ended"] is None
    assert doc["tasks"] == {"active": 0, "running": 1, "completed": 0, "succeeded": 0, "failed": 0}
    assert doc["failed_tasks"] == []
    assert doc["waiting"] == []
    assert doc["planned_tasks"] == 1
    assert doc["resources"] == [
        {"kind": "container", "name": "stlive-out", "status": "created"},
        {"kind": "pool", "name": "stlive-pool", "status": "created"},
        {"kind": "job", "name": job_id, "status": "created"},
    ]

    after = cli("status", str(spec), "--format", "json")
    assert after.exit_code == 0, after.output
    doc = json.loads(after.stdout)
    assert doc["run"]["state"] == "succeeded"
    assert doc["run"]["finished"] is True
    assert doc["run"]["exit_code"] == 0
    assert doc["job"]["state"] == "completed"
    assert doc["job"]["ended"] is not None
    assert doc["pool"]["nodes"] == {"idle": 1}
    assert doc["tasks"] == {"active": 0, "running": 0, "completed": 1, "succeeded": 1, "failed": 0}

    text = cli("status", str(spec))
    assert text.exit_code == 0
    assert text.stdout.splitlines()[0].startswith(
        f"run {run.run_id} of stlive on azure: succeeded, exit code 0 (started "
    )
    assert "tasks: 1 of 1 added: 0 waiting, 0 running, 1 completed (1 succeeded, 0 failed)" in (
        text.stdout
    )
    assert f"this run created: container stlive-out, pool stlive-pool, job {job_id}" in (
        text.stdout
    )


def test_status_after_a_failure_names_the_failed_task_and_exits_1(tmp_path: Path, cli: Cli) -> None:
    spec = write_spec(tmp_path, "stfail", CHATTY)
    assert cli("apply", str(spec), "--yes").exit_code == 1
    result = cli("status", str(spec), "--format", "json")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert doc["run"]["state"] == "failed"
    assert doc["run"]["exit_code"] == 1
    assert doc["tasks"] == {"active": 0, "running": 0, "completed": 2, "succeeded": 1, "failed": 1}
    [failed] = doc["failed_tasks"]
    assert failed["id"] == "bad"
    assert failed["exit_code"] == 3
    assert failed["retries"] == 0
    text = cli("status", str(spec))
    assert text.exit_code == 1
    assert "  failed: bad: exit code 3" in text.stdout


def test_status_says_tasks_wait_because_another_job_holds_the_pool(
    tmp_path: Path, cli: Cli, batch_client: BatchClient, secret_check: SecretCheck
) -> None:
    holder = write_spec(
        tmp_path / "a", "stholder", TALKER.replace("LINES", "300"), pool="stbusy-pool", slots=1
    )
    waiter = write_spec(tmp_path / "b", "stwaiter", CHATTY, pool="stbusy-pool", slots=1)
    first = _start_apply(cli, holder)
    second, holder_job = None, ""
    try:
        holder_job = _wait_for_task(
            Journal(cli.home, holder, "azure"),
            batch_client,
            "talk",
            bm.BatchTaskState.RUNNING,
            first,
        )
        second = _start_apply(cli, waiter)
        _wait_for_task(
            Journal(cli.home, waiter, "azure"),
            batch_client,
            "ok",
            bm.BatchTaskState.ACTIVE,
            second,
        )
        result = cli("status", str(waiter), "--format", "json")
        text = cli("status", str(waiter))
    finally:
        if holder_job:
            terminate_job(batch_client, holder_job)
        else:
            first.kill()
        secret_check.add("holder", first.communicate(timeout=180)[0])
        if second is not None:
            secret_check.add("waiter", second.communicate(timeout=180)[0])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["run"]["state"] == "running"
    assert doc["tasks"]["active"] == 2
    assert doc["waiting"] == [
        f"every task slot of pool stbusy-pool is busy with other jobs: job {holder_job} (1 running)"
    ]
    assert "  waiting: every task slot of pool stbusy-pool is busy with other jobs: job " in (
        text.stdout
    )


def test_a_task_behind_a_failed_dependency_is_blocked_for_good(
    tmp_path: Path, cli: Cli, batch_client: BatchClient
) -> None:
    # apply ends such a run at once and terminates its job; the journal is pointed at a job
    # left active, as a job is after a kill or on a pool shared with another tool.
    spec = write_spec(tmp_path, "stblocked", TALKER.replace("LINES", "1"))
    assert cli("apply", str(spec), "--yes").exit_code == 0
    journal = Journal(cli.home, spec, "azure")
    state = journal.load()
    assert state is not None
    job_id = "stblocked-held"
    batch_client.create_job(
        bm.BatchJobCreateOptions(
            id=job_id,
            pool_info=bm.BatchPoolInfo(pool_id="stblocked-pool"),
            uses_task_dependencies=True,
        )
    )
    batch_client.create_task(
        job_id, bm.BatchTaskCreateOptions(id="first", command_line="/bin/false")
    )
    batch_client.create_task(
        job_id,
        bm.BatchTaskCreateOptions(
            id="second",
            command_line="/bin/true",
            depends_on=bm.BatchTaskDependencies(task_ids=["first"]),
        ),
    )
    deadline = time.monotonic() + 60
    while batch_client.get_task(job_id, "first").state != bm.BatchTaskState.COMPLETED:
        assert time.monotonic() < deadline, "task first never completed"
        time.sleep(0.1)
    journal.save(dataclasses.replace(state, job_id=job_id, finished=False, exit_code=None))

    result = cli("status", str(spec), "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["run"]["state"] == "stopped"
    assert doc["tasks"] == {"active": 1, "running": 0, "completed": 1, "succeeded": 0, "failed": 1}
    assert [(f["id"], f["exit_code"]) for f in doc["failed_tasks"]] == [("first", 1)]
    assert doc["waiting"] == ["blocked for good, a task they depend on failed: second (on first)"]
    follow = cli("logs", str(spec), "second", "--follow")
    assert follow.exit_code == 0, follow.output
    assert follow.stderr.strip() == (
        "logs: task second can never run: it depends on failed task first"
    )
