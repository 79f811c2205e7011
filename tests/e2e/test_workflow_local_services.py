"""The apply workflow end to end on hand-built Plans: the real SDKs against the session's
local Batch service and Azurite."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from azure.batch import BatchClient

from apply.handmade_plans import topn_like_plan
from batchspec.plan.model import CleanupActions, CleanupPlan
from batchspec.targets import Target

from .conftest import SecretCheck
from .workflow_runner import run_workflow

pytestmark = pytest.mark.timeout(300)


def test_topn_like_flow_runs_tasks_and_downloads_outputs(
    tmp_path: Path, services_target: Target, batch_client: BatchClient, secret_check: SecretCheck
) -> None:
    plan = topn_like_plan(tmp_path / "spec", prefix="flow", tasks=3)
    outcome = run_workflow(plan, services_target, tmp_path / "home")
    secret_check.add("apply", outcome.output)
    assert outcome.code == 0, outcome.output
    out = tmp_path / "spec" / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "in0.txt_OUTPUT.txt",
        "in1.txt_OUTPUT.txt",
        "in2.txt_OUTPUT.txt",
    ]
    # in2.txt holds alpha x5, beta x2, gamma x1: the top two words with their counts.
    assert (out / "in2.txt_OUTPUT.txt").read_text() == "alpha 5\nbeta 2\n"
    assert "pool flow-pool: created" in outcome.output
    assert "tasks: 3 succeeded, 0 failed" in outcome.output
    # cleanup: the job is deleted, the pool is kept.
    assert "clean-up: job flow-job-r1 deleted" in outcome.output
    assert batch_client.get_pool("flow-pool").id == "flow-pool"


def test_rerun_sends_no_bytes_and_reuses_the_pool(
    tmp_path: Path, services_target: Target, batch_client: BatchClient, secret_check: SecretCheck
) -> None:
    first = topn_like_plan(tmp_path / "spec", prefix="again", run_id="r1")
    outcome = run_workflow(first, services_target, tmp_path / "home")
    secret_check.add("apply 1", outcome.output)
    assert outcome.code == 0, outcome.output
    etag = batch_client.get_pool("again-pool").etag
    second = topn_like_plan(tmp_path / "spec", prefix="again", run_id="r2")
    outcome = run_workflow(second, services_target, tmp_path / "home")
    secret_check.add("apply 2", outcome.output)
    assert outcome.code == 0, outcome.output
    assert "uploads: 0 file(s) sent (0 bytes), 3 unchanged" in outcome.output
    assert "pool again-pool: exists with the same settings, reusing it" in outcome.output
    assert "downloads: 0 file(s) written, 2 unchanged" in outcome.output
    # The reused pool's StartTask was given this run's SAS URLs.
    assert batch_client.get_pool("again-pool").etag != etag


def test_failing_task_gives_exit_1_and_its_stderr_tail(
    tmp_path: Path, services_target: Target, secret_check: SecretCheck
) -> None:
    plan = topn_like_plan(
        tmp_path / "spec",
        prefix="fails",
        tasks=1,
        task_command="/bin/bash -c 'echo working; echo disk quota exceeded >&2; exit 3'",
    )
    outcome = run_workflow(plan, services_target, tmp_path / "home")
    secret_check.add("apply", outcome.output)
    assert outcome.code == 1, outcome.output
    assert "tasks: 0 succeeded, 1 failed" in outcome.output
    assert "task task-0 failed: exit code 3" in outcome.output
    assert "    disk quota exceeded" in outcome.output


def test_start_task_failure_is_reported_within_seconds(
    tmp_path: Path, services_target: Target, secret_check: SecretCheck
) -> None:
    plan = topn_like_plan(
        tmp_path / "spec",
        prefix="badstart",
        start_command="/bin/bash -c 'echo cannot install package foo >&2; exit 7'",
    )
    started = time.monotonic()
    outcome = run_workflow(plan, services_target, tmp_path / "home")
    elapsed = time.monotonic() - started
    secret_check.add("apply", outcome.output)
    assert outcome.code == 1, outcome.output
    assert "error: StartTask failed on node" in outcome.output
    assert "exit code 7" in outcome.output
    assert "    cannot install package foo" in outcome.output
    # Reported as soon as the node says so, not after the 20-minute node wait.
    assert elapsed < 60, elapsed


def test_existing_pool_with_another_vm_size_is_refused(
    tmp_path: Path, services_target: Target, batch_client: BatchClient, secret_check: SecretCheck
) -> None:
    small = topn_like_plan(tmp_path / "a", prefix="sized", vm_size="standard_a1_v2", tasks=1)
    outcome = run_workflow(small, services_target, tmp_path / "home-a")
    secret_check.add("apply small", outcome.output)
    assert outcome.code == 0, outcome.output
    big = topn_like_plan(tmp_path / "b", prefix="sized", vm_size="standard_d2s_v3", tasks=1)
    outcome = run_workflow(big, services_target, tmp_path / "home-b")
    secret_check.add("apply big", outcome.output)
    assert outcome.code == 1
    assert (
        "error: pool sized-pool exists with different settings (vm_size: exists as "
        "'standard_a1_v2', spec wants 'standard_d2s_v3'); change the pool id in the spec, or "
        "run apply with --recreate-pool" in outcome.output
    )
    assert batch_client.get_pool("sized-pool").vm_size == "standard_a1_v2"
    asked: list[str] = []
    declined = run_workflow(
        big,
        services_target,
        tmp_path / "home-b",
        recreate_pool=True,
        confirm=lambda question: asked.append(question) is not None,
    )
    assert declined.code == 1
    assert asked == [
        "Pool sized-pool differs (vm_size: exists as 'standard_a1_v2', spec wants "
        "'standard_d2s_v3'). Delete it?"
    ]
    assert batch_client.get_pool("sized-pool").vm_size == "standard_a1_v2"
    outcome = run_workflow(big, services_target, tmp_path / "home-b", recreate_pool=True)
    secret_check.add("apply recreate", outcome.output)
    assert outcome.code == 0, outcome.output
    assert batch_client.get_pool("sized-pool").vm_size == "standard_d2s_v3"


def test_cleanup_policy_deletes_containers_job_and_pool(
    tmp_path: Path, services_target: Target, batch_client: BatchClient, secret_check: SecretCheck
) -> None:
    plan = topn_like_plan(
        tmp_path / "spec",
        prefix="tidy",
        tasks=1,
        cleanup=CleanupPlan(containers="delete", job="delete", pool="delete"),
    )
    outcome = run_workflow(plan, services_target, tmp_path / "home")
    secret_check.add("apply", outcome.output)
    assert outcome.code == 0, outcome.output
    assert (tmp_path / "spec" / "out" / "in0.txt_OUTPUT.txt").exists()
    blobs = services_target.blob_service()
    names = {c.name for c in blobs.list_containers(name_starts_with="tidy-")}
    assert names == set()
    assert "clean-up: pool tidy-pool deletion started" in outcome.output


def test_a_file_gone_before_upload_is_one_error_line_and_resumable(
    tmp_path: Path, services_target: Target, secret_check: SecretCheck
) -> None:
    plan = topn_like_plan(tmp_path / "spec", prefix="gone", tasks=1)
    (tmp_path / "spec" / "in0.txt").unlink()
    outcome = run_workflow(plan, services_target, tmp_path / "home")
    secret_check.add("apply", outcome.output)
    assert outcome.code == 1
    errors = [line for line in outcome.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "in0.txt" in errors[0], outcome.output
    assert "Traceback" not in outcome.output
    assert "run apply again to continue run r1" in outcome.output
    # It stopped before the pool: nothing of Batch's is left in place, and none is claimed.
    assert "left in place" not in outcome.output


def test_a_job_past_its_timeout_is_reported_with_the_reason(
    tmp_path: Path, services_target: Target, secret_check: SecretCheck
) -> None:
    plan = topn_like_plan(
        tmp_path / "spec", prefix="late", tasks=3, task_command="/bin/bash -c 'sleep 30'"
    )
    plan = dataclasses.replace(plan, job=dataclasses.replace(plan.job, timeout_seconds=2))
    outcome = run_workflow(plan, services_target, tmp_path / "home")
    secret_check.add("apply", outcome.output)
    assert outcome.code == 1, outcome.output
    assert "tasks: 0 succeeded, 3 failed" in outcome.output
    assert (
        "error: job late-job-r1 ended early: MaxWallClockTimeExpiry (the job ran longer than "
        "the spec's job timeout)" in outcome.output
    )


def test_ctrl_c_declining_clean_up_leaves_the_run_to_continue(
    tmp_path: Path, services_target: Target, batch_client: BatchClient, secret_check: SecretCheck
) -> None:
    both = CleanupActions(job="delete", pool="delete")
    plan = topn_like_plan(
        tmp_path / "spec",
        prefix="paused",
        cleanup=CleanupPlan(job="delete", pool="delete", on_failure=both),
    )
    asked: list[str] = []
    outcome = run_workflow(
        plan,
        services_target,
        tmp_path / "home",
        confirm=lambda question: asked.append(question) is None and False,
        interrupt_at="tasks: 2 added",
    )
    secret_check.add("interrupted", outcome.output)
    assert outcome.code == 130
    assert asked == ["Apply the on-failure clean-up now (delete: job, pool)?"]
    assert "left in place for a re-run: pool paused-pool, job paused-job-r1" in outcome.output
    assert batch_client.get_job("paused-job-r1").id == "paused-job-r1"

    resumed = run_workflow(plan, services_target, tmp_path / "home")
    secret_check.add("resumed", resumed.output)
    assert resumed.code == 0, resumed.output
    # Both tasks were journaled as added before the interrupt: nothing is added again.
    assert "tasks: 0 added (2 planned)" in resumed.output
    assert "pool paused-pool: exists with the same settings, reusing it" in resumed.output
    assert "clean-up: pool paused-pool deletion started" in resumed.output


def test_a_pool_that_differs_only_in_size_is_resized(
    tmp_path: Path, services_target: Target, batch_client: BatchClient, secret_check: SecretCheck
) -> None:
    plan = topn_like_plan(tmp_path / "a", prefix="grown", tasks=1)
    outcome = run_workflow(plan, services_target, tmp_path / "home-a")
    secret_check.add("apply 1 node", outcome.output)
    assert outcome.code == 0, outcome.output
    bigger = topn_like_plan(tmp_path / "b", prefix="grown", tasks=1)
    bigger = dataclasses.replace(bigger, pool=dataclasses.replace(bigger.pool, dedicated_nodes=2))
    outcome = run_workflow(bigger, services_target, tmp_path / "home-b")
    secret_check.add("apply 2 nodes", outcome.output)
    assert outcome.code == 0, outcome.output
    assert "pool grown-pool: same settings, resizing it to 2 dedicated node(s)" in outcome.output
    assert "pool grown-pool: 2 node(s) ready" in outcome.output
    assert batch_client.get_pool("grown-pool").current_dedicated_nodes == 2
