"""Job-level settings and per-task extras: job actions, job environment, shared resource files,
display names, required slots and elevation, from the spec to the Plan."""

from __future__ import annotations

from pathlib import Path

from plan_helpers import BASE, located, messages, plan_of, write_spec

JOB_BASE = BASE.replace(
    "  nodes: {dedicated: 1}\n", "  nodes: {dedicated: 1}\n  task_slots_per_node: 4\n"
).replace(
    '  id: "demo-{{ run.id }}"\n',
    '  id: "demo-{{ run.id }}"\n'
    "  on_all_tasks_complete: terminate_job\n"
    "  on_task_failure: perform_exit_options_job_action\n"
    '  environment: {GREETING: "{{ vars.label }}", JOB: "{{ spec.name }}-{{ run.id }}"}\n'
    "  resource_files:\n"
    '    - {container: input, blob: "f0.txt", path: shared/f0.txt}\n'
    '    - {url: "https://example.org/{{ vars.label }}.bin", path: tool.bin}\n',
)

TASKS = """\
- id: "t-{{ index }}"
  display_name: "file {{ item.name }} ({{ index + 1 }} of 2)"
  command: "wc -l {{ item.name | quote }}"
  foreach: {container: input}
  resource_files: [{container: input, blob: "{{ item.name }}"}]
  required_slots: 2
  elevated: true
"""


def test_job_actions_environment_and_shared_files_reach_the_plan(tmp_path: Path) -> None:
    plan = plan_of(write_spec(tmp_path, TASKS, base=JOB_BASE))
    job = plan.job
    assert job.on_all_tasks_complete == "terminatejob"
    assert job.on_task_failure == "performexitoptionsjobaction"
    assert job.environment == (("GREETING", "hello"), ("JOB", "demo-run1"))
    first, second = plan.tasks
    assert first.display_name == "file f0.txt (1 of 2)"
    assert second.display_name == "file f1.txt (2 of 2)"
    # The job's files come first in every task, then the task's own.
    assert [(r.blob, r.url, r.file_path) for r in second.resource_files] == [
        ("f0.txt", None, "shared/f0.txt"),
        (None, "https://example.org/hello.bin", "tool.bin"),
        ("f1.txt", None, "f1.txt"),
    ]
    assert (first.required_slots, first.elevated) == (2, True)


def test_defaults_are_batchs(tmp_path: Path) -> None:
    plan = plan_of(write_spec(tmp_path, '- {id: one, command: "true"}\n'))
    assert (plan.job.on_all_tasks_complete, plan.job.on_task_failure) == ("noaction", "noaction")
    assert plan.job.environment == ()
    (task,) = plan.tasks
    assert (task.display_name, task.required_slots, task.elevated) == (None, 1, False)


def test_more_slots_than_a_node_has_is_refused_where_written(tmp_path: Path) -> None:
    tasks = TASKS.replace("required_slots: 2", "required_slots: 5")
    assert located(write_spec(tmp_path, tasks, base=JOB_BASE)) == [
        "33:7: $.job.tasks[0].required_slots: the task needs 5 slots but the pool's nodes have "
        "4 (pool.task_slots_per_node); Batch would never schedule it"
    ]


def test_shared_files_cannot_use_the_item(tmp_path: Path) -> None:
    base = JOB_BASE.replace('blob: "f0.txt"', 'blob: "{{ item.name }}"')
    assert messages(write_spec(tmp_path, TASKS, base=base)) == [
        "$.job.resource_files[0].blob: the job's resource files are the same for every task: "
        "`item` and `index` belong in a task's own resource_files"
    ]


def test_shared_files_name_known_containers_and_a_long_display_name_is_refused(
    tmp_path: Path,
) -> None:
    base = JOB_BASE.replace("{container: input, blob", "{container: inptu, blob")
    tasks = TASKS.replace('"file {{ item.name }}', "\"{{ 'x' * 1100 }}")
    found = messages(write_spec(tmp_path, tasks, base=base))
    assert found[0] == (
        "$.job.resource_files[0].container: unknown container 'inptu' "
        "(containers: input, output); did you mean 'input'?"
    )
    assert found[1].startswith("$.job.tasks[0].display_name: task 0 (item {'name': 'f0.txt'")
    assert found[1].endswith("the display name is 1,109 characters; Batch allows at most 1024")


def test_an_unknown_job_action_is_a_schema_error(tmp_path: Path) -> None:
    from batchspec.spec.load import load_spec
    from batchspec.spec.schema import schema_diagnostics

    base = JOB_BASE.replace("on_all_tasks_complete: terminate_job", "on_all_tasks_complete: stop")
    loaded = load_spec(write_spec(tmp_path, TASKS, base=base))
    assert not isinstance(loaded, list)
    assert [d.message for d in schema_diagnostics(loaded)] == [
        "'stop' is not one of 'no_action', 'terminate_job'"
    ]
