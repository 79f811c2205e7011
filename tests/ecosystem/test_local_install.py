"""`batchspec local install` and the data directory: the packaged npm files are the checkout's,
failures say what to do, and `batchspec emulator` keeps its state under BATCHSPEC_HOME."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner

from batchspec.cli import main
from batchspec.local.npm import PACKAGE_FILES, pinned_azurite

from .checkout import REPO


def test_the_package_carries_the_checkouts_npm_pins() -> None:
    for name in PACKAGE_FILES:
        packaged = resources.files("batchspec").joinpath(f"local/npm/{name}").read_bytes()
        assert packaged == (REPO / name).read_bytes(), name
    manifest = json.loads((REPO / "package.json").read_text())
    assert pinned_azurite() == manifest["dependencies"]["azurite"] == "3.37.0"
    # What `npm ci --omit=dev` installs for users is Azurite alone; the tests' tools are dev.
    assert list(manifest["dependencies"]) == ["azurite"]


def test_without_npm_the_install_says_to_install_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = CliRunner().invoke(main, ["local", "install", "--data-dir", str(tmp_path / "home")])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Error: npm is not on PATH: install Node.js 20 or later with npm (https://nodejs.org/), "
        "then run `batchspec local install` again"
    )


def test_a_failing_npm_is_reported_with_the_end_of_its_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text("#!/bin/sh\necho 'npm error code ENOTFOUND' >&2\nexit 7\n")
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    home = tmp_path / "home"
    result = CliRunner().invoke(main, ["local", "install", "--data-dir", str(home)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"Error: `npm ci` in {home}/local/npm failed (exit 7): npm error code ENOTFOUND"
    )
    # The pins were put in place for npm to read.
    assert (home / "local" / "npm" / "package-lock.json").read_bytes() == (
        REPO / "package-lock.json"
    ).read_bytes()


@pytest.mark.timeout(120)
def test_the_emulator_keeps_its_state_under_batchspec_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ready = tmp_path / "ready.json"
    log = tmp_path / "emulator.log"
    env = {**os.environ, "BATCHSPEC_HOME": str(home)}
    cmd = [sys.executable, "-m", "batchspec", "emulator", "--ready-file", str(ready)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"not ready within 60 s: {log.read_text()}"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert f"  data:    {home / 'emulator'}\n" in log.read_text()
    assert any((home / "emulator").iterdir())
