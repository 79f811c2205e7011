"""Spec files for the day-two command tests (status, logs, runs, destroy, plan --refresh)."""

from __future__ import annotations

import textwrap
from pathlib import Path

POOL = """\
pool:
  id: PREFIX-pool
  vm_size: standard_d2s_v3
  nodes: {dedicated: 1}
  task_slots_per_node: 4
  image: {publisher: canonical, offer: ubuntu-24_04-lts, sku: server,
          node_agent: batch.node.ubuntu 24.04}
"""

CHATTY = """\
containers:
  out: {name: PREFIX-out}
job:
  id: "PREFIX-{{ run.id }}"
  timeout: 10m
  tasks:
    - id: ok
      commands: ["echo hello", "echo warning >&2"]
    - id: bad
      commands: ["echo broken >&2", "exit 3"]
cleanup: {containers: keep, job: keep, pool: keep}
"""

TALKER = """\
containers:
  out: {name: PREFIX-out}
job:
  id: "PREFIX-{{ run.id }}"
  timeout: 10m
  tasks:
    - id: talk
      commands: ["for i in $(seq 1 LINES); do echo line-$i; sleep 1; done"]
cleanup: {containers: keep, job: keep, pool: keep}
"""


def write_spec(
    root: Path, prefix: str, body: str, *, name: str = "spec", pool: str = "", slots: int = 4
) -> Path:
    """A spec named `name` whose PREFIX placeholders (ids, names) become `prefix`.

    `pool` names its pool (default PREFIX-pool); `slots` is its task slots per node.
    """
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{name}.yaml"
    pool_text = POOL.replace("PREFIX-pool", pool) if pool else POOL
    pool_text = pool_text.replace("task_slots_per_node: 4", f"task_slots_per_node: {slots}")
    text = f"batchspec: 1\nname: {prefix}\n" + pool_text + textwrap.dedent(body)
    path.write_text(text.replace("PREFIX", prefix))
    return path
