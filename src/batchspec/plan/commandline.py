"""Command lines exactly as Batch receives them.

Batch runs a task's command line without a shell, so `$VAR`, pipes and `;` mean nothing unless
a shell is started explicitly. A `commands:` list is therefore wrapped as one bash invocation
that stops at the first failing command, including a failure inside a pipeline.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

BASH_PREAMBLE = "set -e; set -o pipefail"


def wrap_commands(commands: Sequence[str]) -> str:
    """`['a', 'b']` -> `/bin/bash -c 'set -e; set -o pipefail; a; b'`, quoted for a shell split."""
    script = "; ".join([BASH_PREAMBLE, *commands])
    # shlex.quote wraps in single quotes and writes an embedded ' as '"'"', so splitting the
    # line the way a POSIX shell (or Batch's Linux agent) does gives back `script` unchanged.
    return f"/bin/bash -c {shlex.quote(script)}"


def command_line(command: str | None, commands: Sequence[str] | None) -> str:
    """The Batch command line for exactly one of `command` (verbatim) or `commands` (wrapped)."""
    if command is not None:
        return command
    if commands is None:
        raise ValueError("a task needs `command` or `commands`")
    return wrap_commands(commands)
