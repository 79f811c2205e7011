"""How long `batchspec validate specs/topn.yaml` takes, start to exit, against check-jsonschema.

    .venv/bin/python bench/validate_startup.py [--runs 11]

Both commands run as fresh processes on the same file and the same schema, after one warm-up
run each (so both read from a warm page cache), taking turns (batchspec, check-jsonschema,
batchspec, ...) so that both meet the same load on a shared machine. Reported: the median and
the fastest wall time of each, the ratio of the medians, and the median CPU time (user + system,
from os.wait4) of each, which other work on the machine moves much less than wall time.
batchspec does more than check-jsonschema here (its own YAML positions, then the semantic and
template checks of the plan), so the ratio measures what a CI job pays for the whole check.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SPEC = "specs/topn.yaml"
SCHEMA = "schemas/batchspec.schema.json"

COMMANDS = {
    "batchspec validate": [str(BIN / "batchspec"), "validate", SPEC],
    "check-jsonschema": [str(BIN / "check-jsonschema"), "--schemafile", SCHEMA, SPEC],
}


def one_run(command: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system) of one run of `command`."""
    start = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command} failed")
    return elapsed, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    for command in COMMANDS.values():
        one_run(command)  # warm-up
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):
        for name, command in COMMANDS.items():
            times[name].append(one_run(command))
    wall = {name: statistics.median(w for w, _ in runs) for name, runs in times.items()}
    cpu = {name: statistics.median(c for _, c in runs) for name, runs in times.items()}
    print(f"load average: {os.getloadavg()[0]:.1f}")
    print(f"| command ({args.runs} runs each, in turns) | median | fastest | median CPU time |")
    print("|---|---:|---:|---:|")
    for name, runs in times.items():
        fastest = min(w for w, _ in runs)
        print(
            f"| `{name}` | {wall[name] * 1000:.0f} ms | {fastest * 1000:.0f} ms "
            f"| {cpu[name] * 1000:.0f} ms |"
        )
    ratio = wall["batchspec validate"] / wall["check-jsonschema"]
    cpu_ratio = cpu["batchspec validate"] / cpu["check-jsonschema"]
    print(f"\nratio batchspec / check-jsonschema (medians): {ratio:.2f} wall, {cpu_ratio:.2f} CPU")


if __name__ == "__main__":
    main()
