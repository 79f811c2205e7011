"""The local nodes' `ssh`: ssh command lines read as ssh reads them, and the command run in the
named node's environment and directory, as sshd would run it there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from batchspec.emulator.engine.node_shell import HOSTS_VARIABLE, _split


@pytest.mark.parametrize(
    ("argv", "host", "command"),
    [
        (
            ["-x", "127.0.1.5", "orted", "-mca", "ess", '"env"'],
            "127.0.1.5",
            ["orted", "-mca", "ess", '"env"'],
        ),
        (
            ["-p", "22", "-o", "BatchMode=yes", "me@127.0.1.4", "hostname"],
            "127.0.1.4",
            ["hostname"],
        ),
        (["-q", "--", "127.0.1.4", "true"], "127.0.1.4", ["true"]),
        (["-x"], None, []),
    ],
)
def test_ssh_command_lines(argv: list[str], host: str | None, command: list[str]) -> None:
    assert _split(argv) == (host, command)


def _ssh(table: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, HOSTS_VARIABLE: str(table)}
    return subprocess.run(
        [sys.executable, "-m", "batchspec.emulator.engine.node_shell", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_command_runs_in_the_named_nodes_environment(tmp_path: Path) -> None:
    wd = tmp_path / "node-b" / "wd"
    wd.mkdir(parents=True)
    table = tmp_path / "hosts.json"
    table.write_text(
        json.dumps(
            {
                "127.0.1.4": {"env": {"AZ_BATCH_NODE_ID": "a", "PATH": os.defpath}, "cwd": "/"},
                "127.0.1.5": {"env": {"AZ_BATCH_NODE_ID": "b", "PATH": os.defpath}, "cwd": str(wd)},
            }
        )
    )
    done = _ssh(table, "-x", "127.0.1.5", "echo", "$AZ_BATCH_NODE_ID", "&&", "pwd")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["b", str(wd)]
    unknown = _ssh(table, "10.9.9.9", "true")
    assert unknown.returncode == 255
    assert "not a node of this task" in unknown.stderr
    outside = _ssh(tmp_path / "missing.json", "127.0.1.4", "true")
    assert outside.returncode == 255 and "not in a multi-instance task" in outside.stderr
