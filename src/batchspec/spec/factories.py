"""Task factories: the items a task template is expanded over, produced lazily.

A sweep is never materialised: its items are computed from their index (mixed radix over the
parameters, last parameter fastest, as itertools.product), so a plan of 100,000 tasks holds
only the parameter lists.
"""

from __future__ import annotations

import fnmatch
import itertools
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

from batchspec.spec.model import ContainerForeach, Foreach, ItemsForeach, SweepForeach

NO_ITEM: tuple[None] = (None,)
"""The expansion of a template without `foreach`: one task, with no `item` in its context."""


class SweepItems(Sequence[dict[str, Any]]):
    """The points of a parameter sweep: a re-iterable, indexable, lazy sequence of mappings."""

    def __init__(self, names: Sequence[str], values: Sequence[Sequence[Any]]) -> None:
        self._names = tuple(names)
        self._values = tuple(values)
        self._len = math.prod(len(v) for v in self._values)

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | Sequence[dict[str, Any]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._len))]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(index)
        point: dict[str, Any] = {}
        for name, values in zip(reversed(self._names), reversed(self._values), strict=True):
            index, digit = divmod(index, len(values))
            point[name] = values[digit]
        return {name: point[name] for name in self._names}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for combo in itertools.product(*self._values):
            yield dict(zip(self._names, combo, strict=True))


def blob_item(blob: str, source: Path, size: int, spec_dir: Path) -> dict[str, Any]:
    """The `item` of a container factory for one uploaded blob."""
    leaf = blob.rsplit("/", 1)[-1]
    stem, dot, suffix = leaf.rpartition(".")
    if not dot or not stem:  # `README` or `.bashrc`: no suffix, as pathlib sees it
        stem, suffix = leaf, ""
    else:
        suffix = "." + suffix
    try:
        path = source.relative_to(spec_dir).as_posix()
    except ValueError:
        path = source.as_posix()
    return {"name": blob, "stem": stem, "suffix": suffix, "size": size, "path": path}


def expand(foreach: Foreach | None, blobs: Sequence[dict[str, Any]]) -> Sequence[Any]:
    """The items of a template: `blobs` are the container factory's candidates (its uploads)."""
    if foreach is None:
        return NO_ITEM
    if isinstance(foreach, ContainerForeach):
        if foreach.match is None:
            return tuple(blobs)
        pattern = foreach.match
        return tuple(b for b in blobs if fnmatch.fnmatchcase(b["name"], pattern))
    if isinstance(foreach, ItemsForeach):
        return foreach.items
    assert isinstance(foreach, SweepForeach)
    return SweepItems([p.name for p in foreach.parameters], [p.values for p in foreach.parameters])
