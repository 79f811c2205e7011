"""Bench: apply's wall time against the critical path Batch itself sets, with the realistic
clock on (allocation, boot and StartTask take Azure's typical times, scaled).

For topn and a 1,000-task sweep, each applied on a fresh local target whose emulator runs
`--clock azure:FACTOR`, from the same run:

- pool ready: the pool's creation until its last node finished its StartTask, or booted when
  it has none (the service's records);
- uploads: the time apply spent on its uploads (its own step lines);
- tasks: the first task's start until the last task's end (the service's records);
- downloads: fetching the outputs again, alone, into an empty directory;
- limit = max(pool ready, uploads) + tasks + downloads; goal: apply within 2 s + 5 % of it.

apply's wall time covers the whole command: loading and planning the spec, every step, the
clean-up of the job and containers. The pool is kept (to read its records) and deleted after.

    .venv/bin/python bench/apply_critical_path.py [--factor 0.02] [--tasks 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import itertools
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apply_1000 import SPEC as SWEEP
from apply_1000 import TimedReporter

import batchspec.apply.console
from batchspec.apply.console import Reporter
from batchspec.apply.downloads import download_outputs
from batchspec.commands.apply import run
from batchspec.emulator.engine.clock import AZURE, ENV_VAR
from batchspec.local.services import stop
from batchspec.plan.build import load_plan
from batchspec.targets import local_target

REPO = Path(__file__).resolve().parent.parent


def topn_spec(root: Path) -> Path:
    shutil.copytree(REPO / "specs" / "topn", root / "topn")
    text = (REPO / "specs" / "topn.yaml").read_text()
    text = text.replace("cleanup: {containers: delete, job: delete, pool: keep}", _CLEANUP)
    assert _CLEANUP in text
    (root / "topn.yaml").write_text(text)
    return root / "topn.yaml"


_CLEANUP = "cleanup: {containers: keep, job: keep, pool: keep}"


def sweep_spec(root: Path, tasks: int) -> Path:
    (root / "README.txt").write_text("bench input\n")
    text = SWEEP.format(tasks=tasks).replace(
        "cleanup: {containers: delete, job: delete, pool: delete}", _CLEANUP
    )
    assert _CLEANUP in text
    (root / "sweep.yaml").write_text(text)
    return root / "sweep.yaml"


def _upload_seconds(lines: list[tuple[float, str]]) -> float:
    """Seconds apply spent uploading: each upload line less the step line before it."""
    total = 0.0
    for (before, _), (at, line) in itertools.pairwise(lines):
        if line.startswith(("uploads:", "uploads for the StartTask:")):
            total += at - before
    return total


def one(spec: Path, home: Path) -> dict[str, float]:
    target = local_target(home)
    log = io.StringIO()
    reporter = TimedReporter(Console(file=log, force_terminal=False, width=200))
    batchspec.apply.console.Reporter = lambda: reporter  # type: ignore[assignment,misc]
    try:
        started = time.perf_counter()
        code = run(spec, "local", (), yes=True, rerun=False, recreate_pool=False, data_dir=home)
        wall = time.perf_counter() - started
    finally:
        batchspec.apply.console.Reporter = Reporter  # type: ignore[misc]
    if code != 0:
        raise SystemExit(log.getvalue())
    plan = load_plan(spec, {})
    assert not isinstance(plan, list)
    batch, blobs = target.batch_client(), target.blob_service()
    pool = batch.get_pool(plan.pool.id)
    # A node is ready when its StartTask ended, or (without one) when it booted.
    ends = [
        n.start_task_info.end_time if n.start_task_info else n.last_boot_time
        for n in batch.list_nodes(plan.pool.id)
    ]
    pool_ready = (max(e for e in ends if e is not None) - pool.creation_time).total_seconds()
    job_id = next(j.id for j in batch.list_jobs() if j.pool_info.pool_id == plan.pool.id)
    infos = [t.execution_info for t in batch.list_tasks(job_id)]
    starts = [i.start_time for i in infos if i and i.start_time]
    finished = [i.end_time for i in infos if i and i.end_time]
    tasks = (max(finished) - min(starts)).total_seconds()
    with tempfile.TemporaryDirectory() as elsewhere:
        moved = tuple(
            dataclasses.replace(d, to=Path(elsewhere) / str(i))
            for i, d in enumerate(plan.downloads)
        )
        begun = time.perf_counter()
        download_outputs(blobs, dataclasses.replace(plan, downloads=moved))
        downloads = time.perf_counter() - begun
    batch.begin_delete_job(job_id, polling_interval=1).result()
    batch.begin_delete_pool(plan.pool.id, polling_interval=1).result()
    for container in plan.containers:
        blobs.delete_container(container.name)
    uploads = _upload_seconds(reporter.lines)
    limit = max(pool_ready, uploads) + tasks + downloads
    return {
        "wall": wall,
        "pool_ready": pool_ready,
        "uploads": uploads,
        "tasks": tasks,
        "downloads": downloads,
        "limit": limit,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=float, default=0.02)
    parser.add_argument("--tasks", type=int, default=1000)
    args = parser.parse_args()
    os.environ[ENV_VAR] = f"azure:{args.factor}"
    clock = AZURE.scaled(args.factor)
    print(f"clock azure:{args.factor}: pool ready after at least {clock.pool_ready():.1f} s")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print("| spec | apply | limit | pool ready | uploads | tasks | downloads | over the limit |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in ("topn", f"sweep of {args.tasks:,}"):
        with tempfile.TemporaryDirectory(
            prefix="bench-critical-", ignore_cleanup_errors=True
        ) as tmp:
            root, home = Path(tmp) / "spec", Path(tmp) / "home"
            root.mkdir()
            spec = topn_spec(root) if name == "topn" else sweep_spec(root, args.tasks)
            try:
                r = one(spec, home)
            finally:
                stop(home)
        over = r["wall"] - r["limit"]
        goal = 2.0 + 0.05 * r["limit"]
        print(
            f"| {name} | {r['wall']:.1f} s | {r['limit']:.1f} s | {r['pool_ready']:.1f} s "
            f"| {r['uploads']:.1f} s | {r['tasks']:.1f} s | {r['downloads']:.1f} s "
            f"| {over:+.1f} s ({'met' if over <= goal else 'not met'}: goal {goal:.1f} s) |",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
