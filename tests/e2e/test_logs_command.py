"""`batchspec logs` end to end: a finished run's task files, --failed, --start-task, and
--follow of a task that prints over several seconds, on the session's local Batch service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from azure.batch import BatchClient
from azure.batch import models as bm

from batchspec.apply.journal import Journal

from .conftest import SecretCheck
from .live_cli import Cli, blobs, cli
from .live_specs import CHATTY, TALKER, write_spec

__all__ = ["blobs", "cli"]  # fixtures
pytestmark = pytest.mark.timeout(300)


def test_logs_of_a_finished_run_show_each_file_and_failed_picks_the_failures(
    tmp_path: Path, cli: Cli
) -> None:
    spec = write_spec(tmp_path, "logsdone", CHATTY)
    assert cli("logs", str(spec)).exit_code == 3  # no run yet

    applied = cli("apply", str(spec), "--yes")
    assert applied.exit_code == 1, applied.output

    one = cli("logs", str(spec), "ok")
    assert one.exit_code == 0, one.output
    assert one.stdout == (
        "==> task ok: stdout.txt <==\nhello\n==> task ok: stderr.txt <==\nwarning\n"
    )
    failed = cli("logs", str(spec), "--failed", "--file", "stderr.txt")
    assert failed.exit_code == 0, failed.output
    assert failed.stdout == "==> task bad: stderr.txt <==\nbroken\n"

    as_json = cli("logs", str(spec), "--format", "json", "--file", "stdout.txt")
    files = json.loads(as_json.stdout)["files"]
    assert [(f["task"], f["file"], f["text"]) for f in files] == [
        ("ok", "stdout.txt", "hello\n"),
        ("bad", "stdout.txt", ""),
    ]
    missing = cli("logs", str(spec), "ok", "--file", "nothing.txt")
    assert missing.exit_code == 0
    assert "==> task ok: nothing.txt <==\n(not available: " in missing.stdout

    unknown = cli("logs", str(spec), "nosuch")
    assert unknown.exit_code == 1
    assert unknown.stderr.strip().endswith("has no task nosuch")

    start = cli("logs", str(spec), "--start-task")
    assert start.exit_code == 0, start.output
    assert "==> node " in start.stdout and ": startup/stdout.txt <==" in start.stdout

    bad_var = cli("logs", str(spec), "--var", " x=1")
    assert bad_var.exit_code == 2 and "Traceback" not in bad_var.output


def test_follow_streams_lines_while_the_task_runs_and_ends_with_it(
    tmp_path: Path, cli: Cli, batch_client: BatchClient, secret_check: SecretCheck
) -> None:
    spec = write_spec(tmp_path, "logsfollow", TALKER.replace("LINES", "8"))
    env = {**os.environ, **cli.env}
    common = ["--target", "azure", "--data-dir", str(cli.home)]
    apply = subprocess.Popen(
        [sys.executable, "-m", "batchspec", "apply", str(spec), "--yes", *common],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        journal = Journal(cli.home, spec, "azure")
        job_id = _wait_for_running(journal, batch_client, "talk", apply)
        follow = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "batchspec",
                "logs",
                str(spec),
                "talk",
                "--follow",
                "--poll",
                "0.2",
                *common,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert follow.stdout is not None
        first = follow.stdout.readline()
        # The first line arrived while the task was still printing the others.
        state = batch_client.get_task(job_id, "talk").state
        rest = follow.stdout.read()
        err = follow.communicate(timeout=120)[1]
        secret_check.add("logs --follow", first + rest + err)
    finally:
        out = apply.communicate(timeout=180)[0]
        secret_check.add("apply", out)
    assert state == bm.BatchTaskState.RUNNING
    assert (first + rest).splitlines() == [f"line-{n}" for n in range(1, 9)]
    assert follow.returncode == 0
    assert err.strip() == "logs: every task followed has completed"
    assert apply.returncode == 0, out


def _wait_for_running(
    journal: Journal, batch: BatchClient, task_id: str, proc: subprocess.Popen[str]
) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = journal.load()
        if state is not None and "tasks" in state.steps_done:
            task = batch.get_task(state.job_id, task_id)
            if task.state == bm.BatchTaskState.RUNNING:
                return state.job_id
        assert proc.poll() is None, "apply ended before its task ran"
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} never ran")
