"""Node-to-node launch on this machine: what `ssh NODE COMMAND` is between Batch nodes.

On Batch the nodes of a multi-instance task reach each other over the pool's network, and MPI
launchers start their daemons there with ssh. Local nodes are directories of one machine, so
there is no sshd: multi-instance tasks see this program as `ssh` (first on PATH) and as Open
MPI's rsh agent (OMPI_MCA_plm_rsh_agent). It looks the host up in the task's host table (written
by engine/multi_instance.py, named by BATCHSPEC_NODE_HOSTS) and runs the command with
`/bin/sh -c`, as sshd runs a remote command, in that node's environment and task directory.

    python -m batchspec.emulator.engine.node_shell [SSH OPTIONS] HOST COMMAND...
"""

from __future__ import annotations

import json
import os
import sys

HOSTS_VARIABLE = "BATCHSPEC_NODE_HOSTS"
# ssh options that take a value (OpenSSH's getopt string), skipped with it.
_WITH_VALUE = set("BbcDEeFIiJLlmOoPpQRSWw")


def _split(argv: list[str]) -> tuple[str | None, list[str]]:
    """The host and the remote command of an ssh command line."""
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "--":
        flag = argv[i]
        i += 1
        if len(flag) == 2 and flag[1] in _WITH_VALUE:
            i += 1
    if i < len(argv) and argv[i] == "--":
        i += 1
    if i >= len(argv):
        return None, []
    host = argv[i].rsplit("@", 1)[-1]
    return host, argv[i + 1 :]


def main(argv: list[str]) -> int:
    host, command = _split(argv)
    if host is None or not command:
        print("usage: ssh HOST COMMAND (local Batch nodes take no login sessions)", file=sys.stderr)
        return 255
    table_path = os.environ.get(HOSTS_VARIABLE, "")
    try:
        with open(table_path, encoding="utf-8") as f:
            table = json.load(f)
    except (OSError, ValueError):
        print(f"ssh: {host}: no node table (not in a multi-instance task)", file=sys.stderr)
        return 255
    node = table.get(host)
    if not isinstance(node, dict):
        print(f"ssh: Could not resolve hostname {host}: not a node of this task", file=sys.stderr)
        return 255
    env = {str(k): str(v) for k, v in dict(node.get("env") or {}).items()}
    try:
        os.chdir(str(node.get("cwd") or env.get("HOME") or "/"))
    except OSError:
        os.chdir("/")
    os.execve("/bin/sh", ["/bin/sh", "-c", " ".join(command)], env)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
