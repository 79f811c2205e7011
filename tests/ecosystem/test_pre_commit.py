"""The pre-commit hook, installed by pre-commit itself from a copy of this repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from .checkout import REPO, copy_checkout, git_repo

PRE_COMMIT = Path(sys.executable).parent / "pre-commit"
BROKEN = "  vm_size: standard_d2s_v3\n"


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(the repository copy, a PRE_COMMIT_HOME shared by the tests, so one install serves)."""
    base = tmp_path_factory.mktemp("pre-commit")
    yield copy_checkout(base / "batchspec"), base / "home"


def project(tmp_path: Path) -> Path:
    """A user's repository holding specs/topn.yaml, its files and a broken copy of it."""
    shutil.copytree(REPO / "specs" / "topn", tmp_path / "specs" / "topn")
    text = (REPO / "specs" / "topn.yaml").read_text()
    (tmp_path / "specs" / "topn.yaml").write_text(text)
    assert BROKEN in text
    (tmp_path / "specs" / "broken.yaml").write_text(text.replace(BROKEN, "  vm_sise: d2\n"))
    (tmp_path / "notes.yaml").write_text("not: [a spec\n")
    git_repo(tmp_path)
    return tmp_path


def try_repo(hook: tuple[Path, Path], cwd: Path, *files: str) -> subprocess.CompletedProcess[str]:
    repo, home = hook
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(home),
        # The hook's environment gets the dependency versions CI tests with.
        "PIP_CONSTRAINT": str(REPO / "constraints.txt"),
        "PRE_COMMIT_COLOR": "never",
    }
    args = [str(PRE_COMMIT), "try-repo", str(repo), "batchspec-validate", "--verbose"]
    return subprocess.run(
        [*args, "--files", *files], cwd=cwd, env=env, capture_output=True, text=True, timeout=500
    )


def test_the_manifest_is_valid_and_documents_its_file_pattern() -> None:
    done = subprocess.run(
        [str(PRE_COMMIT), "validate-manifest", str(REPO / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "batchspec-validate"
    assert hook["entry"] == "batchspec validate"
    assert "batchspec.yaml" in (REPO / ".pre-commit-hooks.yaml").read_text()


@pytest.mark.timeout(600)
def test_try_repo_passes_a_valid_spec_and_fails_a_broken_one(
    hook_repo: tuple[Path, Path], tmp_path: Path
) -> None:
    user = project(tmp_path)
    good = try_repo(hook_repo, user, "specs/topn.yaml")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "batchspec validate" in good.stdout and "Passed" in good.stdout
    bad = try_repo(hook_repo, user, "specs/topn.yaml", "specs/broken.yaml")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout
    assert (
        "specs/broken.yaml:18:3: $.pool.vm_sise: unknown key 'vm_sise'; did you mean 'vm_size'?"
        in bad.stdout
    )


@pytest.mark.timeout(600)
def test_the_hook_skips_yaml_outside_its_pattern(
    hook_repo: tuple[Path, Path], tmp_path: Path
) -> None:
    user = project(tmp_path)
    done = try_repo(hook_repo, user, "notes.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(no files to check)Skipped" in done.stdout
