"""The job-model example specs run for real: `batchspec apply` on the session's local Batch
service and Azurite, then the service is asked what it was given."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from azure.batch import models as bm
from click.testing import CliRunner

from batchspec.cli import main

from .conftest import SecretCheck, azure_env
from .live_cli import copy_specs

pytestmark = pytest.mark.timeout(300)


def _apply(
    spec: Path,
    tmp_path: Path,
    env: dict[str, str],
    check: SecretCheck,
    *args: str,
    exit_code: int = 0,
) -> str:
    argv = ["apply", str(spec), "--yes", "--data-dir", str(tmp_path / "home"), *args]
    result = CliRunner().invoke(main, argv, env=env, catch_exceptions=False)
    check.add(f"apply {spec.name}", result.output)
    assert result.exit_code == exit_code, result.output
    return result.output


def _job_id(output: str, prefix: str) -> str:
    found = re.search(rf"job ({prefix}[0-9a-f]{{8}}): created", output)
    assert found is not None, output
    return found.group(1)


def test_frames_runs_with_vars_in_numbers_job_settings_and_slots(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    batch_client: Any,
    secret_check: SecretCheck,
) -> None:
    specs = copy_specs(tmp_path)
    env = azure_env(batch_service, azurite)
    output = _apply(
        specs / "frames.yaml",
        tmp_path,
        env,
        secret_check,
        "--var",
        "frames=4",
        "--var",
        "pool=frames-e2e",
        "--var",
        "quality=final",
    )
    (movie,) = (specs / "out" / "frames").glob("movie.txt")
    assert movie.read_text().splitlines() == [f"frame {n}/4 (final)" for n in range(1, 5)]

    job_id = _job_id(output, "frames-")
    job = batch_client.get_job(job_id)
    assert job.pool_info.pool_id == "frames-e2e"
    assert batch_client.get_pool("frames-e2e").target_dedicated_nodes == 2
    # The job ended by itself once every task completed: the all-tasks-complete action.
    assert job.state == bm.BatchJobState.COMPLETED
    assert job.execution_info.termination_reason == "AllTasksComplete"
    assert job.task_failure_mode == bm.BatchTaskFailureMode.PERFORM_EXIT_OPTIONS_JOB_ACTION
    assert {(s.name, s.value) for s in job.common_environment_settings} == {
        ("FRAME_COUNT", "4"),
        ("QUALITY", "final"),
        ("EMPTY_FRAME", "0"),
        ("BROKEN_FRAME", "0"),
    }
    stitch = batch_client.get_task(job_id, "stitch")
    assert (stitch.display_name, stitch.required_slots) == ("stitch every frame", 2)
    assert batch_client.get_task(job_id, "3").display_name == "frame 3 of 4"
    batch_client.begin_delete_job(job_id, polling_interval=1).result()


def test_an_exit_code_with_satisfy_lets_the_range_dependant_run(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    batch_client: Any,
    secret_check: SecretCheck,
) -> None:
    specs = copy_specs(tmp_path)
    env = azure_env(batch_service, azurite)
    args = ("--var", "frames=4", "--var", "pool=frames-e2e", "--var", "empty=3")
    # Frame 3 counts as failed (exit code 3), so apply says so; its exit condition kept the
    # job going and satisfied the stitch's range dependency.
    output = _apply(specs / "frames.yaml", tmp_path, env, secret_check, *args, exit_code=1)
    assert "task 3 failed: exit code 3" in output
    movie = (specs / "out" / "frames" / "movie.txt").read_text().splitlines()
    assert movie == [
        "frame 1/4 (draft)",
        "frame 2/4 (draft)",
        "frame 3: empty",
        "frame 4/4 (draft)",
    ]
    job_id = _job_id(output, "frames-")
    assert batch_client.get_job(job_id).execution_info.termination_reason == "AllTasksComplete"
    stitch = batch_client.get_task(job_id, "stitch")
    assert stitch.depends_on.task_id_ranges[0].start == 1
    assert stitch.depends_on.task_id_ranges[0].end == 4
    assert stitch.execution_info.result == bm.BatchTaskExecutionResult.SUCCESS
    batch_client.begin_delete_job(job_id, polling_interval=1).result()


def test_any_other_failure_terminates_the_job_and_blocks_the_stitch(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    batch_client: Any,
    secret_check: SecretCheck,
) -> None:
    specs = copy_specs(tmp_path)
    env = azure_env(batch_service, azurite)
    args = ("--var", "frames=4", "--var", "pool=frames-e2e", "--var", "broken=2")
    output = _apply(specs / "frames.yaml", tmp_path, env, secret_check, *args, exit_code=1)
    job_id = _job_id(output, "frames-")
    assert f"job {job_id} ended early: TaskFailed" in output
    job = batch_client.get_job(job_id)
    assert job.execution_info.termination_reason == "TaskFailed"
    # The stitch never ran: the failed frame blocked it and the job ended around it.
    stitch = batch_client.get_task(job_id, "stitch")
    assert stitch.execution_info is None or stitch.execution_info.start_time is None
    assert not (specs / "out" / "frames" / "movie.txt").exists()
    batch_client.begin_delete_job(job_id, polling_interval=1).result()


def test_samples_makes_tasks_from_a_csv_zipped_lists_and_a_stepped_range(
    tmp_path: Path, batch_service: Any, azurite: Any, secret_check: SecretCheck
) -> None:
    specs = copy_specs(tmp_path)
    env = azure_env(batch_service, azurite)
    # A row added to the sheet is one more task, with no change to the spec.
    with (specs / "samples" / "sheet.csv").open("a") as sheet:
        sheet.write("s5,skin,700,4\n")
    # Its `threads` column sets the task's required slots: s5 takes all four of the node's.
    _apply(specs / "samples.yaml", tmp_path, env, secret_check, "--var", "chunk=400")
    out = specs / "out" / "samples"
    found = {p.relative_to(out).as_posix(): p.read_text().strip() for p in out.rglob("*.out")}
    assert found == {
        "qc/s1.out": "s1 liver reads=1200 ok=True",
        "qc/s2.out": "s2 liver reads=900 ok=False",
        "qc/s3.out": "s3 lung reads=1500 ok=True",
        "qc/s4.out": "s4 lung reads=1100 ok=True",
        "qc/s5.out": "s5 skin reads=700 ok=False",
        "pairs/s1-s2.out": "compare s1 with s2",
        "pairs/s3-s4.out": "compare s3 with s4",
        "chunks/chunk-0.out": "records 0..399",
        "chunks/chunk-400.out": "records 400..799",
        "chunks/chunk-800.out": "records 800..1199",
    }


def test_the_completion_update_of_a_job_that_already_ended_is_not_an_error(
    batch_client: Any,
) -> None:
    from batchspec.apply.batch_models import job_completion_update
    from batchspec.apply.job import set_completion
    from batchspec.plan.model import JobPlan

    job_id = f"ended-{uuid.uuid4().hex[:8]}"
    pool = bm.BatchPoolInfo(pool_id="no-such-pool-needed")
    batch_client.create_job(bm.BatchJobCreateOptions(id=job_id, pool_info=pool))
    update = job_completion_update(JobPlan(job_id, None, on_all_tasks_complete="terminatejob"))
    assert update is not None
    batch_client.create_task(job_id, bm.BatchTaskCreateOptions(id="only", command_line="true"))
    assert set_completion(batch_client, job_id, update) is True
    # Once its only task ends the job completes (Batch keeps a job without tasks active); a
    # job that ended before the update came (a failed task terminated it) answers 409.
    batch_client.terminate_task(job_id, "only")
    wait = 0
    while batch_client.get_job(job_id).state != bm.BatchJobState.COMPLETED and wait < 100:
        time.sleep(0.1)
        wait += 1
    assert batch_client.get_job(job_id).execution_info.termination_reason == "AllTasksComplete"
    assert set_completion(batch_client, job_id, update) is False
    batch_client.begin_delete_job(job_id, polling_interval=1).result()


def test_a_resumed_run_accepts_its_job_that_ended_by_itself(batch_client: Any) -> None:
    from batchspec.apply.job import JobError, ensure_job

    job_id = f"ended-{uuid.uuid4().hex[:8]}"
    wanted = bm.BatchJobCreateOptions(
        id=job_id,
        pool_info=bm.BatchPoolInfo(pool_id="no-such-pool-needed"),
        all_tasks_complete_mode=bm.BatchAllTasksCompleteMode.TERMINATE_JOB,
    )
    said: list[str] = []
    assert ensure_job(batch_client, wanted, say=said.append) is True
    # Its only task ended: the job completes, as a finished run's job has.
    batch_client.create_task(job_id, bm.BatchTaskCreateOptions(id="only", command_line="true"))
    batch_client.terminate_task(job_id, "only")
    wait = 0
    while batch_client.get_job(job_id).state != bm.BatchJobState.COMPLETED and wait < 100:
        time.sleep(0.1)
        wait += 1
    with pytest.raises(JobError, match="is completed; start a new run with --rerun"):
        ensure_job(batch_client, wanted, say=said.append)
    assert ensure_job(batch_client, wanted, say=said.append, ended_ok=True) is False
    assert said[-1] == f"job {job_id}: exists and has ended, continuing with its results"
    batch_client.begin_delete_job(job_id, polling_interval=1).result()
