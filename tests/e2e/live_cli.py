"""Helpers for the day-two command tests: the CLI on the session's services, and a blob client."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from click.testing import CliRunner, Result

from batchspec.cli import main

from .conftest import SecretCheck, azure_env

SPECS = Path(__file__).resolve().parents[2] / "specs"


class Cli:
    """`batchspec VERB SPEC --target azure --data-dir HOME` against the session's services."""

    def __init__(self, home: Path, batch_service: Any, azurite: Any, check: SecretCheck) -> None:
        self.home, self.check = home, check
        self.env = azure_env(batch_service, azurite)

    def __call__(self, verb: str, *args: str, target: bool = True) -> Result:
        where = ["--target", "azure"] if target else []
        full = [verb, *args, *where, "--data-dir", str(self.home)]
        result = CliRunner().invoke(main, full, env=self.env, catch_exceptions=False)
        self.check.add(" ".join(full), result.output)
        return result


@pytest.fixture
def cli(tmp_path: Path, batch_service: Any, azurite: Any, secret_check: SecretCheck) -> Cli:
    """The CLI with a fresh data directory, on the session's local Batch service and Azurite."""
    return Cli(tmp_path / "home", batch_service, azurite, secret_check)


@pytest.fixture
def blobs(azurite: Any) -> Iterator[BlobServiceClient]:
    """A Blob service client on the session's Azurite."""
    client = BlobServiceClient.from_connection_string(azurite.connection_string)
    try:
        yield client
    finally:
        client.close()


def copy_specs(tmp_path: Path) -> Path:
    """A copy of the example specs under `tmp_path/specs`, without outputs of earlier runs."""
    copy = tmp_path / "specs"
    shutil.copytree(SPECS, copy, ignore=shutil.ignore_patterns("out", "__pycache__"))
    return copy


def place(spec: Path, text: str) -> str:
    """`LINE:COL` (1-based) of the first place `text` occurs in `spec`."""
    for number, line in enumerate(spec.read_text().splitlines(), 1):
        if text in line:
            return f"{number}:{line.index(text) + 1}"
    raise AssertionError(f"{text!r} is not in {spec}")
