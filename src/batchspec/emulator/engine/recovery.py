"""After a (re)start every node reboots: the processes a crash left are killed, tasks that
were running go back to the queue, jobs caught mid-termination complete, StartTasks run again.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from batchspec.emulator.engine.container_tasks import remove_leftovers
from batchspec.emulator.engine.starttask import boot_node
from batchspec.emulator.service import lifecycle
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.values import iso


def kill_leftovers(data_dir: Path, pids: list[int]) -> None:
    """Kill task process groups a crashed service left behind (a reboot stops everything).

    Only processes whose environment names a node of this data dir: a pid recorded before a
    crash may since belong to someone else.
    """
    marker = f"AZ_BATCH_NODE_ROOT_DIR={data_dir / 'nodes'}/".encode()
    for pid in pids:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if marker in environ:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


def recover(live: Live) -> None:
    """Bring the stored state back to what a rebooted account would show, then boot nodes."""
    store = live.store
    stamp = iso()
    kill_leftovers(live.data_dir, store.take_procs())
    remove_leftovers(store.list_pools(), live.data_dir / "nodes")
    lifecycle.requeue_in_flight(live, stamp)
    for job in store.list_jobs():
        if job["state"] == "terminating":
            lifecycle.complete_job(
                live,
                job["id"],
                job.get("executionInfo", {}).get("terminateReason", "UserTerminate"),
            )
        live.dirty_jobs.add(job["id"])
    for pool, node in lifecycle.reboot_all(live, stamp):
        if pool["state"] == "active":
            live.spawn(boot_node(live, node["id"]))
