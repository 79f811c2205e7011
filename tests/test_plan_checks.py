"""Every semantic check of build_plan: each problem located at the line and column to fix."""

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from batchspec.plan.depends import MAX_DEPENDENCY_ID_CHARS, find_cycle
from batchspec.plan.uploads import MAX_FILES_PER_SOURCE
from batchspec.spec.document import LoadedSpec
from batchspec.spec.load import load_spec
from batchspec.spec.schema import schema_diagnostics
from plan_helpers import BASE, located, messages, plan_of, write_spec

T = BASE.count("\n") + 1  # the line of the first task


def test_unknown_container_references_everywhere(tmp_path: Path) -> None:
    base = BASE.replace("container: input}", "container: inptu}").replace(
        "job:\n",
        "  start_task:\n    command: x\n    resource_files: [{container: app}]\n"
        "downloads:\n  - {container: outptu, to: out}\njob:\n",
    )
    path = write_spec(
        tmp_path,
        """\
        - foreach: {container: data}
          id: "t-{{ index }}"
          command: echo
          resource_files: [{container: nope, blob: x}]
          outputs: [{pattern: "*", container: result}]
        """,
        base=base,
    )
    known = "(containers: input, output)"
    t = base.count("\n") + 1
    assert located(path) == [
        f"8:28: $.uploads[0].container: unknown container 'inptu' {known}; did you mean 'input'?",
        f"20:23: $.pool.start_task.resource_files[0].container: unknown container 'app' {known}",
        f"22:6: $.downloads[0].container: unknown container 'outptu' {known}; "
        "did you mean 'output'?",
        f"{t}:17: $.job.tasks[0].foreach.container: unknown container 'data' {known}",
        f"{t + 3}:25: $.job.tasks[0].resource_files[0].container: unknown container 'nope' "
        + known,
        f"{t + 4}:32: $.job.tasks[0].outputs[0].container: unknown container 'result' {known}",
    ]


def test_upload_sources_must_match_files(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("x")
    base = BASE.replace(
        "pool:\n",
        "  - {source: missing.txt, container: input}\n"
        '  - {source: "*.csv", container: input}\n'
        "  - {source: adir, container: input}\n"
        f"  - {{source: ../{outside.name}, container: output}}\n"
        "pool:\n",
    )
    path = write_spec(tmp_path, "- {id: one, command: echo}\n", base=base)
    problems = located(path)
    assert problems == [
        f"9:6: $.uploads[1].source: 'missing.txt' ({tmp_path}/missing.txt) does not exist",
        f"10:6: $.uploads[2].source: '*.csv' matches no file (relative to {tmp_path})",
        f"11:6: $.uploads[3].source: 'adir' ({tmp_path}/adir) is a directory "
        "(use a glob such as dir/*)",
    ]


def test_upload_outside_the_spec_directory_is_allowed(tmp_path: Path) -> None:
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    (tmp_path / "shared.txt").write_text("shared")
    base = BASE.replace("pool:\n", "  - {source: ../shared.txt, container: output}\npool:\n")
    plan = plan_of(write_spec(spec_dir, "- {id: one, command: echo}\n", base=base))
    assert plan.uploads[-1].source == tmp_path / "shared.txt"
    assert plan.uploads[-1].blob == "shared.txt"


def test_two_files_with_one_blob_name(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "f0.txt").write_text("again")
    base = BASE.replace("pool:\n", '  - {source: "other/*.txt", container: input}\npool:\n')
    path = write_spec(tmp_path, "- {id: one, command: echo}\n", base=base)
    assert messages(path) == [
        f"$.uploads[1].source: {tmp_path}/other/f0.txt and {tmp_path}/data/f0.txt would both "
        "be uploaded as blob 'f0.txt' into container 'input'"
    ]


def test_duplicate_task_ids_including_case(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """\
        - {id: same, command: echo}
        - {id: SAME, command: echo}
        - foreach: {items: [a, b]}
          id: fixed
          command: echo
        """,
    )
    assert located(path) == [
        f"{T + 1}:8: $.job.tasks[1].id: duplicate task id 'SAME' (task 0 of the job has it too)",
        f"{T + 3}:7: $.job.tasks[2].id: task 1 (item 'b'): duplicate task id 'fixed' "
        "(task 2 of the job has it too)",
    ]


def test_ids_and_names_invalid_after_rendering(tmp_path: Path) -> None:
    base = BASE.replace("{name: demo-output}", '{name: "Demo_{{ vars.label }}"}').replace(
        'id: "demo-{{ run.id }}"', 'id: "demo {{ run.id }}"'
    )
    path = write_spec(tmp_path, "- {id: one, command: echo}\n", base=base)
    assert located(path) == [
        "6:12: $.containers.output.name: the container name 'Demo_hello' is not a valid blob "
        "container name: use 3-63 lowercase letters, digits and hyphens, starting and ending "
        "with a letter or digit, without two hyphens in a row",
        "19:3: $.job.id: the job id 'demo run1' has characters Batch does not allow (' '); "
        "use letters, digits, hyphens and underscores",
    ]
    path = write_spec(
        tmp_path,
        """\
        - foreach: {items: ["ok", "has/slash", "x"]}
          id: "t-{{ item }}{{ 'y' * (70 if item == 'x' else 0) }}"
          command: echo
        """,
    )
    problems = messages(path)
    assert problems == [
        "$.job.tasks[0].id: task 1 (item 'has/slash'): the task id 't-has/slash' has characters "
        "Batch does not allow ('/'); use letters, digits, hyphens and underscores",
        "$.job.tasks[0].id: task 2 (item 'x'): the task id 't-xyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
        "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy'... is 73 characters; Batch allows at most 64",
    ]


def test_duplicate_container_names(tmp_path: Path) -> None:
    base = BASE.replace("{name: demo-output}", "{name: demo-input}")
    path = write_spec(tmp_path, "- {id: one, command: echo}\n", base=base)
    assert messages(path) == [
        "$.containers.output.name: containers 'input' and 'output' both name 'demo-input'"
    ]


def test_undefined_variables_in_every_field(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """\
        - id: one
          commands: ["echo {{ vars.n }}", "echo {{ vars.m }}"]
          environment: {A: "{{ spec.nam }}"}
          resource_files: [{container: input, blob: "{{ containers.missing }}"}]
          outputs: [{pattern: "{{ run.when }}", container: output, path: "{{ undefined_name }}"}]
          depends_on: ["{{ item }}"]
        """,
    )
    assert located(path) == [
        f"{T + 1}:39: $.job.tasks[0].commands[1]: undefined template variable: "
        "'dict object' has no attribute 'm'",
        f"{T + 2}:21: $.job.tasks[0].environment.A: undefined template variable: "
        "'dict object' has no attribute 'nam'; did you mean 'spec.name'?",
        f"{T + 3}:43: $.job.tasks[0].resource_files[0].blob: undefined template variable: "
        "'dict object' has no attribute 'missing'",
        f"{T + 4}:18: $.job.tasks[0].outputs[0].pattern: undefined template variable: "
        "'dict object' has no attribute 'when'",
        f"{T + 4}:64: $.job.tasks[0].outputs[0].path: undefined template variable: "
        "'undefined_name' is undefined",
        f"{T + 5}:20: $.job.tasks[0].depends_on[0]: undefined template variable: "
        "'item' is undefined",
    ]


def test_template_syntax_error_is_reported_once_per_field(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """\
        - foreach: {sweep: {i: {range: [0, 1000]}}}
          id: "t{{ item.i }"
          command: "echo {% if %}"
        """,
    )
    assert located(path) == [
        f"{T + 1}:7: $.job.tasks[0].id: template syntax error: unexpected '}}'",
        f"{T + 2}:7: $.job.tasks[0].command: template syntax error: Expected an expression, "
        "got 'end of statement block'",
    ]


def test_a_factory_error_is_capped(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """\
        - foreach: {sweep: {i: {range: [0, 5000]}}}
          id: "t{{ item.i }}"
          command: "echo {{ item.j }}"
        """,
    )
    problems = messages(path)
    assert len(problems) == 21
    assert problems[0] == (
        "$.job.tasks[0].command: task 0 (item {'i': 0}): undefined template variable: "
        "'dict object' has no attribute 'j'"
    )
    assert problems[-1] == (
        "$.job.tasks[0].command: tasks: 4,980 more fail in this field (only the first 20 are shown)"
    )


def test_sandbox_escape_is_a_diagnostic(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path, "- {id: one, command: \"{{ ''.__class__.__mro__[1].__subclasses__() }}\"}\n"
    )
    assert located(path) == [
        f"{T}:17: $.job.tasks[0].command: the template is not allowed to do this (sandbox): "
        "access to attribute '__class__' of 'str' object is unsafe."
    ]


def test_dependency_problems(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """\
        - {id: a, command: echo, depends_on: [nothere]}
        - {id: b, command: echo, depends_on: ["zz-*"]}
        - {id: c, command: echo, depends_on: [c]}
        - {id: d, command: echo, depends_on: ["d*"]}
        """,
    )
    assert located(path) == [
        f"{T}:30: $.job.tasks[0].depends_on: depends on 'nothere', which is no task of this job",
        f"{T + 1}:30: $.job.tasks[1].depends_on: depends on 'zz-*', which matches no other task",
        f"{T + 2}:30: $.job.tasks[2].depends_on: task 'c' depends on itself",
        f"{T + 3}:30: $.job.tasks[3].depends_on: depends on 'd*', which matches no other task",
    ]


def test_dependency_cycle_is_reported_with_its_path(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """\
        - {id: a, command: echo, depends_on: [c]}
        - {id: b, command: echo, depends_on: [a]}
        - {id: c, command: echo, depends_on: [b]}
        - {id: d, command: echo, depends_on: [a]}
        """,
    )
    assert located(path) == [
        f"{T}:30: $.job.tasks[0].depends_on: the task dependencies form a cycle: a -> c -> b -> a"
    ]


def test_find_cycle() -> None:
    assert find_cycle({"a": ["b"], "b": ["c"], "c": []}) is None
    assert find_cycle({"a": ["a"]}) == ["a", "a"]
    chain = {str(i): [str(i + 1)] for i in range(100_000)}
    assert find_cycle(chain) is None
    chain["100000"] = ["0"]
    cycle = find_cycle(chain)
    assert cycle is not None and len(cycle) == 100_002


class _CountedList(list[str]):
    """A list that counts how often it is walked."""

    walks = 0

    def __iter__(self) -> Iterator[str]:
        _CountedList.walks += 1
        return super().__iter__()


def test_find_cycle_walks_a_shared_dependency_list_once() -> None:
    # A barrier: 2,000 tasks each wait for the same 2,000 tasks (4 million edges).
    shared = _CountedList(f"a{i}" for i in range(2000))
    edges: dict[str, Sequence[str]] = {f"b{i}": shared for i in range(2000)}
    _CountedList.walks = 0
    assert find_cycle(edges) is None
    assert _CountedList.walks == 1
    # A cycle through a shared list is still found: a1 -> b7 -> a1.
    edges["a1"] = ["b7"]
    cycle = find_cycle(edges)
    assert cycle is not None and cycle[0] == cycle[-1] and {"a1", "b7"} <= set(cycle)


def test_a_barrier_stage_shares_one_dependency_tuple(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """\
        - foreach: {sweep: {i: {range: [0, 300]}}}
          id: "map-{{ item.i }}"
          command: echo
        - foreach: {sweep: {i: {range: [0, 300]}}}
          id: "reduce-{{ item.i }}"
          command: echo
          depends_on: ["map-*"]
        - {id: all, command: echo, depends_on: ["*"]}
        """,
    )
    tasks = plan_of(path).tasks
    reduce = tasks[300:600]
    assert reduce[0].depends_on == tuple(f"map-{i}" for i in range(300))
    # One tuple for the whole stage, not 300 copies of 300 ids.
    assert all(t.depends_on is reduce[0].depends_on for t in reduce)
    assert tasks[600].id == "all" and len(tasks[600].depends_on) == 600


def test_tasks_that_match_each_others_pattern_are_a_cycle(tmp_path: Path) -> None:
    # Each of 3,000 tasks depends on every other one: reported as soon as it is certain,
    # without expanding 3,000 lists of 2,999 ids.
    path = write_spec(
        tmp_path,
        """\
        - foreach: {sweep: {i: {range: [0, 3000]}}}
          id: "t{{ item.i }}"
          command: echo
          depends_on: ["t*"]
        """,
    )
    found = messages(path)
    assert len(found) == 21
    assert found[0] == (
        "$.job.tasks[0].depends_on: task 1 (item {'i': 1}): the task dependencies form a "
        "cycle: t1 -> t0 -> t1"
    )
    assert found[-1] == (
        "$.job.tasks[0].depends_on: tasks: 2,979 more fail in this field "
        "(only the first 20 are shown)"
    )


def test_dependency_ids_over_batch_limit(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """\
        - foreach: {sweep: {i: {range: [0, 2000]}}}
          id: "a-long-task-id-for-the-limit-{{ '%05d' | format(item.i) }}"
          command: echo
        - {id: merge, command: echo, depends_on: ["a-long-*"]}
        """,
    )
    total = 2000 * len("a-long-task-id-for-the-limit-00000")
    assert total > MAX_DEPENDENCY_ID_CHARS
    assert messages(path) == [
        f"$.job.tasks[1].depends_on: depends on 2,000 tasks whose ids add up to {total:,} "
        "characters; Batch allows at most 64,000 (depend on fewer tasks, e.g. through "
        "intermediate merge tasks)"
    ]


def test_var_overrides_checked(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "- {id: one, command: 'echo {{ vars.n }}'}\n")
    assert located(path, {"n": "three", "ratio": "x", "labl": "y"}) == [
        "3:1: $.vars: --var labl: the spec has no variable 'labl' "
        "(its variables: n, label, fast, ratio); did you mean 'label'?",
        "3:8: $.vars.n: --var n=three: 'three' is not an integer like the default 3",
        "3:41: $.vars.ratio: --var ratio=x: 'x' is not a number like the default 0.5",
    ]
    plan = plan_of(path, {"n": "12", "fast": "true", "label": "a b"})
    assert plan.tasks[0].command_line == "echo 12"
    assert dict(plan.vars) == {"n": 12, "label": "a b", "fast": True, "ratio": 0.5}


def test_foreach_container_without_uploads(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """\
        - foreach: {container: output}
          id: "t-{{ item.stem }}"
          command: echo
        - foreach: {container: input, match: "*.csv"}
          id: "u-{{ item.stem }}"
          command: echo
        """,
    )
    assert located(path) == [
        f"{T}:17: $.job.tasks[0].foreach.container: this spec uploads nothing into container "
        "'output'; factories over a container are expanded from this spec's uploads into it",
        f"{T + 3}:35: $.job.tasks[1].foreach.match: no blob uploaded into 'input' matches '*.csv'",
    ]


def test_empty_sweep_range_and_zero_step(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """\
        - foreach: {sweep: {a: [1], b: {range: [5, 5]}}}
          id: "t{{ item.a }}"
          command: echo
        """,
    )
    assert located(path) == [
        f"{T}:33: $.job.tasks[0].foreach.sweep.b: the sweep parameter 'b' has no values "
        "(an empty range)"
    ]
    path = write_spec(
        tmp_path,
        """\
        - foreach: {sweep: {a: {range: [0, 5, 0]}}}
          id: "t{{ item.a }}"
          command: echo
        """,
    )
    assert located(path) == [f"{T}:25: $.job.tasks[0].foreach.sweep.a: a range step cannot be 0"]


@pytest.mark.parametrize(
    ("sweep", "count"),
    [
        ("{range: [0, 1001]}", 1_001_000),
        # Ranges too long for len(): counted, not crashed on.
        ("{range: [0, 100000000000000000000]}", 10**23),
        ("{range: [100000000000000000000, 0, -7]}", (10**20 + 6) // 7 * 1000),
    ],
)
def test_too_many_tasks_is_refused_before_rendering(tmp_path: Path, sweep: str, count: int) -> None:
    path = write_spec(
        tmp_path,
        f"""\
        - foreach: {{sweep: {{i: {sweep}, j: {{range: [0, 1000]}}}}}}
          id: "t{{{{ item.i }}}}-{{{{ item.j }}}}"
          command: echo
        """,
    )
    assert messages(path) == [
        f"$.job.tasks: the job would have {count:,} tasks; batchspec plans at most 1,000,000"
    ]


def test_an_empty_parameter_after_one_too_long_for_len(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """\
        - foreach: {sweep: {a: {range: [0, 100000000000000000000]}, b: {range: [3, 1]}}}
          id: "t{{ item.a }}"
          command: echo
        """,
    )
    assert located(path) == [
        f"{T}:65: $.job.tasks[0].foreach.sweep.b: the sweep parameter 'b' has no values "
        "(an empty range)"
    ]


def test_shell_syntax_that_breaks_the_command_line(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """\
        - id: one
          commands: ["echo hi # note", "echo 'unclosed"]
        - {id: two, command: "echo \\"open"}
        """,
    )
    assert located(path) == [
        f"{T + 1}:18: $.job.tasks[0].commands[0]: the command ends in a shell comment (#...), "
        "which would also comment out the commands after it in the bash line; remove the comment",
        f"{T + 1}:36: $.job.tasks[0].commands[1]: the command has a single quote that is never "
        "closed",
        f"{T + 2}:17: $.job.tasks[1].command: the command has a double quote that is never closed",
    ]


def test_resource_file_destination_must_stay_in_the_task_directory(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """\
        - foreach: {items: ["../x", "/etc/passwd", "fine/y"]}
          id: "t{{ index }}"
          command: echo
          resource_files: [{container: input, blob: "{{ item }}"}]
        """,
    )
    assert messages(path) == [
        "$.job.tasks[0].resource_files[0].blob: task 0 (item '../x'): the destination '../x' "
        "leaves the task directory ('..'), which Batch refuses",
        "$.job.tasks[0].resource_files[0].blob: task 1 (item '/etc/passwd'): the destination "
        "'/etc/passwd' is absolute; Batch needs a path inside the task directory",
    ]


def test_problems_of_every_part_come_in_one_run_without_cascades(tmp_path: Path) -> None:
    base = BASE.replace('"data/*.txt"', '"nodata/*.txt"').replace(
        'id: "demo-{{ run.id }}"', 'id: "demo-{{ run.idd }}"'
    )
    path = write_spec(
        tmp_path,
        """\
        - foreach: {container: input}
          id: "t-{{ item.stem }}"
          command: echo
        - {id: other, command: "echo {{ vars.nope }}", depends_on: [missing]}
        """,
        base=base,
    )
    assert messages(path) == [
        f"$.uploads[0].source: 'nodata/*.txt' matches no file (relative to {tmp_path})",
        "$.job.id: undefined template variable: 'dict object' has no attribute 'idd'; "
        "did you mean 'run.id'?",
        "$.job.tasks[1].command: undefined template variable: 'dict object' has no attribute "
        "'nope'",
    ]


def test_paths_with_nul_characters(tmp_path: Path) -> None:
    base = BASE.replace('"data/*.txt"', '"data/\\0*.txt"').replace(
        "job:\n", 'downloads:\n  - {container: output, to: "out\\0x"}\njob:\n'
    )
    path = write_spec(tmp_path, "- {id: one, command: echo}\n", base=base)
    assert messages(path) == [
        f"$.uploads[0].source: 'data/\\x00*.txt' matches no file (relative to {tmp_path})",
        "$.downloads[0].to: the path holds a NUL character",
    ]


def test_a_glob_matching_too_many_paths_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert MAX_FILES_PER_SOURCE == 10_000
    monkeypatch.setattr("batchspec.plan.uploads.MAX_FILES_PER_SOURCE", 20)
    many = tmp_path / "many"
    many.mkdir()
    for i in range(21):
        (many / f"{i}").touch()
    base = BASE.replace('"data/*.txt"', '"many/*"')
    path = write_spec(tmp_path, "- {id: one, command: echo}\n", base=base)
    assert messages(path) == [
        "$.uploads[0].source: 'many/*' matches more than 20 paths; upload a directory as "
        "an archive or narrow the pattern"
    ]


def test_time_limits_longer_than_batch_can_hold(tmp_path: Path) -> None:
    base = BASE.replace("  tasks:\n", "  timeout: 99999999999999999999999d\n  tasks:\n")
    tasks = "- {id: one, command: echo, max_wall_clock: 10675200d}\n"
    tasks += "- {id: two, command: echo, max_wall_clock: 10675199d}\n"
    path = write_spec(tmp_path, tasks, base=base)
    limit = "the time limit is longer than Batch can hold (at most 10675199d, about 29,000 years)"
    assert messages(path) == [
        f"$.job.timeout: {limit}; leave it out for no limit",
        f"$.job.tasks[0].max_wall_clock: {limit}; leave it out for no limit",
    ]


def test_counts_beyond_what_batch_can_hold(tmp_path: Path) -> None:
    base = BASE.replace("{dedicated: 1}", "{dedicated: 2147483648, spot: 2147483647}")
    base = base.replace("  tasks:\n", "  retries: 99999999999999999999\n  tasks:\n")
    path = write_spec(tmp_path, "- {id: one, command: echo, retries: 2147483648}\n", base=base)
    loaded = load_spec(path)
    assert isinstance(loaded, LoadedSpec)
    assert [f"{d.path}: {d.message}" for d in schema_diagnostics(loaded)] == [
        "$.pool.nodes.dedicated: 2147483648 is above the maximum of 2147483647",
        "$.job.retries: 99999999999999999999 is above the maximum of 2147483647",
        "$.job.tasks[0].retries: 2147483648 is above the maximum of 2147483647",
    ]


def test_zero_time_limits(tmp_path: Path) -> None:
    base = BASE.replace("  tasks:\n", "  timeout: 0m\n  tasks:\n")
    path = write_spec(tmp_path, "- {id: one, command: echo, max_wall_clock: 0h0s}\n", base=base)
    assert messages(path) == [
        "$.job.timeout: a time limit of zero would stop it at once; use at least 1s",
        "$.job.tasks[0].max_wall_clock: a time limit of zero would stop it at once; "
        "use at least 1s",
    ]


@pytest.mark.timeout(60)
def test_a_template_that_loops_without_end_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("batchspec.spec.watchdog.RENDER_CPU_LIMIT", 0.5)
    path = write_spec(
        tmp_path,
        "- {id: one, command: "
        '"{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"}\n',
    )
    assert messages(path) == [
        "$.job.tasks[0].command: the template is not allowed to do this (sandbox): "
        "the template ran for more than 0.5 s of CPU time"
    ]


@pytest.mark.timeout(120)
def test_the_checks_of_a_spec_share_one_cpu_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each render stays under the per-render limit; 2,000 of them would take minutes.
    monkeypatch.setattr("batchspec.spec.watchdog.SPEC_CPU_LIMIT", 1.0)
    path = write_spec(
        tmp_path,
        """\
        - foreach: {sweep: {i: {range: [0, 2000]}}}
          id: "t{{ item.i }}"
          command: "{% for a in range(100000) %}{% endfor %}echo {{ index }}"
        """,
    )
    # The check stops at once, located at the field it was rendering, naming the limit.
    assert located(path) == [
        f"{T + 2}:7: $.job.tasks[0].command: checking the spec used more than 1 s of CPU time "
        "(the limit for one spec file); checking stopped"
    ]


@pytest.mark.timeout(120)
def test_the_memory_of_checking_a_spec_is_limited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A block set collects its output without the per-render cap; the growth is stopped.
    monkeypatch.setattr("batchspec.spec.watchdog.MEMORY_LIMIT", 64 * 1024 * 1024)
    path = write_spec(
        tmp_path,
        "- id: one\n"
        '  command: "{% set x %}{% for a in range(100000) %}{% for b in range(100000) %}'
        'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}{% endfor %}{% endset %}{{ x|length }}"\n',
    )
    assert located(path) == [
        f"{T + 1}:7: $.job.tasks[0].command: checking the spec needed more than 64 MiB of memory "
        "(the limit for one spec file); checking stopped"
    ]


def test_dependency_problems_are_reported_with_problems_elsewhere(tmp_path: Path) -> None:
    base = BASE.replace('id: "demo-{{ run.id }}"', 'id: "demo-{{ run.idd }}"')
    path = write_spec(tmp_path, "- {id: one, command: echo, depends_on: [two]}\n", base=base)
    assert messages(path) == [
        "$.job.id: undefined template variable: 'dict object' has no attribute 'idd'; "
        "did you mean 'run.id'?",
        "$.job.tasks[0].depends_on: depends on 'two', which is no task of this job",
    ]


def test_shell_operators_in_a_plain_command(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "- {id: one, command: 'python3 x.py > out.txt'}\n")
    assert located(path) == [
        f"{T}:17: $.job.tasks[0].command: Batch runs `command` without a shell, so '>' would "
        "reach the program as a plain argument; use `commands:` (run by bash) or start a "
        "shell: /bin/bash -c '...'"
    ]
