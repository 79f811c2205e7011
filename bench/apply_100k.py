"""Bench: apply of a 100,000-task sweep on the local target: requests and peak memory.

A sweep spec of N trivial tasks (`/bin/true`-like: `exit 0` through bash) on 2 nodes x 8 slots,
run through `batchspec apply` in-process (plan loading included), no outputs. Reports the
requests by kind (submission: add-task-collection calls, about N/100; monitoring: task-count
polls, one request each), the seconds, and the process's peak RSS (goal: at most 200 MB).

    .venv/bin/python bench/apply_100k.py [--tasks 100000]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apply_1000 import TimedReporter
from apply_measure import Traffic, counting

import batchspec.apply.console
from batchspec.apply.console import Reporter
from batchspec.commands.apply import run
from batchspec.local.services import stop
from batchspec.targets import local_target

SPEC = """\
batchspec: 1
name: bench-many
containers:
  input: {{name: bench-many-input}}
uploads:
  - {{source: README.txt, container: input}}
pool:
  id: bench-many-pool
  vm_size: standard_d2s_v3
  nodes: {{dedicated: 2}}
  task_slots_per_node: 8
  image:
    publisher: canonical
    offer: ubuntu-24_04-lts
    sku: server
    node_agent: batch.node.ubuntu 24.04
job:
  id: "bench-many-{{{{ run.id }}}}"
  timeout: 120m
  tasks:
    - foreach: {{sweep: {{a: {{range: [0, {a}]}}, b: {{range: [0, 100]}}}}}}
      id: "t-{{{{ item.a }}}}-{{{{ item.b }}}}"
      command: /bin/true
cleanup: {{containers: delete, job: delete, pool: delete}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    args = parser.parse_args()
    if args.tasks % 100:
        raise SystemExit("--tasks must be a multiple of 100")
    # The stopped emulator may still be removing node directories: never fail on cleaning up.
    with tempfile.TemporaryDirectory(prefix="bench-many-", ignore_cleanup_errors=True) as tmp:
        root, home = Path(tmp) / "spec", Path(tmp) / "home"
        root.mkdir()
        (root / "README.txt").write_text("bench input\n")
        spec = root / "many.yaml"
        spec.write_text(SPEC.format(a=args.tasks // 100))
        local_target(home)  # starts the emulator and Azurite (not measured)
        log = io.StringIO()
        reporter = TimedReporter(Console(file=log, force_terminal=False, width=160))
        batchspec.apply.console.Reporter = lambda: reporter  # type: ignore[assignment,misc]
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        try:
            with counting() as traffic:
                started = time.perf_counter()
                code = run(
                    spec, "local", (), yes=True, rerun=False, recreate_pool=False, data_dir=home
                )
                seconds = time.perf_counter() - started
        finally:
            batchspec.apply.console.Reporter = Reporter  # type: ignore[misc]
            stop(home)
        report(args.tasks, code, seconds, traffic, reporter, log, rss_before)


def report(
    tasks: int,
    code: int,
    seconds: float,
    traffic: Traffic,
    reporter: TimedReporter,
    log: io.StringIO,
    rss_before: float,
) -> None:
    """Print what the run cost."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    adds = sum(n for kind, n in traffic.by_kind.items() if kind.endswith("/addtaskcollection"))
    polls = sum(n for kind, n in traffic.by_kind.items() if kind.endswith("/taskcounts"))
    print(f"load average: {os.getloadavg()[0]:.1f}")
    print(f"exit code {code}; tasks: {tasks:,}; seconds: {seconds:.0f}")
    print(f"requests: {traffic.requests:,}; add-task-collection: {adds:,}; polls: {polls}")
    for kind, n in sorted(traffic.by_kind.items(), key=lambda kv: -kv[1]):
        print(f"  {n:7d}  {kind}")
    print(f"peak RSS of the apply process: {peak:.0f} MB (before apply: {rss_before:.0f} MB)")
    print("timeline (seconds since start):")
    for at, line in reporter.lines:
        print(f"  {at:7.1f}  {line[:100]}")
    if code != 0:
        print(log.getvalue())


if __name__ == "__main__":
    main()
