"""`validate --include/--exclude` choose which files are specs; `validate -` reads stdin."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from batchspec.cli import main

REPO = Path(__file__).resolve().parent.parent
TOPN = REPO / "specs" / "topn.yaml"


def run(*args: str, stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(main, ["validate", *args], input=stdin)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project: one spec with its files, a CI config and a data file that are YAML too."""
    (tmp_path / "specs").mkdir()
    shutil.copy(TOPN, tmp_path / "specs" / "topn.yaml")
    shutil.copytree(TOPN.parent / "topn", tmp_path / "specs" / "topn")
    (tmp_path / "specs" / "data").mkdir()
    (tmp_path / "specs" / "data" / "table.yaml").write_text("rows: [1, 2\n")
    (tmp_path / "specs" / "ci.lock.yml").write_text("- a\n")
    (tmp_path / "specs" / "train.batchspec.yaml").write_text(TOPN.read_text())
    shutil.copytree(TOPN.parent / "topn", tmp_path / "specs" / "train")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_without_filters_every_yaml_file_is_a_spec(repo: Path) -> None:
    result = run("specs")
    assert result.exit_code == 1
    assert "specs/data/table.yaml:2:1" in result.stdout
    assert "specs/ci.lock.yml:1:1" in result.stdout
    assert result.stderr == "4 files checked, 2 errors\n"


def test_exclude_leaves_out_matching_files_found_anywhere(repo: Path) -> None:
    result = run("specs", "--exclude", "data/*", "--exclude", "*.lock.yml")
    assert result.exit_code == 0, result.stdout
    assert result.stderr == "2 files checked, no errors\n"


def test_exclude_applies_to_files_named_explicitly(repo: Path) -> None:
    # pre-commit names every staged file; `args: [--exclude, ...]` must still leave some out.
    result = run("specs/topn.yaml", "specs/data/table.yaml", "--exclude", "specs/data/*")
    assert result.exit_code == 0, result.stdout
    assert result.stderr == "1 file checked, no errors\n"


def test_include_replaces_the_default_patterns(repo: Path) -> None:
    result = run("specs", "--include", "*.batchspec.yaml")
    assert result.exit_code == 0, result.stdout
    assert result.stderr == "1 file checked, no errors\n"
    named = run("specs/topn.yaml", "specs/train.batchspec.yaml", "--include", "*.batchspec.yaml")
    assert named.stderr == "1 file checked, no errors\n"


def test_everything_excluded_is_nothing_to_check_not_an_error(repo: Path) -> None:
    result = run("specs", "--exclude", "*")
    assert result.exit_code == 0
    assert result.stderr == "0 files checked, no errors\n"


def test_a_name_that_matches_nothing_is_still_a_usage_error(repo: Path) -> None:
    result = run("nothing-here", "--exclude", "*.lock.yml")
    assert result.exit_code == 2
    assert "no spec files found for 'nothing-here'" in result.stderr


def test_stdin_is_a_spec_whose_paths_are_relative_to_the_current_directory(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo / "specs")
    result = run("-", stdin=TOPN.read_bytes())
    assert result.exit_code == 0, result.stdout
    assert result.stderr == "1 file checked, no errors\n"
    monkeypatch.chdir(repo)
    moved = run("-", stdin=TOPN.read_bytes())
    assert moved.exit_code == 1
    assert moved.stdout.startswith("<stdin>:14:6: $.uploads[0].source: 'topn/topn_task.py'")


def test_stdin_errors_are_located_in_stdin(repo: Path) -> None:
    result = run("-", "--format", "github", stdin=b"batchspec: 2\n")
    assert result.exit_code == 1
    assert "::error file=<stdin>,line=1,col=1," in result.stdout
    assert "file=<stdin>,line=1,col=1,title=batchspec $.batchspec::$.batchspec: must be 1" in (
        result.stdout
    )


def test_stdin_and_files_together(repo: Path) -> None:
    result = run("-", "specs/ci.lock.yml", stdin=b"a: [\n")
    assert result.exit_code == 1
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [
        "<stdin>",
        "specs/ci.lock.yml",
    ]


@pytest.mark.timeout(60)
def test_stdin_from_a_real_pipe_with_var_is_read_once(repo: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "batchspec", "validate", "-", "--var", "num_words=5"],
        input=TOPN.read_bytes(),
        cwd=repo / "specs",
        capture_output=True,
        timeout=50,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == b"1 file checked, no errors\n"
