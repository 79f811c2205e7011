"""Keep task processes away from the service's state: its database, its key, the local target's
keys, logs and Azurite's data.

Local nodes run tasks as the user who started the service, so file permissions alone cannot
keep a task from reading `batch.sqlite3` (which holds every run's SAS URLs) by climbing out of
its directory. Where Linux mount namespaces are available (root, or unprivileged user
namespaces), every task and StartTask starts in a namespace of its own in which those paths are
covered: a directory by an empty tmpfs, a file by /dev/null. Elsewhere tasks run unconfined and
the service logs why once (docs/emulator.md says what isolation local nodes give).

Run as `python -m batchspec.emulator.engine.confine PATH... -- PROGRAM ARG...` (inside
`unshare`), this module covers the paths and executes the program in place, so the task keeps
its pid, process group and exit status.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

HIDE_VARIABLE = "BATCHSPEC_EMULATOR_HIDE"
"""More paths to cover, separated by os.pathsep (the local target's keys, logs, Azurite data)."""
_STATE_FILES = ("batch.sqlite3", "batch.sqlite3-wal", "batch.sqlite3-shm", "account.key")
_MS_BIND = 4096

log = logging.getLogger(__name__)

_prefix: list[str] | None = None
_hidden: list[str] = []


def hidden_paths(data_dir: Path) -> list[str]:
    """The existing paths tasks must not see."""
    paths = [str(data_dir / name) for name in _STATE_FILES]
    paths += [p for p in os.environ.get(HIDE_VARIABLE, "").split(os.pathsep) if p]
    return [p for p in paths if os.path.lexists(p)]


def configure(data_dir: Path) -> bool:
    """Confine the tasks of the service whose state is in `data_dir`, if this machine can."""
    global _prefix, _hidden
    unshare = shutil.which("unshare")
    _prefix, _hidden = None, hidden_paths(data_dir)
    if unshare is None or not sys.platform.startswith("linux"):
        log.warning("tasks run unconfined: no unshare(1) here (util-linux)")
        return False
    prefix = [unshare, "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        prefix[1:1] = ["--user", "--map-current-user"]
    probe = subprocess.run(
        [*prefix, "--", *_helper(_hidden), "true"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        reason = probe.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
        log.warning("tasks run unconfined: mount namespaces are not available (%s)", reason[0])
        return False
    _prefix = prefix
    return True


def protect_service() -> None:
    """Make this process non-dumpable (Linux), so that a task running as the same user cannot
    read its memory or its environment (which holds its key) through /proc."""
    if not sys.platform.startswith("linux"):
        return
    pr_set_dumpable = 4
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_dumpable, 0, 0, 0, 0)
    except (OSError, AttributeError):
        log.warning("the service's /proc entries stay readable by its tasks")


def _helper(paths: Sequence[str]) -> list[str]:
    # -I: the task's environment (PYTHONPATH...) cannot change what the helper runs.
    return [sys.executable, "-I", "-m", "batchspec.emulator.engine.confine", *paths, "--"]


def wrap(argv: list[str]) -> list[str]:
    """The command line that runs `argv` confined (unchanged where confinement is off)."""
    if _prefix is None:
        return argv
    return [*_prefix, "--", *_helper(_hidden), *argv]


def _cover(paths: Sequence[str]) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for path in paths:
        target = path.encode()
        if os.path.isdir(path) and not os.path.islink(path):
            done = libc.mount(b"tmpfs", target, b"tmpfs", 0, b"size=4k,mode=700")
        else:
            done = libc.mount(b"/dev/null", target, None, _MS_BIND, None)
        if done != 0:
            raise OSError(ctypes.get_errno(), f"cannot cover {path}")


def main(argv: list[str]) -> int:
    if "--" not in argv:
        print("usage: python -m batchspec.emulator.engine.confine PATH... -- PROGRAM ARG...")
        return 2
    split = argv.index("--")
    paths, command = argv[:split], argv[split + 1 :]
    _cover(paths)
    if not command:
        return 0
    os.execvp(command[0], command)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
