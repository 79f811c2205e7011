"""Run every benchmark script in bench/ with its default arguments, one after the other.

`make bench` calls this. A script is a benchmark when it runs as `__main__`; helpers imported
by benchmarks (such as apply_measure.py) are not run. Figures go to stdout; bench/README.md
records them by hand, with the machine they ran on.

    .venv/bin/python bench/run_all.py [NAME ...]    # e.g. apply_1000 plan_sweep
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmarks() -> list[Path]:
    """The bench/*.py files that are scripts."""
    return [
        path
        for path in sorted(HERE.glob("*.py"))
        if path.name != Path(__file__).name and 'if __name__ == "__main__":' in path.read_text()
    ]


def main() -> int:
    wanted = set(sys.argv[1:])
    chosen = [p for p in benchmarks() if not wanted or p.stem in wanted]
    unknown = wanted - {p.stem for p in chosen}
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    failed = []
    for path in chosen:
        print(f"== {path.stem}", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(path)])
        print(f"== {path.stem}: exit {code} after {time.perf_counter() - started:.0f}s\n")
        if code != 0:
            failed.append(path.stem)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
