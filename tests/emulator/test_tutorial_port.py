"""A second program written for azure-batch, shaped like the Python ffmpeg tutorial, runs
unchanged against the local service (StartTask, dependencies, output files, $filter/$select
polling, task and node files, ETag-guarded updates, error codes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from emulator_helpers import run_ported_program, unique

from conftest import start_azurite

pytestmark = pytest.mark.timeout(240)

SCRIPT = Path(__file__).with_name("tutorial_port.py")


def test_tutorial_runs_with_only_endpoint_and_credentials_changed(
    batch_service: Any, tmp_path: Path
) -> None:
    # Its own Azurite: the tutorial uses the fixed container names "input" and "output".
    with start_azurite(tmp_path / "azurite") as storage:
        run = run_ported_program(
            SCRIPT, batch_service, storage, unique("LinuxFfmpegPool"), unique("LinuxFfmpegJob")
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
