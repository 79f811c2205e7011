"""Checks of what kind of pool a spec asks for: an auto pool, an existing pool, autoscale.

Batch refuses these only when apply is under way (or, for a formula, evaluates it minutes
later); `validate` says so at the line. A formula's syntax error is located at the character
inside the formula, also in a `formula: |` block, by the parser the local service evaluates
formulas with (`batchspec.autoscale.formula`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from batchspec.autoscale.formula import check as check_formula
from batchspec.diagnostics import Diagnostic
from batchspec.spec.document import JsonPath, LoadedSpec, format_json_path
from batchspec.spec.durations import format_duration
from batchspec.spec.model import Spec
from batchspec.spec.render import Renderer

AUTO_POOL_PREFIX_MAX = 20
"""Batch's limit on autoPoolIdPrefix ("The prefix can be up to 20 characters long")."""
MIN_INTERVAL_SECONDS = 5 * 60
MAX_INTERVAL_SECONDS = 168 * 3600
"""Batch's limits on autoScaleEvaluationInterval: 5 minutes to 168 hours."""
FORMULA_PATH: JsonPath = ("pool", "nodes", "autoscale", "formula")


def check_pool_kind(renderer: Renderer, spec: Spec, source: Mapping[str, Any]) -> None:
    """Report what Batch would refuse about an auto pool, an existing pool or autoscale.

    `source` is the spec's data before typed templates were rendered: a formula written
    as it is gets its error at the character; a rendered one at its key.
    """
    pool = spec.pool
    if pool.lifetime == "job" and len(pool.id) > AUTO_POOL_PREFIX_MAX:
        renderer.report(
            ("pool", "id"),
            f"an auto pool's id is the prefix of the id Batch gives it (`<prefix>_<GUID>`), "
            f"at most {AUTO_POOL_PREFIX_MAX} characters; {pool.id!r} has {len(pool.id)}",
        )
    if pool.existing:
        after: list[tuple[str, JsonPath]] = [
            (spec.cleanup.pool, ("cleanup", "pool")),
            (spec.cleanup.on_failure[2], ("cleanup", "on_failure", "pool")),
        ]
        for action, where in after:
            if action == "delete":
                renderer.report(
                    where,
                    f"pool {pool.id} is an existing pool, which this spec never deletes: "
                    "remove this clean-up, or let the spec create its own pool",
                )
    autoscale = pool.autoscale
    if autoscale is None:
        return
    seconds = autoscale.interval_seconds
    if not MIN_INTERVAL_SECONDS <= seconds <= MAX_INTERVAL_SECONDS:
        renderer.report(
            (*autoscale.where, "interval"),
            f"Batch evaluates a formula every 5m to 168h; {format_duration(seconds)} is "
            f"{'shorter' if seconds < MIN_INTERVAL_SECONDS else 'longer'}",
        )
    problem = check_formula(autoscale.formula)
    if problem is None:
        return
    message = f"the autoscale formula does not parse: {problem}"
    written = _dig(source, FORMULA_PATH)
    place = None
    if written == autoscale.formula and problem.offset is not None:
        place = formula_position(renderer.loaded, FORMULA_PATH, autoscale.formula, problem.offset)
    if place is None:
        renderer.report(FORMULA_PATH, message)
        return
    line, col = place
    path = format_json_path(FORMULA_PATH)
    renderer.problems.append(Diagnostic(str(renderer.loaded.path), line, col, path, message))


def formula_position(
    loaded: LoadedSpec, path: JsonPath, text: str, offset: int
) -> tuple[int, int] | None:
    """The 1-based (line, col) in the file of character `offset` of the string at `path`.

    For a literal block (`|`), a plain or a quoted scalar written on one line, where the
    file's characters are the string's; None for other styles (folded, escapes), which the
    caller reports at the key.
    """
    node = _node(loaded, path)
    if not isinstance(node, yaml.ScalarNode):
        return None
    lines = loaded.raw.decode("utf-8", errors="replace").splitlines()
    row = text[:offset].count("\n")
    col = offset - (text.rfind("\n", 0, offset) + 1)
    mark = node.start_mark
    if node.style == "|":
        first = mark.line + 1 + row
        if first >= len(lines):
            return None
        content = [ln for ln in lines[mark.line + 1 :] if ln.strip()]
        if not content:
            return None
        indent = len(content[0]) - len(content[0].lstrip(" "))
        wanted = text.split("\n")[row]
        if lines[first][indent:] != wanted:
            return None
        return first + 1, indent + col + 1
    if "\n" in text or mark.line >= len(lines):
        return None
    start = mark.column + (1 if node.style in ('"', "'") else 0)
    if lines[mark.line][start : start + len(text)] != text:
        return None
    return mark.line + 1, start + col + 1


def _node(loaded: LoadedSpec, path: JsonPath) -> yaml.Node | None:
    try:
        node: yaml.Node | None = yaml.compose(loaded.raw.decode("utf-8"), Loader=yaml.SafeLoader)
    except (yaml.YAMLError, UnicodeDecodeError):
        return None
    for key in path:
        if not isinstance(node, yaml.MappingNode):
            return None
        node = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
    return node


def _dig(data: Any, path: JsonPath) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data
