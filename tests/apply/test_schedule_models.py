"""The job schedule as the create request carries it: its configuration, and the job
specification whose job manager task is each scheduled job's work."""

import dataclasses
import datetime
from pathlib import Path

import pytest

from batchspec.apply.batch_models import BatchModels
from batchspec.apply.sas import SAS_MARGIN
from batchspec.apply.schedule import SAS_WITHOUT_UNTIL, sas_expiry
from batchspec.plan.model import (
    JobManagerPlan,
    JobPreparationPlan,
    OutputPlan,
    Plan,
    ResourceFilePlan,
    SchedulePlan,
    TaskPlan,
)

from .handmade_plans import RecordingSigner, topn_like_plan, wire

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)


def _scheduled(tmp_path: Path, schedule: SchedulePlan) -> Plan:
    plan = topn_like_plan(tmp_path)
    manager = JobManagerPlan(
        TaskPlan(
            id="report",
            command_line="python3 report.py",
            resource_files=(ResourceFilePlan(container="application", blob="report.py"),),
            outputs=(OutputPlan("*.report.txt", "output", None, "success"),),
            max_wall_clock_seconds=600,
        ),
        kill_job_on_completion=False,
    )
    job = dataclasses.replace(
        plan.job,
        id="nightly",
        manager=manager,
        on_all_tasks_complete="terminatejob",
        preparation=JobPreparationPlan(command_line="/bin/true"),
    )
    return dataclasses.replace(plan, job=job, tasks=(), schedule=schedule)


def test_schedule_body_has_the_recurrence_and_the_manager_task(tmp_path: Path) -> None:
    schedule = SchedulePlan(
        start="2026-12-02T02:00:00Z", every_seconds=86_400, until="2027-01-01T00:00:00Z"
    )
    body = wire(BatchModels(_scheduled(tmp_path, schedule), RecordingSigner()).job_schedule())
    assert body["id"] == "nightly"
    assert body["schedule"] == {
        "doNotRunUntil": "2026-12-02T02:00:00Z",
        "doNotRunAfter": "2027-01-01T00:00:00Z",
        "recurrenceInterval": "P1D",
    }
    spec = body["jobSpecification"]
    assert spec["poolInfo"] == {"poolId": "t-pool"}
    # No task is added by apply, so the job's completion action is set at once.
    assert spec["onAllTasksComplete"] == "terminatejob"
    assert spec["jobPreparationTask"]["commandLine"] == "/bin/true"
    manager = spec["jobManagerTask"]
    assert (manager["id"], manager["commandLine"]) == ("report", "python3 report.py")
    assert manager["killJobOnCompletion"] is False
    assert manager["resourceFiles"] == [
        {"httpUrl": "https://acct.blob/t-application/report.py?sp=r&sig=R", "filePath": "report.py"}
    ]
    assert manager["outputFiles"][0]["destination"]["container"]["containerUrl"] == (
        "https://acct.blob/t-output?sp=cw&sig=CW"
    )
    assert manager["constraints"]["maxWallClockTime"] == "PT10M00S"


def test_a_schedule_that_starts_now_sends_no_do_not_run_until(tmp_path: Path) -> None:
    plan = _scheduled(tmp_path, SchedulePlan(every_seconds=300, start_window_seconds=60))
    body = wire(BatchModels(plan, RecordingSigner()).job_schedule())
    assert body["schedule"] == {"recurrenceInterval": "PT05M00S", "startWindow": "PT01M00S"}


def test_a_plan_without_schedule_has_no_schedule_request(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no schedule"):
        BatchModels(topn_like_plan(tmp_path), RecordingSigner()).job_schedule()


def test_sas_urls_last_until_the_last_job_can_end() -> None:
    until = SchedulePlan(every_seconds=3600, until="2026-12-03T00:00:00Z")
    assert (
        sas_expiry(until, 1200, NOW)
        == datetime.datetime(2026, 12, 3, 0, 20, tzinfo=datetime.UTC) + SAS_MARGIN
    )
    assert sas_expiry(SchedulePlan(every_seconds=3600), 1200, NOW) == NOW + SAS_WITHOUT_UNTIL
