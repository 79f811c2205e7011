"""`vars:` with `--var` overrides: each override names a variable and takes its default's type."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence

from batchspec.spec.model import VarValue
from batchspec.spec.render import Renderer

_KINDS = {bool: "a boolean (true or false)", int: "an integer", float: "a number", str: "a string"}


def var_text(value: VarValue) -> str:
    """A variable's value as text: booleans as `true`/`false`, as they are written in YAML."""
    return json.dumps(value) if isinstance(value, bool) else str(value)


def resolve_vars(
    renderer: Renderer, declared: Sequence[tuple[str, VarValue]], overrides: Mapping[str, str]
) -> list[tuple[str, VarValue]]:
    """The spec's variables with `--var` overrides applied, each coerced to its default's type."""
    defaults = dict(declared)
    values = dict(defaults)
    for name, text in overrides.items():
        if name not in defaults:
            known = ", ".join(defaults) or "none"
            hint = difflib.get_close_matches(name, defaults, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            renderer.report(
                ("vars",),
                f"--var {name}: the spec has no variable {name!r} (its variables: {known})"
                + suggestion,
            )
            continue
        coerced = coerce(text, defaults[name])
        if coerced is None:
            kind = _KINDS[type(defaults[name])]
            renderer.report(
                ("vars", name),
                f"--var {name}={text}: {text!r} is not {kind} like the default "
                f"{var_text(defaults[name])}",
            )
            continue
        values[name] = coerced
    return list(values.items())


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def coerce(text: str, default: VarValue) -> VarValue | None:
    """`text` as the type of `default`, or None when it cannot be."""
    if isinstance(default, bool):
        lowered = text.strip().lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else None
    try:
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
    except ValueError:
        return None
    return text
