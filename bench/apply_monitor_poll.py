"""Bench: the cost of one monitoring poll at 10,000 tasks, task counts vs listing every task.

The tutorial's client polls by listing all tasks of the job and checking their states; apply
polls the job's task counts. A job of 10,000 tasks is added to a pool with no nodes, so all
tasks stay active and every poll sees the same 10,000 records. Prints requests, response bytes,
seconds and peak Python memory per poll for both ways.

    .venv/bin/python bench/apply_monitor_poll.py [--tasks 10000] [--polls 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apply_measure import counting, measured
from azure.batch import models as bm

from batchspec.apply.monitor import task_counts
from batchspec.local.services import stop
from batchspec.targets import local_target


def list_all_poll(client: object, job_id: str) -> int:
    """The tutorial's poll: list every task and count the incomplete ones."""
    tasks = client.list_tasks(job_id)  # type: ignore[attr-defined]
    return sum(1 for t in tasks if t.state != bm.BatchTaskState.COMPLETED)


def counts_poll(client: object, job_id: str) -> int:
    """apply's poll: one task-counts request."""
    counts = task_counts(client, job_id)  # type: ignore[arg-type]
    return counts.active + counts.running


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--polls", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp:
        home = Path(tmp) / "home"
        target = local_target(home)
        client = target.batch_client()
        try:
            image = bm.BatchVmImageReference(
                publisher="canonical", offer="ubuntu-24_04-lts", sku="server", version="latest"
            )
            client.create_pool(
                bm.BatchPoolCreateOptions(
                    id="monitor-pool",
                    vm_size="standard_d2s_v3",
                    virtual_machine_configuration=bm.VirtualMachineConfiguration(
                        image_reference=image, node_agent_sku_id="batch.node.ubuntu 24.04"
                    ),
                    target_dedicated_nodes=0,
                )
            )
            client.create_job(
                bm.BatchJobCreateOptions(
                    id="monitor-job", pool_info=bm.BatchPoolInfo(pool_id="monitor-pool")
                )
            )
            started = time.perf_counter()
            tasks = [
                bm.BatchTaskCreateOptions(id=f"t{i:05d}", command_line="/bin/true")
                for i in range(args.tasks)
            ]
            client.create_tasks("monitor-job", tasks, max_concurrency=4)
            print(f"added {args.tasks} tasks in {time.perf_counter() - started:.1f}s")
            for name, poll in (("task counts", counts_poll), ("list all tasks", list_all_poll)):
                seconds, peaks, requests, volume = [], [], [], []
                for _ in range(args.polls):
                    with counting() as traffic, measured() as cost:
                        incomplete = poll(client, "monitor-job")
                    assert incomplete == args.tasks, incomplete
                    seconds.append(cost.seconds)
                    peaks.append(cost.peak_python_mb)
                    requests.append(traffic.requests)
                    volume.append(traffic.response_bytes)
                print(
                    f"{name:15s} per poll: {statistics.median(requests):.0f} request(s), "
                    f"{statistics.median(volume) / 1e3:.1f} kB, "
                    f"{statistics.median(seconds) * 1000:.0f} ms, "
                    f"peak Python heap {max(peaks) * 1000:.0f} kB"
                )
        finally:
            client.close()
            stop(home)


if __name__ == "__main__":
    main()
