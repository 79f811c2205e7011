"""apply on a terminal (a pseudo-terminal): it asks before starting, and Ctrl-D/Ctrl-C at the
question is an interrupt (exit 130), not a crash."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from azure.batch import BatchClient

from .conftest import SecretCheck, azure_env
from .specs import squares_spec

pytestmark = pytest.mark.timeout(120)


class Terminal:
    """`batchspec apply` attached to a pseudo-terminal."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "batchspec", "apply", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**os.environ, **env, "TERM": "xterm", "COLUMNS": "200"},
            close_fds=True,
        )
        os.close(slave)
        self.seen = ""

    def read_until(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            assert time.monotonic() < deadline, f"never saw {text!r} in {self.seen!r}"
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.seen += os.read(self.master, 4096).decode(errors="replace")
                except OSError:  # the child closed the terminal
                    break

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def finish(self) -> int:
        code = self.proc.wait(timeout=60)
        # Whatever the child printed before it exited is still buffered in the terminal.
        while True:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if not ready:
                break
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.seen += chunk.decode(errors="replace")
        os.close(self.master)
        return code


@pytest.mark.parametrize(("answer", "exit_code"), [(b"n\r", 0), (b"\x04", 130)])
def test_apply_asks_first_and_an_answer_of_no_or_ctrl_d_creates_nothing(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    batch_client: BatchClient,
    secret_check: SecretCheck,
    answer: bytes,
    exit_code: int,
) -> None:
    prefix = f"asked{exit_code}"
    spec = squares_spec(tmp_path / "specs", prefix, tasks=2)
    args = [str(spec), "--target", "azure", "--data-dir", str(tmp_path / "home")]
    terminal = Terminal(args, azure_env(batch_service, azurite))
    terminal.read_until("Proceed? [Y/n]:")
    # The question names the target and account, and what is created, reused and deleted.
    assert f"on azure: Batch account {batch_service.account} at {batch_service.endpoint}" in (
        terminal.seen
    )
    assert f"create: container {prefix}-out, pool {prefix}-pool (standard_d2s_v3, 1 node(s))" in (
        terminal.seen
    )
    assert "delete after a successful run: nothing" in terminal.seen
    terminal.type(answer)
    code = terminal.finish()
    secret_check.add("terminal", terminal.seen)
    assert code == exit_code, terminal.seen
    expected = "nothing done" if exit_code == 0 else "error: interrupted"
    assert expected in terminal.seen
    assert [p.id for p in batch_client.list_pools(filter=f"id eq '{prefix}-pool'")] == []


def test_ctrl_c_on_a_terminal_asks_before_cleaning_up(
    tmp_path: Path,
    batch_service: Any,
    azurite: Any,
    batch_client: BatchClient,
    secret_check: SecretCheck,
) -> None:
    spec = squares_spec(
        tmp_path / "specs", "asked-c", tasks=2, sleep=20, job_cleanup="delete", failure_job="delete"
    )
    args = [str(spec), "--target", "azure", "--data-dir", str(tmp_path / "home")]
    terminal = Terminal(args, azure_env(batch_service, azurite))
    terminal.read_until("Proceed? [Y/n]:")
    terminal.type(b"\r")
    terminal.read_until("tasks: 2 added")
    terminal.proc.send_signal(signal.SIGINT)  # what Ctrl-C sends to the foreground process
    terminal.read_until("Apply the on-failure clean-up now (delete: job)? [Y/n]:")
    terminal.type(b"n\r")
    code = terminal.finish()
    secret_check.add("terminal", terminal.seen)
    assert code == 130, terminal.seen
    assert "left in place for a re-run: pool asked-c-pool" in terminal.seen
    jobs = [j.id for j in batch_client.list_jobs(filter="startswith(id, 'asked-c-')")]
    assert len(jobs) == 1
    batch_client.begin_delete_job(jobs[0], polling_interval=1).result()
