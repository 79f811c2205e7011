import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from batchspec.plan.build import default_run, load_plan, spec_digest
from batchspec.plan.model import (
    CleanupPlan,
    DownloadPlan,
    ImagePlan,
    JobPlan,
    OutputPlan,
    Plan,
    ResourceFilePlan,
    StartTaskPlan,
    TaskPlan,
    UploadPlan,
)
from batchspec.plan.tasks import LazyTasks
from batchspec.plan.variables import coerce
from batchspec.spec.render import Renderer
from plan_helpers import RUN, loaded_from, messages, plan_of, problems_of, write_spec

SPECS = Path(__file__).resolve().parent.parent / "specs"

TOPN_COMMAND = (
    '/bin/bash -c \'set -e; set -o pipefail; python3 "$AZ_BATCH_NODE_SHARED_DIR/topn_task.py" '
    "--filepath {name} --numwords {n}'"
)


def test_topn_plan_has_one_task_per_input_file() -> None:
    plan = load_plan(SPECS / "topn.yaml", {}, RUN)
    assert isinstance(plan, Plan)
    assert [t.id for t in plan.tasks] == ["topn-lighthouse", "topn-orchard", "topn-river"]
    first = plan.tasks[0]
    assert first.command_line == TOPN_COMMAND.format(name="lighthouse.txt", n=3)
    assert first.resource_files == (
        ResourceFilePlan(container="input", blob="lighthouse.txt", file_path="lighthouse.txt"),
    )
    assert first.outputs == (OutputPlan("*_OUTPUT.txt", "output", None, "success"),)
    assert (first.max_retries, first.max_wall_clock_seconds) == (1, 600)
    assert plan.job.id == "topn-run1"
    assert plan.job.timeout_seconds == 1200
    assert plan.pool.start_task is not None
    assert plan.pool.start_task.command_line == (
        "/bin/bash -c 'set -e; set -o pipefail; "
        'cp -r "$AZ_BATCH_TASK_WORKING_DIR"/* "$AZ_BATCH_NODE_SHARED_DIR"\''
    )
    assert [(u.container, u.blob) for u in plan.uploads] == [
        ("application", "topn_task.py"),
        ("input", "lighthouse.txt"),
        ("input", "orchard.txt"),
        ("input", "river.txt"),
    ]
    assert all(u.source.is_absolute() and u.size > 0 for u in plan.uploads)
    assert plan.downloads[0].to == SPECS / "out" / "topn"
    assert plan.container_name("output") == "topn-output"


def test_var_override_reaches_the_command_line() -> None:
    plan = load_plan(SPECS / "topn.yaml", {"num_words": "5"}, RUN)
    assert isinstance(plan, Plan)
    assert plan.tasks[2].command_line == TOPN_COMMAND.format(name="river.txt", n=5)
    assert ("num_words", 5) in plan.vars


def test_run_id_is_stable_and_follows_spec_and_vars(tmp_path: Path) -> None:
    raw = b"batchspec: 1\n"
    same = spec_digest(raw, [("n", 3)])
    assert same == spec_digest(raw, [("n", 3)])
    assert same != spec_digest(raw, [("n", 4)])
    assert same != spec_digest(raw + b"#\n", [("n", 3)])
    assert default_run(same).id == same[:8]
    path = write_spec(tmp_path, "- {id: one, command: echo}\n")
    from batchspec.plan.build import build_plan

    first = build_plan(loaded_from(path), {})
    second = build_plan(loaded_from(path), {})
    assert isinstance(first, Plan) and isinstance(second, Plan)
    assert first.run.id == second.run.id == first.spec_digest[:8]
    assert first.job.id == f"demo-{first.run.id}"


def test_coerce_follows_the_default_type() -> None:
    assert coerce("5", 3) == 5
    assert coerce("five", 3) is None
    assert coerce("2.5", 0.5) == 2.5
    assert coerce("yes", False) is True
    assert coerce("off", True) is False
    assert coerce("maybe", True) is None
    assert coerce("7", "text") == "7"


def test_unknown_var_and_bad_type_are_reported(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "- {id: one, command: echo}\n")
    assert messages(path, {"nn": "1", "fast": "perhaps"}) == [
        "$.vars: --var nn: the spec has no variable 'nn' (its variables: n, label, fast, ratio)"
        "; did you mean 'n'?",
        "$.vars.fast: --var fast=perhaps: 'perhaps' is not a boolean (true or false) like the "
        "default false",
    ]


def test_task_without_foreach_has_no_item(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "- {id: one, command: 'echo {{ item }}'}\n")
    assert messages(path) == [
        "$.job.tasks[0].command: undefined template variable: 'item' is undefined"
    ]


def test_items_factory_and_merge_dependency(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """\
        - foreach: {items: [a, b, c]}
          id: "count-{{ item }}"
          command: "echo {{ item | quote }} {{ index }}"
        - id: merge
          command: cat
          depends_on: ["count-*"]
        """,
    )
    plan = plan_of(path)
    assert [t.id for t in plan.tasks] == ["count-a", "count-b", "count-c", "merge"]
    assert plan.tasks[1].command_line == "echo b 1"
    assert plan.tasks[3].depends_on == ("count-a", "count-b", "count-c")
    assert plan.job.uses_task_dependencies


def test_problems_are_sorted_diagnostics(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "- {id: \"{{ 'a b' }}\", command: 'echo {{ nope }}'}\n")
    found = problems_of(path)
    assert found == sorted(found)
    assert found[0].file == str(path)


@pytest.mark.timeout(60)
def test_topn_command_lines_really_run_like_on_a_node(tmp_path: Path) -> None:
    plan = load_plan(SPECS / "topn.yaml", {"num_words": "2"}, RUN)
    assert isinstance(plan, Plan)
    shared = tmp_path / "shared dir"  # a node directory may hold a space
    shared.mkdir()
    shutil.copy(SPECS / "topn" / "topn_task.py", shared)
    env = {**os.environ, "AZ_BATCH_NODE_SHARED_DIR": str(shared)}
    results = {}
    for task in plan.tasks:
        wd = tmp_path / task.id / "wd"
        wd.mkdir(parents=True)
        for rf in task.resource_files:
            assert rf.blob is not None and rf.file_path is not None
            shutil.copy(SPECS / "topn" / "data" / rf.blob, wd / rf.file_path)
        # Batch splits the command line into arguments and runs it without a shell.
        subprocess.run(shlex.split(task.command_line), cwd=wd, env=env, check=True)
        (output,) = wd.glob("*_OUTPUT.txt")
        results[output.name] = output.read_text().split()
    assert sorted(results) == ["lighthouse_OUTPUT.txt", "orchard_OUTPUT.txt", "river_OUTPUT.txt"]
    assert results["lighthouse_OUTPUT.txt"] == ["the", "38", "lamp", "20"]
    assert results["orchard_OUTPUT.txt"] == ["the", "32", "apples", "16"]
    assert results["river_OUTPUT.txt"] == ["the", "42", "and", "17"]


def test_a_large_job_is_planned_lazily_with_the_same_tasks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("batchspec.plan.tasklist.MATERIALIZE_LIMIT", 5000)
    path = write_spec(
        tmp_path,
        """\
        - foreach: {sweep: {a: {range: [0, 60]}, b: {range: [0, 100]}}}
          id: "t-{{ item.a }}-{{ item.b }}"
          command: "echo {{ item.a * item.b }} {{ index }}"
        - {id: merge, command: cat, depends_on: ["t-59-*"]}
        """,
    )
    plan = plan_of(path)
    tasks = plan.tasks
    assert isinstance(tasks, LazyTasks)
    assert len(tasks) == 6001
    assert tasks[0].id == "t-0-0"
    assert tasks[5999].command_line == "echo 5841 5999"
    assert tasks[-1].id == "merge"
    assert tasks[-1].depends_on == tuple(f"t-59-{b}" for b in range(100))
    assert plan.job.uses_task_dependencies
    listed = list(tasks)
    assert listed == list(tasks)  # re-iterable, same result
    assert [listed[i] for i in (0, 1234, 6000)] == [tasks[i] for i in (0, 1234, 6000)]
    assert list(tasks[10:12]) == listed[10:12]


def test_reading_a_lazy_plan_renders_neither_ids_nor_dependencies_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("batchspec.plan.tasklist.MATERIALIZE_LIMIT", 3)
    path = write_spec(
        tmp_path,
        """\
        - foreach: {items: [a, b, c, d]}
          id: "t-{{ item }}"
          command: "echo {{ index }}"
          depends_on: ["{{ 'fir' if index >= 0 }}*"]
        - {id: first, command: echo}
        """,
    )
    tasks = plan_of(path).tasks
    assert isinstance(tasks, LazyTasks)
    renders: list[str] = []
    original = Renderer._render

    def counted(self: Renderer, compiled: Any, *args: Any) -> str | None:
        renders.append(compiled.source)
        return original(self, compiled, *args)

    monkeypatch.setattr(Renderer, "_render", counted)
    listed = list(tasks)
    assert [(t.id, t.command_line, t.depends_on) for t in listed] == [
        ("t-a", "echo 0", ("first",)),
        ("t-b", "echo 1", ("first",)),
        ("t-c", "echo 2", ("first",)),
        ("t-d", "echo 3", ("first",)),
        ("first", "echo", ()),
    ]
    assert renders == ["echo {{ index }}"] * 4  # only what is not kept from planning


def test_a_job_below_the_lazy_limit_renders_each_task_once_and_shares_equal_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_spec(
        tmp_path,
        """\
        - foreach: {sweep: {i: {range: [0, 6000]}}}
          id: "t-{{ item.i }}"
          command: "echo {{ item.i }}"
          resource_files: [{url: "https://example.com/{{ vars.label }}.py", path: w.py}]
          outputs: [{pattern: "*.txt", container: output, path: "r/{{ item.i % 2 }}"}]
        """,
    )
    renders: list[str] = []
    original = Renderer._render

    def counted(self: Renderer, compiled: Any, *args: Any) -> str | None:
        renders.append(compiled.source)
        return original(self, compiled, *args)

    monkeypatch.setattr(Renderer, "_render", counted)
    tasks = plan_of(path).tasks
    assert isinstance(tasks, tuple)
    assert len(tasks) == 6000
    per_task = [r for r in renders if "item" in r]
    assert len(per_task) == 6000 * 3  # id, command and output path, once each
    assert [t.command_line for t in tasks[:2]] == ["echo 0", "echo 1"]
    assert len({id(t.resource_files) for t in tasks}) == 1
    assert len({id(t.outputs) for t in tasks}) == 2
    assert [o.path for o in tasks[3].outputs] == ["r/1"]
    renders.clear()
    assert [t.id for t in tasks][-1] == "t-5999"
    assert renders == []  # reading the plan renders nothing


@pytest.mark.parametrize("spec", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_spec_plans(spec: Path) -> None:
    plan = load_plan(spec, {})
    assert isinstance(plan, Plan), [str(d) for d in plan]
    if plan.schedule is not None:  # its jobs run their job manager task, not a task list
        assert plan.job.manager is not None and not plan.tasks
    else:
        # hello.yaml, the samples' hello world, has one task; a factory over blobs already in
        # storage has its tasks only once it is listed.
        assert len(plan.tasks) >= 1 or plan.unlisted
    assert all(u.source.is_file() for u in plan.uploads)


FULL_SPEC = """\
batchspec: 1
name: full
description: every key of the format
vars: {tag: v1, n: 2, big: true, f: 0.25}
containers:
  lib: {name: "full-lib-{{ vars.tag }}"}
  res: {name: full-res}
uploads:
  - {source: data/f0.txt, container: lib, prefix: "in/"}
pool:
  id: full-pool
  vm_size: standard_d2s_v3
  nodes: {dedicated: 1, spot: 3}
  task_slots_per_node: 4
  image:
    publisher: canonical
    offer: ubuntu-24_04-lts
    sku: server
    version: "1.2.3"
    node_agent: batch.node.ubuntu 24.04
  start_task:
    command: "/bin/bash -c 'echo {{ spec.name }}'"
    resource_files:
      - {container: lib, prefix: "in/", path: lib}
      - {url: "https://example.org/tool.tgz", path: tool.tgz}
      - {container: lib, blob: in/f0.txt}
    environment: {MODE: "{{ vars.tag }}"}
    elevated: true
    wait_for_success: false
    retries: 2
job:
  id: "full-{{ run.id }}"
  timeout: 1h30m
  priority: -5
  retries: 3
  tasks:
    - foreach: {items: [{k: a, w: 1}, {k: b, w: 2}]}
      id: "t-{{ item.k }}"
      commands: ["echo {{ item.w * vars.n }}", "echo {{ containers.res }}"]
      resource_files: [{container: lib, blob: "in/f0.txt", path: "data/{{ item.k }}.txt"}]
      environment: {K: "{{ item.k }}", I: "{{ index }}"}
      outputs:
        - {pattern: "*.log", container: res, path: "logs/{{ item.k }}", when: failure}
        - {pattern: result.txt, container: res, path: "{{ item.k }}.txt", when: completion}
      retries: -1
      max_wall_clock: 2m
      elevated: true
    - id: last
      command: echo done
      depends_on: ["t-*", t-a]
downloads:
  - {container: res, to: ../results, prefix: "logs/", overwrite: true}
cleanup: {containers: delete, job: keep, pool: delete}
"""


def test_every_key_of_the_format_reaches_the_plan(tmp_path: Path) -> None:
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    (spec_dir / "data").mkdir()
    (spec_dir / "data" / "f0.txt").write_text("zero")
    path = spec_dir / "full.yaml"
    path.write_text(FULL_SPEC)
    plan = plan_of(path, {"tag": "v2"})
    assert plan.name == "full"
    assert plan.spec_path == path
    assert dict(plan.vars) == {"tag": "v2", "n": 2, "big": True, "f": 0.25}
    assert [(c.key, c.name) for c in plan.containers] == [
        ("lib", "full-lib-v2"),
        ("res", "full-res"),
    ]
    assert plan.uploads == (UploadPlan(spec_dir / "data" / "f0.txt", "lib", "in/f0.txt", 4),)
    pool = plan.pool
    assert (pool.id, pool.vm_size, pool.dedicated_nodes, pool.spot_nodes) == (
        "full-pool",
        "standard_d2s_v3",
        1,
        3,
    )
    assert pool.task_slots_per_node == 4
    assert pool.image == ImagePlan(
        "canonical", "ubuntu-24_04-lts", "server", "1.2.3", "batch.node.ubuntu 24.04"
    )
    assert pool.start_task == StartTaskPlan(
        command_line="/bin/bash -c 'echo full'",
        resource_files=(
            ResourceFilePlan(container="lib", prefix="in/", file_path="lib"),
            ResourceFilePlan(url="https://example.org/tool.tgz", file_path="tool.tgz"),
            ResourceFilePlan(container="lib", blob="in/f0.txt", file_path="in/f0.txt"),
        ),
        environment=(("MODE", "v2"),),
        elevated=True,
        wait_for_success=False,
        max_retries=2,
    )
    assert plan.job == JobPlan(
        id="full-run1",
        timeout_seconds=5400,
        priority=-5,
        max_task_retries=3,
        uses_task_dependencies=True,
    )
    first, second, last = plan.tasks
    assert first == TaskPlan(
        id="t-a",
        command_line="/bin/bash -c 'set -e; set -o pipefail; echo 2; echo full-res'",
        resource_files=(
            ResourceFilePlan(container="lib", blob="in/f0.txt", file_path="data/a.txt"),
        ),
        environment=(("K", "a"), ("I", "0")),
        outputs=(
            OutputPlan("*.log", "res", "logs/a", "failure"),
            OutputPlan("result.txt", "res", "a.txt", "completion"),
        ),
        max_retries=-1,
        max_wall_clock_seconds=120,
        depends_on=(),
        elevated=True,
    )
    assert second.command_line == "/bin/bash -c 'set -e; set -o pipefail; echo 4; echo full-res'"
    assert last == TaskPlan(
        id="last", command_line="echo done", max_retries=3, depends_on=("t-a", "t-b")
    )
    assert plan.downloads == (DownloadPlan("res", tmp_path / "results", "logs/", True),)
    assert plan.cleanup == CleanupPlan(containers="delete", job="keep", pool="delete")
