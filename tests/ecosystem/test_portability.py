"""`validate` and `plan` work without what only POSIX systems have (Windows users run them):
each runs in a Python from which fcntl, termios, resource, the interval timers (SIGVTALRM,
setitimer), most signals and O_NONBLOCK were removed at start-up, and says exactly what it
says with them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NO_POSIX = Path(__file__).resolve().parent / "no_posix"

pytestmark = pytest.mark.timeout(300)


def batchspec(*args: str, no_posix: bool, stdin: bytes | None = None) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if no_posix:
        env["PYTHONPATH"] = str(NO_POSIX)
    done = subprocess.run(
        [sys.executable, "-m", "batchspec", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        timeout=240,
    )
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def test_the_blocker_really_removes_them() -> None:
    probe = (
        "import importlib.util, os, signal\n"
        "try:\n    import fcntl\nexcept ImportError:\n    print('no fcntl')\n"
        "print(hasattr(signal, 'SIGVTALRM'), hasattr(signal, 'setitimer'), "
        "hasattr(os, 'O_NONBLOCK'))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(NO_POSIX)}
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.stdout == "no fcntl\nFalse False False\n", done.stderr


def test_validate_says_the_same_without_posix() -> None:
    args = ("validate", "specs", "tests/negative")
    portable = batchspec(*args, no_posix=True)
    assert portable == batchspec(*args, no_posix=False)
    code, out, _err = portable
    assert code == 1
    assert "internal error" not in out
    assert "tests/negative/no_nodes.yaml:9:3: $.pool.nodes: at least one of" in out


def test_validate_of_stdin_without_posix() -> None:
    spec = (REPO / "specs" / "topn.yaml").read_bytes()
    code, out, _err = batchspec("validate", "-", no_posix=True, stdin=spec)
    assert code == 1
    assert out.startswith("<stdin>:14:6: $.uploads[0].source:")


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("spec", ["topn", "pi", "wordcount"])
def test_plan_is_the_same_without_posix(spec: str, fmt: str) -> None:
    args = ("plan", f"specs/{spec}.yaml", "--format", fmt, "--var", "num_words=4")
    args = args if spec == "topn" else args[:-2]
    portable = batchspec(*args, no_posix=True)
    assert portable == batchspec(*args, no_posix=False)
    assert portable[0] == 0, portable[2]
