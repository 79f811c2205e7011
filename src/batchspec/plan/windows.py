"""Windows pools: recognised from the image, with command lines for cmd.exe.

Batch starts a Windows task with CreateProcess, so, as on Linux, a command line gets no shell:
a `commands:` list becomes one `cmd /s /c "a && b"` (cmd runs each command only if the one
before succeeded, as `set -e` does for bash). With /s, cmd strips exactly the outer pair of
quotes and runs the rest as written, so quotes inside the commands reach cmd unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

WINDOWS_AGENT_PREFIX = "batch.node.windows"
"""Batch's node agent SKUs for Windows images (`batch.node.windows amd64`)."""
_WINDOWS_PUBLISHER_PREFIX = "microsoftwindows"
_CMD_OPERATORS = frozenset("&|<>")
_SAFE_WORD = re.compile(r"[A-Za-z0-9_\-.:/\\=+,@]+")
_UNQUOTABLE = re.compile(r'["%!\r\n]')


def is_windows(node_agent: str) -> bool:
    """Whether a pool of this node agent SKU runs Windows."""
    return node_agent.strip().lower().startswith(WINDOWS_AGENT_PREFIX)


def image_problem(publisher: str, node_agent: str) -> str | None:
    """Why the image and its node agent disagree about the operating system, or None."""
    windows_image = publisher.strip().lower().startswith(_WINDOWS_PUBLISHER_PREFIX)
    if windows_image and not is_windows(node_agent):
        return (
            f"the image of {publisher!r} is Windows but the node agent {node_agent!r} is for "
            f"Linux; Windows images take {WINDOWS_AGENT_PREFIX} amd64"
        )
    if (
        is_windows(node_agent)
        and not windows_image
        and publisher.strip().lower()
        in (
            "canonical",
            "debian",
            "redhat",
            "suse",
            "almalinux",
            "openlogic",
        )
    ):
        return f"the node agent {node_agent!r} is for Windows but {publisher!r} publishes Linux"
    return None


def wrap_cmd(commands: Sequence[str]) -> str:
    """`['a', 'b']` -> `cmd /s /c "a && b"`: run in order, stopping at the first failure."""
    return 'cmd /s /c "' + " && ".join(commands) + '"'


def _outside_quotes(text: str) -> str:
    """`text` with every double-quoted part removed (cmd's only quoting)."""
    return re.sub(r'"[^"]*"?', "", text)


def cmd_problem(source: str, *, joined: bool, last: bool) -> str | None:
    """What would break a command on a Windows node, or None (see command_problem for bash)."""
    if "\n" in source.strip() or "\r" in source:
        return "a command for a Windows pool must be one line (cmd reads one line)"
    if not joined:
        bare = _outside_quotes(re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "X", source))
        found = sorted(_CMD_OPERATORS & set(bare))
        if found:
            return (
                f"Batch runs `command` without a shell, so {found[0]!r} would reach the program "
                "as a plain argument; use `commands:` (run by cmd) or start a shell: "
                'cmd /s /c "..."'
            )
        return None
    stripped = source.rstrip()
    if source.count('"') % 2:
        return "the command has a double quote that is never closed"
    for ending in ("&&", "||", "&", "|", "^"):
        if stripped.endswith(ending):
            return (
                f"the command ends with {ending!r}, which breaks the cmd line it is joined into "
                "(' && ' follows each command); remove it"
            )
    del last
    return None


def windows_quote(value: Any) -> str:
    """The `quote` filter for a Windows pool: one argument for CreateProcess and for cmd.

    A plain word is left alone; anything else is put in double quotes (backslashes before the
    closing quote doubled, as the Microsoft C runtime reads them). A value with a double quote,
    `%` or `!` (which cmd expands even inside quotes) or a line break cannot be made safe, and
    is refused rather than pasted.
    """
    text = str(value)
    if _SAFE_WORD.fullmatch(text):
        return text
    bad = _UNQUOTABLE.search(text)
    if bad is not None:
        raise ValueError(
            f"{text[:40]!r} holds {bad.group(0)!r}, which cannot be quoted safely for cmd"
        )
    trailing = len(text) - len(text.rstrip("\\"))
    return '"' + text + "\\" * trailing + '"'
