"""Windows pools: recognised from the image; `commands:` joined for cmd, `quote` quoting for cmd,
and the local target refusing them before anything is created."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from batchspec.cli import main
from batchspec.plan.windows import cmd_problem, windows_quote, wrap_cmd
from plan_helpers import BASE, messages, plan_of, write_spec

WINDOWS = BASE.replace(
    """    publisher: canonical
    offer: ubuntu-24_04-lts
    sku: server
    node_agent: batch.node.ubuntu 24.04""",
    """    publisher: microsoftwindowsserver
    offer: windowsserver
    sku: 2022-datacenter-core
    node_agent: batch.node.windows amd64""",
)

TASKS = """\
- foreach: {items: ["plain", "two words", "a&b"]}
  id: "t-{{ index }}"
  commands: ["type {{ item | quote }}", "echo done"]
"""


def test_commands_become_one_cmd_line_and_quote_is_for_cmd(tmp_path: Path) -> None:
    plan = plan_of(write_spec(tmp_path, TASKS, base=WINDOWS))
    assert plan.pool.os_family == "windows"
    assert [t.command_line for t in plan.tasks] == [
        'cmd /s /c "type plain && echo done"',
        'cmd /s /c "type "two words" && echo done"',
        'cmd /s /c "type "a&b" && echo done"',
    ]


def test_the_same_spec_on_linux_is_bash(tmp_path: Path) -> None:
    plan = plan_of(write_spec(tmp_path, TASKS))
    assert plan.pool.os_family == "linux"
    assert plan.tasks[1].command_line == (
        "/bin/bash -c 'set -e; set -o pipefail; type '\"'\"'two words'\"'\"'; echo done'"
    )


def test_a_value_cmd_would_expand_is_refused(tmp_path: Path) -> None:
    tasks = TASKS.replace('"a&b"', '"100%"')
    found = messages(write_spec(tmp_path, tasks, base=WINDOWS))
    assert found == [
        "$.job.tasks[0].commands[0]: task 2 (item '100%'): the template failed: ValueError: "
        "'100%' holds '%', which cannot be quoted safely for cmd"
    ]


def test_an_image_and_node_agent_that_disagree(tmp_path: Path) -> None:
    base = WINDOWS.replace(
        "node_agent: batch.node.windows amd64", "node_agent: batch.node.ubuntu 24.04"
    )
    assert messages(write_spec(tmp_path, '- {id: one, command: "x"}\n', base=base)) == [
        "$.pool.image.node_agent: the image of 'microsoftwindowsserver' is Windows but the node "
        "agent 'batch.node.ubuntu 24.04' is for Linux; Windows images take batch.node.windows amd64"
    ]


@pytest.mark.parametrize(
    ("source", "joined", "problem"),
    [
        ("dir | more", False, "Batch runs `command` without a shell, so '|' would reach"),
        ('echo "a|b"', False, None),
        ("echo a &&", True, "the command ends with '&&'"),
        ('echo "open', True, "the command has a double quote that is never closed"),
        ("echo a\necho b", True, "a command for a Windows pool must be one line"),
        ("echo %PATH% > out.txt", True, None),
    ],
)
def test_cmd_problems(source: str, joined: bool, problem: str | None) -> None:
    found = cmd_problem(source, joined=joined, last=False)
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem)


def test_quoting_and_joining_for_cmd() -> None:
    assert wrap_cmd(["a", 'b "c"']) == 'cmd /s /c "a && b "c""'
    assert windows_quote("C:\\data\\in.txt") == "C:\\data\\in.txt"
    assert windows_quote("C:\\my dir\\") == '"C:\\my dir\\\\"'
    with pytest.raises(ValueError, match="cannot be quoted safely"):
        windows_quote('say "hi"')


def test_the_local_target_refuses_a_windows_pool_before_starting_anything(
    tmp_path: Path,
) -> None:
    spec = write_spec(tmp_path, '- {id: one, command: "cmd /c echo hi"}\n', base=WINDOWS)
    home = tmp_path / "home"
    result = CliRunner().invoke(
        main, ["apply", str(spec), "--target", "local", "--yes", "--data-dir", str(home)]
    )
    assert result.exit_code == 2
    assert "pool demo-pool uses a Windows image (node agent 'batch.node.windows amd64'); the " in (
        result.output
    )
    assert "runs Linux nodes only, so nothing was created: run it with --target azure" in (
        result.output
    )
    assert not home.exists()


def test_the_windows_example_validates_and_plans_cmd_lines() -> None:
    spec = str(Path(__file__).resolve().parents[1] / "specs" / "windows.yaml")
    assert CliRunner().invoke(main, ["validate", spec]).exit_code == 0
    result = CliRunner().invoke(main, ["plan", spec])
    assert result.exit_code == 0, result.output
    assert (
        '    command line: cmd /s /c "find /c /v "" "q1 report.txt" > "q1 report.count" && '
        'type "q1 report.count""\n' in result.output
    )
    assert "  node agent batch.node.windows amd64 (windows)\n" in result.output
