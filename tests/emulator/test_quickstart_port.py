"""A program written for azure-batch by someone else runs unchanged against the local service:
the official Python quickstart's shape, ported to 15.x, configured only by environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from emulator_helpers import run_ported_program, unique

from conftest import start_azurite

pytestmark = pytest.mark.timeout(240)

SCRIPT = Path(__file__).with_name("quickstart_port.py")


def test_quickstart_runs_with_only_endpoint_and_credentials_changed(
    batch_service: Any, tmp_path: Path
) -> None:
    # Its own Azurite: the quickstart uses the fixed container name "input".
    with start_azurite(tmp_path / "azurite") as storage:
        run = run_ported_program(
            SCRIPT, batch_service, storage, unique("QuickstartPool"), unique("QuickstartJob")
        )
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "Success! All tasks reached the 'Completed' state" in out
    for i in range(3):
        assert f"Task: Task{i}\nNode: tvmps_" in out
        expected = (SCRIPT.parent / "quickstart_data" / f"taskdata{i}.txt").read_text()
        assert f"Standard output:\n{expected}" in out
    assert batch_service.key not in out + run.stderr
