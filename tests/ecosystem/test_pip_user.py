"""A pip user's path to the local target, outside any checkout: `pip install <checkout>` into a
fresh venv, `batchspec local install` (the pinned Azurite, from npm, into the data directory),
then `apply` of a spec written in an empty directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .checkout import REPO, copy_checkout

SPEC = """\
batchspec: 1
name: hello
vars: {greeting: hello}
containers:
  input: {name: hello-input}
  output: {name: hello-output}
uploads:
  - {source: "names/*.txt", container: input}
pool:
  id: hello-pool
  vm_size: standard_d2s_v3
  nodes: {dedicated: 1}
  image:
    publisher: canonical
    offer: ubuntu-24_04-lts
    sku: server
    node_agent: "batch.node.ubuntu 24.04"
job:
  id: "hello-{{ run.id }}"
  timeout: 10m
  tasks:
    - foreach: {container: input}
      id: "greet-{{ item.stem }}"
      resource_files: [{container: input, blob: "{{ item.name }}"}]
      commands:
        - "echo {{ vars.greeting | quote }} $(cat {{ item.name | quote }})
          > {{ item.stem | quote }}.out"
      outputs: [{pattern: "*.out", container: output}]
downloads: [{container: output, to: results}]
cleanup: {containers: delete, job: delete, pool: delete}
"""


@pytest.fixture(scope="module")
def user(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A fresh venv with batchspec pip-installed from a copy of the checkout; its environment
    has no node_modules of the checkout on PATH and its own BATCHSPEC_HOME."""
    base = tmp_path_factory.mktemp("pip-user")
    source = copy_checkout(base / "batchspec-source")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    path = [p for p in os.environ["PATH"].split(os.pathsep) if "node_modules" not in p]
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")},
        "PATH": os.pathsep.join([str(venv / "bin"), *path]),
        "BATCHSPEC_HOME": str(base / "home"),
        "PIP_CONSTRAINT": str(REPO / "constraints.txt"),
    }
    env.pop("AZURE_BATCH_ENDPOINT", None)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    installed = subprocess.run(
        [*pip, "--disable-pip-version-check", str(source)],
        env=env,
        cwd=base,
        capture_output=True,
        text=True,
        timeout=500,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    env["WORK"] = str(base / "work")
    yield env
    subprocess.run(["batchspec", "local", "down"], env=env, timeout=120, capture_output=True)


def batchspec(env: dict[str, str], *args: str, cwd: str | None = None) -> tuple[int, str]:
    done = subprocess.run(
        ["batchspec", *args],
        env=env,
        cwd=cwd or env["BATCHSPEC_HOME"].rsplit("/", 1)[0],
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.timeout(900)
def test_install_then_apply_a_new_spec_on_the_local_target(user: dict[str, str]) -> None:
    home = Path(user["BATCHSPEC_HOME"])
    work = Path(user["WORK"])
    work.mkdir()
    (work / "names").mkdir()
    (work / "names" / "ada.txt").write_text("Ada\n")
    (work / "names" / "alan.txt").write_text("Alan\n")
    (work / "hello.yaml").write_text(SPEC)
    # Before the install: the error names the command that fixes it.
    code, out = batchspec(user, "apply", "hello.yaml", "--yes", cwd=str(work))
    assert code != 0
    assert "Azurite is not installed: run `batchspec local install`" in out, out
    assert "npm ci" not in out
    code, out = batchspec(user, "local", "install")
    assert code == 0, out
    assert f"Azurite 3.37.0 installed: {home}/local/npm/node_modules/.bin/azurite-blob" in out
    code, out = batchspec(user, "apply", "hello.yaml", "--yes", cwd=str(work))
    assert code == 0, out
    assert (work / "results" / "ada.out").read_text() == "hello Ada\n"
    assert (work / "results" / "alan.out").read_text() == "hello Alan\n"
    code, out = batchspec(user, "local", "status")
    assert code == 0, out
    assert f"data     {home}/local" in out
    assert str(REPO) not in out


def test_the_installed_schema_is_found_without_a_checkout(user: dict[str, str]) -> None:
    code, out = batchspec(user, "schema", "--path")
    assert code == 0, out
    path = Path(out.strip())
    assert "site-packages" in path.parts
    assert path.read_bytes() == (REPO / "schemas" / "batchspec.schema.json").read_bytes()
