"""Hostile specs against `batchspec validate`: each must end with exit 1 and a located message,
within 60 s and 500 MB.

    .venv/bin/python bench/hostile_specs.py [NAME ...]

Each case is a spec generated in a temporary directory and checked by a fresh process
(`batchspec validate SPEC`); wall time is measured around it and peak memory is the child's own
maximum resident set size (os.wait4's ru_maxrss). The cases are those a red-team pass found to
hang `validate` or take gigabytes: a glob that walks the disk, one dependency glob per task, many
templates each just under the render limit, text bombs built with tojson, a list's repr and join,
output collected in a block `set`, and a job that would keep large rendered tasks in memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BIN = Path(sys.executable).parent
WALL_LIMIT = 60.0
MEMORY_LIMIT_MB = 500

HEAD = """\
batchspec: 1
name: hostile
containers:
  output: {name: hostile-output}
pool:
  id: hostile-pool
  vm_size: standard_d2s_v3
  nodes: {dedicated: 1}
  image:
    publisher: canonical
    offer: ubuntu-24_04-lts
    sku: server
    node_agent: batch.node.ubuntu 24.04
job:
  id: "hostile-{{ run.id }}"
  tasks:
"""

BOMB = "{% set a = range(100000)|list %}{% set b = [a,a,a,a,a,a,a,a,a] %}"


def _spin_loops() -> int:
    """Outer iterations (of 10,000 inner ones) that take about 4 s of CPU in one render here,
    under the 5 s limit for one render."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    template = ImmutableSandboxedEnvironment().from_string(
        "{% for a in range(100) %}{% for b in range(10000) %}{% endfor %}{% endfor %}"
    )
    started = time.process_time()
    template.render()
    per_hundred = max(time.process_time() - started, 1e-3)
    return max(1, int(4.0 / per_hundred * 100))


def _cases() -> dict[str, Callable[[], tuple[str, str]]]:
    def tasks(text: str, uploads: str = "") -> tuple[str, str]:
        return HEAD.replace("pool:\n", uploads + "pool:\n") + text, "validate"

    def fourteen() -> tuple[str, str]:
        inner = _spin_loops()
        loop = (
            f"{{% for a in range({inner}) %}}{{% for b in range(10000) %}}"
            "{% endfor %}{% endfor %}"
        )
        return tasks("".join(f'    - {{id: t{i}, command: "echo {loop}"}}\n' for i in range(14)))

    def per_task_globs(n: int) -> Callable[[], tuple[str, str]]:
        return lambda: tasks(
            f"    - foreach: {{sweep: {{i: {{range: [0, {n}]}}}}}}\n"
            '      id: "t-{{ item.i }}-x"\n'
            "      command: echo {{ index }}\n"
            '      depends_on: ["t-{{ item.i + 1 }}-*"]\n'
        )

    return {
        "glob_walks_the_disk": lambda: tasks(
            "    - {id: t, command: echo}\n",
            'uploads:\n  - {source: "/**/zz-no-such-file", container: output}\n',
        ),
        "dependency_glob_per_task_8000": per_task_globs(8_000),
        "dependency_glob_per_task_20000": per_task_globs(20_000),
        "fourteen_templates_under_the_render_limit": fourteen,
        "tojson_bomb": lambda: tasks(
            f'    - {{id: t, command: "echo {BOMB}{{% set c = [b,b,b,b,b,b,b,b,b] %}}'
            '{{ [c,c,c,c]|tojson|quote }}"}\n'
        ),
        "list_repr_bomb": lambda: tasks(
            f'    - {{id: t, command: "echo {BOMB}{{% set c = [b,b,b,b,b,b,b,b,b] %}}'
            '{{ [c,c,c,c] }}"}\n'
        ),
        "join_bomb": lambda: tasks(
            '    - {id: t, command: "echo {% set s = \\"x\\" * 999999 %}'
            '{{ [s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s]|join|quote }}"}\n'
        ),
        "block_set_growth": lambda: tasks(
            '    - {id: t, command: "echo {% set x %}{% for a in range(100000) %}'
            "{% for b in range(100000) %}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}"
            '{% endfor %}{% endset %}{{ x|length }}"}\n'
        ),
        "keep_1500_large_tasks": lambda: tasks(
            "    - foreach: {sweep: {i: {range: [0, 1500]}}}\n"
            '      id: "t{{ item.i }}"\n'
            "      command: \"echo {{ ('x' * 900000) | quote }} {{ index }}\"\n"
            # One error at the end keeps it a hostile case: the whole job is rendered first.
            "      depends_on:\n"
            '        ["{% if index == 1499 %}nothing-*{% else %}t{{ index + 1 }}{% endif %}"]\n'
        ),
    }


def _run(name: str, make: Callable[[], tuple[str, str]], tmp: Path) -> bool:
    text, verb = make()
    spec = tmp / f"{name}.yaml"
    spec.write_text(text)
    started = time.perf_counter()
    with open(os.devnull, "w") as sink:
        child = subprocess.Popen(
            [str(BIN / "batchspec"), verb, str(spec)],
            stdout=subprocess.PIPE,
            stderr=sink,
            text=True,
        )
        assert child.stdout is not None
        output = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    peak_mb = usage.ru_maxrss / 1024
    located = output.startswith(f"{spec}:") and ": $." in output
    ok = child.returncode == 1 and located and wall < WALL_LIMIT and peak_mb < MEMORY_LIMIT_MB
    first = output.splitlines()[0].split(": ", 2)[-1] if output else "(no output)"
    print(
        f"| {name} | {child.returncode} | {wall:.2f} s | {peak_mb:.0f} MB | "
        f"{'yes' if ok else 'NO'} | {first[:110]} |",
        flush=True,
    )
    return ok


def main() -> int:
    cases = _cases()
    wanted = sys.argv[1:] or list(cases)
    print("| case | exit | wall | peak RSS | within bounds | first message |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        results = [_run(name, cases[name], Path(tmp)) for name in wanted]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
