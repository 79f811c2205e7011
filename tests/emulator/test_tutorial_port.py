"""A second program written for azure-batch, shaped like the Python ffmpeg tutorial, runs
unchanged against the local service (StartTask, dependencies, output files, $filter/$select
polling, task and node files, ETag-guarded updates, error codes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from emulator_helpers import unique

from conftest import start_azurite

pytestmark = pytest.mark.timeout(240)

SCRIPT = Path(__file__).with_name("tutorial_port.py")


def test_tutorial_runs_with_only_endpoint_and_credentials_changed(
    batch_service: Any, tmp_path: Path
) -> None:
    # Its own Azurite: the tutorial uses the fixed container names "input" and "output".
    with start_azurite(tmp_path / "azurite") as storage:
        env = {
            **os.environ,
            "BATCH_ACCOUNT_URL": batch_service.endpoint,
            "BATCH_ACCOUNT_NAME": batch_service.account,
            "BATCH_ACCOUNT_KEY": batch_service.key,
            "STORAGE_ACCOUNT_URL": storage.blob_endpoint,
            "STORAGE_ACCOUNT_NAME": storage.account_name,
            "STORAGE_ACCOUNT_KEY": storage.account_key,
            "POOL_ID": unique("LinuxFfmpegPool"),
            "JOB_ID": unique("LinuxFfmpegJob"),
        }
        run = subprocess.run(
            [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=200
        )
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    assert "Success" in out
    assert "Merge output: merged ffmpeg" in out
    assert "start task said installed" in out
    assert "Converted: VIDEO 1 FRAMES\nVIDEO 1 FRAMES\n" in out
    outputs = out.split("Outputs: ", 1)[1].splitlines()[0].split()
    expected = [f"LowPriVMs-{i}.mp3" for i in range(1, 5)]
    expected += [f"logs/Task{i}/std{s}.txt" for i in range(4) for s in ("err", "out")]
    assert outputs == sorted(expected)
    assert "(AllTasksComplete)" in out
    for code in ("TaskNotFound", "FileNotFound", "JobCompleted", "PoolNotFound"):
        assert f"Handled {code}" in out
    assert batch_service.key not in out + run.stderr
