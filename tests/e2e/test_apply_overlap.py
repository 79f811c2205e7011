"""apply overlaps its own work with the pool's allocation and boot, on a local Batch service
whose realistic clock makes nodes take a while: the job holds every task while the nodes are
still starting, and a kill in that overlapped phase is continued by the next apply without a
task added twice or a file uploaded again."""

from __future__ import annotations

import contextlib
import re
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.batch import BatchClient
from azure.batch import models as bm
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import ResourceNotFoundError

from batchspec.apply.journal import Journal
from conftest import BatchService, start_batch_service

from .conftest import SecretCheck, azure_env
from .specs import expected_top_words, topn_copy
from .test_apply_command import apply_cli
from .test_apply_kills import start_apply

pytestmark = pytest.mark.timeout(240)

# Slow enough that apply has sent everything long before a node can run a task.
SLOW = "allocation=4,creating=3,starting=3,start_task=2"
NOT_READY = {None, "creating", "starting", "waitingforstarttask"}


@pytest.fixture(scope="module")
def slow_service() -> Iterator[BatchService]:
    with (
        tempfile.TemporaryDirectory(prefix="batch-slow-") as tmp,
        start_batch_service(Path(tmp) / "data", extra_args=("--clock", SLOW)) as svc,
    ):
        yield svc


@pytest.fixture
def slow_client(slow_service: BatchService) -> Iterator[BatchClient]:
    """A client of the slow service; the test's pool and jobs are deleted after it, whatever
    its outcome, so that the next test starts with a pool still to allocate."""
    client = BatchClient(
        slow_service.endpoint, AzureNamedKeyCredential(slow_service.account, slow_service.key)
    )
    yield client
    _clean(client)
    client.close()


def _job_of(client: BatchClient) -> Any:
    """The topn job of the run under way, if there is one."""
    jobs = [j for j in client.list_jobs() if j.id.startswith("topn-")]
    return jobs[0] if jobs else None


def wait_for_queued_tasks(client: BatchClient, pool_id: str, tasks: int) -> list[str | None]:
    """Until the job holds `tasks` tasks; return the pool's node states at that moment."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = _job_of(client)
        if job is not None and client.get_job_task_counts(job.id).task_counts.active >= tasks:
            states = [n.state.value if n.state else None for n in client.list_nodes(pool_id)]
            return states or [None]
        time.sleep(0.05)
    raise AssertionError("the job never held every task")


def _clean(client: BatchClient) -> None:
    for job in client.list_jobs():
        client.begin_delete_job(job.id, polling_interval=1)
    with contextlib.suppress(ResourceNotFoundError):
        client.begin_delete_pool("topn-pool", polling_interval=1)
    deadline = time.monotonic() + 60
    while any(True for _ in client.list_pools()) and time.monotonic() < deadline:
        time.sleep(0.2)


def test_tasks_are_queued_while_the_nodes_are_still_starting(
    tmp_path: Path,
    slow_service: BatchService,
    slow_client: BatchClient,
    azurite: Any,
    secret_check: SecretCheck,
) -> None:
    spec = topn_copy(tmp_path / "specs")
    env = azure_env(slow_service, azurite)
    proc = start_apply(spec, tmp_path / "home", env)
    try:
        states = wait_for_queued_tasks(slow_client, "topn-pool", 3)
        output, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    secret_check.add("apply on a slow pool", output)
    assert proc.returncode == 0, output
    assert set(states) <= NOT_READY, states  # all 3 tasks queued, no node ready yet
    lines = output.splitlines()
    # The summary lines, not the progress lines of the same steps.
    first = next(
        i
        for i, line in enumerate(lines)
        if line.startswith("uploads for the StartTask") and "sent" in line
    )
    pool = next(i for i, line in enumerate(lines) if line.startswith("pool topn-pool: created"))
    added = next(i for i, line in enumerate(lines) if line.startswith("tasks: 3 added"))
    ready = next(i for i, line in enumerate(lines) if "node(s) ready" in line)
    assert first < pool < added < ready, output
    # The StartTask's script first, then all four (the containers may be kept by other tests).
    assert _files(lines[first], "uploads for the StartTask") == 1
    summary = next(x for x in lines if x.startswith("uploads: ") and "sent" in x)
    assert _files(summary, "uploads") == 4
    _check_outputs(spec)


def _files(line: str, label: str) -> int:
    """How many files an upload line counts, sent or unchanged."""
    found = re.fullmatch(rf"{label}: (\d+) file\(s\) sent \([^)]+\), (\d+) unchanged", line)
    assert found is not None, line
    return int(found.group(1)) + int(found.group(2))


def _check_outputs(spec: Path) -> None:
    inputs = sorted((spec.parent / "topn" / "data").glob("*.txt"))
    assert len(inputs) == 3
    for data in inputs:
        out = spec.parent / "out" / "topn" / f"{data.stem}_OUTPUT.txt"
        assert out.read_text() == expected_top_words(data)


def test_a_kill_while_the_nodes_start_is_continued_without_adding_or_sending_again(
    tmp_path: Path,
    slow_service: BatchService,
    slow_client: BatchClient,
    azurite: Any,
    secret_check: SecretCheck,
) -> None:
    spec = topn_copy(tmp_path / "specs")
    home = tmp_path / "home"
    env = azure_env(slow_service, azurite)
    proc = start_apply(spec, home, env)
    try:
        states = wait_for_queued_tasks(slow_client, "topn-pool", 3)
        proc.send_signal(signal.SIGKILL)
        killed, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    secret_check.add("killed apply", killed)
    assert set(states) <= NOT_READY, states
    state = Journal(home, spec, "azure").load()
    assert state is not None and state.outcome is None

    again = apply_cli(
        [str(spec), "--yes", "--target", "azure", "--data-dir", str(home)], secret_check, env
    )
    assert again.exit_code == 0, again.output
    assert f"run {state.run_id} of topn" in again.output  # the same run, continued
    assert "uploads: 0 file(s) sent (0 bytes), 4 unchanged" in again.output
    assert "tasks: 3 added" not in again.output
    assert "tasks: 3 succeeded, 0 failed" in again.output  # each task once: 3, not 6
    _check_outputs(spec)
    nodes = list(slow_client.list_nodes("topn-pool"))
    ready = (bm.BatchNodeState.IDLE, bm.BatchNodeState.RUNNING)
    assert len(nodes) == 2 and all(n.state in ready for n in nodes)
