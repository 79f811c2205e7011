"""`batchspec apply` under Batch service faults: 503 ServerBusy answers, dropped connections and
lost responses, injected by a proxy in front of the real local Batch service, through the real
SDKs. Transient faults must not change the outcome; a persistent one must end the run in
bounded time with one clear line, and the next apply must finish it without duplicates.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.batch import BatchClient

from batchspec import targets
from batchspec.apply import service_faults
from batchspec.apply.journal import Journal

from .conftest import SecretCheck, azure_env
from .faults import FaultProxy, fault_proxy
from .specs import squares_spec
from .test_apply_command import apply_cli

pytestmark = pytest.mark.timeout(300)

ADD_COLLECTION = r"^/jobs/[^/]+/addtaskcollection$"
TASK_COUNTS = r"^/jobs/[^/]+/taskcounts$"


@pytest.fixture
def proxy(batch_service: Any) -> Iterator[FaultProxy]:
    """A fault proxy in front of the session's Batch service, with no fault yet."""
    with fault_proxy(batch_service.endpoint) as running:
        yield running


def _env(proxy: FaultProxy, batch_service: Any, azurite: Any) -> dict[str, str]:
    return azure_env(batch_service, azurite) | {"AZURE_BATCH_ENDPOINT": proxy.url}


def _squares_with_inputs(root: Path, prefix: str, tasks: int) -> Path:
    """The squares sweep with two input files uploaded, so a re-upload would show."""
    spec = squares_spec(root, prefix, tasks=tasks, sleep=0.01)
    (root / "data").mkdir()
    for name in ("a.txt", "b.txt"):
        (root / "data" / name).write_text(f"input {name}\n" * 1000)
    text = spec.read_text().replace(
        "containers:\n", f'containers:\n  in: {{name: "{prefix}-in"}}\n', 1
    )
    spec.write_text(text + 'uploads: [{source: "data/*.txt", container: in}]\n')
    return spec


def _check_squares(client: BatchClient, job_id: str, out: Path, tasks: int) -> None:
    """Exactly the planned tasks, each run once and succeeded, and every output right."""
    found = list(client.list_tasks(job_id, select=["id", "executionInfo"]))
    assert sorted(t.id for t in found) == sorted(f"sq-{n}" for n in range(1, tasks + 1))
    assert all(t.execution_info is not None and t.execution_info.exit_code == 0 for t in found)
    assert all(t.execution_info is not None and t.execution_info.retry_count == 0 for t in found)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"sq-{n}.txt" for n in range(1, tasks + 1)
    )
    for n in range(1, tasks + 1):
        assert (out / f"sq-{n}.txt").read_text() == f"{n * n}\n"


def test_transient_faults_change_nothing_and_a_lost_add_creates_no_duplicate(
    tmp_path: Path,
    proxy: FaultProxy,
    batch_service: Any,
    azurite: Any,
    batch_client: BatchClient,
    secret_check: SecretCheck,
) -> None:
    tasks = 150  # two add-collection requests
    spec = squares_spec(tmp_path / "specs", "flaky", tasks=tasks, sleep=0.01)
    home = tmp_path / "home"
    # The first collection is added but its answer is lost; then two ServerBusy answers.
    proxy.add("POST", ADD_COLLECTION, "lose", times=1)
    proxy.add("POST", ADD_COLLECTION, "busy", times=2)
    proxy.add("POST", ADD_COLLECTION, "drop", times=1)
    # The pool and the job are created, and the answers lost.
    proxy.add("POST", r"^/pools$", "lose", times=1)
    proxy.add("POST", r"^/jobs$", "lose", times=1)
    # Two node polls fail (azure-core sends each four times): the wait rides it out.
    proxy.add("GET", r"^/pools/flaky-pool/nodes$", "busy", times=8)
    proxy.add("GET", r"^/pools/flaky-pool$", "busy", times=2)
    proxy.add("GET", TASK_COUNTS, "busy", times=2)
    proxy.add("GET", TASK_COUNTS, "drop", times=1)

    args = [str(spec), "--yes", "--target", "azure", "--data-dir", str(home)]
    result = apply_cli(args, secret_check, _env(proxy, batch_service, azurite))

    assert result.exit_code == 0, result.output
    assert f"tasks: {tasks} succeeded, 0 failed" in result.output
    assert all(rule.hits == rule.times for rule in proxy.rules), proxy.rules
    assert (
        "warning: the Batch service is not answering (ServerBusy: The server is currently "
        "unable to receive requests. Please retry your request.); still waiting for the "
        "nodes of pool flaky-pool for up to 120s"
    ) in result.output
    state = Journal(home, spec, "azure").load()
    assert state is not None and state.finished and state.exit_code == 0
    _check_squares(batch_client, state.job_id, tmp_path / "specs" / "out", tasks)


def test_a_service_outage_ends_apply_with_one_line_and_the_next_apply_finishes_the_run(
    tmp_path: Path,
    proxy: FaultProxy,
    batch_service: Any,
    azurite: Any,
    batch_client: BatchClient,
    secret_check: SecretCheck,
) -> None:
    tasks = 120
    spec = _squares_with_inputs(tmp_path / "specs", "outage", tasks)
    home = tmp_path / "home"
    env = _env(proxy, batch_service, azurite)
    args = [str(spec), "--yes", "--target", "azure", "--data-dir", str(home)]
    # The service goes down for task adds and everything after them.
    proxy.add("POST", ADD_COLLECTION, "busy", times=None)
    proxy.add("GET", TASK_COUNTS, "busy", times=None)

    started = time.monotonic()
    down = apply_cli(args, secret_check, env)
    took = time.monotonic() - started

    assert down.exit_code == 1, down.output
    assert "Traceback" not in down.output
    errors = [line for line in down.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, down.output
    assert errors[0].startswith(
        "error: could not add tasks: the Batch service did not take them in 4 attempts "
        "(ServerBusy: The server is currently unable to receive requests."
    ), errors[0]
    assert "run apply again" in down.output
    assert down.output.count("warning: the Batch service did not take a task collection") == 1
    assert took < 120, f"apply took {took:.0f}s to give up"
    journal = Journal(home, spec, "azure")
    state = journal.load()
    assert state is not None and not state.finished
    assert {"uploads", "pool", "job"} <= set(state.steps_done)

    proxy.clear()
    again = apply_cli(args, secret_check, env)
    assert again.exit_code == 0, again.output
    assert f"continuing run {state.run_id}" in again.output
    assert "uploads: 2 file(s) sent" in down.output
    assert "uploads: 0 file(s) sent (0 bytes), 2 unchanged" in again.output
    _check_squares(batch_client, state.job_id, tmp_path / "specs" / "out", tasks)
    final = journal.load()
    assert final is not None and final.finished and final.exit_code == 0
    secret_check.add("journal", journal.path.read_text())


def test_watching_rides_out_an_outage_longer_than_the_sdk_retries(
    tmp_path: Path,
    proxy: FaultProxy,
    batch_service: Any,
    azurite: Any,
    batch_client: BatchClient,
    secret_check: SecretCheck,
) -> None:
    tasks = 10
    spec = squares_spec(tmp_path / "specs", "blip", tasks=tasks, sleep=0.5)
    home = tmp_path / "home"
    # azure-core sends each poll four times (three retries, ~5 s): this fails two polls.
    proxy.add("GET", TASK_COUNTS, "busy", times=8)
    args = [str(spec), "--yes", "--target", "azure", "--data-dir", str(home)]
    result = apply_cli(args, secret_check, _env(proxy, batch_service, azurite))

    assert result.exit_code == 0, result.output
    assert proxy.rules[0].hits == 8
    assert "warning: the Batch service is not answering (ServerBusy: " in result.output
    assert "the Batch service answers again after" in result.output
    state = Journal(home, spec, "azure").load()
    assert state is not None and state.finished
    _check_squares(batch_client, state.job_id, tmp_path / "specs" / "out", tasks)


def test_an_outage_while_watching_ends_apply_and_the_next_apply_only_watches(
    tmp_path: Path,
    proxy: FaultProxy,
    batch_service: Any,
    azurite: Any,
    batch_client: BatchClient,
    secret_check: SecretCheck,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service_faults, "OUTAGE_SECONDS", 3.0)
    tasks = 10
    spec = squares_spec(tmp_path / "specs", "dark", tasks=tasks, sleep=0.5)
    home = tmp_path / "home"
    env = _env(proxy, batch_service, azurite)
    args = [str(spec), "--yes", "--target", "azure", "--data-dir", str(home)]
    proxy.add("GET", TASK_COUNTS, "busy", times=None)

    down = apply_cli(args, secret_check, env)

    assert down.exit_code == 1, down.output
    assert "Traceback" not in down.output
    errors = [line for line in down.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, down.output
    assert errors[0].startswith("error: the Batch service did not answer for ")
    assert "watching job dark-" in errors[0] and "ServerBusy" in errors[0]
    journal = Journal(home, spec, "azure")
    state = journal.load()
    assert state is not None and not state.finished and "tasks" in state.steps_done

    proxy.clear()
    adds = proxy.count("POST", ADD_COLLECTION)
    again = apply_cli(args, secret_check, env)
    assert again.exit_code == 0, again.output
    assert f"continuing run {state.run_id}" in again.output
    assert proxy.count("POST", ADD_COLLECTION) == adds
    _check_squares(batch_client, state.job_id, tmp_path / "specs" / "out", tasks)


def test_a_service_that_stops_answering_ends_apply_in_bounded_time(
    tmp_path: Path,
    proxy: FaultProxy,
    batch_service: Any,
    azurite: Any,
    batch_client: BatchClient,
    secret_check: SecretCheck,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same mechanism as the 60 s read timeout, in seconds rather than minutes.
    monkeypatch.setitem(targets.BATCH_CLIENT_OPTIONS, "read_timeout", 2)
    monkeypatch.setattr(service_faults, "OUTAGE_SECONDS", 3.0)
    tasks = 10
    spec = squares_spec(tmp_path / "specs", "silent", tasks=tasks, sleep=0.5)
    home = tmp_path / "home"
    env = _env(proxy, batch_service, azurite)
    args = [str(spec), "--yes", "--target", "azure", "--data-dir", str(home)]
    # One add goes unanswered (the collection is sent again), then polls get no answer.
    proxy.add("POST", ADD_COLLECTION, "hang", times=1)
    proxy.add("GET", TASK_COUNTS, "hang", times=None)

    started = time.monotonic()
    silent = apply_cli(args, secret_check, env)
    took = time.monotonic() - started

    assert silent.exit_code == 1, silent.output
    assert f"tasks: {tasks} added" in silent.output
    errors = [line for line in silent.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, silent.output
    assert errors[0].startswith("error: the Batch service did not answer for "), errors[0]
    assert took < 90, f"apply took {took:.0f}s to give up"

    proxy.clear()
    again = apply_cli(args, secret_check, env)
    assert again.exit_code == 0, again.output
    state = Journal(home, spec, "azure").load()
    assert state is not None and state.finished
    _check_squares(batch_client, state.job_id, tmp_path / "specs" / "out", tasks)
