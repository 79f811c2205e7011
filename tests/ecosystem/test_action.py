"""The composite GitHub Action: its `run:` steps, run as a runner runs them (bash -eo pipefail,
inputs through `env:`), install batchspec from the action's directory into a fresh Python and
report each error of a spec as a GitHub annotation."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .checkout import REPO, copy_checkout

ACTION = yaml.safe_load((REPO / "action.yml").read_text())
EXPRESSION = re.compile(r"\$\{\{\s*([a-z_.-]+)\s*\}\}")


def expand(text: str, context: dict[str, str]) -> str:
    """GitHub's `${{ inputs.x }}` / `${{ github.action_path }}` substitution, for these two."""
    return EXPRESSION.sub(lambda m: context[m.group(1)], text)


def run_action(
    inputs: dict[str, str], action_path: Path, workspace: Path, python_bin: Path, tmp: Path
) -> list[subprocess.CompletedProcess[str]]:
    """Run the action's steps in order until one fails; return what each printed."""
    context = {f"inputs.{k}": str(v.get("default", "")) for k, v in ACTION["inputs"].items()}
    context.update({f"inputs.{k}": v for k, v in inputs.items()})
    context["github.action_path"] = str(action_path)
    env = {
        **os.environ,
        "PATH": f"{python_bin}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_PATH": str(tmp / "github_path"),
        "GITHUB_ENV": str(tmp / "github_env"),
        "RUNNER_TEMP": str(tmp),
        "PIP_CONSTRAINT": str(REPO / "constraints.txt"),
    }
    env.pop("VIRTUAL_ENV", None)
    done: list[subprocess.CompletedProcess[str]] = []
    for step in ACTION["runs"]["steps"]:
        if "uses" in step:
            # The one action it uses provides Python; here the fresh venv on PATH does.
            assert step["uses"].startswith("actions/setup-python@")
            continue
        assert step["shell"] == "bash"
        assert "${{" not in step["run"], "inputs must reach scripts through env:"
        script = tmp / "step.sh"
        script.write_text(step["run"])
        step_env = {k: expand(str(v), context) for k, v in step.get("env", {}).items()}
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace,
            env={**env, **step_env},
            capture_output=True,
            text=True,
            timeout=500,
        )
        done.append(result)
        if result.returncode != 0:
            break
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The action's steps run once against a broken spec and once against good ones."""
    base = tmp_path_factory.mktemp("action")
    action_path = copy_checkout(base / "action")
    subprocess.run([sys.executable, "-m", "venv", str(base / "venv")], check=True, timeout=120)
    python_bin = base / "venv" / "bin"
    workspace = base / "workspace"
    shutil.copytree(REPO / "specs", workspace / "specs")
    text = (workspace / "specs" / "topn.yaml").read_text()
    broken = workspace / "specs" / "broken" / "topn.yaml"
    broken.parent.mkdir()
    broken.write_text(text.replace("  vm_size: standard_d2s_v3\n", "  vm_sise: d2\n"))
    shutil.copytree(REPO / "specs" / "topn", broken.parent / "topn")
    (workspace / "specs" / "data.yaml").write_text("rows: [1, 2\n")
    run_dir = base / "run-1"
    run_dir.mkdir()
    first = run_action({}, action_path, workspace, python_bin, run_dir)
    run_dir = base / "run-2"
    run_dir.mkdir()
    args = {"files": "specs/*.yaml 'specs/pi.yaml'", "args": "--exclude '*/data.yaml'"}
    second = run_action(args, action_path, workspace, python_bin, run_dir)
    return {"broken": first, "clean": second, "python": python_bin / "python"}


@pytest.mark.timeout(600)
def test_the_install_step_installs_batchspec_from_the_action(installed: dict[str, Any]) -> None:
    install = installed["broken"][0]
    assert install.returncode == 0, install.stdout + install.stderr
    assert install.stdout.strip() == "batchspec, version 0.1.0"
    where = subprocess.run(
        [installed["python"], "-c", "import batchspec; print(batchspec.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "site-packages" in where


@pytest.mark.timeout(600)
def test_every_error_becomes_an_annotation_and_fails_the_step(installed: dict[str, Any]) -> None:
    validate = installed["broken"][1]
    assert validate.returncode == 1, validate.stdout + validate.stderr
    lines = validate.stdout.splitlines()
    assert (
        "::error file=specs/broken/topn.yaml,line=18,col=3,title=batchspec $.pool.vm_sise::"
        "$.pool.vm_sise: unknown key 'vm_sise'; did you mean 'vm_size'?"
    ) in lines
    assert any(line.startswith("::error file=specs/data.yaml,line=2,col=1,") for line in lines)
    assert all(line.startswith("::error ") for line in lines)
    assert validate.stderr.endswith("files checked, 3 errors\n")


@pytest.mark.timeout(600)
def test_files_and_args_inputs_are_split_like_a_shell(installed: dict[str, Any]) -> None:
    install, validate = installed["clean"]
    assert install.returncode == 0
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert validate.stdout == ""
    # specs/*.yaml (pi.yaml named twice is checked once), less the excluded data.yaml.
    count = len(list((REPO / "specs").glob("*.yaml")))
    assert validate.stderr == f"{count} files checked, no errors\n"
