"""State survives a restart of the emulator, and a stop acts like a reboot of every node:
running tasks are requeued (not counted as retries), StartTasks run again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.batch import BatchClient
from azure.batch import models as m
from azure.core.credentials import AzureNamedKeyCredential
from emulator_helpers import job_options, pool_options, stdout_of, wait_task_done, wait_until

from conftest import start_batch_service

pytestmark = pytest.mark.timeout(180)

# Waits on its first run (so the restart interrupts it), finishes on the next one.
SECOND_RUN = (
    "/bin/bash -c 'if [ -f $AZ_BATCH_NODE_SHARED_DIR/seen ]; then echo second run; "
    "else touch $AZ_BATCH_NODE_SHARED_DIR/seen; sleep 120; fi'"
)


def _client(svc: object) -> BatchClient:
    return BatchClient(
        svc.endpoint,  # type: ignore[attr-defined]
        AzureNamedKeyCredential(svc.account, svc.key),  # type: ignore[attr-defined]
    )


def test_state_survives_restart_and_running_task_is_requeued(tmp_path: Path) -> None:
    data = tmp_path / "data"
    start = m.BatchStartTask(
        command_line="/bin/bash -c 'echo booted >> $AZ_BATCH_NODE_SHARED_DIR/boots'",
        wait_for_success=True,
    )
    with start_batch_service(data) as svc:
        client = _client(svc)
        client.create_pool(pool_options("keep", nodes=1, start_task=start, task_slots_per_node=2))
        client.create_job(job_options("job", "keep"))
        client.create_task(
            "job", m.BatchTaskCreateOptions(id="done", command_line="/bin/echo hello")
        )
        wait_task_done(client, "job", "done")
        client.create_task(
            "job", m.BatchTaskCreateOptions(id="interrupted", command_line=SECOND_RUN)
        )
        wait_until(lambda: client.get_task("job", "interrupted").state == m.BatchTaskState.RUNNING)
        node_id = next(iter(client.list_nodes("keep"))).id
        client.close()

    with start_batch_service(data) as svc:
        client = _client(svc)
        assert client.get_pool("keep").target_dedicated_nodes == 1
        assert [n.id for n in client.list_nodes("keep")] == [node_id]
        done = client.get_task("job", "done")
        assert done.state == m.BatchTaskState.COMPLETED
        assert stdout_of(client, "job", "done") == "hello\n"
        task = wait_task_done(client, "job", "interrupted", timeout=60)
        info = task.execution_info
        assert info.result == m.BatchTaskExecutionResult.SUCCESS
        assert info.requeue_count == 1 and info.retry_count == 0
        assert stdout_of(client, "job", "interrupted") == "second run\n"
        boots = b"".join(client.download_node_file("keep", node_id, "shared/boots"))
        assert boots == b"booted\nbooted\n"  # the StartTask ran again after the "reboot"
        counts = client.get_job_task_counts("job").task_counts
        assert (counts.completed, counts.succeeded) == (2, 2)
        client.close()


def test_processes_left_by_a_killed_emulator_are_stopped_on_restart(tmp_path: Path) -> None:
    import os
    import signal
    import time

    data = tmp_path / "data"
    command = "/bin/bash -c 'echo $$ > $AZ_BATCH_NODE_SHARED_DIR/pid; exec sleep 300'"
    with start_batch_service(data) as svc:
        client = _client(svc)
        client.create_pool(pool_options("crash", nodes=1))
        client.create_job(job_options("job", "crash"))
        client.create_task("job", m.BatchTaskCreateOptions(id="sleeper", command_line=command))
        node = wait_until(lambda: list(client.list_nodes("crash")))[0]
        pid_file = data / "nodes" / node.id / "tasks" / "shared" / "pid"
        wait_until(lambda: pid_file.exists() and pid_file.read_text().strip())
        pid = int(pid_file.read_text())
        os.kill(svc.pid, signal.SIGKILL)  # no clean shutdown: the sleeper survives
        time.sleep(0.3)
        os.kill(pid, 0)  # still alive
        client.close()
    pid_file.unlink()
    with start_batch_service(data) as svc:
        client = _client(svc)
        wait_until(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), timeout=20)
        task = wait_until(
            lambda: (
                (t := client.get_task("job", "sleeper")).state == m.BatchTaskState.RUNNING
                and pid_file.exists()
                and t
            )
        )
        assert task.execution_info.requeue_count == 1
        client.close()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True
