"""Multi-instance (MPI) tasks from spec to plan: the settings rendered per task, the pool's
inter-node flag, the cross-field rules Batch enforces, and the plan's text and JSON."""

from __future__ import annotations

import io
import json
from pathlib import Path

from batchspec.plan.model import MultiInstancePlan, ResourceFilePlan
from batchspec.plan.show import write_json, write_text
from plan_helpers import BASE, plan_of, problems_of, write_spec

MPI_BASE = BASE.replace(
    "  nodes: {dedicated: 1}\n",
    '  nodes: {dedicated: "{{ vars.n }}"}\n  inter_node_communication: true\n',
)


def test_settings_are_rendered_per_task_with_vars_and_items(tmp_path: Path) -> None:
    spec = write_spec(
        tmp_path,
        """\
        - id: "mpi-{{ item }}"
          foreach: {items: [a, b]}
          multi_instance:
            instances: "{{ vars.n }}"
            coordination: ["echo {{ item | quote }}", "hostname"]
            common_resource_files: [{container: input, blob: "{{ item }}.txt"}]
          command: mpirun -np {{ vars.n | int }} hostname
        """,
        base=MPI_BASE,
    )
    plan = plan_of(spec, {"n": "2"})
    assert plan.pool.inter_node_communication is True
    assert plan.pool.dedicated_nodes == 2
    first, second = plan.tasks
    assert first.multi_instance == MultiInstancePlan(
        2,
        "/bin/bash -c 'set -e; set -o pipefail; echo a; hostname'",
        (ResourceFilePlan("input", "a.txt", file_path="a.txt"),),
    )
    assert second.multi_instance is not None
    assert second.multi_instance.coordination_command_line.endswith("echo b; hostname'")
    assert first.command_line == "mpirun -np 2 hostname"

    text = io.StringIO()
    write_text(plan, text)
    assert "inter-node communication enabled" in text.getvalue()
    assert "multi-instance: 2 nodes" in text.getvalue()
    assert "coordination command line: /bin/bash -c 'set -e; set -o pipefail; echo a;" in (
        text.getvalue()
    )
    out = io.StringIO()
    write_json(plan, out)
    doc = json.loads(out.getvalue())
    assert doc["pool"]["inter_node_communication"] is True
    assert doc["tasks"][0]["multi_instance"]["instances"] == 2
    assert doc["tasks"][0]["multi_instance"]["coordination_command_line"] == (
        first.multi_instance.coordination_command_line
    )
    (common,) = doc["tasks"][0]["multi_instance"]["common_resource_files"]
    assert common["blob"] == "a.txt"


def test_a_plain_task_and_pool_plan_as_before(tmp_path: Path) -> None:
    plan = plan_of(write_spec(tmp_path, "- {id: t, command: hostname}"))
    assert plan.pool.inter_node_communication is False
    assert plan.tasks[0].multi_instance is None


def test_instances_from_a_var_are_checked_against_the_pool(tmp_path: Path) -> None:
    spec = write_spec(
        tmp_path,
        """\
        - id: mpi
          multi_instance: {instances: "{{ vars.n }}", coordination: hostname}
          command: hostname
        """,
        base=MPI_BASE.replace('{dedicated: "{{ vars.n }}"}', "{dedicated: 2}"),
    )
    (problem,) = problems_of(spec, {"n": "4"})
    assert problem.path == "$.job.tasks[0].multi_instance.instances"
    assert "needs 4 nodes but the pool has 2" in problem.message
    (problem,) = problems_of(spec, {"n": "0"})
    assert "'{{ vars.n }}' renders to '0'" in problem.message
