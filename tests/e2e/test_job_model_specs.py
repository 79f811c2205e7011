"""The job-model example specs run for real: `batchspec apply` on the session's local Batch
service and Azurite, then the service is asked what it was given."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from azure.batch import models as bm
from click.testing import CliRunner

from batchspec.cli import main

from .conftest import SecretCheck, azure_env

SPECS = Path(__file__).resolve().parents[2] / "specs"

pytestmark = pytest.mark.timeout(300)


def _apply(spec: Path, tmp_path: Path, env: dict[str, str], check: SecretCheck, *args: str) -> str:
    argv = ["apply", str(spec), "--yes", "--data-dir", str(tmp_path / "home"), *args]
    result = CliRunner().invoke(main, argv, env=env, catch_exceptions=False)
    check.add(f"apply {spec.name}", result.output)
    assert result.exit_code == 0, result.output
    return result.output


def _copy_specs(tmp_path: Path) -> Path:
    copy = tmp_path / "specs"
    shutil.copytree(SPECS, copy, ignore=shutil.ignore_patterns("out", "__pycache__"))
    return copy


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
    specs = _copy_specs(tmp_path)
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
    }
    stitch = batch_client.get_task(job_id, "stitch")
    assert (stitch.display_name, stitch.required_slots) == ("stitch every frame", 2)
    assert batch_client.get_task(job_id, "3").display_name == "frame 3 of 4"
    batch_client.begin_delete_job(job_id, polling_interval=1).result()
