"""Bench: the cost of one scheduler tick with 1,000, 10,000 and 100,000 tasks queued.

In-process (no HTTP): a pool of 2 nodes x 1 slot and a job (onAllTasksComplete: terminatejob)
holding N active tasks. Two kinds of tick, timed over many repetitions (median):

- busy: every slot is taken, the job was touched (as when a task has just completed): the tick
  looks at pools, nodes and the job and dispatches nothing;
- dispatch: one slot is free: the tick picks the oldest runnable task and assigns it (the
  task's process is not started: the tick's own cost only).

A tick whose cost is flat in the number of tasks costs the same at 1,000 and at 100,000.

    .venv/bin/python bench/emulator_tick.py [--tasks 1000,10000,100000] [--ticks 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from batchspec.emulator.engine.scheduler import Scheduler
from batchspec.emulator.service import jobs, pools
from batchspec.emulator.service.runtime import Live
from batchspec.emulator.service.store import Store
from batchspec.emulator.service.validation import new_task

_IMAGE = {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server"}


def _drop(coro: Awaitable[Any]) -> None:
    """Stands in for Live.spawn: the dispatched task's run is not started."""
    close = getattr(coro, "close", None)
    if close is not None:
        close()


async def _ticks(data_dir: Path, tasks: int, repeat: int) -> tuple[float, float]:
    live = Live(Store(data_dir / "batch.sqlite3"), data_dir, "bench", "", "http://127.0.0.1:1")
    scheduler = Scheduler(live)
    pools.create(
        live,
        {
            "id": "bench",
            "vmSize": "standard_d2s_v3",
            "targetDedicatedNodes": 2,
            "taskSlotsPerNode": 1,
            "virtualMachineConfiguration": {
                "imageReference": _IMAGE,
                "nodeAgentSKUId": "batch.node.ubuntu 24.04",
            },
        },
    )
    while sum(n["state"] == "idle" for n in live.store.list_nodes("bench")) < 2:
        scheduler.tick()
        await asyncio.sleep(0.01)
    job = jobs.create(
        live,
        {"id": "bench", "poolInfo": {"poolId": "bench"}, "onAllTasksComplete": "terminatejob"},
    )
    for start in range(0, tasks, 1000):
        docs = [
            (new_task({"id": f"t{i}", "commandLine": "/bin/true"}, job, live.endpoint), 0, [])
            for i in range(start, min(tasks, start + 1000))
        ]
        live.store.insert_tasks("bench", "bench", docs)
    live.spawn = _drop  # type: ignore[method-assign]
    nodes = [n["id"] for n in live.store.list_nodes("bench")]
    busy: list[float] = []
    dispatch: list[float] = []
    for _ in range(repeat):
        for node_id in nodes:
            live.used_slots[node_id] = 1
        live.dirty_jobs.add("bench")
        started = time.perf_counter()
        scheduler.tick()
        busy.append(time.perf_counter() - started)
        live.used_slots[nodes[0]] = 0
        live.dirty_jobs.add("bench")
        started = time.perf_counter()
        scheduler.tick()
        dispatch.append(time.perf_counter() - started)
        live.tasks.clear()
    live.store.close()
    return statistics.median(busy), statistics.median(dispatch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", default="1000,10000,100000")
    parser.add_argument("--ticks", type=int, default=300)
    args = parser.parse_args()
    print("| tasks queued | busy tick (median) | dispatching tick (median) |")
    print("|---:|---:|---:|")
    for n in [int(t) for t in args.tasks.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            busy, dispatch = asyncio.run(_ticks(Path(tmp), n, args.ticks))
        print(f"| {n:,} | {busy * 1000:.2f} ms | {dispatch * 1000:.2f} ms |", flush=True)


if __name__ == "__main__":
    main()
