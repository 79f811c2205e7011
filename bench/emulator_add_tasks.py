"""Bench: the cost of adding 10,000 tasks to a job on the emulator (requests made, seconds),
with the SDK's create_tasks sequentially and with 4 threads. The job's pool has no nodes, so
only submission is measured.

    .venv/bin/python bench/emulator_add_tasks.py [--tasks 10000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from azure.batch import models as m

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulator_service import emulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, emulator(Path(tmp) / "data") as (client, counter):
        for concurrency in (0, 4):
            job_id = f"add-{concurrency}"
            client.create_job(
                m.BatchJobCreateOptions(id=job_id, pool_info=m.BatchPoolInfo(pool_id="none"))
            )
            tasks = [
                m.BatchTaskCreateOptions(id=f"task-{i:05}", command_line=f"/bin/echo {i}")
                for i in range(args.tasks)
            ]
            before = counter.by_kind.get("POST .../addtaskcollection", 0)
            start = time.perf_counter()
            client.create_tasks(job_id, tasks, max_concurrency=concurrency)
            elapsed = time.perf_counter() - start
            calls = counter.by_kind["POST .../addtaskcollection"] - before
            counts = client.get_job_task_counts(job_id).task_counts
            assert counts.active == args.tasks, counts
            start = time.perf_counter()
            client.get_job_task_counts(job_id)
            count_ms = (time.perf_counter() - start) * 1000
            mode = f"{concurrency} threads" if concurrency else "sequential"
            print(f"{args.tasks} tasks, {mode}: {calls} addtaskcollection requests, "
                  f"{elapsed:.2f} s ({args.tasks / elapsed:.0f} tasks/s); "
                  f"task counts answered in {count_ms:.1f} ms")  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"emulator peak RSS: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
