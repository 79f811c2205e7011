"""`batchspec emulator`: banner, ready file, keys never leaked, clean exit on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batchspec.emulator.api.auth import DEFAULT_KEY

pytestmark = pytest.mark.timeout(60)

CUSTOM_KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3OA=="


def _run(args: list[str], until: str) -> tuple[str, int]:
    """Start the command, read stdout until a line contains `until`, SIGTERM, wait."""
    cmd = [sys.executable, "-m", "batchspec", "emulator", "--port", "0", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if until in line:
                break
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=30)
        return "".join(lines) + rest, proc.returncode
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_banner_names_a_private_random_key_not_the_development_key(tmp_path: Path) -> None:
    out, code = _run(["--data-dir", str(tmp_path / "d")], "data:")
    assert code == 0, out
    assert "listening on http://127.0.0.1:" in out
    key_file = tmp_path / "d" / "account.key"
    assert "account: devbatchaccount1" in out and f"key:     in {key_file}" in out
    key = key_file.read_text().strip()
    assert key != DEFAULT_KEY and key not in out
    assert (key_file.stat().st_mode & 0o777, (tmp_path / "d").stat().st_mode & 0o777) == (
        0o600,
        0o700,
    )
    # The same data directory keeps its key.
    again, _ = _run(["--data-dir", str(tmp_path / "d")], "data:")
    assert key_file.read_text().strip() == key
    assert "Traceback" not in out + again


def test_the_development_key_only_when_asked_for(tmp_path: Path) -> None:
    out, code = _run(["--data-dir", str(tmp_path / "d"), "--key", DEFAULT_KEY], "data:")
    assert code == 0, out
    assert "the public development key" in out and DEFAULT_KEY not in out


def test_own_key_is_never_printed_and_ready_file_has_no_key(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    args = ["--data-dir", str(tmp_path / "d"), "--account", "mine", "--key", CUSTOM_KEY]
    cmd = [sys.executable, "-m", "batchspec", "emulator", "--port", "0", *args]
    cmd += ["--ready-file", str(ready)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        assert info["account"] == "mine" and info["pid"] == proc.pid
        assert info["endpoint"].startswith("http://127.0.0.1:")
        assert CUSTOM_KEY not in ready.read_text()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert CUSTOM_KEY not in out and "the key you passed with --key" in out


def test_ready_file_start_keeps_the_default_key_out_of_logs(tmp_path: Path) -> None:
    args = ["--data-dir", str(tmp_path / "d"), "--ready-file", str(tmp_path / "r.json")]
    out, code = _run(args, "data:")
    assert code == 0 and DEFAULT_KEY not in out


def test_bad_key_is_a_usage_error_not_a_traceback(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "batchspec", "emulator", "--key", "not base64!"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 2
    assert "base64" in run.stderr and "Traceback" not in run.stderr


def test_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "batchspec",
                "emulator",
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path / "d"),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert run.returncode == 1
    assert f"cannot serve on 127.0.0.1:{port}" in run.stderr and "Traceback" not in run.stderr
