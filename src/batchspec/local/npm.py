"""Azurite for pip users: `batchspec local install` puts the pinned Azurite in the data directory.

The package carries the checkout's package.json and package-lock.json; `npm ci --omit=dev` in
`<home>/local/npm/` installs exactly the Azurite (and its dependencies) that CI tests with.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from batchspec.targets import ConfigError

PACKAGE_FILES = ("package.json", "package-lock.json")
INSTALL_TIMEOUT = 600.0
INSTALL_HINT = "run `batchspec local install` (it needs Node.js 20 or later with npm)"


class InstallError(ConfigError):
    """Azurite could not be installed; the message says why and what to do."""


@dataclass(frozen=True)
class Installed:
    directory: Path
    azurite_version: str
    azurite_blob: Path


def npm_dir(home: Path) -> Path:
    """Where `local install` keeps its node_modules."""
    return home / "local" / "npm"


def pinned_azurite() -> str:
    """The Azurite version this batchspec is tested with (its package.json)."""
    text = resources.files("batchspec").joinpath("local/npm/package.json").read_text("utf-8")
    version: str = json.loads(text)["dependencies"]["azurite"]
    return version


def installed_azurite_blob(home: Path) -> Path | None:
    """The `azurite-blob` that `local install` put under `home`, if it did."""
    found = npm_dir(home) / "node_modules" / ".bin" / "azurite-blob"
    return found if found.exists() else None


def install(home: Path, npm: str | None = None) -> Installed:
    """Install the pinned Azurite under `home` (again, if it is there already)."""
    npm = npm or shutil.which("npm")
    if npm is None:
        raise InstallError(
            "npm is not on PATH: install Node.js 20 or later with npm "
            "(https://nodejs.org/), then run `batchspec local install` again"
        )
    target = npm_dir(home)
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name in PACKAGE_FILES:
            data = resources.files("batchspec").joinpath(f"local/npm/{name}").read_bytes()
            (target / name).write_bytes(data)
    except OSError as exc:
        raise InstallError(
            f"cannot write to {target}: {exc.strerror or exc} "
            "(choose another data directory with --data-dir or BATCHSPEC_HOME)"
        ) from None
    command = [npm, "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"]
    try:
        done = subprocess.run(
            command,
            cwd=target,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=INSTALL_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise InstallError(
            f"`npm ci` in {target} did not finish within {INSTALL_TIMEOUT:.0f} s "
            "(is the npm registry reachable?)"
        ) from None
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise InstallError(f"`npm ci` in {target} failed (exit {done.returncode}): {tail}")
    blob = installed_azurite_blob(home)
    if blob is None:
        raise InstallError(f"`npm ci` in {target} finished but installed no azurite-blob")
    return Installed(target, _installed_version(target), blob)


def _installed_version(target: Path) -> str:
    try:
        manifest = target / "node_modules" / "azurite" / "package.json"
        version: str = json.loads(manifest.read_text("utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return "unknown"
    return version
