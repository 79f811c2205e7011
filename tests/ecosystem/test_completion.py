"""Shell completion, as the README documents it: click's, through _BATCHSPEC_COMPLETE."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from batchspec.cli import main


def complete(words: str) -> list[str]:
    env = {
        "_BATCHSPEC_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
    }
    result = CliRunner().invoke(main, [], env=env, prog_name="batchspec")
    assert result.exit_code == 0, result.output
    return [line.split(",", 1)[1] for line in result.stdout.splitlines()]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("batchspec s", ["schema", "status"]),
        ("batchspec local ", ["down", "install", "logs", "status", "up"]),
        ("batchspec plan --format ", ["text", "json"]),
        ("batchspec validate --format ", ["text", "json", "github"]),
        ("batchspec apply --target ", ["local", "azure"]),
    ],
)
def test_completion_of_commands_and_choices(words: str, expected: list[str]) -> None:
    assert complete(words) == expected


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_documented_scripts_are_printed(shell: str) -> None:
    env = {"_BATCHSPEC_COMPLETE": f"{shell}_source"}
    result = CliRunner().invoke(main, [], env=env, prog_name="batchspec")
    assert result.exit_code == 0
    assert "_BATCHSPEC_COMPLETE" in result.stdout
