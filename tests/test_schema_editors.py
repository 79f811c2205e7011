"""What editors read from the schema: a stable `$id`, Markdown help in `markdownDescription`
beside a plain `description`, and custom messages that cannot hide another error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from batchspec.spec.schema import load_schema
from batchspec.spec.schema_text import plain, with_markdown_descriptions

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "batchspec.schema.json"
# Keywords that can fail on their own; `properties`, `items`, `$ref`... only pass a value on.
ASSERTIONS = {
    "type", "enum", "const", "required", "additionalProperties", "pattern", "minLength",
    "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems",
    "maxItems", "minProperties", "maxProperties", "uniqueItems", "propertyNames", "format",
    "dependentRequired",
}  # fmt: skip


def nodes(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            if key not in ("properties", "patternProperties", "$defs"):
                yield from nodes(value, f"{where}/{key}")
            elif isinstance(value, dict):
                for name, sub in value.items():
                    yield from nodes(sub, f"{where}/{key}/{name}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from nodes(value, f"{where}/{i}")


def test_the_schema_has_a_stable_id_for_schemastore() -> None:
    assert load_schema()["$id"] == "https://json.schemastore.org/batchspec.json"


def test_markdown_descriptions_are_in_step_with_the_descriptions() -> None:
    text = SCHEMA.read_text(encoding="utf-8")
    assert with_markdown_descriptions(text) == text, (
        "schemas/batchspec.schema.json: a description has no markdownDescription or differs "
        "from it: run `make schema`"
    )


def test_every_description_has_markdown_beside_it_and_is_plain_itself() -> None:
    described = 0
    for where, node in nodes(load_schema()):
        if isinstance(node.get("description"), str):
            described += 1
            assert isinstance(node.get("markdownDescription"), str), where
            assert node["description"] == plain(node["markdownDescription"]), where
            assert "`" not in node["description"], where
    assert described > 80


def test_no_error_message_can_hide_another_error() -> None:
    # yaml-language-server shows a node's errorMessage instead of whatever keyword of that
    # node failed (a wrong type, an unknown key...), so a node with one asserts one thing.
    found = 0
    for where, node in nodes(load_schema()):
        if "errorMessage" not in node:
            continue
        found += 1
        asserted = sorted(ASSERTIONS & set(node))
        assert len(asserted) == 1, f"{where}: errorMessage beside {asserted}"
        assert not {"oneOf", "anyOf", "not", "allOf"} & set(node), where
    assert found >= 5


def test_plain_keeps_the_words_of_markdown() -> None:
    assert plain("as `spec.name`, see [the guide](guide.md), **once**") == (
        "as spec.name, see the guide, once"
    )
    assert plain("[start, stop] or `*.txt`") == "[start, stop] or *.txt"


def test_regeneration_takes_an_edited_description_as_the_new_markdown() -> None:
    old = '{\n  "a": {\n    "description": "x",\n    "markdownDescription": "x"\n  },\n'
    old += '  "b": {"type": "string",\n    "description": "Use `y`."\n  }\n}\n'
    new = with_markdown_descriptions(old.replace('"description": "x"', '"description": "`z`"'))
    data = json.loads(new)
    assert data["a"] == {"description": "z", "markdownDescription": "`z`"}
    assert data["b"] == {
        "type": "string",
        "description": "Use y.",
        "markdownDescription": "Use `y`.",
    }
    assert with_markdown_descriptions(new) == new
