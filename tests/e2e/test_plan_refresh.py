"""`batchspec plan --refresh` end to end: the plan held against the session's local Batch service
and Azurite, Terraform's way, and --detailed-exitcode for drift checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from azure.batch import BatchClient

from batchspec.apply.journal import Journal

from .conftest import SecretCheck
from .live_cli import Cli, blobs, cli
from .live_specs import TALKER, write_spec

__all__ = ["blobs", "cli"]  # fixtures
pytestmark = pytest.mark.timeout(300)

READER = """\
containers:
  data: {name: PREFIX-data}
uploads:
  - {source: "data/*.txt", container: data}
job:
  id: "PREFIX-{{ run.id }}"
  tasks:
    - id: read
      command: /bin/cat a.txt
      resource_files: [{container: data, blob: a.txt}]
cleanup: {containers: keep, job: delete, pool: keep}
"""


def _lines(result: object) -> list[str]:
    return [line for line in result.stdout.splitlines() if line[:2] in ("+ ", "~ ", "= ", "- ")]  # type: ignore[attr-defined]


def test_refresh_shows_creates_then_nothing_then_a_changed_blob_and_pool(
    tmp_path: Path, cli: Cli
) -> None:
    spec = write_spec(tmp_path, "rfone", READER)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("first\n")

    before = cli("plan", str(spec), "--refresh", "--detailed-exitcode")
    assert before.exit_code == 2, before.output
    assert _lines(before) == [
        "+ container rfone-data",
        "+ blob rfone-data/a.txt: upload 6 bytes",
        "+ pool rfone-pool: standard_d2s_v3, 1 node(s)",
        f"+ job {_job(before)}",
        f"+ tasks {_job(before)}: 1 to add",
        f"- job {_job(before)}: clean-up after a successful run",
    ]
    assert (
        before.stdout.splitlines()[-1] == "Plan: 5 to add, 0 to change, 1 to delete, 0 unchanged."
    )

    assert cli("apply", str(spec), "--yes").exit_code == 0
    after = cli("plan", str(spec), "--refresh", "--detailed-exitcode")
    assert after.exit_code == 0, after.output
    assert "No changes: apply has nothing to do" in after.stdout

    (tmp_path / "data" / "a.txt").write_text("second, longer\n")
    changed = cli("plan", str(spec), "--refresh", "--detailed-exitcode", "--format", "json")
    assert changed.exit_code == 2, changed.output
    doc = json.loads(changed.stdout)
    assert doc["has_changes"] is True
    blob = next(c for c in doc["changes"] if c["kind"] == "blob")
    assert blob == {
        "action": "~",
        "kind": "blob",
        "name": "rfone-data/a.txt",
        "detail": "content changed (6 -> 15 bytes)",
    }
    pool = next(c for c in doc["changes"] if c["kind"] == "pool")
    assert pool["action"] == "="

    spec.write_text(
        spec.read_text().replace("vm_size: standard_d2s_v3", "vm_size: standard_d4s_v3")
    )
    other_pool = cli("plan", str(spec), "--refresh", "--detailed-exitcode")
    assert other_pool.exit_code == 2, other_pool.output
    assert (
        "~ pool rfone-pool: vm_size: exists as 'standard_d2s_v3', spec wants 'standard_d4s_v3' "
        "(apply needs --recreate-pool to replace it)"
    ) in other_pool.stdout


def test_detailed_exitcode_is_1_for_any_error(tmp_path: Path, cli: Cli) -> None:
    spec = write_spec(tmp_path, "rftwo", READER)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("x\n")
    spec.write_text(spec.read_text().replace("batch.node.ubuntu 24.04", "batch.node.ubuntu 22.04"))
    refused = cli("plan", str(spec), "--refresh", "--detailed-exitcode")
    assert refused.exit_code == 1, refused.output
    assert "$.pool.image.node_agent: node agent 'batch.node.ubuntu 22.04' does not go" in (
        refused.stderr
    )
    assert cli("plan", str(spec), "--refresh").exit_code == 2
    spec.write_text("batchspec: 1\n")
    assert cli("plan", str(spec), "--refresh", "--detailed-exitcode").exit_code == 1
    spec = write_spec(tmp_path, "rftwo", READER)
    offline = cli("plan", str(spec), "--detailed-exitcode")
    assert offline.exit_code == 1 and "add --refresh" in offline.output


def _job(result: object) -> str:
    line = next(x for x in result.stdout.splitlines() if x.startswith("+ job "))  # type: ignore[attr-defined]
    return line.removeprefix("+ job ")


def test_an_unfinished_run_shows_its_tasks_as_added_and_waited_for(
    tmp_path: Path, cli: Cli, batch_client: BatchClient, secret_check: SecretCheck
) -> None:
    spec = write_spec(tmp_path, "rfthree", TALKER.replace("LINES", "30"))
    command = [sys.executable, "-m", "batchspec", "apply", str(spec), "--yes"]
    command += ["--target", "azure", "--data-dir", str(cli.home)]
    apply = subprocess.Popen(
        command,
        env={**os.environ, **cli.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    journal = Journal(cli.home, spec, "azure")
    try:
        deadline = time.monotonic() + 120
        while (state := journal.load()) is None or "tasks" not in state.steps_done:
            assert apply.poll() is None and time.monotonic() < deadline, "apply did not get far"
            time.sleep(0.1)
        result = cli("plan", str(spec), "--refresh", "--detailed-exitcode")
    finally:
        apply.kill()
        secret_check.add("apply", apply.communicate(timeout=60)[0])
    assert result.exit_code == 2, result.output
    assert (
        result.stdout.splitlines()[0]
        == f"run {state.run_id} of rfthree on azure: unfinished, continued"
    )
    assert f"= job {state.job_id}: exists (the run apply continues)" in result.stdout
    assert (
        f"~ tasks {state.job_id}: all 1 added, 0 completed (0 succeeded, 0 failed); "
        "apply waits for the rest" in result.stdout
    )
    assert "= pool rfthree-pool: exists with the same settings (reused)" in result.stdout
