import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from batchspec import __version__
from batchspec.cli import SUBCOMMANDS, main

REPO = Path(__file__).resolve().parent.parent


def test_help_lists_every_subcommand() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in SUBCOMMANDS:
        assert name in result.output


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_unknown_subcommand_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["frobnicate"])
    assert result.exit_code == 2


@pytest.mark.parametrize("verb", ["validate", "plan"])
def test_validate_and_plan_import_neither_the_sdks_nor_fcntl(verb: str, tmp_path: Path) -> None:
    # The journal's lock is the only user of fcntl (POSIX-only); plan reads the journal.
    program = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from batchspec.cli import main\n"
        f"result = CliRunner().invoke(main, [{verb!r}, {str(REPO / 'specs' / 'topn.yaml')!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sorted(m for m in sys.modules if m == 'fcntl' or m.startswith('azure')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "BATCHSPEC_HOME": str(tmp_path)},
    )
    assert done.stdout.strip() == "[]"


def test_exit_codes_are_in_the_help_of_plan_and_apply() -> None:
    for verb in ("plan", "apply"):
        result = CliRunner().invoke(main, [verb, "--help"])
        assert "2    the spec, a --var or the target configuration is wrong" in result.output
        assert "130  interrupted" in result.output


def test_an_internal_error_says_it_is_a_bug_and_where_the_traceback_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import batchspec.commands.plan as plan_command

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("sig=SECRETSIGNATURE boom")

    monkeypatch.setattr(plan_command, "plan_spec", broken)
    monkeypatch.setenv("BATCHSPEC_HOME", str(tmp_path))
    result = CliRunner().invoke(main, ["plan", str(REPO / "specs" / "topn.yaml")])
    assert result.exit_code == 1
    log = tmp_path / "logs" / "batchspec-internal-error.log"
    assert result.stderr == (
        f"error: internal error: this is a bug in batchspec; the traceback is in {log}\n"
    )
    assert "RuntimeError: sig=REDACTED boom" in log.read_text()
