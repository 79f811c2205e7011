"""specs/nightly.yaml runs for real: apply sets up the job schedule and returns; the local
service runs a scheduled job, whose job manager task writes the report into its container;
`status` shows the schedule and its jobs; a changed spec updates the schedule in place;
`destroy` deletes it (and only what the spec created)."""

from __future__ import annotations

import datetime
import json
import time
from pathlib import Path
from typing import Any

import pytest
from azure.batch import models as bm
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient
from click.testing import CliRunner

from batchspec.cli import main

from .conftest import SecretCheck, azure_env
from .live_cli import copy_specs

SCHEDULE = "nightly-report"
WAIT_SECONDS = 120.0

pytestmark = pytest.mark.timeout(400)


def _cli(env: dict[str, str], check: SecretCheck, *argv: str) -> Any:
    result = CliRunner().invoke(main, list(argv), env=env, catch_exceptions=False)
    check.add(" ".join(argv[:2]), result.output)
    return result


def _wait_for_report(blobs: BlobServiceClient, batch_client: Any, name: str) -> str:
    """The report blob once the scheduled job wrote it; fails with the job's state if not."""
    container = blobs.get_container_client("nightly-reports")
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if container.get_blob_client(name).exists():
            return container.download_blob(name).readall().decode()
        time.sleep(0.5)
    jobs = [(j.id, j.state) for j in batch_client.list_jobs_from_schedule(SCHEDULE)]
    tasks = {j: [(t.id, t.state) for t in batch_client.list_tasks(j)] for j, _ in jobs}
    raise AssertionError(f"no {name} after {WAIT_SECONDS:.0f}s: jobs {jobs}, tasks {tasks}")


def test_nightly_sets_up_a_schedule_whose_jobs_write_reports(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    batch_client: Any,
    secret_check: SecretCheck,
) -> None:
    specs = copy_specs(tmp_path)
    env = azure_env(batch_service, azurite)
    home = str(tmp_path / "home")
    spec = str(specs / "nightly.yaml")
    applied = _cli(env, secret_check, "apply", spec, "--yes", "--data-dir", home)
    assert applied.exit_code == 0, applied.output
    assert f"job schedule {SCHEDULE}: created on pool nightly-pool" in applied.output
    assert f"schedule {SCHEDULE}: next job at " in applied.output
    assert "sig=" not in applied.output

    schedule = batch_client.get_job_schedule(SCHEDULE)
    assert schedule.schedule.recurrence_interval.total_seconds() == 86_400
    manager = schedule.job_specification.job_manager_task
    assert (manager.id, manager.kill_job_on_completion) == ("report", True)
    assert manager.command_line == "python3 report.py 'nightly report'"
    assert schedule.job_specification.pool_info.pool_id == "nightly-pool"

    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    report = _wait_for_report(blobs, batch_client, f"{SCHEDULE}-job-1.report.txt")
    assert report.startswith(f"nightly report: {SCHEDULE}:job-1 ran at ")
    job = batch_client.get_job(f"{SCHEDULE}:job-1")
    deadline = time.monotonic() + 30
    while job.state != bm.BatchJobState.COMPLETED and time.monotonic() < deadline:
        time.sleep(0.2)
        job = batch_client.get_job(job.id)
    assert job.execution_info.termination_reason == "JMComplete"

    shown = _cli(env, secret_check, "status", spec, "--data-dir", home, "--format", "json")
    assert shown.exit_code == 0, shown.output
    status = json.loads(shown.output)["schedule"]
    assert (status["id"], status["state"]) == (SCHEDULE, "active")
    assert status["next_run"] is not None
    assert [j["id"] for j in status["jobs"]] == [f"{SCHEDULE}:job-1"]
    assert status["jobs"][0]["termination_reason"] == "JMComplete"
    text = _cli(env, secret_check, "status", spec, "--data-dir", home).output
    assert f"schedule {SCHEDULE}: active, every 1d" in text
    assert f"  job {SCHEDULE}:job-1: completed, JMComplete" in text

    # A changed spec updates the same schedule: the next jobs run the new command.
    changed = _cli(
        env, secret_check, "apply", spec, "--yes", "--data-dir", home, "--var", "title=weekly"
    )
    assert changed.exit_code == 0, changed.output
    assert f"job schedule {SCHEDULE}: updated" in changed.output
    updated = batch_client.get_job_schedule(SCHEDULE).job_specification.job_manager_task
    assert updated.command_line == "python3 report.py weekly"

    destroyed = _cli(env, secret_check, "destroy", spec, "--yes", "--data-dir", home)
    assert destroyed.exit_code == 0, destroyed.output
    assert f"delete schedule {SCHEDULE}" in destroyed.output
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            batch_client.get_job_schedule(SCHEDULE)
        except ResourceNotFoundError:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"schedule {SCHEDULE} still exists 30s after destroy")


def test_a_schedule_of_that_id_made_elsewhere_is_never_taken_over_or_deleted(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    batch_client: Any,
    secret_check: SecretCheck,
) -> None:
    specs = copy_specs(tmp_path)
    env = azure_env(batch_service, azurite)
    home = str(tmp_path / "home")
    spec = str(specs / "nightly.yaml")
    theirs = "nightly-theirs"
    batch_client.create_job_schedule(
        bm.BatchJobScheduleCreateOptions(
            id=theirs,
            schedule=bm.BatchJobScheduleConfiguration(
                do_not_run_until=datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC)
            ),
            job_specification=bm.BatchJobSpecification(
                pool_info=bm.BatchPoolInfo(pool_id="someone-elses-pool")
            ),
        )
    )
    (specs / "nightly.yaml").write_text(
        (specs / "nightly.yaml").read_text().replace('"{{ spec.name }}-report"', theirs)
    )
    applied = _cli(env, secret_check, "apply", spec, "--yes", "--data-dir", home)
    # Refused before anything is created: the schedule of that id is not this spec's.
    assert applied.exit_code == 2, applied.output
    assert f"job schedule {theirs} already exists and was not made by batchspec" in (applied.output)
    assert "nothing was created" in applied.output
    destroyed = _cli(env, secret_check, "destroy", spec, "--yes", "--data-dir", home)
    assert destroyed.exit_code == 0, destroyed.output
    assert f"keep schedule {theirs} (it existed before: not made by batchspec)" in (
        destroyed.output
    )
    assert batch_client.get_job_schedule(theirs).job_specification.pool_info.pool_id == (
        "someone-elses-pool"
    )
    batch_client.begin_delete_job_schedule(theirs, polling_interval=0).result()
