"""The packaged schema is schemas/batchspec.schema.json, byte for byte: the two cannot drift."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCHEMA = REPO / "schemas" / "batchspec.schema.json"
PACKAGED = REPO / "src" / "batchspec" / "schema" / "batchspec.schema.json"
LINK_TARGET = "../../../schemas/batchspec.schema.json"


def test_the_package_file_is_a_symlink_to_schemas() -> None:
    assert PACKAGED.is_symlink()
    assert os.readlink(PACKAGED) == LINK_TARGET
    assert PACKAGED.resolve() == SCHEMA.resolve()


def test_git_stores_the_package_file_as_that_symlink() -> None:
    rel = PACKAGED.relative_to(REPO).as_posix()
    staged = subprocess.run(
        ["git", "ls-files", "-s", "--", rel], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert staged.startswith("120000 "), f"{rel} is not a symlink in git: {staged!r}"
    target = subprocess.run(
        ["git", "cat-file", "-p", f":{rel}"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert target == LINK_TARGET


def test_the_installed_package_reads_the_same_bytes() -> None:
    packaged = resources.files("batchspec").joinpath("schema/batchspec.schema.json").read_bytes()
    assert packaged == SCHEMA.read_bytes()


@pytest.mark.timeout(600)
def test_the_wheel_carries_the_schema_content(tmp_path: Path) -> None:
    # Build from a copy so the shared working tree gets no build/ or egg-info changes.
    src = tmp_path / "src"
    shutil.copytree(
        REPO / "src",
        src / "src",
        symlinks=True,
        ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"),
    )
    shutil.copytree(REPO / "schemas", src / "schemas")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    out = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src)],
        check=True,
        timeout=540,
        capture_output=True,
    )
    (wheel,) = out.glob("batchspec-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("batchspec/schema/batchspec.schema.json") == SCHEMA.read_bytes()


@pytest.mark.timeout(120)
def test_other_tools_read_the_published_schema_the_same_way() -> None:
    # Editors and CI tools (here check-jsonschema, with ECMA-262 regexes) must accept the
    # example specs and reject what the validator rejects at the schema stage.
    tool = Path(sys.executable).parent / "check-jsonschema"
    examples = sorted(str(p) for p in (REPO / "specs").glob("*.yaml"))
    negative = REPO / "tests" / "negative"
    broken = [str(negative / f"{name}.yaml") for name in ("bad_pool_id_characters", "no_nodes")]
    base = [str(tool), "--schemafile", str(SCHEMA)]
    good = subprocess.run([*base, *examples], capture_output=True, text=True, timeout=110)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = subprocess.run([*base, *broken], capture_output=True, text=True, timeout=110)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "neg pool!" in bad.stdout
