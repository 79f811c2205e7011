"""A copy of this checkout as its own git repository, as pre-commit and pip users get it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GIT_IDENTITY = ["-c", "user.name=batchspec tests", "-c", "user.email=tests@batchspec.invalid"]


def project_files() -> list[str]:
    """Every file of the working tree that git would commit: tracked or new, not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    names = [name for name in listed.split("\0") if name]
    # A file deleted but not yet staged is listed and absent; a symlink counts even if dangling.
    return [n for n in names if (REPO / n).is_symlink() or (REPO / n).exists()]


def copy_checkout(target: Path) -> Path:
    """Copy the working tree (with its uncommitted changes) to `target` and commit it there."""
    for name in project_files():
        source = REPO / name
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest, follow_symlinks=False)
    git_repo(target)
    return target


def git_repo(path: Path) -> None:
    """Make `path` a git repository with everything in it committed."""
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run(["git", *GIT_IDENTITY, *args], cwd=path, check=True, capture_output=True)
