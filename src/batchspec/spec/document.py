"""A spec file as loaded: plain data plus where each value sits in the file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JsonPath = tuple[str | int, ...]


def format_json_path(path: JsonPath) -> str:
    """`('pool', 'nodes', 0)` -> `$.pool.nodes[0]`."""
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


@dataclass(frozen=True)
class LoadedSpec:
    path: Path
    """The path as the user gave it; used in messages."""
    raw: bytes
    """The file's bytes, for the spec digest."""
    data: dict[str, Any]
    """The YAML document as plain Python data."""
    positions: Mapping[JsonPath, tuple[int, int]]
    """1-based (line, col) of the value at each JSON path; mapping keys point at the key."""

    def locate(self, path: JsonPath) -> tuple[int, int]:
        """Position of `path`, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while probe:
            found = self.positions.get(probe)
            if found is not None:
                return found
            probe = probe[:-1]
        return self.positions.get((), (1, 1))
