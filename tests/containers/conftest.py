"""Fixtures for container tests: the machine's engine, the test images and a private registry.

The engine is configured as the tests' local service is (ENGINE_ENV); the Makefile installs
podman, runc, docker-registry, busybox-static and apache2-utils when they are missing, so none
of these fixtures skips: a missing tool is a failure that says what to install.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from batchspec.emulator.engine.container_engines import NoEngine, find_engine
from batchspec.emulator.engine.containers import Credential, Engine

from .images import ImageSet, ensure_images, push

# The runtime and limits this kind of machine needs: crun fails on its cgroup set-up, and
# Podman's default open-file limit is above what an unprivileged container may set here.
ENGINE_ENV = {
    "BATCHSPEC_CONTAINER_RUNTIME": "runc",
    "BATCHSPEC_CONTAINER_RUN_OPTIONS": "--ulimit nofile=1024:1024 --ulimit nproc=1024:1024",
}
REGISTRY_USER = "puller"
REGISTRY_PASSWORD = "pull-secret-7f3a9c1e"


@dataclass(frozen=True)
class Registry:
    """A docker-registry on 127.0.0.1 with htpasswd sign-in, holding one private image."""

    server: str
    credential: Credential
    private_image: str


@pytest.fixture(scope="session")
def engine() -> Engine:
    found = find_engine({**os.environ, **ENGINE_ENV})
    if isinstance(found, NoEngine):
        pytest.fail(f"container tests need an engine: {found.message()}")
    return found


@pytest.fixture(scope="session")
def test_images(engine: Engine) -> ImageSet:
    return ensure_images(engine)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # 401: it answers
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"docker-registry did not start: {log.read_text()}") from None
            time.sleep(0.1)


@pytest.fixture(scope="session")
def registry(engine: Engine, test_images: ImageSet) -> Iterator[Registry]:
    program = shutil.which("docker-registry")
    htpasswd = shutil.which("htpasswd")
    if program is None or htpasswd is None:
        pytest.fail("container tests need docker-registry and htpasswd: run `make unit`")
    with tempfile.TemporaryDirectory(prefix="batchspec-registry-") as tmp:
        root = Path(tmp)
        users = subprocess.run(
            [htpasswd, "-Bbn", REGISTRY_USER, REGISTRY_PASSWORD],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        (root / "htpasswd").write_text(users)
        port = _free_port()
        (root / "config.yml").write_text(
            "version: 0.1\nlog: {level: error}\n"
            f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}}}\n"
            f"http: {{addr: '127.0.0.1:{port}'}}\n"
            f"auth: {{htpasswd: {{realm: batchspec-test, path: {root / 'htpasswd'}}}}}\n"
        )
        log = root / "registry.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [program, "serve", str(root / "config.yml")],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_for(f"http://127.0.0.1:{port}/v2/", proc, log)
            server = f"127.0.0.1:{port}"
            credential = Credential(server, REGISTRY_USER, REGISTRY_PASSWORD)
            private = f"{server}/batchspec/private-busybox:1"
            push(engine, test_images.busybox, private, credential)
            # The store must not already hold it: pulling it is what the tests check.
            subprocess.run(engine.command("rmi", "--force", private), capture_output=True)
            yield Registry(server, credential, private)
        finally:
            # The tag names this session's port: no later session can use it.
            subprocess.run(engine.command("rmi", "--force", private), capture_output=True)
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
