"""Validate and plan a spec whose sweep makes 100,000 tasks: wall time and peak memory.

    .venv/bin/python bench/plan_sweep.py [--tasks 1000 10000 100000]

For each size a spec is generated in a temporary directory (a sweep a x b x c; every task has a
templated id, command line, resource file and output path) and these run as fresh processes,
one after the other, output to /dev/null:

    batchspec validate SPEC
    batchspec plan SPEC --format json
    batchspec plan SPEC

Peak memory is the child's own maximum resident set size (os.wait4's ru_maxrss), so each figure
belongs to one command; wall time is measured around it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent

SPEC = """\
batchspec: 1
name: sweep
vars: {{scale: 2}}
containers:
  scripts: {{name: sweep-scripts}}
  results: {{name: "sweep-results-{{{{ run.id }}}}"}}
uploads:
  - {{source: work.py, container: scripts}}
pool:
  id: sweep-pool
  vm_size: standard_d2s_v3
  nodes: {{dedicated: 2}}
  image:
    publisher: canonical
    offer: ubuntu-24_04-lts
    sku: server
    node_agent: batch.node.ubuntu 24.04
job:
  id: "sweep-{{{{ run.id }}}}"
  tasks:
    - foreach:
        sweep:
          a: {{range: [0, {a}]}}
          b: {{range: [0, 100]}}
          c: [x, y, z, w, v, u, t, s, r, q]
      id: "t-{{{{ item.a }}}}-{{{{ item.b }}}}-{{{{ item.c }}}}"
      command: >-
        python3 work.py --a {{{{ item.a }}}} --b {{{{ item.b * vars.scale }}}}
        --c {{{{ item.c | quote }}}}
      resource_files: [{{container: scripts, blob: work.py}}]
      outputs: [{{pattern: "out-*.json", container: results, path: "{{{{ item.a }}}}"}}]
"""


def measure(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one run of `command`, its output discarded."""
    start = time.perf_counter()
    with open(os.devnull, "w") as sink:
        child = subprocess.Popen(command, stdout=sink, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        assert child.stderr is not None
        raise SystemExit(f"{command} failed: {child.stderr.read().decode()[:2000]}")
    return elapsed, usage.ru_maxrss / 1024  # Linux reports kilobytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    args = parser.parse_args()
    batchspec = str(BIN / "batchspec")
    print("| tasks | command | wall time | peak RSS |")
    print("|---:|---|---:|---:|")
    for tasks in args.tasks:
        if tasks % 1000:
            raise SystemExit("--tasks must be multiples of 1000 (the sweep is a x 100 x 10)")
        with tempfile.TemporaryDirectory() as tmp:
            spec = Path(tmp) / "sweep.yaml"
            spec.write_text(SPEC.format(a=tasks // 1000))
            (Path(tmp) / "work.py").write_text("print('work')\n")
            commands = {
                "validate": [batchspec, "validate", str(spec)],
                "plan --format json": [batchspec, "plan", str(spec), "--format", "json"],
                "plan": [batchspec, "plan", str(spec)],
            }
            for name, command in commands.items():
                seconds, mib = measure(command)
                print(f"| {tasks:,} | `{name}` | {seconds:.2f} s | {mib:.0f} MiB |", flush=True)


if __name__ == "__main__":
    main()
