"""Check a loaded spec against the JSON Schema: every error, located, in words a person can act on.

The schema (`schemas/batchspec.schema.json`, packaged as `batchspec/schema/`) is the single
source of truth. jsonschema's own messages are reworded here: unknown keys get a "did you mean"
hint, and a failed `oneOf` is reported through the form the value most nearly fits rather than
as a list of every form's complaints (as check-jsonschema does with its best match).
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterator, Sequence
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from batchspec.diagnostics import Diagnostic
from batchspec.spec.document import JsonPath, LoadedSpec
from batchspec.spec.yaml_events import json_path

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean (true or false)",
    "null": "null",
}
# A schema node's `errorMessage` (read by editors too, see yaml-language-server) replaces the
# message of any keyword of that node that fails; a node with one carries a single assertion,
# so the message cannot hide another error. The forms of a `oneOf`/`anyOf` are explained here.
_ALTERNATIVES = {"anyOf", "oneOf"}

Problem = tuple[JsonPath, str]


@functools.cache
def load_schema() -> dict[str, Any]:
    """The spec schema as shipped inside the package."""
    text = resources.files("batchspec").joinpath("schema/batchspec.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema())


def schema_diagnostics(loaded: LoadedSpec) -> list[Diagnostic]:
    """Every schema error of `loaded`, located at the offending key or value, sorted."""
    found: set[Diagnostic] = set()
    for error in _validator().iter_errors(loaded.data):
        for path, message in _explain(error):
            line, col = loaded.locate(path)
            found.add(Diagnostic(str(loaded.path), line, col, json_path(path), message))
    return sorted(found)


def field_validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for one field's own schema (its `$ref`s resolve in the spec schema)."""
    return Draft202012Validator({**schema, "$defs": load_schema()["$defs"]})


def value_problems(validator: Draft202012Validator, value: Any) -> list[str]:
    """What is wrong with one field's value, in the words schema_diagnostics uses."""
    return sorted({m for e in validator.iter_errors(value) for _, m in _explain(e)})


def _explain(error: ValidationError, forms: Sequence[dict[str, Any]] = ()) -> Iterator[Problem]:
    """Reword one jsonschema error; `forms` are the branches of an enclosing `oneOf`."""
    path: JsonPath = tuple(error.absolute_path)
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    keyword = error.validator
    value: Any = error.validator_value
    instance = error.instance
    custom = schema.get("errorMessage")
    if "propertyNames" in error.relative_schema_path:
        rule = schema.get("patternErrorMessage", f"must match {schema.get('pattern')}")
        yield (*path, str(instance)), f"key {_short(instance)} {rule}"
    elif keyword not in _ALTERNATIVES and isinstance(custom, str):
        yield path, custom
    elif keyword == "additionalProperties":
        yield from _unknown_keys(path, schema, instance, forms)
    elif keyword == "required":
        for key in value:
            if isinstance(instance, dict) and key not in instance:
                yield path, f"missing required key {key!r}"
    elif keyword == "type":
        yield path, f"expected {_type_names(value)}, found {_describe(instance)}"
    elif keyword == "pattern":
        rule = schema.get("patternErrorMessage", f"must match the pattern {value!r}")
        yield path, f"{_short(instance)} {rule}"
    elif keyword in ("oneOf", "anyOf"):
        yield from _best_match(error, path)
    else:
        yield path, _plain_message(keyword, value, instance, schema, error.message)


def _plain_message(
    keyword: Any, value: Any, instance: Any, schema: dict[str, Any], fallback: str
) -> str:
    rule = schema.get("patternErrorMessage")
    if keyword in ("minLength", "minItems", "minProperties") and value == 1:
        return "must not be empty"
    if keyword == "minLength":
        extra = f"; it {rule}" if rule else ""
        return (
            f"{_short(instance)} is too short: {len(instance)} characters, at least {value}{extra}"
        )
    if keyword == "maxLength":
        extra = f"; it {rule}" if rule else ""
        return f"{_short(instance)} is too long: {len(instance)} characters, at most {value}{extra}"
    if keyword == "minItems":
        return f"has {_count(len(instance), 'item')}, needs at least {value}"
    if keyword == "maxItems":
        return f"has {_count(len(instance), 'item')}, takes at most {value}"
    if keyword == "minimum":
        return f"{instance} is below the minimum of {value}"
    if keyword == "maximum":
        return f"{instance} is above the maximum of {value}"
    if keyword == "enum":
        choices = ", ".join(repr(v) for v in value)
        hint = _did_you_mean(instance, [str(v) for v in value]) if isinstance(instance, str) else ""
        return f"{_short(instance)} is not one of {choices}{hint}"
    if keyword == "const":
        return f"must be {value!r}"
    if keyword == "not" and isinstance(value, dict) and set(value) == {"required"}:
        # `not: {required: [a, b]}` is how the schema says "a and b exclude each other".
        return " and ".join(map(repr, value["required"])) + " cannot be used together; choose one"
    if keyword == "dependentRequired" and isinstance(instance, dict) and isinstance(value, dict):
        for key, needed in value.items():
            missing = [d for d in needed if key in instance and d not in instance]
            if missing:
                return f"missing required key {missing[0]!r}: {key!r} needs it"
    return fallback


def _unknown_keys(
    path: JsonPath, schema: dict[str, Any], instance: Any, forms: Sequence[dict[str, Any]]
) -> Iterator[Problem]:
    if "propertyNames" in schema or not isinstance(instance, dict):
        return  # keys of free-form mappings are reported through propertyNames
    known: dict[str, Any] = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    for key in instance:
        if key in known or any(re.search(p, key) for p in patterns):
            continue
        owners = [f for f in forms if key in f.get("properties", {})]
        if owners:
            clash = [
                k
                for k in instance
                if k in known and all(k not in o.get("properties", {}) for o in owners)
            ]
            if clash:
                shapes = " | ".join("{" + ", ".join(f.get("properties", {})) + "}" for f in forms)
                with_ = ", ".join(repr(k) for k in clash)
                yield (
                    (*path, key),
                    f"{key!r} cannot be combined with {with_}; use exactly one form: {shapes}",
                )
                continue
        hint = _did_you_mean(key, list(known)) or _belongs_under(key)
        yield (*path, key), f"unknown key {key!r}{hint}"


def _best_match(error: ValidationError, path: JsonPath) -> Iterator[Problem]:
    options: Any = error.validator_value
    forms: list[dict[str, Any]] = [f for f in options if isinstance(f, dict)]
    if not error.context:
        names = " | ".join(f.get("title", "?") for f in forms)
        yield path, f"matches more than one form ({names}); make it match exactly one"
        return
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context:
        index = sub.relative_schema_path[0]
        if isinstance(index, int):
            branches.setdefault(index, []).append(sub)
    if not branches:
        yield path, error.message
        return
    said = {_custom_message(e) for errs in branches.values() for e in errs}
    if len(said) == 1 and None not in said:
        # Every form fails for the same stated reason (`at least one of 'dedicated' or 'spot'
        # must be above zero`): that reason is about the whole value, not one form.
        yield path, str(said.pop())
        return
    depth = len(path)

    def shallow(errs: list[ValidationError], keyword: str) -> int:
        return sum(1 for e in errs if e.validator == keyword and len(e.absolute_path) == depth)

    if all(shallow(errs, "type") for errs in branches.values()):
        wanted = [
            e.validator_value for errs in branches.values() for e in errs if e.validator == "type"
        ]
        yield path, f"expected {_type_names(wanted)}, found {_describe(error.instance)}"
        return

    def score(item: tuple[int, list[ValidationError]]) -> tuple[int, int, int, int, int]:
        index, errs = item
        extras = 0
        for e in errs:
            if e.validator == "additionalProperties" and len(e.absolute_path) == depth:
                extras += len(_extra_keys(e))
        return (shallow(errs, "type"), shallow(errs, "required"), extras, len(errs), index)

    _, chosen = min(branches.items(), key=score)
    for sub in chosen:
        yield from _explain(sub, forms)


def _custom_message(error: ValidationError) -> str | None:
    schema = error.schema if isinstance(error.schema, dict) else {}
    custom = schema.get("errorMessage")
    return custom if isinstance(custom, str) else None


def _extra_keys(error: ValidationError) -> list[str]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = schema.get("properties", {})
    instance = error.instance
    return [k for k in instance if k not in known] if isinstance(instance, dict) else []


@functools.cache
def _key_homes() -> dict[str, list[str]]:
    """Each key of the schema -> where it may appear, e.g. `vm_size` -> `['pool']`."""
    schema = load_schema()
    homes: dict[str, list[str]] = {}

    def walk(node: Any, label: str, depth: int) -> None:
        if not isinstance(node, dict) or depth > 12:
            return
        ref = node.get("$ref")
        if isinstance(ref, str):
            walk(schema["$defs"][ref.rsplit("/", 1)[1]], label, depth + 1)
        for branch in node.get("oneOf", []):
            walk(branch, label, depth + 1)
        for key, sub in node.get("properties", {}).items():
            child = key if label == "$" else f"{label}.{key}"
            if label not in homes.setdefault(key, []):
                homes[key].append(label)
            walk(sub, child, depth + 1)
        for sub in node.get("patternProperties", {}).values():
            walk(sub, f"{label}.<NAME>", depth + 1)
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{label}[]", depth + 1)

    walk(schema, "$", 0)
    return homes


def _belongs_under(key: str) -> str:
    homes = _key_homes().get(key)
    if not homes or len(homes) > 3:
        return ""
    places = " or ".join("the top level" if h == "$" else f"'{h}'" for h in homes)
    return f"; {key!r} belongs under {places} (check the indentation)"


def _did_you_mean(word: str, candidates: list[str]) -> str:
    lowered = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f"; did you mean {lowered[close[0]]!r}?" if close else ""


def _type_names(types: Any) -> str:
    flat: list[str] = []
    for t in types if isinstance(types, list) else [types]:
        for name in t if isinstance(t, list) else [t]:
            label = _TYPE_NAMES.get(name, str(name))
            if label not in flat:
                flat.append(label)
    return flat[0] if len(flat) == 1 else ", ".join(flat[:-1]) + " or " + flat[-1]


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({_short(value)})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _short(value: Any, limit: int = 48) -> str:
    """A value as it should appear in a one-line message."""
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) <= limit:
        return text
    if isinstance(value, str):
        return repr(value[: limit - 8] + "...") + f" ({len(value)} characters)"
    return text[: limit - 3] + "..."


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
