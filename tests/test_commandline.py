import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from batchspec.plan.commandline import command_line, command_problem, wrap_commands

NASTY = [
    "echo 'single quoted'",
    'echo "double $HOME"',
    "printf '%s\\n' \"it's\"",
    "echo a\\b",
    "echo ';' '&&' '|'",
    "echo $(( 1 + 2 ))",
    "echo 'tab\there'",
]


def test_one_command_is_wrapped_with_errexit_and_pipefail() -> None:
    assert wrap_commands(["echo hi"]) == "/bin/bash -c 'set -e; set -o pipefail; echo hi'"


def test_single_quotes_are_escaped_for_a_shell_split() -> None:
    line = wrap_commands(["echo 'x'"])
    assert line == "/bin/bash -c 'set -e; set -o pipefail; echo '\"'\"'x'\"'\"''"


@pytest.mark.parametrize("command", NASTY)
def test_split_gives_back_the_script(command: str) -> None:
    argv = shlex.split(wrap_commands([command, "true"]))
    assert argv == ["/bin/bash", "-c", f"set -e; set -o pipefail; {command}; true"]


def test_plain_command_is_passed_verbatim() -> None:
    assert command_line("python3 x.py --n 3", None) == "python3 x.py --n 3"
    assert command_line(None, ["a", "b"]) == "/bin/bash -c 'set -e; set -o pipefail; a; b'"


@pytest.mark.timeout(30)
def test_wrapped_line_really_runs_in_bash() -> None:
    line = wrap_commands(
        ["x='it'\"'\"'s'", "echo \"$x\" 'quoted; not split'", "printf '%s|' a b; echo"]
    )
    done = subprocess.run(shlex.split(line), capture_output=True, text=True, check=True)
    assert done.stdout == "it's quoted; not split\na|b|\n"


@pytest.mark.timeout(30)
def test_wrapped_line_stops_at_first_failure_and_in_pipelines() -> None:
    failing = wrap_commands(["false | cat", "echo never"])
    done = subprocess.run(shlex.split(failing), capture_output=True, text=True)
    assert done.returncode == 1
    assert "never" not in done.stdout
    stopped = wrap_commands(["echo first", "exit 7", "echo never"])
    done = subprocess.run(shlex.split(stopped), capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (7, "first\n")


@pytest.mark.parametrize(
    "command",
    [
        "echo a#b",
        "echo $# ${#x}",
        "echo '# quoted' \"#\"",
        'echo "$(echo "a # b")"',
        "echo {{ item.name | quote }}",
        "line one # comment\nline two",
        "a && b || c | d",
        "echo it\\'s",
    ],
)
def test_commands_that_join_safely(command: str) -> None:
    assert command_problem(command, joined=True, last=False) is None


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        (
            "echo hi # note",
            "the command ends in a shell comment (#...), which would also "
            "comment out the commands after it in the bash line; remove the comment",
        ),
        (
            "run &",
            "the command ends with '&', which breaks the bash line it is joined into "
            "('; ' follows each command); remove it",
        ),
        (
            "a;",
            "the command ends with ';', which breaks the bash line it is joined into "
            "('; ' follows each command); remove it",
        ),
        (
            "a |",
            "the command ends with '|', which breaks the bash line it is joined into "
            "('; ' follows each command); remove it",
        ),
        ("echo 'open", "the command has a single quote that is never closed"),
        ('echo "{{ x }}', "the command has a double quote that is never closed"),
        ("echo $(date", "the command has a '$(' that is never closed"),
    ],
)
def test_commands_that_would_break_the_joined_line(command: str, problem: str) -> None:
    assert command_problem(command, joined=True, last=False) == problem


def test_what_is_harmless_in_the_last_or_a_single_command() -> None:
    assert command_problem("echo hi # note", joined=True, last=True) is None
    assert command_problem("sleep 1 &", joined=True, last=True) is None
    assert command_problem("echo 'open", joined=False, last=True) is not None


@pytest.mark.timeout(30)
def test_a_flagged_comment_really_swallows_the_next_command() -> None:
    line = wrap_commands(["echo one # note", "echo two"])
    done = subprocess.run(shlex.split(line), capture_output=True, text=True, check=True)
    assert done.stdout == "one\n"


@pytest.mark.parametrize(
    ("command", "operator"),
    [
        ("python3 x.py > out.txt", ">"),
        ("sort data | uniq", "|"),
        ("make; make install", ";"),
        ("a && b", "&"),
        ("echo `date`", "`"),
        ("echo $(date)", "$("),
    ],
)
def test_shell_operators_in_a_plain_command_are_refused(command: str, operator: str) -> None:
    assert command_problem(command, joined=False, last=True) == (
        f"Batch runs `command` without a shell, so {operator!r} would reach the program as a "
        "plain argument; use `commands:` (run by bash) or start a shell: /bin/bash -c '...'"
    )


@pytest.mark.parametrize(
    ("command", "expansion"),
    [
        ("python3 $AZ_BATCH_NODE_SHARED_DIR/topn_task.py", "$AZ_BATCH_NODE_SHARED_DIR"),
        ("python3 x.py --n ${N}", "${N}"),
        ("cat data/*.txt", "*"),
        ("python3 x.py file?.csv", "?"),
        ("python3 x.py part[12]", "["),
        ("python3 ~/x.py", "~"),
    ],
)
def test_shell_expansions_in_a_plain_command_are_refused(command: str, expansion: str) -> None:
    # Batch passes a command line to the program without a shell: nothing is expanded.
    assert command_problem(command, joined=False, last=True) == (
        f"Batch runs `command` without a shell and expands nothing in it, so {expansion!r} "
        "would reach the program as literal text; use `commands:` (run by bash) or start a "
        "shell: /bin/bash -c '...'"
    )
    assert command_problem(command, joined=True, last=True) is None


@pytest.mark.parametrize(
    "command",
    [
        "/bin/bash -c 'sort data | uniq > out.txt'",
        '/bin/bash -c "echo $HOME; date"',
        "python3 x.py --pattern '*.txt' --sep ';'",
        "echo a\\;b",
        "echo a\\*b --cost $ --at=~",
        "python3 x.py {{ item.name | quote }}",
    ],
)
def test_plain_commands_batch_can_split(command: str) -> None:
    assert command_problem(command, joined=False, last=True) is None


def test_validate_refuses_the_topn_spec_with_a_command_relying_on_a_variable(
    tmp_path: Path,
) -> None:
    from click.testing import CliRunner

    from batchspec.cli import main

    repo = Path(__file__).resolve().parent.parent
    shutil.copytree(repo / "specs" / "topn", tmp_path / "topn")
    text = (repo / "specs" / "topn.yaml").read_text()
    old = '      commands:\n        - python3 "$AZ_BATCH_NODE_SHARED_DIR/topn_task.py"'
    assert old in text
    spec = tmp_path / "topn.yaml"
    spec.write_text(
        text.replace(old, "      command: python3 $AZ_BATCH_NODE_SHARED_DIR/topn_task.py")
    )
    result = CliRunner().invoke(main, ["validate", str(spec)])
    assert result.exit_code == 1
    line = next(n for n, t in enumerate(spec.read_text().splitlines(), 1) if "command: " in t)
    assert f"{spec}:{line}:7: $.job.tasks[0].command: Batch runs `command` without a shell" in (
        result.output
    )
    assert "use `commands:`" in result.output
