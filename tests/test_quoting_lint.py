"""The quoting lint: a placeholder without `| quote` in a command line is a warning that
`--strict` makes an error; `| quote` inside quotes, where it does not protect, is an error."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from batchspec.cli import main
from batchspec.plan.commandline import quoting_problems
from plan_helpers import BASE, messages, plan_of, warnings_of, write_spec


def test_what_is_quoted_safely() -> None:
    assert quoting_problems("echo {{ vars.x | quote }} {{ index }} {{ vars.n | int }}") == []
    assert quoting_problems("echo {{ (vars.a ~ vars.b) | quote }} {{ items | length }}") == []
    assert quoting_problems("echo {% if vars.x %}-v{% endif %}") == []


def test_a_placeholder_without_quote_is_a_warning() -> None:
    [(severity, message)] = quoting_problems("echo {{ vars.name }}")
    assert severity == "warning"
    assert message.startswith("{{ vars.name }} goes into the command line without `| quote`")
    assert "write {{ vars.name | quote }}, after `--` if a value may start with '-'" in message
    [(_, message)] = quoting_problems("echo {{ vars.a ~ 'x' }}")
    assert "write {{ (vars.a ~ 'x') | quote }}" in message
    # A filter after quote undoes it.
    [(severity, _)] = quoting_problems("echo {{ vars.a | quote | upper }}")
    assert severity == "warning"


def test_quote_inside_quotes_is_an_error() -> None:
    for text, kind in (('echo "{{ x | quote }}"', "double"), ("echo '{{ x | quote }}'", "single")):
        [(severity, message)] = quoting_problems(text)
        assert severity == "error"
        assert f"inside {kind} quotes" in message


def test_the_lint_covers_start_tasks_and_both_command_forms(tmp_path: Path) -> None:
    base_start = '  start_task:\n    command: "echo {{ spec.name }}"\njob:\n'
    base = BASE.replace("job:\n", base_start)
    spec = write_spec(
        tmp_path,
        """\
        - {id: one, command: "echo {{ vars.label }}"}
        - {id: two, commands: ["echo {{ vars.label | quote }}", "cat -- {{ vars.label }}"]}
        """,
        base=base,
    )
    found = warnings_of(spec)
    assert [w.split(": warning", 1)[0].split(": ")[1] for w in found] == [
        "$.pool.start_task.command",
        "$.job.tasks[0].command",
        "$.job.tasks[1].commands[1]",
    ]
    # Warnings leave the spec valid; the plan carries them.
    assert len(plan_of(spec).warnings) == 3


def test_an_error_in_quoting_makes_the_spec_invalid(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, """- {id: one, commands: ['echo "{{ vars.label | quote }}"']}\n""")
    [message] = messages(spec)
    assert message.startswith("$.job.tasks[0].commands[0]: {{ vars.label | quote }} is quoted")


def test_validate_shows_warnings_and_strict_makes_them_errors(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, '- {id: one, command: "echo {{ vars.label }}"}\n')
    runner = CliRunner()
    result = runner.invoke(main, ["validate", str(spec)])
    assert result.exit_code == 0
    assert ": $.job.tasks[0].command: warning: {{ vars.label }} goes into" in result.stdout
    assert result.stderr == "1 file checked, no errors, 1 warning\n"
    strict = runner.invoke(main, ["validate", "--strict", str(spec)])
    assert strict.exit_code == 1
    assert ": $.job.tasks[0].command: {{ vars.label }} goes into" in strict.stdout
    assert strict.stderr == "1 file checked, 1 error\n"
    shown = json.loads(runner.invoke(main, ["validate", "--format", "json", str(spec)]).stdout)
    assert [d["severity"] for d in shown] == ["warning"]
    github = runner.invoke(main, ["validate", "--format", "github", str(spec)]).stdout
    assert github.startswith("::warning file=")


def test_plan_shows_the_warnings_on_stderr(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, '- {id: one, command: "echo {{ vars.label }}"}\n')
    result = CliRunner().invoke(main, ["plan", str(spec)])
    assert result.exit_code == 0
    assert ": warning: {{ vars.label }} goes into the command line" in result.stderr
    assert "echo hello" in result.stdout
