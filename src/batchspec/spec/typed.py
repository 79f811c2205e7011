"""Typed templates: templates in fields that are not free text (numbers, booleans, ids, sizes).

The schema marks such a field `if: template_marker, then: typed_template, else: <the field's
own type>`. Before the spec becomes typed records, every typed field that holds a template is
rendered once with `vars`, `spec` and `run`, converted to the field's type (`"4"` -> 4,
`"true"` -> true), and the whole spec is checked against the schema again, so a rendered value
gets the field's type and limits, and cross-field rules (at least one node), with its own
located error. `--var n=4` can therefore set node counts, sweep bounds, a VM size or a pool id.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from batchspec.diagnostics import Diagnostic
from batchspec.spec.document import JsonPath, LoadedSpec
from batchspec.spec.render import Renderer, has_markup
from batchspec.spec.schema import load_schema, schema_diagnostics
from batchspec.spec.yaml_events import json_path

Schema = dict[str, Any]
TYPED_THEN = {"$ref": "#/$defs/typed_template"}
_INTEGER = re.compile(r"[+-]?[0-9]+")
_TRUE = frozenset({"true"})
_FALSE = frozenset({"false"})


PER_TASK_KEYS = frozenset({"retries", "max_wall_clock", "elevated", "required_slots"})
"""Typed task fields that may use `item` and `index`: rendered for each task when planned."""


@dataclass(frozen=True, slots=True)
class PerTaskField:
    """A typed task field whose template names `item` or `index`."""

    key: str
    where: JsonPath
    source: str
    schema: Schema
    """The field's own schema (the `else` of its typed template)."""


class TypedSpec(NamedTuple):
    loaded: LoadedSpec
    """The spec with every typed template rendered, but the per-task ones (left out)."""
    per_task: Mapping[int, tuple[PerTaskField, ...]]
    """Task template index -> its per-task typed fields."""


@dataclass(frozen=True, slots=True)
class RenderedField:
    where: JsonPath
    source: str
    text: str


def _resolve(node: Any, root: Schema) -> Schema:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        name = node["$ref"].rsplit("/", 1)[1]
        merged = dict(root["$defs"][name])
        merged.update({k: v for k, v in node.items() if k != "$ref"})
        node = merged
    return node if isinstance(node, dict) else {}


def _children(node: Schema, root: Schema, key: str | int) -> Iterator[Schema]:
    """The schemas that may apply to child `key` of a value `node` describes (all branches)."""
    node = _resolve(node, root)
    for branch in (*node.get("oneOf", ()), *node.get("anyOf", ())):
        yield from _children(branch, root, key)
    if isinstance(key, int):
        if isinstance(node.get("items"), dict):
            yield node["items"]
        return
    properties = node.get("properties", {})
    if key in properties:
        yield properties[key]
        return
    for pattern, sub in node.get("patternProperties", {}).items():
        if re.search(pattern, key):
            yield sub


def typed_fields(data: Any, root: Schema) -> Iterator[tuple[JsonPath, str, Schema]]:
    """Every (path, template, the field's own schema) of `data` that is a typed template."""
    stack: list[tuple[Any, JsonPath, tuple[Schema, ...]]] = [(data, (), (root,))]
    while stack:
        value, where, schemas = stack.pop()
        if isinstance(value, str):
            for schema in schemas:
                node = _resolve(schema, root)
                if node.get("then") == TYPED_THEN and has_markup(value):
                    yield where, value, _resolve(node.get("else", {}), root)
                    break
            continue
        pairs: Iterator[tuple[str | int, Any]]
        if isinstance(value, dict):
            pairs = iter(value.items())
        elif isinstance(value, list):
            pairs = iter(enumerate(value))
        else:
            continue
        for key, child in pairs:
            subs = tuple(s for schema in schemas for s in _children(schema, root, key))
            if subs:
                stack.append((child, (*where, key), subs))


def convert(text: str, schema: Schema) -> Any:
    """A rendered value as the field's type when it reads as one; else the text, for the schema
    check to refuse with its usual message."""
    kind = schema.get("type")
    stripped = text.strip()
    if kind == "integer" and _INTEGER.fullmatch(stripped):
        return int(stripped)
    if kind == "number":
        if _INTEGER.fullmatch(stripped):
            return int(stripped)
        try:
            return float(stripped)
        except ValueError:
            return text
    if kind == "boolean":
        lowered = stripped.lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
    return text


def _set(data: Any, where: JsonPath, value: Any) -> None:
    for key in where[:-1]:
        data = data[key]
    data[where[-1]] = value


def render_typed_fields(
    renderer: Renderer, loaded: LoadedSpec, context: Mapping[str, Any]
) -> TypedSpec | None:
    """`loaded` with its typed templates rendered and checked; None when any failed (reported).

    A task's retries, max_wall_clock, elevated and required_slots may name `item` or `index`:
    those are left out here and rendered for each task when it is planned.
    """
    root = load_schema()
    found = sorted(typed_fields(loaded.data, root), key=lambda f: [str(p) for p in f[0]])
    if not found:
        return TypedSpec(loaded, {})
    data = copy.deepcopy(loaded.data)
    rendered: dict[JsonPath, RenderedField] = {}
    per_task: dict[int, list[PerTaskField]] = {}
    before = len(renderer.problems)
    for where, source, schema in found:
        compiled = renderer.compile(source, where)
        if compiled is None:
            continue
        if compiled.per_task:
            if _is_per_task_field(where):
                index, key = int(where[2]), str(where[3])
                per_task.setdefault(index, []).append(PerTaskField(key, where, source, schema))
                del data["job"]["tasks"][index][key]
                continue
            renderer.report(
                where,
                "this field is rendered once for the whole spec, with `vars`, `spec` and `run`; "
                "`item` and `index` exist only in per-task fields (id, display_name, commands, "
                "environment, resource files, outputs, depends_on, retries, max_wall_clock, "
                "elevated, required_slots)",
            )
            continue
        text = renderer.render(compiled, context)
        if text is None:
            continue
        if has_markup(text):
            renderer.report(where, f"{source!r} renders to {text!r}, which is a template again")
            continue
        _set(data, where, convert(text, schema))
        rendered[where] = RenderedField(where, source, text)
    if len(renderer.problems) > before:
        return None
    checked = replace(loaded, data=data)
    problems = schema_diagnostics(checked)
    for problem in problems:
        renderer.problems.append(_explain(problem, rendered))
    if problems:
        return None
    return TypedSpec(checked, {i: tuple(fields) for i, fields in per_task.items()})


def _is_per_task_field(where: JsonPath) -> bool:
    return len(where) == 4 and where[:2] == ("job", "tasks") and where[3] in PER_TASK_KEYS


def _explain(problem: Diagnostic, rendered: Mapping[JsonPath, RenderedField]) -> Diagnostic:
    """A schema error on a rendered value says which template gave it."""
    for field in rendered.values():
        if json_path(field.where) == problem.path:
            message = f"{field.source!r} renders to {field.text!r}: {problem.message}"
            return replace(problem, message=message)
    return problem
