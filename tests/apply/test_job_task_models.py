"""The job preparation and release tasks as the job create request carries them."""

import dataclasses
from pathlib import Path

from batchspec.apply.batch_models import BatchModels
from batchspec.plan.model import JobPreparationPlan, JobReleasePlan, ResourceFilePlan

from .handmade_plans import RecordingSigner, topn_like_plan, wire


def test_job_body_carries_preparation_and_release_tasks(tmp_path: Path) -> None:
    plan = topn_like_plan(tmp_path)
    prep = JobPreparationPlan(
        command_line="/bin/bash -c 'echo ready > $AZ_BATCH_NODE_SHARED_DIR/ready'",
        resource_files=(ResourceFilePlan(container="application"),),
        environment=(("STAGE", "prep"),),
        elevated=True,
        wait_for_success=False,
        max_retries=2,
        max_wall_clock_seconds=600,
        retention_seconds=86_400,
        rerun_on_node_reboot_after_success=False,
    )
    release = JobReleasePlan(
        command_line="/bin/rm -f ready", max_wall_clock_seconds=300, retention_seconds=3600
    )
    job = dataclasses.replace(plan.job, preparation=prep, release=release)
    signer = RecordingSigner()
    body = wire(BatchModels(dataclasses.replace(plan, job=job), signer).job())
    assert body["jobPreparationTask"] == {
        "commandLine": "/bin/bash -c 'echo ready > $AZ_BATCH_NODE_SHARED_DIR/ready'",
        "resourceFiles": [{"storageContainerUrl": "https://acct.blob/t-application?sp=rl&sig=RL"}],
        "environmentSettings": [{"name": "STAGE", "value": "prep"}],
        "constraints": {
            "maxWallClockTime": "PT10M00S",
            "retentionTime": "P1D",
            "maxTaskRetryCount": 2,
        },
        "waitForSuccess": False,
        "userIdentity": {"autoUser": {"scope": "pool", "elevationLevel": "admin"}},
        "rerunOnNodeRebootAfterSuccess": False,
    }
    assert body["jobReleaseTask"] == {
        "commandLine": "/bin/rm -f ready",
        "maxWallClockTime": "PT05M00S",
        "retentionTime": "PT01H00M00S",
    }
    assert signer.calls == [("read", "t-application")]


def test_a_job_without_them_sends_neither(tmp_path: Path) -> None:
    body = wire(BatchModels(topn_like_plan(tmp_path), RecordingSigner()).job())
    assert "jobPreparationTask" not in body and "jobReleaseTask" not in body
