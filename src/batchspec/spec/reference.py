"""The spec reference (docs/spec-reference.md), generated from the JSON Schema.

    python -m batchspec.spec.reference > docs/spec-reference.md

One section per mapping of the spec, in the order a spec is written, each a table of its keys
with type, default and description. A definition used in several places (resource files,
environment, outputs) is described once and linked from the other places.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from batchspec.spec.schema import load_schema

Schema = dict[str, Any]
TYPED_TEMPLATE = {"$ref": "#/$defs/typed_template"}

HEADER = """\
# Spec reference

<!-- Generated from schemas/batchspec.schema.json by
     `python -m batchspec.spec.reference > docs/spec-reference.md`; edit the schema, not this. -->

Point an editor at the schema for completion and help on hover: see the README's
"Spec reference and editor support". Keys not listed here are errors.
"""


class _Writer:
    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.out: list[str] = []
        self.queue: list[tuple[str, str, Schema]] = []
        self.anchors: dict[str, str] = {}  # $defs name -> anchor of its section

    def resolve(self, node: Schema) -> tuple[Schema, str | None]:
        """`node` with its `$ref` chain merged in, and the name of the first definition."""
        first: str | None = None
        while isinstance(node.get("$ref"), str):
            name = node["$ref"].rsplit("/", 1)[1]
            first = first or name
            target = dict(self.schema["$defs"][name])
            target.update({k: v for k, v in node.items() if k != "$ref"})
            if target.get("$ref") == node["$ref"]:
                target.pop("$ref")
            node = target
        if node.get("then") == TYPED_TEMPLATE and isinstance(node.get("else"), dict):
            # A typed template: described by the field's own type, which a template may give.
            own, _ = self.resolve(node["else"])
            merged = {**own, **{k: v for k, v in node.items() if k not in ("if", "then", "else")}}
            merged["x-template"] = True
            return merged, first
        return node, first

    def type_of(self, node: Schema) -> str:
        node, _ = self.resolve(node)
        if node.get("x-template"):
            own = self.type_of({k: v for k, v in node.items() if k != "x-template"})
            return f"{own} \\| template"
        if "const" in node:
            return f"`{json.dumps(node['const'])}`"
        if "enum" in node:
            return " \\| ".join(f"`{v}`" for v in node["enum"])
        if "oneOf" in node and "type" not in node:
            return "one of: " + ", ".join(b.get("title", "?").lower() for b in node["oneOf"])
        kind = node.get("type")
        names = {"object": "mapping", "array": "list"}
        if isinstance(kind, list):
            return " \\| ".join(names.get(str(k), str(k)) for k in kind)
        if kind == "array" and isinstance(node.get("items"), dict):
            return f"list of {self.type_of(node['items'])}"
        return names.get(str(kind), str(kind))

    def rules(self, node: Schema) -> str:
        node, _ = self.resolve(node)
        parts = []
        if "pattern" in node and "patternErrorMessage" in node:
            parts.append(f"Must match `{node['pattern']}`.")
        for key, text in (("minimum", "at least"), ("maximum", "at most")):
            if key in node:
                parts.append(f"{text.capitalize()} {node[key]}.")
        if node.get("minItems") == 1 or node.get("minProperties") == 1:
            parts.append("Not empty.")
        if "minLength" in node and node["minLength"] > 1:
            parts.append(f"{node['minLength']}-{node.get('maxLength', '')} characters.")
        return " ".join(parts)

    def section(self, label: str, title: str, node: Schema) -> None:
        node, _ = self.resolve(node)
        self.out.append(f'\n<a id="{_anchor(label)}"></a>\n\n## `{label}`: {title}\n')
        if _described(node):
            self.out.append(f"\n{_described(node)}\n")
        choice = _exactly_one_of(node)
        if choice:
            self.out.append(f"\nGive exactly one of {choice}.\n")
        if "oneOf" in node and "properties" not in node:
            for branch in node["oneOf"]:
                self.out.append(f"\n### {branch.get('title', 'Form')}\n")
                self.table(label, branch)
            return
        self.table(label, node)

    def table(self, label: str, node: Schema) -> None:
        node, _ = self.resolve(node)
        props: dict[str, Schema] = dict(node.get("properties", {}))
        for value in node.get("patternProperties", {}).values():
            props["<NAME>"] = value
        if not props:
            rules = self.rules(node)
            self.out.append(f"\nA {self.type_of(node)}. {rules}\n".replace(" \n", "\n"))
            return
        if "patternProperties" in node:
            names = node.get("propertyNames", {})
            rule = names.get("patternErrorMessage") or self.resolve(names)[0].get(
                "patternErrorMessage", ""
            )
            self.out.append(f"\nEach `<NAME>` {rule}.\n")
        self.out.append("\n| Key | Type | Required | Default | Description |\n")
        self.out.append("|---|---|---|---|---|\n")
        required = set(node.get("required", []))
        for key, raw in props.items():
            prop, def_name = self.resolve(raw)
            child = f"{label}.{key}" if label != "$" else key
            kind = self.type_of(raw)
            target = prop.get("items", prop) if prop.get("type") == "array" else prop
            target, item_def = self.resolve(target) if isinstance(target, dict) else ({}, None)
            forms = "oneOf" in target and not _exactly_one_of(target)
            if "properties" in target or "patternProperties" in target or forms:
                child += "[]" if prop.get("type") == "array" else ""
                shared = item_def or def_name
                if "properties" in raw:
                    # Its own keys beside a `$ref` (e.g. to one_command): not the shared section.
                    shared = None
                if shared and shared in self.anchors:
                    anchor = self.anchors[shared]
                else:
                    anchor = _anchor(child)
                    if shared:
                        self.anchors[shared] = anchor
                    self.queue.append((child, target.get("title", key), target))
                kind = f"[{kind}](#{anchor})"
            default = f"`{json.dumps(prop['default'])}`" if "default" in prop else ""
            text = " ".join(x for x in (_described(prop), self.rules(raw)) if x)
            req = "yes" if key in required else ""
            self.out.append(f"| `{key}` | {kind} | {req} | {default} | {_cell(text)} |\n")

    def render(self) -> str:
        self.out.append(HEADER)
        self.section("$", "the top level", self.schema)
        while self.queue:
            label, title, node = self.queue.pop(0)
            self.section(label, title, node)
        return "".join(self.out)


def _described(node: Schema) -> str:
    """A node's description in Markdown (the plain `description` lacks the code spans)."""
    text = node.get("markdownDescription", node.get("description", ""))
    return str(text)


def _anchor(label: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in label.lower())
    while "--" in slug:
        slug = slug.replace("--", "-")
    return slug.strip("-") or "top-level"


def _exactly_one_of(node: Schema) -> str:
    """ "`command` or `commands`" when `node` says exactly one of some keys is required."""
    branches = node.get("oneOf", []) or node.get("anyOf", [])
    if branches and all(
        set(b) - {"errorMessage"} == {"required"} and len(b["required"]) == 1 for b in branches
    ):
        return " or ".join(f"`{b['required'][0]}`" for b in branches)
    return ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_reference(schema: Schema | None = None) -> str:
    """The Markdown reference for `schema` (the packaged spec schema by default)."""
    return _Writer(schema if schema is not None else load_schema()).render()


if __name__ == "__main__":
    sys.stdout.write(render_reference())
