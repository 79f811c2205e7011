"""Upload globs expanded inside the spec's directory, with a cap on the entries they visit.

`glob.glob` caps nothing: `/**/zz-no-such-file` walked `/proc` for ever, and a cap on matches
never triggers for a pattern that matches nothing. Here a glob may not be absolute nor climb
out with `..`; a directory link leading out of the spec's directory is followed only where the
pattern names it literally (`topn/data/*.txt` through a link `topn` the author made), never
through a wildcard or `**`; and every directory entry looked at counts against MAX_VISITED.
The rules are glob's otherwise: `**` is any number of directories, and a name starting with
`.` is matched only by a pattern that starts with `.` (nor does `**` enter such directories).
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
from pathlib import Path

MAX_VISITED = 100_000
"""Directory entries one upload glob may look at: a spec's files are a few hundred."""

_SEPARATORS = re.compile(r"[/\\]" if os.sep == "\\" else "/")


class GlobError(Exception):
    """The pattern leaves the spec's directory, or visits too much; the message says which."""


def check_pattern(pattern: str) -> str | None:
    """Why a glob may not be used (absolute, or climbing out with `..`), or None."""
    if os.path.isabs(pattern) or pattern.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", pattern):
        return f"the glob {pattern!r} is absolute; globs are relative to the spec's directory"
    if ".." in _SEPARATORS.split(pattern):
        return (
            f"the glob {pattern!r} climbs out of the spec's directory with '..'; a glob stays "
            "inside it (name a file outside it without wildcards)"
        )
    return None


def bounded_glob(root: Path, pattern: str, limit: int | None = None) -> list[str]:
    """Paths relative to `root` that `pattern` matches, without leaving `root`; sorted.

    Raises GlobError past `limit` visited entries or for a pattern `check_pattern` refuses.
    """
    problem = check_pattern(pattern)
    if problem is not None:
        raise GlobError(problem)
    parts = [p for p in _SEPARATORS.split(pattern) if p not in ("", ".")]
    real_root = os.path.realpath(root)
    walker = _Walker(root, real_root, pattern, MAX_VISITED if limit is None else limit)
    found: set[str] = set()
    pending: list[tuple[str, int]] = [("", 0)]
    while pending:
        rel, i = pending.pop()
        if i == len(parts):
            if rel:
                found.add(rel)
            continue
        part = parts[i]
        last = i == len(parts) - 1
        if part == "**":
            pending.extend((d, i + 1) for d in walker.directories_under(rel))
            if last:
                pending.extend((f, i + 1) for f in walker.files_under(rel))
        elif glob.has_magic(part):
            for name, is_dir in walker.entries(rel):
                hidden_ok = part.startswith(".") or not name.startswith(".")
                if hidden_ok and fnmatch.fnmatch(name, part) and (last or is_dir):
                    pending.append((_join(rel, name), i + 1))
        else:
            walker.count(1)
            candidate = _join(rel, part)
            if os.path.lexists(root / candidate) and (last or (root / candidate).is_dir()):
                pending.append((candidate, i + 1))
    return sorted(found)


def _join(rel: str, name: str) -> str:
    return f"{rel}/{name}" if rel else name


class _Walker:
    def __init__(self, root: Path, real_root: str, pattern: str, limit: int) -> None:
        self.root = root
        self.real_root = real_root
        self.pattern = pattern
        self.limit = limit
        self.visited = 0

    def count(self, n: int) -> None:
        self.visited += n
        if self.visited > self.limit:
            raise GlobError(
                f"the glob {self.pattern!r} looked at more than {self.limit:,} files and "
                "directories (the limit for one upload source); narrow the pattern"
            )

    def is_inner_dir(self, rel: str) -> bool:
        """Whether `rel` is a directory that stays inside the root (through links too)."""
        path = self.root / rel
        if not path.is_dir():
            return False
        if not path.is_symlink():
            return True
        inside = os.path.realpath(path)
        return inside == self.real_root or inside.startswith(self.real_root + os.sep)

    def entries(self, rel: str) -> list[tuple[str, bool]]:
        """(name, is a directory inside the root) for each entry of `rel`."""
        out = []
        try:
            with os.scandir(self.root / rel if rel else self.root) as listing:
                for entry in listing:
                    self.count(1)
                    is_dir = entry.is_dir() and (
                        not entry.is_symlink() or self.is_inner_dir(_join(rel, entry.name))
                    )
                    out.append((entry.name, is_dir))
        except (NotADirectoryError, FileNotFoundError, PermissionError):
            return []
        return out

    def directories_under(self, rel: str) -> list[str]:
        """`rel` and every directory below it that `**` enters (not hidden, not a link)."""
        out = [rel]
        stack = [rel]
        while stack:
            here = stack.pop()
            for name, is_dir in self.entries(here):
                path = _join(here, name)
                if is_dir and not name.startswith(".") and not (self.root / path).is_symlink():
                    out.append(path)
                    stack.append(path)
        return out

    def files_under(self, rel: str) -> list[str]:
        """What a trailing `**` matches besides directories: every visible file below `rel`."""
        out: list[str] = []
        for directory in self.directories_under(rel):
            out.extend(
                _join(directory, name)
                for name, is_dir in self.entries(directory)
                if not is_dir and not name.startswith(".")
            )
        return out
