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

from batchspec.spec.model import (
    BlobsForeach,
    ContainerForeach,
    FileForeach,
    Foreach,
    ItemsForeach,
    RangeForeach,
    SweepForeach,
    ZipForeach,
)

NO_ITEM: tuple[None] = (None,)
"""The expansion of a template without `foreach`: one task, with no `item` in its context."""


def value_count(values: Sequence[Any]) -> int:
    """How many values a sweep parameter has, even for a range too long for `len()`.

    `len(range(0, 10**20))` raises OverflowError; a spec may write such a range, and it must
    come back as "too many tasks", not as a crash.
    """
    if not isinstance(values, range):
        return len(values)
    step = values.step
    if step > 0:
        return max(0, (values.stop - values.start + step - 1) // step)
    return max(0, (values.start - values.stop - step - 1) // -step)


class _LazyItems(Sequence[dict[str, Any]]):
    """A lazy, indexable sequence of `size` mappings; subclasses make the one at an index."""

    size: int

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | Sequence[dict[str, Any]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.size))]
        if index < 0:
            index += self.size
        if not 0 <= index < self.size:
            raise IndexError(index)
        return self._item(index)

    def _item(self, index: int) -> dict[str, Any]:
        raise NotImplementedError


class SweepItems(_LazyItems):
    """The points of a parameter sweep: a re-iterable, indexable, lazy sequence of mappings."""

    def __init__(self, names: Sequence[str], values: Sequence[Sequence[Any]]) -> None:
        self._names = tuple(names)
        self._values = tuple(values)
        self._counts = tuple(value_count(v) for v in self._values)
        self.size = math.prod(self._counts)
        """The number of points, which may be beyond what `len()` can return."""

    def _item(self, index: int) -> dict[str, Any]:
        point: dict[str, Any] = {}
        parameters = zip(self._names, self._values, self._counts, strict=True)
        for name, values, count in reversed(tuple(parameters)):
            index, digit = divmod(index, count)
            point[name] = values[digit]
        return {name: point[name] for name in self._names}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for combo in itertools.product(*self._values):
            yield dict(zip(self._names, combo, strict=True))


class ZipItems(_LazyItems):
    """The positions of equally long value lists, side by side: lazy, like SweepItems."""

    def __init__(self, names: Sequence[str], values: Sequence[Sequence[Any]], size: int) -> None:
        self._names = tuple(names)
        self._values = tuple(values)
        self.size = size

    def _item(self, index: int) -> dict[str, Any]:
        return {n: v[index] for n, v in zip(self._names, self._values, strict=True)}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for index in range(self.size):
            yield self[index]


def zip_lengths(foreach: ZipForeach) -> list[tuple[str, int]]:
    """Each zipped parameter's name and number of values."""
    return [(p.name, value_count(p.values)) for p in foreach.parameters]


def _stem_suffix(blob: str) -> tuple[str, str]:
    leaf = blob.rsplit("/", 1)[-1]
    stem, dot, suffix = leaf.rpartition(".")
    if not dot or not stem:  # `README` or `.bashrc`: no suffix, as pathlib sees it
        return leaf, ""
    return stem, "." + suffix


def stored_blob_item(name: str, size: int) -> dict[str, Any]:
    """The `item` of a factory over blobs already in storage: {name, stem, suffix, size}."""
    stem, suffix = _stem_suffix(name)
    return {"name": name, "stem": stem, "suffix": suffix, "size": size}


class StoredBlobItems(_LazyItems):
    """The items of a listing, made when read: a listing of a million blobs keeps only its
    (name, size, etag) tuples, not a million mappings."""

    def __init__(self, blobs: Sequence[Any]) -> None:
        self._blobs = blobs
        self.size = len(blobs)

    def _item(self, index: int) -> dict[str, Any]:
        blob = self._blobs[index]
        return stored_blob_item(blob[0], blob[1])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for blob in self._blobs:
            yield stored_blob_item(blob[0], blob[1])


def blob_item(blob: str, source: Path, size: int, spec_dir: Path) -> dict[str, Any]:
    """The `item` of a container factory for one uploaded blob."""
    stem, suffix = _stem_suffix(blob)
    try:
        path = source.relative_to(spec_dir).as_posix()
    except ValueError:
        path = source.as_posix()
    return {"name": blob, "stem": stem, "suffix": suffix, "size": size, "path": path}


def item_count(items: Sequence[Any]) -> int:
    """How many items `expand` gave: `len()`, except for a sweep or range too big for it."""
    if isinstance(items, SweepItems | ZipItems | StoredBlobItems):
        return items.size
    return value_count(items) if isinstance(items, range) else len(items)


def expand(
    foreach: Foreach | None, blobs: Sequence[dict[str, Any]], rows: Sequence[Any] = ()
) -> Sequence[Any]:
    """The items of a template: `blobs` are the container factory's candidates (its uploads),
    `rows` a file factory's rows (read by the caller) or the (name, size, etag) blobs a
    listing found; zipped lists must be equally long."""
    if foreach is None:
        return NO_ITEM
    if isinstance(foreach, BlobsForeach):
        return StoredBlobItems(rows)
    if isinstance(foreach, ContainerForeach):
        if foreach.match is None:
            return tuple(blobs)
        pattern = foreach.match
        return tuple(b for b in blobs if fnmatch.fnmatchcase(b["name"], pattern))
    if isinstance(foreach, ItemsForeach):
        return foreach.items
    if isinstance(foreach, FileForeach):
        return tuple(rows)
    if isinstance(foreach, RangeForeach):
        return foreach.values
    if isinstance(foreach, ZipForeach):
        lengths = {n for _, n in zip_lengths(foreach)}
        if len(lengths) != 1:
            raise ValueError("zipped lists differ in length")
        values = [p.values for p in foreach.parameters]
        return ZipItems([p.name for p in foreach.parameters], values, lengths.pop())
    assert isinstance(foreach, SweepForeach)
    return SweepItems([p.name for p in foreach.parameters], [p.values for p in foreach.parameters])
