"""Hostile specs: values that would carry a memory address, text bombs, globs that leave the spec's
directory, quadratic dependencies, outputs that reach out of the task directory, a budget that
works without SIGVTALRM. Each ends with a located message naming what was refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import batchspec.plan.depends as depends
from batchspec.plan.depends import DependencyResolver
from batchspec.plan.globs import GlobError, bounded_glob
from plan_helpers import located, messages, plan_of, write_spec

REPO = Path(__file__).resolve().parent.parent


def command(tmp_path: Path, text: str) -> list[str]:
    return messages(write_spec(tmp_path, f"- {{id: one, command: {json.dumps(text)}}}\n"))


@pytest.mark.parametrize(
    "template",
    [
        "{{ [vars.keys] }}",
        "{{ 'x' ~ joiner() }}",
        "{{ range(3)|map('string') ~ '' }}",
        "{{ '%r' % cycler('a') }}",
        "{{ {'a': namespace} }}",
        "{{ cycler('a')|string }}",
        "{{ [joiner]|tojson }}",
    ],
)
def test_no_rendered_value_carries_a_memory_address(tmp_path: Path, template: str) -> None:
    found = command(tmp_path, f"echo {template}")
    assert len(found) == 1, found
    assert found[0].startswith("$.job.tasks[0].command: "), found
    assert "0x" not in found[0]


def test_data_still_prints(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        "- {id: one, command: \"echo {{ ('a' ~ 1 ~ [2, 'b'] ~ {'k': none}) | quote }}\"}\n",
    )
    plan = plan_of(path)
    assert plan.tasks[0].command_line == "echo 'a1[2, '\"'\"'b'\"'\"'][...]'".replace(
        "[...]", "{'\"'\"'k'\"'\"': None}"
    )


BOMB = "{% set a = range(100000)|list %}{% set b = [a,a,a,a,a,a,a,a,a] %}"


@pytest.mark.parametrize(
    ("template", "what"),
    [
        (BOMB + "{% set c = [b,b,b,b,b,b,b,b,b] %}{{ c|tojson }}", "the filter 'tojson'"),
        (BOMB + "{{ b|join(',') }}", "the filter 'join'"),
        (BOMB + "{% set c = [b,b,b,b,b,b,b,b,b] %}{{ c }}", "printing this value"),
        (BOMB + "{{ b ~ '' }}", "joining these values with ~"),
        (BOMB + "{{ b|string }}", "the filter 'string'"),
        (BOMB + "{{ b|pprint }}", "the filter 'pprint'"),
        (BOMB + "{{ '%s' % [b] }}", "the %-format"),
        (BOMB + "{{ '{}{}'.format(b, b) }}", "the {}-format"),
        ("{% set s = 'x' * 900000 %}{{ s|replace('', s) }}", "the filter 'replace'"),
        ("{% set s = 'x' * 900000 %}{{ s.replace('x', s) }}", "replace()"),
        ("{% set s = 'x' * 900000 %}{{ s.join([s, s]) }}", "join()"),
        ("{% set s = '\t' * 900000 %}{{ s.expandtabs(100) }}", "expandtabs()"),
        ("{% set s = '\n' * 900000 %}{{ s|indent(100) }}", "the filter 'indent'"),
    ],
)
def test_text_bombs_are_refused_before_they_are_built(
    tmp_path: Path, template: str, what: str
) -> None:
    found = command(tmp_path, template)
    assert found == [
        "$.job.tasks[0].command: the template is not allowed to do this (sandbox): "
        f"{what} would make more than 1,000,000 characters"
    ]


def test_doubling_a_string_or_a_list_stops_at_the_limit(tmp_path: Path) -> None:
    doubling = "{% set ns = namespace(s='x' * 1000) %}{% for i in range(40) %}"
    for op in ("~", "+"):
        found = command(tmp_path, doubling + f"{{% set ns.s = ns.s {op} ns.s %}}{{% endfor %}}")
        assert len(found) == 1 and "would make more than 1,000,000" in found[0], found


def test_kept_plans_have_a_memory_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 1,500 tasks of 900,000 characters each took 1.46 GB kept; past the limit the plan keeps
    # only ids and renders each task when it is read.
    monkeypatch.setattr("batchspec.plan.tasklist.KEPT_CHARACTERS", 1_000_000)
    path = write_spec(
        tmp_path,
        """\
        - foreach: {sweep: {i: {range: [0, 30]}}}
          id: "t{{ item.i }}"
          command: "echo {{ ('x' * 100000) | quote }} {{ index }}"
        """,
    )
    plan = plan_of(path)
    assert not isinstance(plan.tasks, tuple)
    assert plan.tasks[29].command_line.endswith(" 29")


# --- globs ---------------------------------------------------------------------------------


def test_a_glob_may_not_be_absolute_or_climb(tmp_path: Path) -> None:
    base_lines = 'uploads:\n  - {source: "data/*.txt", container: input}\n'
    for source in ("/**/zz-no-such-file", "../../**/x", "data/../../*.txt"):
        spec = write_spec(tmp_path, "- {id: one, command: echo}\n")
        text = spec.read_text().replace(
            base_lines, f"uploads:\n  - {{source: {source!r}, container: input}}\n"
        )
        spec.write_text(text)
        found = located(spec)
        assert len(found) == 1 and found[0].startswith("8:6: $.uploads[0].source: the glob "), found
        assert "absolute" in found[0] or "climbs out" in found[0]


def test_a_glob_counts_every_entry_it_visits(tmp_path: Path) -> None:
    for n in range(30):
        (tmp_path / f"d{n}").mkdir()
        (tmp_path / f"d{n}" / "f.txt").write_text("x")
    assert len(bounded_glob(tmp_path, "**/*.txt")) == 30
    with pytest.raises(GlobError, match="looked at more than 40 files and directories"):
        bounded_glob(tmp_path, "**/zz-no-such-file", limit=40)


def test_a_glob_follows_only_links_it_names(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("x")
    spec_dir = tmp_path / "spec"
    (spec_dir / "data").mkdir(parents=True)
    (spec_dir / "data" / "a.txt").write_text("a")
    (spec_dir / "data" / ".hidden.txt").write_text("h")
    (spec_dir / "link").symlink_to(outside)
    assert bounded_glob(spec_dir, "*/*.txt") == ["data/a.txt"]
    assert bounded_glob(spec_dir, "**/*.txt") == ["data/a.txt"]
    assert bounded_glob(spec_dir, "link/*.txt") == ["link/secret.txt"]
    assert bounded_glob(spec_dir, "data/.*.txt") == ["data/.hidden.txt"]
    assert bounded_glob(spec_dir, "data/**") == ["data", "data/a.txt"]


# --- dependencies --------------------------------------------------------------------------


def test_each_distinct_pattern_looks_only_at_ids_that_can_match(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = [f"t-{i}-x" for i in range(20_000)]
    calls = 0
    real = depends.fnmatch.fnmatchcase

    def counting(name: str, pattern: str) -> bool:
        nonlocal calls
        calls += 1
        return real(name, pattern)

    monkeypatch.setattr(depends.fnmatch, "fnmatchcase", counting)
    resolver = DependencyResolver(ids)
    for i in range(19_999):
        found, problems = resolver.expand(ids[i], [f"t-{i + 1}-*"])
        assert found == (ids[i + 1],) and not problems
    # Each prefix selects its own id (and t-1-* also t-10-x...: a few more); not 20,000 each.
    assert calls < 60_000
    calls = 0
    for i in range(0, 19_999, 7):
        found, _ = resolver.expand(ids[i], [f"*-{i + 1}-x"])
        assert found == (ids[i + 1],)
    assert calls < 20_000


def test_patterns_keep_submission_order() -> None:
    ids = ["b2", "a1", "b1", "c", "ab"]
    resolver = DependencyResolver(ids)
    assert resolver.expand("c", ["b*"])[0] == ("b2", "b1")
    assert resolver.expand("c", ["*1"])[0] == ("a1", "b1")
    assert resolver.expand("c", ["*b*"])[0] == ("b2", "b1", "ab")
    assert resolver.expand("c", ["[ab]?"])[0] == ("b2", "a1", "b1", "ab")


# --- outputs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (
            "{pattern: /etc/hostname, container: output}",
            "pattern: the output pattern '/etc/hostname' is absolute",
        ),
        (
            "{pattern: '../../../batch.sqlite3*', container: output}",
            "pattern: the output pattern '../../../batch.sqlite3*' leads out of the task directory",
        ),
        (
            "{pattern: 'a/../../../x', container: output}",
            "pattern: the output pattern 'a/../../../x' leads out",
        ),
        (
            "{pattern: '*.txt', path: '../x', container: output}",
            "path: the output path '../x' climbs",
        ),
        (
            "{pattern: '*.txt', path: '/x', container: output}",
            "path: the output path '/x' is absolute",
        ),
    ],
)
def test_outputs_stay_inside_the_task_directory(tmp_path: Path, output: str, message: str) -> None:
    found = messages(write_spec(tmp_path, f"- {{id: one, command: echo, outputs: [{output}]}}\n"))
    assert len(found) == 1 and found[0].startswith(f"$.job.tasks[0].outputs[0].{message}"), found


def test_the_task_directory_itself_is_inside(tmp_path: Path) -> None:
    # Batch's own idiom: the working directory is <task>/wd, stdout.txt is in <task>.
    spec = "- {id: one, command: echo, outputs: [{pattern: '../std*.txt', container: output}]}\n"
    assert plan_of(write_spec(tmp_path, spec)).tasks[0].outputs[0].pattern == "../std*.txt"


# --- the budget ----------------------------------------------------------------------------

LOOP = '"{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"'


def test_the_budget_works_where_sigvtalrm_does_not_exist(tmp_path: Path) -> None:
    # As on Windows: no CPU-time signal, no interval timer.
    spec = write_spec(tmp_path, f"- {{id: one, command: {LOOP}}}\n")
    program = (
        "import signal, sys\n"
        "del signal.SIGVTALRM, signal.setitimer, signal.ITIMER_VIRTUAL\n"
        "import batchspec.spec.watchdog as w\n"
        "w.RENDER_CPU_LIMIT = 0.5\n"
        "from batchspec.cli import main\n"
        "sys.argv = ['batchspec', 'validate', sys.argv[1]]\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, str(spec)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.endswith(
        "$.job.tasks[0].command: the template is not allowed to do this (sandbox): "
        "the template ran for more than 0.5 s of CPU time\n"
    )


def test_the_budget_works_outside_the_main_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("batchspec.spec.watchdog.RENDER_CPU_LIMIT", 0.5)
    spec = write_spec(tmp_path, f"- {{id: one, command: {LOOP}}}\n")
    found: list[str] = []
    worker = threading.Thread(target=lambda: found.extend(messages(spec)))
    worker.start()
    worker.join(120)
    assert found == [
        "$.job.tasks[0].command: the template is not allowed to do this (sandbox): "
        "the template ran for more than 0.5 s of CPU time"
    ]


def test_a_budget_that_ran_out_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No exception fired by the watchdog may land after the check has returned.
    monkeypatch.setattr("batchspec.spec.watchdog.RENDER_CPU_LIMIT", 0.2)
    spec = write_spec(tmp_path, f"- {{id: one, command: {LOOP}}}\n")
    for _ in range(3):
        assert len(messages(spec)) == 1
        total = 0
        for i in range(2_000_000):  # a pure-Python loop the exception would interrupt
            total += i
        assert total == 1_999_999_000_000
    assert os.getpid() > 0


RED_TEAM = [
    "upload_glob_walks_the_disk",
    "upload_glob_climbs_out",
    "dependency_glob_per_task",
    "template_bomb_tojson",
    "template_bomb_list_repr",
    "template_bomb_join",
    "template_bomb_block_set",
    "output_pattern_climbs",
]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", RED_TEAM)
def test_red_team_cases_end_within_60_s_of_cpu_and_500_mb(case: str) -> None:
    # The bounds are the operating system's: a process over them is killed (SIGXCPU) or cannot
    # allocate, and then does not end with exit 1 and its located message.
    import resource

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (60, 60))
        resource.setrlimit(resource.RLIMIT_AS, (1024 * 2**20, 1024 * 2**20))

    spec = f"tests/negative/{case}.yaml"
    child = subprocess.Popen(
        [sys.executable, "-m", "batchspec", "validate", spec],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=limits,
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, for its own rusage
    child.stdout.close()
    assert child.returncode == 1, output
    assert output.startswith(f"{spec}:") and ": $." in output
    assert usage.ru_maxrss < 500 * 1024  # KiB: this child's own peak
