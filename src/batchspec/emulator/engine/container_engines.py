"""Which container engine the local service uses: Docker when its daemon answers, else Podman.

Configuration of the local service (never of a spec), read from its environment:
- BATCHSPEC_CONTAINER_ENGINE: `docker`, `podman`, a path to either client, or `none`;
  found automatically when unset (Docker if `docker version` reaches a daemon, else Podman).
- BATCHSPEC_CONTAINER_RUNTIME: the OCI runtime (`--runtime`), e.g. `runc`.
- BATCHSPEC_CONTAINER_RUN_OPTIONS: options added to every container run, e.g.
  `--ulimit nofile=1024:1024` where the engine's default limits cannot be set.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from batchspec.emulator.engine.containers import PROBE_SECONDS, Engine, EngineKind, quiet

ENGINE_ENV = "BATCHSPEC_CONTAINER_ENGINE"
RUNTIME_ENV = "BATCHSPEC_CONTAINER_RUNTIME"
RUN_OPTIONS_ENV = "BATCHSPEC_CONTAINER_RUN_OPTIONS"
INSTALL_HINT = (
    "install Podman (Debian/Ubuntu: `apt-get install podman runc`) or Docker, "
    "then restart the local services (`batchspec local down && batchspec local up`)"
)


@dataclass(frozen=True, slots=True)
class NoEngine:
    """Why there is no container engine, with how to get one."""

    reason: str

    def message(self) -> str:
        return f"{self.reason}; {INSTALL_HINT}"


def find_engine(environ: Mapping[str, str] | None = None) -> Engine | NoEngine:
    """The engine the local service uses, per its configuration, or why there is none."""
    env = os.environ if environ is None else environ
    choice = env.get(ENGINE_ENV, "").strip()
    runtime = env.get(RUNTIME_ENV, "").strip()
    try:
        run_args = tuple(shlex.split(env.get(RUN_OPTIONS_ENV, "")))
    except ValueError as exc:
        return NoEngine(f"{RUN_OPTIONS_ENV} does not split into options ({exc})")
    if choice.lower() == "none":
        return NoEngine(f"container engines are turned off ({ENGINE_ENV}=none)")
    candidates: list[tuple[EngineKind, str]] = []
    if choice:
        program = shutil.which(choice, path=env.get("PATH"))
        if program is None:
            return NoEngine(f"{ENGINE_ENV}={choice} is not a program on PATH")
        kind: EngineKind = "podman" if "podman" in Path(program).name else "docker"
        candidates.append((kind, program))
    else:
        for kind in ("docker", "podman"):
            found = shutil.which(kind, path=env.get("PATH"))
            if found is not None:
                candidates.append((kind, found))
    for kind, program in candidates:
        global_args: tuple[str, ...] = ()
        engine_run_args = run_args
        if runtime:
            # Podman takes the runtime as a global option; Docker as an option of `run`.
            if kind == "podman":
                global_args = ("--runtime", runtime)
            else:
                engine_run_args = ("--runtime", runtime, *run_args)
        engine = Engine(kind, program, global_args, engine_run_args)
        # `version` asks the daemon too (Docker's fails without one) and is quicker than `info`.
        if quiet(engine.command("version"), PROBE_SECONDS) == 0:
            return engine
    if not candidates:
        return NoEngine("no container engine (docker or podman) was found on PATH")
    names = ", ".join(f"{p} ({k})" for k, p in candidates)
    return NoEngine(f"no container engine answered `version`: {names}")


@functools.cache
def configured_engine() -> Engine | NoEngine:
    """The engine of this service process, found once from its environment."""
    return find_engine()


def engine_problem() -> str | None:
    """Why this service cannot run containers (with how to fix it), or None."""
    found = configured_engine()
    if isinstance(found, NoEngine):
        return f"The local Batch service cannot run containers: {found.message()}."
    return None
