"""Bench: 1,000 x `/bin/true` on 2 nodes x 1 slot through the emulator, end to end, against
`xargs -P 2` running the same commands (the physical reference: the same work, no service).

End to end = from the first create_tasks request to the job's task counts reporting every task
completed (pool already up). Prints both times and the ratio from one run.

    .venv/bin/python bench/emulator_throughput.py [--tasks 1000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from azure.batch import models as m

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulator_service import emulator


def xargs_seconds(tasks: int) -> float:
    """`xargs -P 2 -n 1 /bin/true` over `tasks` input lines: /bin/true run `tasks` times."""
    lines = "".join(f"{i}\n" for i in range(tasks)).encode()
    start = time.perf_counter()
    subprocess.run(["xargs", "-P", "2", "-n", "1", "/bin/true"], input=lines, check=True)
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
                target_dedicated_nodes=2,
                task_slots_per_node=1,
            )
        )
        while sum(1 for n in client.list_nodes("bench") if n.state == "idle") < 2:
            time.sleep(0.1)
        client.create_job(
            m.BatchJobCreateOptions(id="bench", pool_info=m.BatchPoolInfo(pool_id="bench"))
        )
        before = counter.total
        start = time.perf_counter()
        client.create_tasks(
            "bench",
            [m.BatchTaskCreateOptions(id=f"t{i}", command_line="/bin/true") for i in range(tasks)],
        )
        while client.get_job_task_counts("bench").task_counts.completed < tasks:
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
        counts = client.get_job_task_counts("bench").task_counts
        assert counts.succeeded == tasks, counts
        return elapsed, counter.total - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=1000)
    args = parser.parse_args()
    reference = xargs_seconds(args.tasks)
    service, requests = emulator_seconds(args.tasks)
    print(f"xargs -P 2:          {reference:7.2f} s")
    print(f"emulator end to end: {service:7.2f} s  ({requests} requests incl. count polls)")
    print(f"ratio emulator/xargs: {service / reference:.1f}")


if __name__ == "__main__":
    main()
