"""`plan` output: vars keep their types in JSON (an override takes its default's type), and
sizes read as people read them in text while JSON keeps exact bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from batchspec.cli import main
from batchspec.sizes import human_size

SPEC = """\
batchspec: 1
name: typed
vars: {n: 3, ratio: 0.5, fast: false, label: "3"}
containers:
  data: {name: typed-data}
uploads:
  - {source: "files/*", container: data}
pool:
  id: typed-pool
  vm_size: standard_d2s_v3
  nodes: {dedicated: 1}
  image:
    {publisher: canonical, offer: ubuntu-24_04-lts, sku: server,
     node_agent: "batch.node.ubuntu 24.04"}
job:
  id: "typed-{{ run.id }}"
  tasks:
    - {id: one, command: "echo {{ vars.n }}"}
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "small.txt").write_bytes(b"x" * 10)
    (tmp_path / "files" / "big.bin").write_bytes(b"\0" * (3 * 1024 * 1024 + 300 * 1024))
    path = tmp_path / "typed.yaml"
    path.write_text(SPEC)
    return path


def plan(*args: str) -> str:
    result = CliRunner().invoke(main, ["plan", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_json_vars_keep_the_types_of_their_defaults(spec: Path) -> None:
    data = json.loads(plan(str(spec), "--format", "json"))
    assert data["vars"] == {"n": 3, "ratio": 0.5, "fast": False, "label": "3"}
    overridden = plan(str(spec), "--format", "json", "--var", "n=12", "--var", "fast=yes")
    assert json.loads(overridden)["vars"] == {"n": 12, "ratio": 0.5, "fast": True, "label": "3"}
    assert (
        json.loads(plan(str(spec), "--format", "json", "--var", "label=7"))["vars"]["label"] == "7"
    )


def test_text_shows_vars_as_written_in_yaml(spec: Path) -> None:
    assert "  vars: n=3, ratio=0.5, fast=false, label=3\n" in plan(str(spec))


def test_text_sizes_are_human_and_json_sizes_exact(spec: Path) -> None:
    text = plan(str(spec))
    assert "Uploads (2 files, 3.3 MiB)\n" in text
    assert "  files/big.bin -> typed-data/big.bin (3.3 MiB)\n" in text
    assert "  files/small.txt -> typed-data/small.txt (10 bytes)\n" in text
    data = json.loads(plan(str(spec), "--format", "json"))
    assert sorted(u["size"] for u in data["uploads"]) == [10, 3 * 1024 * 1024 + 300 * 1024]


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1023 bytes"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (1024 * 1024 - 1, "1.0 MiB"),
        (5 * 1024**3, "5.0 GiB"),
        (2 * 1024**6, "2048.0 PiB"),
    ],
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text
