"""Exit conditions and task id ranges: from the spec to Batch's shapes, with Batch's own rules.

Batch refuses a task whose exit options set a job action in a job whose `onTaskFailure` is
`noaction`, and a dependency action in a job that does not use task dependencies (400
InvalidPropertyValue); these are checked here, where they are written. A task id range whose
tasks are not all in the job would leave its dependant waiting for ever, so that is refused too.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence

from batchspec.plan.model import ExitConditionsPlan, ExitOptionsPlan
from batchspec.spec.exit_conditions import ExitConditionsSpec, ExitOptionsSpec
from batchspec.spec.model import JobSpec, TaskTemplate
from batchspec.spec.render import Renderer

MAX_LISTED_RANGE = 100_000
"""A range longer than this and than the job is refused without naming each missing task."""
MAX_RANGE_EDGES = 2_000_000
"""Range dependencies expanded for the cycle check, at most; past this it is not attempted."""


def _options(spec: ExitOptionsSpec | None) -> ExitOptionsPlan | None:
    if spec is None:
        return None
    return ExitOptionsPlan(spec.job_action, spec.dependency_action)


def exit_conditions_plan(spec: ExitConditionsSpec | None) -> ExitConditionsPlan | None:
    """The task's exit conditions as Batch takes them."""
    if spec is None:
        return None
    return ExitConditionsPlan(
        exit_codes=tuple(
            (code, ExitOptionsPlan(o.job_action, o.dependency_action))
            for code, o in spec.exit_codes
        ),
        exit_code_ranges=tuple(
            (r.start, r.end, ExitOptionsPlan(r.options.job_action, r.options.dependency_action))
            for r in spec.exit_code_ranges
        ),
        pre_processing_error=_options(spec.pre_processing_error),
        file_upload_error=_options(spec.file_upload_error),
        default=_options(spec.default),
    )


def uses_dependencies(job: JobSpec) -> bool:
    """Whether the job must be created with `usesTaskDependencies`."""
    return any(t.depends_on or t.depends_on_ranges for t in job.tasks)


def check_exit_conditions(renderer: Renderer, job: JobSpec) -> None:
    """Batch's cross-field rules for exit conditions, and ranges that end before they start."""
    dependencies = uses_dependencies(job)
    for task in job.tasks:
        for task_range in task.depends_on_ranges:
            if task_range.start > task_range.end:
                renderer.report(
                    (*task_range.where, "end"),
                    f"the range ends ({task_range.end}) before it starts ({task_range.start})",
                )
        conditions = task.exit_conditions
        if conditions is None:
            continue
        for options in conditions.all_options():
            if options.job_action is not None and job.on_task_failure == "no_action":
                renderer.report(
                    (*options.where, "job_action"),
                    "Batch takes a job action only in a job with "
                    "`on_task_failure: perform_exit_options_job_action` (set it under `job:`)",
                )
            if options.dependency_action is not None and not dependencies:
                renderer.report(
                    (*options.where, "dependency_action"),
                    "Batch takes a dependency action only in a job that uses task dependencies: "
                    "no task of this job has `depends_on` or `depends_on_ranges`",
                )
        for entry in conditions.exit_code_ranges:
            if entry.start > entry.end:
                renderer.report(
                    (*entry.options.where, "end"),
                    f"the range ends ({entry.end}) before it starts ({entry.start})",
                )


def range_ids(template: TaskTemplate) -> Iterator[str]:
    """Every task id the template's ranges stand for."""
    for r in template.depends_on_ranges:
        for number in range(r.start, r.end + 1):
            yield str(number)


def check_ranges(
    renderer: Renderer, template: TaskTemplate, ids: Collection[str], what: str = ""
) -> bool:
    """Whether every task in the template's ranges is in the job (else it is reported)."""
    ok = True
    for r in template.depends_on_ranges:
        size = r.end - r.start + 1
        if size <= 0:
            continue  # reported by check_exit_conditions
        if size > max(len(ids), MAX_LISTED_RANGE):
            renderer.report(
                r.where,
                f"{what}the range {r.start}-{r.end} stands for {size:,} tasks; the job has "
                f"{len(ids):,}, so its dependants would wait for ever",
            )
            ok = False
            continue
        missing = [str(n) for n in range(r.start, r.end + 1) if str(n) not in ids]
        if missing:
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            renderer.report(
                r.where,
                f"{what}tasks {shown} of the range {r.start}-{r.end} are not in the job "
                f"({len(missing):,} missing); Batch would keep its dependants waiting for ever",
            )
            ok = False
    return ok


def range_edges(templates: Sequence[TaskTemplate], counts: Sequence[int]) -> int:
    """How many dependency edges the ranges add, for the cycle check's bound."""
    total = 0
    for template, count in zip(templates, counts, strict=True):
        total += count * sum(max(0, r.end - r.start + 1) for r in template.depends_on_ranges)
    return total
