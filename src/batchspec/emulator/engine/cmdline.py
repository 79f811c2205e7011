"""Batch command lines: split like a POSIX command line, run without a shell, expand nothing.

The node agent starts a task's command line without a shell and does not expand environment
variables in it: `echo $AZ_BATCH_POOL_ID` prints the literal text (Microsoft's page "Azure
Batch runtime environment variables", section "Command-line expansion of environment
variables"; the REST spec's commandLine description; Azure/azure-sdk-for-net#17107). A program
that needs expansion starts a shell itself (`/bin/bash -c '...'`), which then sees `$VAR`
untouched. Quotes group words (single quotes keep everything literal, double quotes let a
backslash escape `"`, `\\`, `$` and a backquote), a backslash outside quotes escapes one
character.
"""

from __future__ import annotations

from collections.abc import Mapping


class CommandLineError(ValueError):
    """The command line cannot be split (e.g. an unterminated quote)."""


def split_command_line(text: str, env: Mapping[str, str] | None = None) -> list[str]:
    """Split `text` into argv; `$` and everything else reach the program literally.

    `env` is accepted for the caller's convenience and deliberately unused: Batch expands no
    variable in a command line.
    """
    del env
    args: list[str] = []
    word: list[str] = []
    in_word = False
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            if in_word:
                args.append("".join(word))
            word, in_word = [], False
            i += 1
        elif c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise CommandLineError("unterminated single quote in the command line")
            word.append(text[i + 1 : end])
            in_word, i = True, end + 1
        elif c == '"':
            i += 1
            in_word = True
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
                else:
                    word.append(c)
                    i += 1
        elif c == "\\":
            if i + 1 < n:
                word.append(text[i + 1])
            in_word, i = True, i + 2
        else:
            word.append(c)
            in_word, i = True, i + 1
    if in_word:
        args.append("".join(word))
    return args
