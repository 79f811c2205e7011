"""Bench: apply of a 1,000-task spec on the local target.

A sweep spec (written to a temporary directory) goes through `batchspec apply` in-process: plan
loading, then the workflow. Each task squares its index and writes it to result.txt, uploaded by
an output-file rule and downloaded at the end, so the run exercises every step: containers,
upload, pool, job, task submission (ten collections of 100), monitoring, downloads and clean-up.
Prints requests made (by kind), seconds and peak memory of the apply process.

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

import batchspec.apply.console
from batchspec.apply.console import Reporter
from batchspec.commands.apply import run
from batchspec.local.services import stop
from batchspec.targets import local_target

SPEC = """\
batchspec: 1
name: bench-sweep
containers:
  input: {{name: bench-input}}
  output: {{name: bench-output}}
uploads:
  - {{source: README.txt, container: input}}
pool:
  id: bench-pool
  vm_size: standard_d2s_v3
  nodes: {{dedicated: 2}}
  task_slots_per_node: 4
  image:
    publisher: canonical
    offer: ubuntu-24_04-lts
    sku: server
    node_agent: batch.node.ubuntu 24.04
job:
  id: "bench-sweep-{{{{ run.id }}}}"
  timeout: 60m
  tasks:
    - foreach: {{sweep: {{i: {{range: [0, {tasks}]}}}}}}
      id: "square-{{{{ '%05d' | format(item.i) }}}}"
      commands: ["echo $(( {{{{ item.i }}}} * {{{{ item.i }}}} )) > result.txt"]
      outputs:
        - pattern: result.txt
          container: output
          path: "results/{{{{ '%05d' | format(item.i) }}}}.txt"
downloads: [{{container: output, prefix: "results/", to: out}}]
cleanup: {{containers: delete, job: delete, pool: delete}}
"""


def write_spec(root: Path, tasks: int) -> Path:
    """The sweep spec and its one upload, under `root`."""
    (root / "README.txt").write_text("bench input\n")
    spec = root / "sweep.yaml"
    spec.write_text(SPEC.format(tasks=tasks))
    return spec


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
    with tempfile.TemporaryDirectory(prefix="bench-apply-", ignore_cleanup_errors=True) as tmp:
        root, home = Path(tmp) / "spec", Path(tmp) / "home"
        root.mkdir()
        spec = write_spec(root, args.tasks)
        local_target(home)  # starts the emulator and Azurite (not measured)
        log = io.StringIO()
        reporter = TimedReporter(Console(file=log, force_terminal=False, width=160))
        # `apply` makes its Reporter when it runs: hand it this one.
        batchspec.apply.console.Reporter = lambda: reporter  # type: ignore[assignment,misc]
        try:
            with counting() as traffic, measured() as cost:
                code = run(
                    spec, "local", (), yes=True, rerun=False, recreate_pool=False, data_dir=home
                )
            written = len(list((root / "out").iterdir()))
        finally:
            batchspec.apply.console.Reporter = Reporter  # type: ignore[misc]
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
