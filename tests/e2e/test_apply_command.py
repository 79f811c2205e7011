"""`batchspec apply` end to end: the CLI, real spec files, the real SDKs, the local Batch
service and Azurite (the session's, configured as the Azure target, or the local target's own)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azure.batch import BatchClient
from click.testing import CliRunner

from batchspec.apply.journal import Journal
from batchspec.cli import main
from batchspec.local.services import stop

from .conftest import SecretCheck, azure_env
from .specs import expected_top_words, squares_spec, topn_copy

pytestmark = pytest.mark.timeout(300)


def apply_cli(args: list[str], check: SecretCheck, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(main, ["apply", *args], env=env, catch_exceptions=False)
    check.add(f"apply {args}", result.output)
    return result


@dataclass(frozen=True)
class LocalRun:
    root: Path
    output: str
    stdout: str
    exit_code: int
    logs: dict[str, str]


@pytest.fixture(scope="module")
def topn_on_local_target(tmp_path_factory: pytest.TempPathFactory) -> LocalRun:
    """`apply specs/topn.yaml --format json` on the local target, with its own services in a
    fresh data dir: stdout holds the summary document, stderr the progress and messages."""
    root = tmp_path_factory.mktemp("topn-local")
    spec = topn_copy(root / "specs")
    home = root / "home"
    env = {"AZURE_BATCH_ENDPOINT": ""}  # the local target even if the caller has Azure set up
    try:
        result = CliRunner().invoke(
            main,
            ["apply", str(spec), "--yes", "--data-dir", str(home), "--format", "json"],
            env=env,
        )
    finally:
        stop(home)
    logs = {p.name: p.read_text(errors="replace") for p in home.rglob("*.log")}
    return LocalRun(root, result.output, result.stdout, result.exit_code, logs)


def test_topn_on_the_local_target_prints_the_top_words_of_each_input(
    topn_on_local_target: LocalRun, secret_check: SecretCheck
) -> None:
    run = secret_check.add("apply on local", topn_on_local_target.output)
    assert topn_on_local_target.exit_code == 0, run
    assert "on local: Batch http://127.0.0.1:" in run
    assert "tasks: 3 succeeded, 0 failed" in run
    out = topn_on_local_target.root / "specs" / "out" / "topn"
    for data in sorted((topn_on_local_target.root / "specs" / "topn" / "data").glob("*.txt")):
        produced = (out / f"{data.stem}_OUTPUT.txt").read_text()
        assert produced == expected_top_words(data)
        assert len(produced.splitlines()) == 3


def test_format_json_prints_one_typed_summary_document_on_stdout(
    topn_on_local_target: LocalRun,
) -> None:
    run = topn_on_local_target
    document = json.loads(run.stdout)  # nothing else on stdout: progress went to stderr
    spec_dir = run.root / "specs"
    assert document["version"] == 1
    assert document["target"] == "local"
    assert document["spec"] == str(spec_dir / "topn.yaml")
    assert isinstance(document["run_id"], str) and document["run_id"] in run.output
    assert (document["exit_code"], document["outcome"]) == (run.exit_code, "succeeded")
    assert document["tasks"] == {"planned": 3, "succeeded": 3, "failed": 0, "blocked": 0}
    assert (document["failed_tasks"], document["blocked_tasks"]) == ([], [])
    assert document["uploads"]["sent"] == 4 and document["uploads"]["unchanged"] == 0
    assert document["uploads"]["bytes_sent"] > 0
    outputs = sorted(str(p) for p in (spec_dir / "out" / "topn").glob("*_OUTPUT.txt"))
    assert len(outputs) == 3 and document["downloaded"] == outputs
    kinds = {(r["kind"], r["origin"]) for r in document["resources"]}
    assert kinds == {("container", "created"), ("pool", "created"), ("job", "created")}
    # topn's clean-up deletes its containers and job and keeps its pool.
    ends = {(r["kind"], r["end"]) for r in document["resources"]}
    assert ends == {("container", "deleted"), ("pool", "kept"), ("job", "deleted")}
    assert "tasks: 3 succeeded, 0 failed" not in run.stdout


def test_local_services_logs_hold_no_signature_or_key(
    topn_on_local_target: LocalRun, secret_check: SecretCheck
) -> None:
    logs = topn_on_local_target.logs
    assert {"emulator.log", "azurite.log"} <= set(logs)
    for name, text in logs.items():
        secret_check.add(name, text)


def test_target_azure_runs_from_the_environment_then_rerun_sends_nothing(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    batch_client: BatchClient,
    secret_check: SecretCheck,
) -> None:
    spec = topn_copy(tmp_path / "specs", keep_containers=True)
    env = azure_env(batch_service, azurite)
    args = [str(spec), "--target", "azure", "--yes", "--data-dir", str(tmp_path / "home")]
    first = apply_cli(args, secret_check, env)
    assert first.exit_code == 0, first.output
    assert f"on azure: Batch {batch_service.endpoint}" in first.output
    assert "pool topn-pool: created" in first.output
    for data in (tmp_path / "specs" / "topn" / "data").glob("*.txt"):
        out = tmp_path / "specs" / "out" / "topn" / f"{data.stem}_OUTPUT.txt"
        assert out.read_text() == expected_top_words(data)

    again = apply_cli([*args, "--quiet"], secret_check, env)
    assert again.exit_code == 0
    # --quiet still gives the result: here, one line.
    assert len(again.output.splitlines()) == 1
    assert "finished at" in again.output and "nothing to do" in again.output
    # Files the finished run downloaded and the user removed since: said, with the way back.
    removed = sorted((tmp_path / "specs" / "out" / "topn").glob("*_OUTPUT.txt"))[0]
    removed.unlink()
    gone = apply_cli([*args, "--quiet"], secret_check, env)
    assert gone.exit_code == 0
    assert f"{removed}, downloaded by run" in gone.output and "--rerun" in gone.output

    # Without --yes and without a terminal, nothing prompts: the run just goes ahead.
    rerun_args = [a for a in args if a != "--yes"] + ["--rerun", "--verbose"]
    rerun = apply_cli(rerun_args, secret_check, env)
    assert rerun.exit_code == 0, rerun.output
    # --verbose names each file, here each one found unchanged.
    assert "  unchanged: " in rerun.output and "topn_task.py" in rerun.output
    assert "uploads: 0 file(s) sent (0 bytes), 4 unchanged" in rerun.output
    assert "pool topn-pool: exists with the same settings, reusing it" in rerun.output
    # The file removed above is made again; the two left in place are unchanged.
    assert "downloads: 1 file(s) written, 2 unchanged" in rerun.output
    assert removed.is_file()
    assert [p.id for p in batch_client.list_pools(filter="id eq 'topn-pool'")] == ["topn-pool"]


def _start_apply(spec: Path, home: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "batchspec", "apply", str(spec), "--yes"]
    command += ["--target", "azure", "--data-dir", str(home)]
    return subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_journal(journal: Journal, step: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = journal.load()
        if state is not None and step in state.steps_done:
            return
        assert proc.poll() is None, "apply ended before it was stopped"
        time.sleep(0.05)
    raise AssertionError(f"the journal never recorded {step!r}")


def test_kill_9_mid_run_then_apply_finishes_exactly_the_planned_tasks(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    batch_client: BatchClient,
    secret_check: SecretCheck,
) -> None:
    spec = squares_spec(tmp_path / "specs", "killed", tasks=24, sleep=0.5)
    home = tmp_path / "home"
    env = azure_env(batch_service, azurite)
    journal = Journal(home, spec, "azure")
    proc = _start_apply(spec, home, env)
    # Stop it hard as soon as the job exists: tasks are being added or running.
    _wait_for_journal(journal, "job", proc)
    proc.send_signal(signal.SIGKILL)
    output, _ = proc.communicate(timeout=30)
    secret_check.add("killed apply", output)
    assert proc.returncode == -signal.SIGKILL
    state = journal.load()
    assert state is not None and not state.finished

    result = apply_cli(
        [str(spec), "--yes", "--target", "azure", "--data-dir", str(home)], secret_check, env
    )
    assert result.exit_code == 0, result.output
    assert f"continuing run {state.run_id}" in result.output
    tasks = list(batch_client.list_tasks(state.job_id, select=["id", "executionInfo"]))
    assert sorted(t.id for t in tasks) == sorted(f"sq-{n}" for n in range(1, 25))
    assert all(t.execution_info is not None and t.execution_info.exit_code == 0 for t in tasks)
    out = tmp_path / "specs" / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(f"sq-{n}.txt" for n in range(1, 25))
    for n in range(1, 25):
        assert (out / f"sq-{n}.txt").read_text() == f"{n * n}\n"
    final = journal.load()
    assert final is not None and final.finished and final.exit_code == 0
    secret_check.add("journal", journal.path.read_text())


def test_sigterm_applies_the_on_failure_policy_and_exits_130_then_apply_resumes(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    batch_client: BatchClient,
    secret_check: SecretCheck,
) -> None:
    spec = squares_spec(
        tmp_path / "specs", "termed", tasks=8, sleep=3, job_cleanup="delete", failure_job="delete"
    )
    home = tmp_path / "home"
    env = azure_env(batch_service, azurite)
    journal = Journal(home, spec, "azure")
    proc = _start_apply(spec, home, env)
    _wait_for_journal(journal, "tasks", proc)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    secret_check.add("terminated apply", output)
    assert proc.returncode == 130, output
    assert "error: interrupted" in output
    state = journal.load()
    assert state is not None and not state.finished
    assert f"clean-up: job {state.job_id} deleted" in output
    assert not state.done("job") and state.tasks_submitted == 0

    result = apply_cli(
        [str(spec), "--yes", "--target", "azure", "--data-dir", str(home)], secret_check, env
    )
    assert result.exit_code == 0, result.output
    assert f"continuing run {state.run_id}" in result.output
    assert "tasks: 8 added (8 planned)" in result.output


def test_spec_var_and_configuration_errors_exit_2_and_create_nothing(
    tmp_path: Path, secret_check: SecretCheck
) -> None:
    spec = squares_spec(tmp_path / "specs", "never", tasks=1)
    home = tmp_path / "home"
    bad_var = apply_cli([str(spec), "--var", "oops", "--data-dir", str(home)], secret_check)
    assert bad_var.exit_code == 2
    assert "error: --var 'oops': expected NAME=VALUE" in bad_var.output

    broken = tmp_path / "specs" / "broken.yaml"
    broken.write_text(spec.read_text().replace("vm_size: standard_d2s_v3", "vm_size: 3"))
    result = apply_cli([str(broken), "--data-dir", str(home)], secret_check)
    assert result.exit_code == 2
    assert f"{broken}:7:3: $.pool.vm_size: expected a string" in result.output
    assert "nothing was created" in result.output

    env = {
        "AZURE_BATCH_ENDPOINT": "https://acct.westeurope.batch.azure.com",
        "AZURE_BATCH_ACCOUNT": "",
        "AZURE_BATCH_ACCESS_KEY": "",
        "AZURE_STORAGE_CONNECTION_STRING": "",
        "AZURE_STORAGE_ACCOUNT": "",
    }
    unconfigured = apply_cli(
        [str(spec), "--target", "azure", "--data-dir", str(home)], secret_check, env
    )
    assert unconfigured.exit_code == 2
    lines = unconfigured.output.strip().splitlines()
    assert lines == [
        "error: --target azure needs storage: set AZURE_STORAGE_CONNECTION_STRING, or "
        "AZURE_STORAGE_ACCOUNT (with AZURE_STORAGE_KEY or an Entra ID login)"
    ]
    assert not (home / "runs").exists()
    assert json.dumps(lines)  # one line, printable as-is
