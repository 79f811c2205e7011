"""Exit conditions and task id range dependencies: Batch's shapes in the plan, Batch's rules as
located errors."""

from __future__ import annotations

from pathlib import Path

from batchspec.plan.model import ExitConditionsPlan, ExitOptionsPlan
from plan_helpers import BASE, located, messages, plan_of, write_spec

FAILURE_BASE = BASE.replace(
    '  id: "demo-{{ run.id }}"\n',
    '  id: "demo-{{ run.id }}"\n  on_task_failure: perform_exit_options_job_action\n',
)

TASKS = """\
- foreach: {sweep: {n: {range: [1, "{{ vars.n + 1 }}"]}}}
  id: "{{ item.n }}"
  command: "echo {{ item.n }}"
  exit_conditions:
    exit_codes: [{code: 3, job_action: none, dependency_action: satisfy}]
    exit_code_ranges: [{start: 10, end: "{{ vars.n * 10 }}", job_action: terminate}]
    pre_processing_error: {job_action: disable}
    file_upload_error: {dependency_action: block}
    default: {job_action: none}
- id: merge
  command: "echo merge"
  depends_on_ranges: [{start: 1, end: "{{ vars.n }}"}]
"""


def test_exit_conditions_and_ranges_reach_the_plan_as_batch_takes_them(tmp_path: Path) -> None:
    plan = plan_of(write_spec(tmp_path, TASKS, base=FAILURE_BASE), {"n": "4"})
    assert [t.id for t in plan.tasks] == ["1", "2", "3", "4", "merge"]
    assert plan.tasks[0].exit_conditions == ExitConditionsPlan(
        exit_codes=((3, ExitOptionsPlan("none", "satisfy")),),
        exit_code_ranges=((10, 40, ExitOptionsPlan("terminate", None)),),
        pre_processing_error=ExitOptionsPlan("disable", None),
        file_upload_error=ExitOptionsPlan(None, "block"),
        default=ExitOptionsPlan("none", None),
    )
    merge = plan.tasks[-1]
    assert merge.depends_on_ranges == ((1, 4),)
    assert merge.depends_on == ()
    assert plan.job.uses_task_dependencies


def test_a_job_action_needs_perform_exit_options(tmp_path: Path) -> None:
    found = located(write_spec(tmp_path, TASKS))
    rule = (
        "Batch takes a job action only in a job with "
        "`on_task_failure: perform_exit_options_job_action` (set it under `job:`)"
    )
    assert found == [
        f"25:32: $.job.tasks[0].exit_conditions.exit_codes[0].job_action: {rule}",
        f"26:66: $.job.tasks[0].exit_conditions.exit_code_ranges[0].job_action: {rule}",
        f"27:32: $.job.tasks[0].exit_conditions.pre_processing_error.job_action: {rule}",
        f"29:19: $.job.tasks[0].exit_conditions.default.job_action: {rule}",
    ]


def test_a_dependency_action_needs_a_job_with_dependencies(tmp_path: Path) -> None:
    tasks = TASKS.split("- id: merge")[0]
    found = messages(write_spec(tmp_path, tasks, base=FAILURE_BASE))
    rule = (
        "Batch takes a dependency action only in a job that uses task dependencies: no task of "
        "this job has `depends_on` or `depends_on_ranges`"
    )
    assert found == [
        f"$.job.tasks[0].exit_conditions.exit_codes[0].dependency_action: {rule}",
        f"$.job.tasks[0].exit_conditions.file_upload_error.dependency_action: {rule}",
    ]


def test_a_range_must_hold_tasks_of_the_job(tmp_path: Path) -> None:
    tasks = TASKS.replace('end: "{{ vars.n }}"}]', 'end: "{{ vars.n + 2 }}"}]')
    assert messages(write_spec(tmp_path, tasks, base=FAILURE_BASE)) == [
        "$.job.tasks[1].depends_on_ranges[0]: tasks 4, 5 of the range 1-5 are not in the job "
        "(2 missing); Batch would keep its dependants waiting for ever"
    ]
    huge = TASKS.replace('end: "{{ vars.n }}"}]', "end: 2000000000}]")
    assert messages(write_spec(tmp_path, huge, base=FAILURE_BASE)) == [
        "$.job.tasks[1].depends_on_ranges[0]: the range 1-2000000000 stands for 2,000,000,000 "
        "tasks; the job has 4, so its dependants would wait for ever"
    ]


def test_ranges_that_end_before_they_start(tmp_path: Path) -> None:
    tasks = TASKS.replace("start: 10, end", "start: 100, end").replace(
        "[{start: 1, end", "[{start: 9, end"
    )
    assert messages(write_spec(tmp_path, tasks, base=FAILURE_BASE)) == [
        "$.job.tasks[0].exit_conditions.exit_code_ranges[0].end: the range ends (30) before it "
        "starts (100)",
        "$.job.tasks[1].depends_on_ranges[0].end: the range ends (3) before it starts (9)",
    ]


def test_a_range_that_holds_its_own_task_is_a_cycle(tmp_path: Path) -> None:
    tasks = """\
- foreach: {sweep: {n: {range: [1, 4]}}}
  id: "{{ item.n }}"
  command: "echo {{ item.n }}"
- id: "4"
  command: "echo last"
  depends_on_ranges: [{start: 1, end: 4}]
"""
    assert messages(write_spec(tmp_path, tasks)) == [
        "$.job.tasks[1].depends_on: the task dependencies form a cycle: 4 -> 4"
    ]
