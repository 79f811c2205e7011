"""Templates in number, boolean, id and size fields: rendered, converted, checked where written."""

from __future__ import annotations

from pathlib import Path

from batchspec.plan.model import TaskPlan
from plan_helpers import BASE, located, messages, plan_of, write_spec

TYPED_BASE = BASE.replace(
    "vars: {n: 3, label: hello, fast: false, ratio: 0.5}",
    "vars: {n: 3, label: hello, fast: false, ratio: 0.5, size: standard_d2s_v3, "
    "pool: demo-pool, top: 4, step: 2, retry: 2}",
).replace(
    """  id: demo-pool
  vm_size: standard_d2s_v3
  nodes: {dedicated: 1}""",
    """  id: "{{ vars.pool }}"
  vm_size: "{{ vars.size }}"
  nodes: {dedicated: "{{ vars.n }}", spot: "{{ vars.n - 3 }}"}
  task_slots_per_node: "{{ vars.n * 2 }}\"""",
)

SWEEP = """\
- id: "t-{{ item.k }}"
  command: "echo {{ item.k }}"
  retries: "{{ vars.retry }}"
  elevated: "{{ vars.fast }}"
  foreach: {sweep: {k: {range: [0, "{{ vars.top }}", "{{ vars.step }}"]}}}
"""


def test_vars_set_node_counts_pool_id_vm_size_and_sweep_bounds(tmp_path: Path) -> None:
    plan = plan_of(write_spec(tmp_path, SWEEP, base=TYPED_BASE))
    assert (plan.pool.id, plan.pool.vm_size) == ("demo-pool", "standard_d2s_v3")
    assert (plan.pool.dedicated_nodes, plan.pool.spot_nodes, plan.pool.task_slots_per_node) == (
        3,
        0,
        6,
    )
    tasks: list[TaskPlan] = list(plan.tasks)
    assert [t.id for t in tasks] == ["t-0", "t-2"]
    assert {(t.max_retries, t.elevated) for t in tasks} == {(2, False)}


def test_var_overrides_reach_typed_fields(tmp_path: Path) -> None:
    overrides = {"n": "5", "pool": "big-pool", "size": "standard_e4s_v3", "top": "7", "fast": "yes"}
    plan = plan_of(write_spec(tmp_path, SWEEP, base=TYPED_BASE), overrides)
    assert (plan.pool.id, plan.pool.vm_size, plan.pool.dedicated_nodes) == (
        "big-pool",
        "standard_e4s_v3",
        5,
    )
    assert plan.pool.spot_nodes == 2
    assert [t.id for t in plan.tasks] == ["t-0", "t-2", "t-4", "t-6"]
    assert all(t.elevated for t in plan.tasks)


def test_a_rendered_value_of_the_wrong_type_is_located(tmp_path: Path) -> None:
    path = write_spec(tmp_path, SWEEP, base=TYPED_BASE)
    found = located(path, {"n": "-2", "pool": "no spaces!"})
    assert found == [
        "10:3: $.pool.id: '{{ vars.pool }}' renders to 'no spaces!': 'no spaces!' must be a "
        "Batch id: 1-64 letters, digits, hyphens or underscores",
        "12:3: $.pool.nodes: at least one of 'dedicated' or 'spot' must be above zero",
        "12:11: $.pool.nodes.dedicated: '{{ vars.n }}' renders to '-2': -2 is below the minimum "
        "of 0",
        "12:38: $.pool.nodes.spot: '{{ vars.n - 3 }}' renders to '-5': -5 is below the minimum "
        "of 0",
        "13:3: $.pool.task_slots_per_node: '{{ vars.n * 2 }}' renders to '-4': -4 is below the "
        "minimum of 1",
    ]


def test_text_where_a_number_belongs_and_cross_field_rules(tmp_path: Path) -> None:
    sweep = SWEEP.replace("{{ vars.top }}", "{{ vars.label }}")
    found = messages(write_spec(tmp_path, sweep, base=TYPED_BASE))
    assert found == [
        "$.job.tasks[0].foreach.sweep.k.range[1]: '{{ vars.label }}' renders to 'hello': "
        "expected an integer, found a string ('hello')"
    ]
    spec = TYPED_BASE.replace('spot: "{{ vars.n - 3 }}"', "spot: 0").replace(
        '"{{ vars.n * 2 }}"', "1"
    )
    found = messages(write_spec(tmp_path, SWEEP, base=spec), {"n": "0"})
    assert found == ["$.pool.nodes: at least one of 'dedicated' or 'spot' must be above zero"]


def test_a_boolean_field_takes_only_true_or_false(tmp_path: Path) -> None:
    plan = plan_of(write_spec(tmp_path, SWEEP, base=TYPED_BASE), {"fast": "on"})
    assert all(t.elevated for t in plan.tasks)  # True renders as 'True', read as true
    sweep = SWEEP.replace('"{{ vars.fast }}"', '"{{ vars.label }}"')
    found = messages(write_spec(tmp_path, sweep, base=TYPED_BASE))
    assert found == [
        "$.job.tasks[0].elevated: '{{ vars.label }}' renders to 'hello': expected a boolean "
        "(true or false), found a string ('hello')"
    ]


def test_per_task_names_are_refused_in_fields_rendered_once(tmp_path: Path) -> None:
    sweep = SWEEP.replace('"{{ vars.step }}"', '"{{ item.k }}"')
    found = messages(write_spec(tmp_path, sweep, base=TYPED_BASE))
    assert len(found) == 1
    assert found[0].startswith(
        "$.job.tasks[0].foreach.sweep.k.range[2]: this field is rendered once"
    )


ROWS = """\
- foreach: {file: rows.csv}
  id: "t-{{ item.name }}"
  command: "echo {{ item.name }}"
  retries: "{{ item.retries }}"
  max_wall_clock: "{{ item.limit }}"
  elevated: "{{ item.admin }}"
  required_slots: "{{ item.slots }}"
"""


def test_task_fields_may_take_their_values_from_the_item(tmp_path: Path) -> None:
    path = write_spec(tmp_path, ROWS, base=TYPED_BASE)
    (tmp_path / "rows.csv").write_text(
        "name,retries,limit,admin,slots\na,2,5m,true,3\nb,0,1h,false,1\n"
    )
    first, second = plan_of(path).tasks
    assert (first.max_retries, first.max_wall_clock_seconds, first.elevated) == (2, 300, True)
    assert (second.max_retries, second.max_wall_clock_seconds, second.elevated) == (0, 3600, False)
    assert (first.required_slots, second.required_slots) == (3, 1)


def test_a_per_task_value_is_checked_for_each_task(tmp_path: Path) -> None:
    path = write_spec(tmp_path, ROWS, base=TYPED_BASE)
    (tmp_path / "rows.csv").write_text(
        "name,retries,limit,admin,slots\na,-2,0s,yes,7\nb,x,10,true,1\n"
    )
    found = located(path)
    # Each is located at the field in the spec, whichever task's value was wrong.
    assert {
        line.split(": ")[:2] == ["25:7", "$.job.tasks[0].retries"]
        for line in found
        if "item.retries" in line
    } == {True}
    text = "\n".join(found)
    assert "'{{ item.retries }}' renders to '-2': -2 is below the minimum of -1" in text
    assert "'{{ item.retries }}' renders to 'x': expected an integer, found a string ('x')" in text
    assert "'{{ item.limit }}' renders to '0s': a time limit of zero would stop it at once" in text
    assert "'{{ item.limit }}' renders to '10': '10' must be a duration such as 30s" in text
    assert "'{{ item.admin }}' renders to 'yes': expected a boolean (true or false)" in text
    assert (
        "'{{ item.slots }}' renders to '7': the task needs 7 slots but the pool's nodes have 6"
        in text
    )
    assert len(found) == 6


def test_an_undefined_name_in_a_typed_field_gets_a_hint(tmp_path: Path) -> None:
    spec = TYPED_BASE.replace('"{{ vars.size }}"', '"{{ vars.sise }}"')
    found = messages(write_spec(tmp_path, SWEEP, base=spec))
    assert found == [
        "$.pool.vm_size: undefined template variable: 'dict object' has no attribute 'sise'; "
        "did you mean 'vars.size'?"
    ]


def test_bash_length_syntax_names_raw(tmp_path: Path) -> None:
    task = """\
- id: arr
  commands: ["a=(x y)", "echo ${#a[@]}"]
"""
    found = messages(write_spec(tmp_path, task))
    assert len(found) == 1
    assert "Missing end of comment tag" in found[0]
    assert "{% raw %}...{% endraw %}" in found[0]
    fixed = task.replace('"echo ${#a[@]}"', '"{% raw %}echo ${#a[@]}{% endraw %}"')
    plan = plan_of(write_spec(tmp_path, fixed))
    assert "echo ${#a[@]}" in plan.tasks[0].command_line


def test_an_upload_condition_from_a_var(tmp_path: Path) -> None:
    base = BASE.replace("vars: {n: 3,", "vars: {when: failure, n: 3,")
    tasks = """\
- id: one
  command: "true"
  outputs: [{pattern: "*.log", container: output, when: "{{ vars.when }}"}]
"""
    plan = plan_of(write_spec(tmp_path, tasks, base=base))
    assert plan.tasks[0].outputs[0].when == "failure"
    found = messages(write_spec(tmp_path, tasks, base=base), {"when": "always"})
    assert found == [
        "$.job.tasks[0].outputs[0].when: '{{ vars.when }}' renders to 'always': 'always' is not "
        "one of 'success', 'failure', 'completion'"
    ]
