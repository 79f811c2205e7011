"""specs/mounted.yaml on the local target, as a user runs it: `batchspec apply` starts the local
Batch service and Azurite, the pool mounts the spec's `reference` container (a copy on each local
node), and every task reads the table through the mount and writes a result that is downloaded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from batchspec.cli import main
from batchspec.local.services import stop

from .conftest import SecretCheck
from .live_cli import copy_specs

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "home"
    try:
        yield path
    finally:
        stop(path)


def test_mounted_reads_reference_data_through_a_blob_mount(
    tmp_path: Path, home: Path, secret_check: SecretCheck, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AZURE_BATCH_ENDPOINT", "AZURE_STORAGE_CONNECTION_STRING"):
        monkeypatch.delenv(name, raising=False)
    specs = copy_specs(tmp_path)
    argv = ["apply", str(specs / "mounted.yaml"), "--yes", "--data-dir", str(home)]
    argv += ["--target", "local"]
    result = CliRunner().invoke(main, argv, catch_exceptions=False)
    secret_check.add("apply mounted.yaml", result.output)
    assert result.exit_code == 0, result.output

    results = {p.name: p.read_text() for p in (specs / "out" / "mounted").glob("*.txt")}
    assert results == {
        "red.txt": "red,#ff0000,warm\n",
        "green.txt": "green,#008000,cool\n",
        "violet.txt": "violet,#ee82ee,cool\n",
    }
    # The reference table went up before the pool was created: a node copies it as it starts.
    lines = result.output.splitlines()
    first_upload = next(i for i, t in enumerate(lines) if "uploads for the StartTask: 1 file" in t)
    created = next(i for i, t in enumerate(lines) if t.startswith("pool mounted-pool: created"))
    assert first_upload < created
    keys = json.loads((home / "local" / "keys.json").read_text())
    secret_check.keys += [str(v) for v in keys.values() if isinstance(v, str)]
    secret_check.add_files(home / "local" / "logs")
