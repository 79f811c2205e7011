"""`batchspec schema` prints the packaged schema, a valid draft 2020-12 schema; `--path` says
where the installed file is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from batchspec.cli import main

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "batchspec.schema.json"


def test_schema_prints_the_packaged_schema_byte_for_byte() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert result.stdout == SCHEMA.read_text(encoding="utf-8")
    Draft202012Validator.check_schema(json.loads(result.stdout))


def test_schema_path_names_a_file_with_that_content() -> None:
    result = CliRunner().invoke(main, ["schema", "--path"])
    assert result.exit_code == 0
    path = Path(result.stdout.strip())
    assert path.is_absolute()
    assert path.read_bytes() == SCHEMA.read_bytes()


@pytest.mark.timeout(120)
def test_the_printed_schema_passes_the_metaschema_check(tmp_path: Path) -> None:
    printed = tmp_path / "printed.schema.json"
    printed.write_text(CliRunner().invoke(main, ["schema"]).stdout, encoding="utf-8")
    tool = Path(sys.executable).parent / "check-jsonschema"
    done = subprocess.run(
        [str(tool), "--check-metaschema", str(printed)],
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout
