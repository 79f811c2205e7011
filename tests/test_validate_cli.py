"""`batchspec validate`: files, directories and globs; formats; exit codes; no Azure imports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from batchspec.cli import main

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "topn.yaml"
TOPN = REPO / "specs" / "topn.yaml"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["validate", *args])


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    """A directory with one valid spec, two broken ones and a non-spec file."""
    good = TOPN.read_text()
    (tmp_path / "good.yaml").write_text(good)
    shutil.copytree(TOPN.parent / "topn", tmp_path / "topn")
    (tmp_path / "nested").mkdir()
    typo = FIXTURE.read_text().replace("vm_size:", "vmsize:")
    (tmp_path / "nested" / "typo.yml").write_text(typo)
    (tmp_path / "nested" / "notes.txt").write_text("not: a spec: at all")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "skip.yaml").write_text("- ignored\n")
    (tmp_path / "broken.yaml").write_text("a: [\n")
    return tmp_path


def test_a_valid_spec_exits_0_with_a_summary() -> None:
    result = run(str(TOPN))
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "",
        "1 file checked, no errors\n",
    )


def test_directories_are_searched_and_all_errors_reported_sorted(specs: Path) -> None:
    result = run(str(specs))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{specs}/broken.yaml:2:1: $: YAML syntax error: did not find expected node content",
        f"{specs}/nested/typo.yml:15:1: $.pool: missing required key 'vm_size'",
        f"{specs}/nested/typo.yml:17:3: $.pool.vmsize: unknown key 'vmsize'; "
        "did you mean 'vm_size'?",
    ]
    assert result.stderr == "3 files checked, 3 errors\n"


def test_globs_and_files_are_deduplicated(specs: Path) -> None:
    result = run(str(specs / "*.yaml"), str(specs / "good.yaml"))
    assert result.exit_code == 1
    assert result.stderr == "2 files checked, 1 error\n"


def test_json_format(specs: Path) -> None:
    result = run("--format", "json", str(specs / "nested"))
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {
            "file": f"{specs}/nested/typo.yml",
            "line": 15,
            "col": 1,
            "path": "$.pool",
            "message": "missing required key 'vm_size'",
            "severity": "error",
        },
        {
            "file": f"{specs}/nested/typo.yml",
            "line": 17,
            "col": 3,
            "path": "$.pool.vmsize",
            "message": "unknown key 'vmsize'; did you mean 'vm_size'?",
            "severity": "error",
        },
    ]


def test_github_format(specs: Path) -> None:
    result = run("--format", "github", str(specs / "broken.yaml"))
    assert result.exit_code == 1
    assert result.stdout == (
        f"::error file={specs}/broken.yaml,line=2,col=1,title=batchspec $::"
        "$: YAML syntax error: did not find expected node content\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give at least one spec file, directory or glob"),
        (("nowhere.yaml",), "no spec files found for 'nowhere.yaml'"),
        (("nowhere/*.yaml",), "no spec files found for 'nowhere/*.yaml'"),
        (("--var", "n", str(FIXTURE)), "--var 'n': expected NAME=VALUE"),
        (("--var", "1x=2", str(FIXTURE)), "--var '1x=2': expected NAME=VALUE"),
        (("--format", "xml", str(FIXTURE)), "'xml' is not one of 'text', 'json', 'github'"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_an_empty_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = run(str(tmp_path))
    assert result.exit_code == 2
    assert "no spec files found" in result.stderr


def test_vars_are_accepted(tmp_path: Path) -> None:
    result = run("--var", "num_words=5", str(TOPN))
    assert result.exit_code == 0, result.output


def test_a_var_applies_to_the_specs_that_have_it(tmp_path: Path) -> None:
    shutil.copytree(REPO / "specs", tmp_path, dirs_exist_ok=True)
    # Only the topn specs have num_words; the other specs keep their own defaults.
    result = run("--var", "num_words=5", str(tmp_path))
    assert result.exit_code == 0, result.output
    wrong_type = run("--var", "num_words=five", str(tmp_path))
    assert wrong_type.exit_code == 1
    assert wrong_type.stdout == (
        f"{tmp_path}/topn-container.yaml:9:3: $.vars.num_words: --var num_words=five: 'five' is "
        "not an integer like the default 3\n"
        f"{tmp_path}/topn.yaml:8:3: $.vars.num_words: --var num_words=five: 'five' is not an "
        "integer like the default 3\n"
    )


def test_a_var_that_no_spec_has_is_an_error_in_each(tmp_path: Path) -> None:
    shutil.copytree(REPO / "specs", tmp_path, dirs_exist_ok=True)
    result = run("--var", "num_word=5", str(tmp_path))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    names = sorted(p.name for p in (REPO / "specs").glob("*.yaml"))
    assert [line.split(":")[0] for line in lines] == [f"{tmp_path}/{n}" for n in names]
    assert all(": $.vars: --var num_word: the spec has no variable 'num_word'" in x for x in lines)
    assert "did you mean 'num_words'?" in lines[names.index("topn.yaml")]
    assert "did you mean 'num_words'?" in lines[names.index("topn-container.yaml")]


def test_a_var_and_a_spec_read_from_a_pipe(tmp_path: Path) -> None:
    spec = (REPO / "tests" / "negative" / "sandbox_escape.yaml").read_text()
    spec = spec.replace("name: neg\n", "name: neg\nvars: {word: hi}\n").replace(
        "\"echo {{ ''.__class__.__mro__[1].__subclasses__() }}\"", '"echo {{ vars.word }}"'
    )
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, spec.encode())
        os.close(write_end)
        # The pipe is read once, though --var needs the spec's variables before checking it.
        result = run("--var", "word=hello", f"/dev/fd/{read_end}")
    finally:
        os.close(read_end)
    assert result.exit_code == 0, result.output


def test_every_example_spec_validates() -> None:
    result = run(str(REPO / "specs"))
    assert result.exit_code == 0, result.output
    count = len(list((REPO / "specs").rglob("*.yaml")))
    assert count >= 1
    assert result.stderr == f"{count} file{'s' if count != 1 else ''} checked, no errors\n"


def test_semantic_errors_follow_a_valid_schema(specs: Path) -> None:
    good = specs / "good.yaml"
    good.write_text(good.read_text().replace("container: output, when", "container: outptu, when"))
    result = run(str(good))
    assert result.exit_code == 1
    assert "unknown container 'outptu'" in result.stdout, result.stdout


def test_unreadable_input_is_a_located_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.yaml"
    garbage.write_bytes(bytes(range(256)) * 4)
    result = run(str(garbage))
    assert result.exit_code == 1
    assert result.stdout == (
        f"{garbage}:1:1: $: the file holds a NUL byte: a spec must be UTF-8 text\n"
    )


@pytest.mark.timeout(60)
def test_validate_does_not_import_azure() -> None:
    code = (
        "import sys\n"
        "from batchspec.cli import main\n"
        "code = main(['validate', sys.argv[1]], standalone_mode=False)\n"
        "azure = sorted(m for m in sys.modules if m == 'azure' or m.startswith('azure.'))\n"
        "print(code, azure)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(TOPN)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.stdout == "0 []\n", done.stderr
