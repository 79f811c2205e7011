"""How long `batchspec validate specs/topn.yaml` takes, start to exit, against check-jsonschema.

    .venv/bin/python bench/validate_startup.py [--runs 11]

Both commands run as fresh processes on the same file and the same schema, one after the other,
after one warm-up run each (so both read from a warm page cache). Reported: the median and the
fastest wall time of each, and the ratio of the medians. batchspec does more than check-jsonschema
here (its own YAML positions, then the semantic and template checks of the plan), so the ratio
measures what a CI job pays for the whole check.
"""

from __future__ import annotations

import argparse
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


def wall_times(command: list[str], runs: int) -> list[float]:
    """Wall-clock seconds of `runs` runs of `command`, after one warm-up run."""
    subprocess.run(command, cwd=REPO, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=REPO, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    medians = {}
    print(f"| command ({args.runs} runs each) | median | fastest |")
    print("|---|---|---|")
    for name, command in COMMANDS.items():
        times = wall_times(command, args.runs)
        medians[name] = statistics.median(times)
        print(f"| `{name}` | {medians[name] * 1000:.0f} ms | {min(times) * 1000:.0f} ms |")
    ratio = medians["batchspec validate"] / medians["check-jsonschema"]
    print(f"\nratio batchspec / check-jsonschema (medians): {ratio:.2f}")


if __name__ == "__main__":
    main()
