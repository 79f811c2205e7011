"""Batch command lines: split like a POSIX command line, expand $VAR / ${VAR}, no shell.

The node agent runs a task's command line without a shell, yet
`python3 $AZ_BATCH_NODE_SHARED_DIR/x.py` works on Batch (the official Python tutorial relies on
it): environment references are expanded from the task's environment. Single quotes keep text
literal (so `/bin/bash -c 'echo $HOME'` hands `$HOME` to bash), double quotes group words and
still expand, a backslash escapes one character. An undefined variable expands to nothing, as in
a shell; an expanded value is not split into several words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class CommandLineError(ValueError):
    """The command line cannot be split (e.g. an unterminated quote)."""


def _expand_at(text: str, i: int, env: Mapping[str, str]) -> tuple[str, int]:
    """Expand a `$` reference starting at text[i] == '$'; return (value, next index)."""
    if i + 1 < len(text) and text[i + 1] == "{":
        end = text.find("}", i + 2)
        if end < 0 or not _NAME.fullmatch(text[i + 2 : end]):
            return "$", i + 1
        return env.get(text[i + 2 : end], ""), end + 1
    m = _NAME.match(text, i + 1)
    if not m:
        return "$", i + 1
    return env.get(m.group(0), ""), m.end()


def split_command_line(text: str, env: Mapping[str, str]) -> list[str]:
    """Split `text` into argv, expanding environment references outside single quotes."""
    args: list[str] = []
    word: list[str] = []
    in_word = quoted = False
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            if in_word and (quoted or "".join(word)):
                args.append("".join(word))
            word, in_word, quoted = [], False, False
            i += 1
        elif c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise CommandLineError("unterminated single quote in the command line")
            word.append(text[i + 1 : end])
            in_word, quoted, i = True, True, end + 1
        elif c == '"':
            i += 1
            in_word = quoted = True
            while True:
                if i >= n:
                    raise CommandLineError("unterminated double quote in the command line")
                c = text[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < n and text[i + 1] in '"\\$`\n':
                    word.append(text[i + 1])
                    i += 2
                elif c == "$":
                    value, i = _expand_at(text, i, env)
                    word.append(value)
                else:
                    word.append(c)
                    i += 1
        elif c == "\\":
            if i + 1 < n:
                word.append(text[i + 1])
            in_word, i = True, i + 2
        elif c == "$":
            value, i = _expand_at(text, i, env)
            word.append(value)
            in_word = True
        else:
            word.append(c)
            in_word, i = True, i + 1
    # An unquoted reference to an empty variable yields no word, as in a shell.
    if in_word and (quoted or "".join(word)):
        args.append("".join(word))
    return args
