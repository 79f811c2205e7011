"""Spec files for the apply command tests, written into a test's tmp directory."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SQUARES = """\
batchspec: 1
name: squares
containers:
  out: {{name: "{prefix}-out"}}
pool:
  id: {prefix}-pool
  vm_size: standard_d2s_v3
  nodes: {{dedicated: 1}}
  task_slots_per_node: 4
  image:
    publisher: canonical
    offer: ubuntu-24_04-lts
    sku: server
    node_agent: batch.node.ubuntu 24.04
job:
  id: "{prefix}-{{{{ run.id }}}}"
  timeout: 10m
  tasks:
    - foreach: {{sweep: {{n: {{range: [1, {stop}]}}}}}}
      id: "sq-{{{{ item.n }}}}"
      commands:
        - sleep {sleep}
        - echo $(( {{{{ item.n }}}} * {{{{ item.n }}}} )) > sq-{{{{ item.n }}}}.txt
      outputs: [{{pattern: "sq-*.txt", container: out}}]
downloads: [{{container: out, to: out}}]
cleanup: {{containers: keep, job: {job_cleanup}, pool: keep, on_failure: {{job: {failure_job}}}}}
"""


def squares_spec(
    root: Path,
    prefix: str,
    tasks: int,
    *,
    sleep: float = 0.2,
    job_cleanup: str = "keep",
    failure_job: str = "keep",
) -> Path:
    """A sweep of `tasks` tasks, each writing n*n to sq-<n>.txt after sleeping a little."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "squares.yaml"
    text = SQUARES.format(
        prefix=prefix,
        stop=tasks + 1,
        sleep=sleep,
        job_cleanup=job_cleanup,
        failure_job=failure_job,
    )
    path.write_text(text)
    return path


def topn_copy(root: Path, *, keep_containers: bool = False) -> Path:
    """specs/topn.yaml and its files copied under `root` (so outputs land in the tmp dir)."""
    shutil.copytree(REPO / "specs" / "topn", root / "topn")
    text = (REPO / "specs" / "topn.yaml").read_text()
    if keep_containers:
        text = text.replace("cleanup: {containers: delete,", "cleanup: {containers: keep,")
        assert "containers: keep" in text
    path = root / "topn.yaml"
    path.write_text(text)
    return path


def expected_top_words(data: Path, count: int = 3) -> str:
    """What topn_task.py writes for `data`, computed here with its own function."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("topn_task", REPO / "specs/topn/topn_task.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pairs = module.top_words(data.read_text(encoding="utf-8"), count)
    return "".join(f"{word} {n}\n" for word, n in pairs)
