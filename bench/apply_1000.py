"""Bench: apply of a 1,000-task plan on the local target.

Each task squares its index and writes it to result.txt, uploaded by an output-file rule and
downloaded at the end, so the run exercises every step: containers, upload, pool, job, task
submission (ten collections of 100), monitoring, downloads and clean-up. Prints requests made
(by kind), seconds and peak memory of the apply process.

    .venv/bin/python bench/apply_1000.py [--tasks 1000] [--keep-services]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apply_measure import counting, measured

from batchspec.apply.console import Reporter
from batchspec.apply.journal import Journal
from batchspec.apply.workflow import ApplyOptions, Workflow, new_run_state
from batchspec.local.services import stop
from batchspec.plan.model import (
    CleanupPlan,
    ContainerPlan,
    DownloadPlan,
    ImagePlan,
    JobPlan,
    OutputPlan,
    Plan,
    PoolPlan,
    RunInfo,
    TaskPlan,
    UploadPlan,
)
from batchspec.targets import local_target


def sweep_plan(root: Path, tasks: int) -> Plan:
    """A parameter sweep of `tasks` tasks on a 2-node pool with 4 slots per node."""
    readme = root / "README.txt"
    readme.write_text("bench input\n")
    image = ImagePlan(
        "canonical", "ubuntu-24_04-lts", "server", "latest", "batch.node.ubuntu 24.04"
    )
    task_plans = [
        TaskPlan(
            id=f"square-{i:05d}",
            command_line=f"/bin/bash -c 'echo $(({i} * {i})) > result.txt'",
            outputs=(OutputPlan("result.txt", "output", f"results/{i:05d}.txt", "success"),),
        )
        for i in range(tasks)
    ]
    return Plan(
        name="bench-sweep",
        spec_path=root / "sweep.yaml",
        spec_digest="bench",
        run=RunInfo("bench", "2026-11-24"),
        vars=(),
        containers=(ContainerPlan("input", "bench-input"), ContainerPlan("output", "bench-output")),
        uploads=(UploadPlan(readme, "input", "README.txt", readme.stat().st_size),),
        pool=PoolPlan("bench-pool", "standard_d2s_v3", 2, 0, image, task_slots_per_node=4),
        job=JobPlan("bench-sweep-job", timeout_seconds=3600),
        tasks=task_plans,
        downloads=(DownloadPlan("output", root / "out", prefix="results/"),),
        cleanup=CleanupPlan(containers="delete", job="delete", pool="delete"),
    )


class TimedReporter(Reporter):
    """Remembers when each step line was printed, for a timeline of the run."""

    def __init__(self, console: Console) -> None:
        super().__init__(console)
        self.started = time.perf_counter()
        self.lines: list[tuple[float, str]] = []

    def step(self, message: str) -> None:
        self.lines.append((time.perf_counter() - self.started, message))
        super().step(message)


STEP_PREFIXES = ("containers:", "uploads:", "pool ", "job ", "tasks:", "downloads:", "clean-up:")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--keep-services", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp:
        root, home = Path(tmp) / "spec", Path(tmp) / "home"
        root.mkdir()
        plan = sweep_plan(root, args.tasks)
        target = local_target(home)  # starts the emulator and Azurite (not measured)
        try:
            journal = Journal(home, plan.spec_path, target.name)
            log = io.StringIO()
            reporter = TimedReporter(Console(file=log, force_terminal=False, width=160))
            options = ApplyOptions(poll_seconds=0.5)
            with counting() as traffic, measured() as cost:
                code = Workflow(
                    plan, target, journal, new_run_state(plan, target), reporter, options
                ).run()
            written = len(list((root / "out").iterdir()))
        finally:
            if not args.keep_services:
                stop(home)
    print(f"exit code {code}; {written} result files downloaded")
    print(f"tasks: {args.tasks}")
    print(f"seconds: {cost.seconds:.1f}")
    print(f"requests: {traffic.requests} ({traffic.response_bytes / 1e6:.2f} MB of responses)")
    for kind, n in sorted(traffic.by_kind.items(), key=lambda kv: -kv[1]):
        print(f"  {n:6d}  {kind}")
    print(f"peak Python heap: {cost.peak_python_mb:.1f} MB; max RSS: {cost.max_rss_mb:.0f} MB")
    print("timeline (seconds since start):")
    for at, line in reporter.lines:
        if line.startswith(STEP_PREFIXES):
            print(f"  {at:6.1f}  {line[:100]}")
    if code != 0:
        print(log.getvalue())


if __name__ == "__main__":
    main()
