"""Bench: N x `/bin/true` on 2 nodes x 1 slot through the emulator, end to end, against
`xargs -P 2` running the same commands (the physical reference: the same work, no service).

End to end = from the first create_tasks request to the job's task counts reporting every task
completed (pool already up). For each size the reference runs right before and right after the
service, and the ratio is taken against their mean: on a shared machine the load moves within
a minute. Also timed: making each task's directories and stdout/stderr files as a Batch node
does, alone, in one thread (work the service does per task that xargs does not).

    .venv/bin/python bench/emulator_throughput.py [--tasks 1000 10000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from azure.batch import models as m

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulator_service import emulator

SLOTS = 2


def xargs_seconds(tasks: int) -> float:
    """`xargs -P 2 -n 1 /bin/true` over `tasks` input lines: /bin/true run `tasks` times."""
    lines = "".join(f"{i}\n" for i in range(tasks)).encode()
    start = time.perf_counter()
    subprocess.run(["xargs", "-P", str(SLOTS), "-n", "1", "/bin/true"], input=lines, check=True)
    return time.perf_counter() - start


def task_files_seconds(tasks: int) -> float:
    """Making `tasks` task directories (with wd/) and their stdout.txt and stderr.txt."""
    with tempfile.TemporaryDirectory(prefix="bench-files-") as tmp:
        start = time.perf_counter()
        for i in range(tasks):
            wd = Path(tmp, f"t{i}", "wd")
            wd.mkdir(parents=True)
            (wd.parent / "stdout.txt").open("wb").close()
            (wd.parent / "stderr.txt").open("wb").close()
        return time.perf_counter() - start


def emulator_seconds(tasks: int) -> tuple[float, int]:
    """Seconds from submission to all-complete, and requests made."""
    with tempfile.TemporaryDirectory() as tmp, emulator(Path(tmp) / "data") as (client, counter):
        image = m.BatchVmImageReference(
            publisher="canonical", offer="ubuntu-24_04-lts", sku="server"
        )
        client.create_pool(
            m.BatchPoolCreateOptions(
                id="bench",
                vm_size="standard_d2s_v3",
                virtual_machine_configuration=m.VirtualMachineConfiguration(
                    image_reference=image, node_agent_sku_id="batch.node.ubuntu 24.04"
                ),
                target_dedicated_nodes=SLOTS,
                task_slots_per_node=1,
            )
        )
        while sum(1 for n in client.list_nodes("bench") if n.state == "idle") < SLOTS:
            time.sleep(0.1)
        client.create_job(
            m.BatchJobCreateOptions(id="bench", pool_info=m.BatchPoolInfo(pool_id="bench"))
        )
        before = counter.total
        start = time.perf_counter()
        client.create_tasks(
            "bench",
            [m.BatchTaskCreateOptions(id=f"t{i}", command_line="/bin/true") for i in range(tasks)],
            max_concurrency=4,
        )
        while client.get_job_task_counts("bench").task_counts.completed < tasks:
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
        counts = client.get_job_task_counts("bench").task_counts
        assert counts.succeeded == tasks, counts
        return elapsed, counter.total - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print("| tasks | `xargs -P 2` (before, after) | emulator | ratio | requests |", end="")
    print(" task files alone |")
    print("|---:|---:|---:|---:|---:|---:|")
    for tasks in args.tasks:
        before = xargs_seconds(tasks)
        service, requests = emulator_seconds(tasks)
        after = xargs_seconds(tasks)
        files = task_files_seconds(tasks)
        reference = (before + after) / 2
        print(
            f"| {tasks:,} | {reference:.2f} s ({before:.2f}, {after:.2f}) | {service:.2f} s "
            f"| **{service / reference:.1f}** | {requests} | {files:.2f} s |",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
