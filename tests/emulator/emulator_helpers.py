"""Small helpers for the emulator tests: SDK model builders and waiting on counts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from azure.batch import BatchClient
from azure.batch import models as m

UBUNTU = m.BatchVmImageReference(publisher="canonical", offer="ubuntu-24_04-lts", sku="server")
AGENT = "batch.node.ubuntu 24.04"


def unique(prefix: str) -> str:
    """An id no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def pool_options(pool_id: str, nodes: int = 1, **kwargs: Any) -> m.BatchPoolCreateOptions:
    """A pool create body on the supported Ubuntu 24.04 image."""
    return m.BatchPoolCreateOptions(
        id=pool_id,
        vm_size="standard_d2s_v3",
        virtual_machine_configuration=m.VirtualMachineConfiguration(
            image_reference=UBUNTU, node_agent_sku_id=AGENT
        ),
        target_dedicated_nodes=nodes,
        **kwargs,
    )


def job_options(job_id: str, pool_id: str, **kwargs: Any) -> m.BatchJobCreateOptions:
    """A job create body on `pool_id`."""
    return m.BatchJobCreateOptions(id=job_id, pool_info=m.BatchPoolInfo(pool_id=pool_id), **kwargs)


def wait_until(predicate: Any, timeout: float = 60.0, interval: float = 0.1) -> Any:
    """Poll until predicate() is truthy; return its value or fail with the last one."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        time.sleep(interval)
        value = predicate()
    return value


def wait_task_done(client: BatchClient, job_id: str, task_id: str, timeout: float = 60) -> Any:
    """Wait for a task to be completed; return it."""

    def done() -> Any:
        task = client.get_task(job_id, task_id)
        return task if task.state == m.BatchTaskState.COMPLETED else None

    return wait_until(done, timeout)


def stdout_of(client: BatchClient, job_id: str, task_id: str, name: str = "stdout.txt") -> str:
    """A task file's content, downloaded through the SDK."""
    return b"".join(client.download_task_file(job_id, task_id, name)).decode()


def run_ported_program(
    script: Path, batch_service: Any, storage: Any, pool_id: str, job_id: str
) -> subprocess.CompletedProcess[str]:
    """Run a program written for azure-batch, configured only by its environment variables."""
    env = {
        **os.environ,
        "BATCH_ACCOUNT_URL": batch_service.endpoint,
        "BATCH_ACCOUNT_NAME": batch_service.account,
        "BATCH_ACCOUNT_KEY": batch_service.key,
        "STORAGE_ACCOUNT_URL": storage.blob_endpoint,
        "STORAGE_ACCOUNT_NAME": storage.account_name,
        "STORAGE_ACCOUNT_KEY": storage.account_key,
        "POOL_ID": pool_id,
        "JOB_ID": job_id,
    }
    return subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=200
    )
