"""The schema as editors see it: yaml-language-server (pinned in package.json, as VS Code's YAML
extension ships it) driven over stdio. Completion offers the keys, hover shows the Markdown
help unescaped, and each broken spec gets its real error, located."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from batchspec.cli import main

from .checkout import REPO
from .lsp import LanguageServer

SERVER = REPO / "node_modules" / ".bin" / "yaml-language-server"
MODELINE = "# yaml-language-server: $schema=../schemas/batchspec.schema.json\n"
NEGATIVE = REPO / "tests" / "negative"
NODES = "  nodes: {dedicated: 0, spot: 0}\n"

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's project: the schema saved with `batchspec schema`, specs beside it."""
    root = tmp_path_factory.mktemp("editor")
    (root / "schemas").mkdir()
    schema = CliRunner().invoke(main, ["schema"]).stdout
    (root / "schemas" / "batchspec.schema.json").write_text(schema, encoding="utf-8")
    shutil.copytree(REPO / "specs", root / "specs", ignore=shutil.ignore_patterns("out"))
    return root


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[LanguageServer]:
    schema_uri = (project / "schemas" / "batchspec.schema.json").as_uri()
    settings: dict[str, Any] = {
        "yaml": {
            "validate": True,
            "hover": True,
            "completion": True,
            "schemaStore": {"enable": False},
            # The fileMatch convention documented for SchemaStore.
            "schemas": {schema_uri: ["*.batchspec.yaml", "batchspec.yaml"]},
        }
    }
    ls = LanguageServer([str(SERVER), "--stdio"], settings)
    try:
        ls.initialize(project)
        yield ls
    finally:
        ls.close()


def broken(project: Path, name: str, text: str) -> Path:
    path = project / "specs" / f"{name}.yaml"
    path.write_text(text)
    return path


def messages(server: LanguageServer, path: Path) -> list[tuple[int, int, str]]:
    """(line, column, message) of each diagnostic, 1-based like batchspec validate."""
    found = server.diagnostics(server.open(path, path.read_text()))
    return sorted(
        (d["range"]["start"]["line"] + 1, d["range"]["start"]["character"] + 1, d["message"])
        for d in found
    )


def no_nodes(nodes: str) -> str:
    text = (NEGATIVE / "no_nodes.yaml").read_text()
    assert NODES in text
    return MODELINE + text.replace(NODES, f"  nodes: {nodes}\n")


def test_the_example_specs_are_clean(server: LanguageServer, project: Path) -> None:
    for spec in sorted((project / "specs").glob("*.yaml")):
        assert spec.read_text().startswith(MODELINE), spec
        assert messages(server, spec) == [], spec.name


def test_a_number_for_nodes_is_a_type_error(server: LanguageServer, project: Path) -> None:
    path = broken(project, "nodes_number", no_nodes("2"))
    # The autoscale exclusion is a dependentSchemas rule, which only a mapping with `autoscale`
    # meets: a number gets the type error alone.
    assert messages(server, path) == [(10, 10, 'Incorrect type. Expected "Node counts".')]


def test_a_misspelt_count_is_an_unknown_key(server: LanguageServer, project: Path) -> None:
    path = broken(project, "nodes_typo", no_nodes("{dedicaed: 1}"))
    assert messages(server, path) == [
        (10, 3, "at least one of 'dedicated' or 'spot' must be above zero"),
        (10, 11, "Property dedicaed is not allowed."),
    ]


def test_zero_nodes_points_at_a_count(server: LanguageServer, project: Path) -> None:
    path = broken(project, "nodes_zero", no_nodes("{dedicated: 0, spot: 0}"))
    assert messages(server, path) == [(10, 22, "Value is below the minimum of 1.")]


def test_command_and_commands_together_say_to_choose_one(
    server: LanguageServer, project: Path
) -> None:
    text = MODELINE + (NEGATIVE / "both_command_and_commands.yaml").read_text()
    path = broken(project, "both_commands", text)
    assert messages(server, path) == [
        (
            18,
            17,
            "'commands' cannot be combined with 'command'; choose one: 'command' (one command "
            "line, run without a shell) or 'commands' (a list of commands run by bash)",
        )
    ]


def test_neither_command_nor_commands(server: LanguageServer, project: Path) -> None:
    text = (NEGATIVE / "missing_task_command.yaml").read_text()
    path = broken(project, "no_command", MODELINE + text)
    (found,) = messages(server, path)
    assert found[2] == "give exactly one of 'command' or 'commands'"


def test_hover_shows_markdown_without_escaped_backticks(
    server: LanguageServer, project: Path
) -> None:
    path = project / "specs" / "topn.yaml"
    lines = path.read_text().splitlines()
    uri = server.open(path, path.read_text())
    row = next(i for i, line in enumerate(lines) if line.startswith("  vm_size:"))
    hover = server.at("textDocument/hover", uri, row, 4)
    assert hover["contents"]["kind"] == "markdown"
    text = hover["contents"]["value"]
    assert text.startswith("#### VM size\n\nThe size of the pool's virtual machines, e.g. ")
    assert "`standard_d2s_v3`" in text
    assert "\\`" not in text


def test_completion_offers_the_missing_keys_of_a_mapping(
    server: LanguageServer, project: Path
) -> None:
    text = (REPO / "specs" / "topn.yaml").read_text()
    gap = text.replace("  vm_size: standard_d2s_v3\n", "  \n")
    path = broken(project, "completion", gap)
    uri = server.open(path, gap)
    row = gap.splitlines().index("  ")
    items = server.at("textDocument/completion", uri, row, 2)["items"]
    labels = {item["label"] for item in items}
    assert {"vm_size", "task_slots_per_node"} <= labels
    assert "id" not in labels  # already there
    (vm_size,) = [item for item in items if item["label"] == "vm_size"]
    assert "`standard_d2s_v3`" in vm_size["documentation"]["value"]


def test_files_named_by_the_file_match_convention_get_the_schema(
    server: LanguageServer, project: Path
) -> None:
    text = (NEGATIVE / "no_nodes.yaml").read_text().replace(NODES, "  nodes: {spot: 1}\n")
    good = project / "train.batchspec.yaml"
    good.write_text(text)
    assert messages(server, good) == []
    bad = project / "batchspec.yaml"
    bad.write_text(text.replace("vm_size:", "vm_sise:"))
    assert (8, 3, "Property vm_sise is not allowed.") in messages(server, bad)
