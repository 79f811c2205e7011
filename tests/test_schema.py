"""The JSON Schema and schema_diagnostics: every error located, worded to be acted on."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from batchspec.spec.document import LoadedSpec
from batchspec.spec.load import load_spec
from batchspec.spec.reference import render_reference
from batchspec.spec.schema import _validator, load_schema, schema_diagnostics

FIXTURE = Path(__file__).parent / "fixtures" / "topn.yaml"


def check(tmp_path: Path, old: str, new: str) -> list[str]:
    """Schema diagnostics of the fixture with `old` replaced by `new`, as `L:C: path: message`."""
    text = FIXTURE.read_text()
    assert old in text, old
    path = tmp_path / "spec.yaml"
    path.write_text(text.replace(old, new, 1))
    spec = load_spec(path)
    assert isinstance(spec, LoadedSpec), spec
    return [f"{d.line}:{d.col}: {d.path}: {d.message}" for d in schema_diagnostics(spec)]


def subschemas(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from subschemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from subschemas(value, f"{where}/{i}")


def test_the_schema_is_valid_draft_2020_12() -> None:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_every_property_has_a_title_and_a_description() -> None:
    schema = load_schema()
    for where, node in subschemas(schema):
        if ("/anyOf/" in where or "/then" in where) and "type" not in node:
            continue  # a constraint on properties defined beside it, not a definition
        for name, prop in {
            **node.get("properties", {}),
            **node.get("patternProperties", {}),
        }.items():
            if "$ref" in prop and len(prop) == 1:
                prop = schema["$defs"][prop["$ref"].rsplit("/", 1)[1]]
            assert prop.get("title"), f"{where}/properties/{name} has no title"
            assert prop.get("description"), f"{where}/properties/{name} has no description"


def test_every_object_schema_forbids_unknown_keys() -> None:
    checked = 0
    for where, node in subschemas(load_schema()):
        if ("/anyOf/" in where or "/then" in where) and "type" not in node:
            continue  # a constraint on properties defined beside it
        if node.get("type") == "object" or "properties" in node:
            assert node.get("additionalProperties") is False, where
            checked += 1
    assert checked > 20


def test_the_fixture_is_valid_and_the_validator_is_cached() -> None:
    spec = load_spec(FIXTURE)
    assert isinstance(spec, LoadedSpec)
    assert schema_diagnostics(spec) == []
    assert _validator() is _validator()


CASES = [
    (
        "name: topn",
        "name: Top_N",
        [
            "3:1: $.name: 'Top_N' must be 1-63 lowercase letters, digits or hyphens, "
            "starting with a letter or digit"
        ],
    ),
    (
        "dedicated: 2",
        "dedicated: two",
        ["18:11: $.pool.nodes.dedicated: expected an integer, found a string ('two')"],
    ),
    (
        "dedicated: 2, spot: 0",
        "dedicated: 0, spot: 0",
        ["18:3: $.pool.nodes: at least one of 'dedicated' or 'spot' must be above zero"],
    ),
    ("  vm_size: standard_d2s_v3\n", "", ["15:1: $.pool: missing required key 'vm_size'"]),
    (
        "timeout: 20m",
        "timeout: 20 minutes",
        [
            "27:3: $.job.timeout: '20 minutes' must be a duration such as 30s, 20m, 2h, 1d or "
            "1h30m (units in the order d, h, m, s)"
        ],
    ),
    ("timeout: 20m", "timeout: ''", ["27:3: $.job.timeout: must not be empty"]),
    (
        "id: topn-pool",
        "id: topn.pool",
        [
            "16:3: $.pool.id: 'topn.pool' must be a Batch id: 1-64 letters, digits, hyphens "
            "or underscores"
        ],
    ),
    (
        "{name: topn-input}",
        "{name: Topn--Input}",
        [
            "9:11: $.containers.input.name: 'Topn--Input' must be a blob container name: lowercase "
            "letters, digits and single hyphens, starting and ending with a letter or digit"
        ],
    ),
    (
        "{name: topn-input}",
        "{name: '{{ vars.prefix }}-input'}",
        [],
    ),
    (
        "pool: keep",
        "pool: destroy",
        ["39:44: $.cleanup.pool: 'destroy' is not one of 'delete', 'keep'"],
    ),
    (
        "when: success",
        "when: sucess",
        [
            "34:62: $.job.tasks[0].outputs[0].when: 'sucess' is not one of 'success', 'failure', "
            "'completion'; did you mean 'success'?"
        ],
    ),
    (
        "batchspec: 1",
        "batchspec: 2",
        ["2:1: $.batchspec: must be 1 (the only spec format version)"],
    ),
    (
        "  start_task:",
        "  strat_task:",
        ["20:3: $.pool.strat_task: unknown key 'strat_task'; did you mean 'start_task'?"],
    ),
    (
        "num_words: 3",
        "num-words: 3",
        [
            "6:3: $.vars.num-words: key 'num-words' must be an identifier: a letter or underscore, "
            "then letters, digits or underscores"
        ],
    ),
    (
        "num_words: 3",
        "num_words: [3]",
        [
            "6:3: $.vars.num_words: expected a string, a number or a boolean (true or false), "
            "found a list"
        ],
    ),
    (
        "foreach: {container: input}",
        "foreach: {container: input, items: [1]}",
        [
            "29:35: $.job.tasks[0].foreach.items: 'items' cannot be combined with 'container'; "
            "use exactly one form: {container, match} | {items} | {sweep} | {file} | {zip} | "
            "{range} | {blobs}"
        ],
    ),
    (
        "foreach: {container: input}",
        "foreach: {sweep: {a: {range: [1]}, b: x, c: [], d: {range: [1, 2]}}}",
        [
            "29:29: $.job.tasks[0].foreach.sweep.a.range: has 1 item, needs at least 2",
            "29:42: $.job.tasks[0].foreach.sweep.b: expected a list or a mapping, found a "
            "string ('x')",
            "29:48: $.job.tasks[0].foreach.sweep.c: must not be empty",
        ],
    ),
    (
        "foreach: {container: input}",
        "foreach: input",
        ["29:7: $.job.tasks[0].foreach: expected a mapping, found a string ('input')"],
    ),
    (
        '{container: input, blob: "{{ item.name }}"}',
        '{container: input, blob: "{{ item.name }}", prefix: x}\n        - {url: "ftp://x"}\n'
        "        - {container: input, blob: x, pth: y}",
        [
            "33:55: $.job.tasks[0].resource_files[0].prefix: 'prefix' cannot be combined with "
            "'blob'; use exactly one form: {container, blob, path} | {container, prefix, path} "
            "| {url, path}",
            "34:11: $.job.tasks[0].resource_files[1]: missing required key 'path'",
            "34:12: $.job.tasks[0].resource_files[1].url: 'ftp://x' must be an http:// or "
            "https:// URL",
            "35:39: $.job.tasks[0].resource_files[2].pth: unknown key 'pth'; did you mean 'path'?",
        ],
    ),
    (
        "      retries: 1\n",
        "      retries: 1\n      commands: [a]\n",
        [
            "36:7: $.job.tasks[0].commands: 'commands' cannot be combined with 'command'; choose "
            "one: 'command' (one command line, run without a shell) or 'commands' (a list of "
            "commands run by bash)"
        ],
    ),
    (
        "    commands: [",
        "    comands: [",
        [
            "20:3: $.pool.start_task: give exactly one of 'command' or 'commands'",
            "21:5: $.pool.start_task.comands: unknown key 'comands'; did you mean 'commands'?",
        ],
    ),
    (
        '  id: "topn-{{ run.id }}"',
        "  id: " + "j" * 65,
        [
            "26:3: $.job.id: 'jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj...' (65 characters) must be "
            "a Batch id: 1-64 letters, digits, hyphens or underscores"
        ],
    ),
    (
        "  timeout: 20m\n",
        "  timeout: 20m\n  vm_size: standard_d2s_v3\n",
        [
            "28:3: $.job.vm_size: unknown key 'vm_size'; 'vm_size' belongs under 'pool' "
            "(check the indentation)"
        ],
    ),
    ("retries: 1", "retries: -2", ["35:7: $.job.tasks[0].retries: -2 is below the minimum of -1"]),
    (
        "  timeout: 20m\n",
        "  timeout: 20m\n  priority: 1001\n",
        ["28:3: $.job.priority: 1001 is above the maximum of 1000"],
    ),
    (
        "containers:\n  application: {name: topn-application}\n  input: {name: topn-input}\n"
        "  output: {name: topn-output}\n",
        "containers: {}\n",
        ["7:1: $.containers: must not be empty"],
    ),
    (
        '    - foreach: {container: input}\n      id: "topn-{{ item.stem }}"\n',
        "    - foreach: {container: input}\n",
        ["29:7: $.job.tasks[0]: missing required key 'id'"],
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), CASES)
def test_schema_errors(tmp_path: Path, old: str, new: str, expected: list[str]) -> None:
    assert check(tmp_path, old, new) == expected


def test_the_spec_reference_is_in_step_with_the_schema() -> None:
    reference = Path(__file__).resolve().parent.parent / "docs" / "spec-reference.md"
    assert reference.read_text(encoding="utf-8") == render_reference(), (
        "docs/spec-reference.md is out of date: run "
        "`python -m batchspec.spec.reference > docs/spec-reference.md`"
    )


def test_the_reference_names_every_key_of_the_schema() -> None:
    text = render_reference()
    for _, node in subschemas(load_schema()):
        for name in node.get("properties", {}):
            assert f"| `{name}` |" in text, name


def _random_value(rng: random.Random, words: list[str], depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 5 else 5)
    if kind == 0:
        return rng.choice([0, 1, -1, 2**40, 1.5])
    if kind == 1:
        return rng.choice([True, False, None])
    if kind in (2, 3, 4):
        return rng.choice([*words, "", "{{ x }}", "Bad Value!", "x" * 80, "1h30m"])
    if kind == 5:
        return [_random_value(rng, words, depth + 1) for _ in range(rng.randrange(4))]
    return {
        rng.choice(words): _random_value(rng, words, depth + 1) for _ in range(rng.randrange(5))
    }


def test_any_data_gets_messages_not_exceptions() -> None:
    schema = load_schema()
    words = sorted({k for _, node in subschemas(schema) for k in node.get("properties", {})})
    rng = random.Random(11)
    base = load_spec(FIXTURE)
    assert isinstance(base, LoadedSpec)
    for _ in range(300):
        data = _random_value(rng, words)
        data = data if isinstance(data, dict) else {"job": data}
        if rng.random() < 0.5:  # also break a valid spec in one place
            data = {**base.data, rng.choice(words): _random_value(rng, words)}
        spec = LoadedSpec(path=Path("x.yaml"), raw=b"", data=data, positions={})
        for problem in schema_diagnostics(spec):
            assert problem.message and problem.path.startswith("$"), problem
