"""Driving a container engine as a Batch node drives Docker: pulls, runs, removals.

Batch nodes run container tasks with Docker (Moby): `docker pull` for the pool's images when a
node starts and for a task's image when it is missing, then `docker create`/`start` with the
node's Batch directories mounted at their own paths, the task's environment passed in and the
command line as the container's command. This module does the same through an engine's
command-line client (Docker's or Podman's); which engine, and its options, is the local
service's configuration (see container_engines.py).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

EngineKind = Literal["docker", "podman"]
# `docker run`/`podman run` exit with 125 when the engine itself failed (bad options, no image),
# 126 when the command cannot be run and 127 when it is not found in the image.
ENGINE_FAILED = 125
PROBE_SECONDS = 20.0
PULL_SECONDS = 15 * 60.0
DEFAULT_REGISTRY = "docker.io"


@dataclass(frozen=True, slots=True)
class Credential:
    """How to sign in to one registry; the password is never put on a command line."""

    server: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Mount:
    source: Path
    target: str
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class ContainerRun:
    """One container to run: what Batch passes to `docker create` for a task."""

    name: str
    image: str
    argv: tuple[str, ...]
    """The command line, split as Batch splits it; empty runs the image's own command."""
    env_names: tuple[str, ...]
    """Variables passed in by name; their values come from the client's environment."""
    mounts: tuple[Mount, ...]
    workdir: str | None
    """None keeps the image's working directory (Batch's `containerImageDefault`)."""
    options: tuple[str, ...] = ()
    """The task's containerRunOptions, split."""
    labels: tuple[tuple[str, str], ...] = ()
    """Engine labels, to find the service's containers after a crash."""


@dataclass(frozen=True, slots=True)
class PullResult:
    ok: bool
    message: str = ""


@dataclass(frozen=True, slots=True)
class Engine:
    """A container engine client and the options the local service was configured with."""

    kind: EngineKind
    program: str
    global_args: tuple[str, ...] = ()
    run_args: tuple[str, ...] = ()

    def command(self, *args: str) -> list[str]:
        """The client's argv for one engine command."""
        return [self.program, *self.global_args, *args]

    def has_image(self, image: str) -> bool:
        """Whether the image is in the engine's image store."""
        probe = self.command("image", "inspect", "--format", "{{.Id}}", normalize_image(image))
        return quiet(probe, PROBE_SECONDS) == 0

    def pull(self, image: str, credentials: Sequence[Credential] = ()) -> PullResult:
        """Pull an image, signed in to the registries given (and no others)."""
        name = normalize_image(image)
        with self.signed_in(credentials) as (args, env):
            argv = self.command("pull", *args, *self.tls_args(name), name)
            try:
                done = subprocess.run(
                    argv,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=PULL_SECONDS,
                    stdin=subprocess.DEVNULL,
                )
            except subprocess.TimeoutExpired:
                return PullResult(False, f"pulling {name} took longer than {PULL_SECONDS:.0f}s")
            except OSError as exc:
                return PullResult(False, f"could not run {self.program}: {exc.strerror}")
        if done.returncode == 0:
            return PullResult(True)
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        return PullResult(False, lines[-1] if lines else f"exit code {done.returncode}")

    def run_argv(self, run: ContainerRun) -> list[str]:
        """The client's argv that runs `run` in the foreground and returns its exit code."""
        args = ["run", "--name", run.name, "--pull", "never"]
        args += list(self.run_args)
        for mount in run.mounts:
            spec = f"{mount.source}:{mount.target}" + (":ro" if mount.read_only else "")
            args += ["--volume", spec]
        for key, value in run.labels:
            args += ["--label", f"{key}={value}"]
        for name in run.env_names:
            args += ["--env", name]
        if run.workdir is not None:
            args += ["--workdir", run.workdir]
        args += list(run.options)
        return self.command(*args, normalize_image(run.image), *run.argv)

    def remove(self, name: str) -> None:
        """Stop and remove a container, if it exists (after a kill or a wall-clock limit)."""
        # Podman's `rm --force` first waits 10 s for the container to stop; Docker kills at once.
        wait = ["--time", "0"] if self.kind == "podman" else []
        quiet(self.command("rm", "--force", *wait, name), PROBE_SECONDS)

    def remove_labelled(self, key: str, value: str) -> None:
        """Remove every container with this label (what a crashed service left running)."""
        listing = self.command("ps", "--all", "--quiet", "--filter", f"label={key}={value}")
        try:
            found = subprocess.run(
                listing, capture_output=True, text=True, timeout=PROBE_SECONDS, check=False
            ).stdout.split()
        except (OSError, subprocess.TimeoutExpired):
            return
        for container in found:
            self.remove(container)

    def tls_args(self, image: str) -> list[str]:
        """Options a pull or push of `image` needs for its registry's transport."""
        # Docker treats registries on 127.0.0.0/8 as insecure (plain HTTP) by default; Podman
        # needs telling, for those hosts only.
        host = image.split("/", 1)[0].split(":", 1)[0]
        if self.kind == "podman" and (host == "localhost" or host.startswith("127.")):
            return ["--tls-verify=false"]
        return []

    @contextmanager
    def signed_in(
        self, credentials: Sequence[Credential]
    ) -> Iterator[tuple[list[str], dict[str, str]]]:
        """A private auth file holding only these credentials, removed afterwards.

        A Batch node knows only the registries its pool and task name; the user's own logins
        on this machine are not used, so a spec that lacks credentials fails here as on Batch.
        """
        auths = {
            c.server: {"auth": base64.b64encode(f"{c.username}:{c.password}".encode()).decode()}
            for c in credentials
        }
        env = dict(os.environ)
        with tempfile.TemporaryDirectory(prefix="batchspec-auth-") as tmp:
            path = Path(tmp) / ("config.json" if self.kind == "docker" else "auth.json")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump({"auths": auths}, out)
            if self.kind == "docker":
                env["DOCKER_CONFIG"] = tmp
                yield [], env
            else:
                yield ["--authfile", str(path)], env


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a container run ended: its exit code, or why it did not start, or that it was killed."""

    exit_code: int | None
    timed_out: bool = False
    engine_error: str | None = None
    """The engine's own error (exit code 125): bad run options, a missing image."""


async def run_container(
    engine: Engine,
    run: ContainerRun,
    env: Mapping[str, str],
    stdout: Path,
    stderr: Path,
    timeout: float | None,
    on_process: Callable[[asyncio.subprocess.Process], None] | None = None,
) -> RunResult:
    """Run a container in the foreground; its output goes to `stdout`/`stderr`.

    `env` holds the values of `run.env_names` (passed by name, so never on a command line).
    `on_process` is told the client process, to kill it from outside; the container goes with
    it, because it is removed whenever the client ends, however it ended.
    """
    argv = engine.run_argv(run)
    process_env = {**os.environ, **env}
    timed_out = False
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            env=process_env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        if on_process is not None:
            on_process(proc)
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            timed_out = True
            proc.kill()
            await proc.wait()
        finally:
            await asyncio.to_thread(engine.remove, run.name)
    code = proc.returncode
    if timed_out:
        return RunResult(None, timed_out=True)
    if code == ENGINE_FAILED:
        return RunResult(None, engine_error=_last_line(stderr) or "the container engine failed")
    if code is not None and code < 0:
        code = 128 - code
    return RunResult(code)


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    found = [line.strip() for line in lines if line.strip()]
    return found[-1] if found else ""


def normalize_image(image: str) -> str:
    """The full reference `docker pull` would use: a registry, and the tag `latest` if none."""
    name = image.strip()
    first, _, rest = name.partition("/")
    if not rest or not ("." in first or ":" in first or first == "localhost"):
        path = name if rest else f"library/{name}"
        name = f"{DEFAULT_REGISTRY}/{path}"
    last = name.rsplit("/", 1)[-1]
    if "@" not in last and ":" not in last:
        name += ":latest"
    return name


def registry_of(image: str) -> str:
    """The registry host (and port) an image is pulled from."""
    return normalize_image(image).split("/", 1)[0]


def quiet(argv: Sequence[str], timeout: float) -> int:
    try:
        return subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
        ).returncode
    except (OSError, subprocess.TimeoutExpired):
        return -1
