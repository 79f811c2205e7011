"""Loaded at start-up by a Python whose PYTHONPATH names this folder: it takes away what
Windows lacks (the POSIX-only modules, the interval timers and most signals, O_NONBLOCK), so
that tests can check that `validate` and `plan` do not need them."""

import os
import signal
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

BLOCKED = frozenset({"fcntl", "termios", "resource", "pwd", "grp", "posix_ipc"})
SIGNAL_NAMES = (
    "SIGVTALRM", "SIGALRM", "SIGPROF", "SIGKILL", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2",
    "SIGCHLD", "setitimer", "getitimer", "alarm", "pthread_kill", "ITIMER_REAL",
    "ITIMER_VIRTUAL", "ITIMER_PROF",
)  # fmt: skip


class _Blocked(MetaPathFinder):
    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


for _name in BLOCKED:
    sys.modules.pop(_name, None)
sys.meta_path.insert(0, _Blocked())
for _name in SIGNAL_NAMES:
    if hasattr(signal, _name):
        delattr(signal, _name)
if hasattr(os, "O_NONBLOCK"):
    del os.O_NONBLOCK
