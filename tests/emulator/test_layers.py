"""The local service's layers import only downwards: api -> service <- engine, no HTTP below api."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "src" / "batchspec" / "emulator"

# layer -> module prefixes it must not import
_FORBIDDEN = {
    "service": ("batchspec.emulator.api", "batchspec.emulator.engine", "starlette", "uvicorn"),
    "engine": ("batchspec.emulator.api", "starlette", "uvicorn"),
    "api": ("batchspec.emulator.engine",),
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(_FORBIDDEN))
def test_layer_imports_only_downwards(layer: str) -> None:
    bad = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / layer).glob("*.py"))
        for name in sorted(_imports(path))
        if name.startswith(_FORBIDDEN[layer])
    ]
    assert bad == []
