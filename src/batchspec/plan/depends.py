"""Task dependencies: expand ids and glob patterns over the job's task ids, find cycles.

Only task ids are needed here, so the checks stay cheap for very large jobs: each distinct
pattern is matched once, however many tasks use it, and only against the ids that share its
literal start (or end), found by bisecting sorted indexes. 20,000 tasks that each depend on
their own `t-{{ index }}-*` cost 20,000 short look-ups, not 400 million comparisons.
"""

from __future__ import annotations

import bisect
import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MAX_DEPENDENCY_ID_CHARS = 64_000
"""Batch's limit on the combined length of the task ids one task depends on."""

_GLOB_CHARS = frozenset("*?[")


def is_pattern(text: str) -> bool:
    """Whether a `depends_on` entry is a glob rather than a task id."""
    return any(c in _GLOB_CHARS for c in text)


@dataclass(frozen=True, slots=True)
class DependencyProblem:
    task: int
    """Index of the task (in submission order) whose depends_on is wrong."""
    message: str


class DependencyResolver:
    """Expands `depends_on` entries against a job's task ids (in submission order)."""

    def __init__(self, ids: Sequence[str]) -> None:
        self._ids = ids
        self._known = frozenset(ids)
        self._index: _IdIndex | None = None
        self._patterns: dict[str, tuple[str, ...]] = {}
        # `depends_on` with a pattern -> its expansion for a task it does not name, the ids in
        # it (and its literal entries), and its problems. Every task of a barrier stage (10,000
        # tasks each waiting for `map-*`) shares one tuple instead of holding its own copy.
        self._shared: dict[tuple[str, ...], tuple[tuple[str, ...], frozenset[str], list[str]]] = {}
        # `depends_on` -> the first task it names that has that very `depends_on` too.
        self._named_first: dict[tuple[str, ...], str] = {}

    def expand(self, task_id: str, entries: Sequence[str]) -> tuple[tuple[str, ...], list[str]]:
        """The task ids `entries` name (in order, without repeats) and what is wrong with them.

        A pattern never includes the task itself, so `merge` may depend on `*`.
        """
        key = tuple(entries)
        if not any(is_pattern(e) for e in key):
            return self._expand(task_id, key)
        shared = self._shared.get(key)
        if shared is None:
            ids, problems = self._expand(None, key)
            shared = ids, frozenset(ids).union(key), problems
            self._shared[key] = shared
        ids, named, problems = shared
        if task_id not in named:
            return ids, list(problems)
        first = self._named_first.setdefault(key, task_id)
        if first != task_id:
            # Both are named by the same entries, so each depends on the other; saying so
            # here spares building an expansion per task (a sweep of 10,000 tasks each
            # depending on `t*` would otherwise hold 10,000 tuples of 10,000 ids).
            return (), [f"the task dependencies form a cycle: {task_id} -> {first} -> {task_id}"]
        return self._expand(task_id, key)

    def _expand(
        self, task_id: str | None, entries: Sequence[str]
    ) -> tuple[tuple[str, ...], list[str]]:
        found: dict[str, None] = {}
        problems: list[str] = []
        for entry in entries:
            if is_pattern(entry):
                matched = self._match(entry)
                hits = [m for m in matched if m != task_id] if task_id in matched else matched
                if not hits:
                    problems.append(f"depends on {entry!r}, which matches no other task")
                found.update(dict.fromkeys(hits))
            elif entry == task_id:
                problems.append(f"task {task_id!r} depends on itself")
            elif entry not in self._known:
                problems.append(f"depends on {entry!r}, which is no task of this job")
            else:
                found[entry] = None
        ids = tuple(found)
        total = sum(len(i) for i in ids)
        if total > MAX_DEPENDENCY_ID_CHARS:
            problems.append(
                f"depends on {len(ids):,} tasks whose ids add up to {total:,} characters; "
                f"Batch allows at most {MAX_DEPENDENCY_ID_CHARS:,} (depend on fewer tasks, "
                "e.g. through intermediate merge tasks)"
            )
        return ids, problems

    def _match(self, pattern: str) -> tuple[str, ...]:
        cached = self._patterns.get(pattern)
        if cached is None:
            if self._index is None:
                self._index = _IdIndex(self._ids)
            cached = self._index.match(pattern)
            self._patterns[pattern] = cached
        return cached


class _IdIndex:
    """Task ids sorted forwards and by their reversed text, to find candidates for a glob."""

    def __init__(self, ids: Sequence[str]) -> None:
        self._order = {task_id: n for n, task_id in enumerate(ids)}
        self._forward = sorted(ids)
        self._backward = sorted(i[::-1] for i in ids)

    def match(self, pattern: str) -> tuple[str, ...]:
        """The ids `pattern` matches, in submission order."""
        start = _literal_start(pattern)
        end = _literal_start(pattern[::-1])
        if start or not end:
            candidates = _with_prefix(self._forward, start)
        else:
            candidates = [i[::-1] for i in _with_prefix(self._backward, end)]
        hits = [i for i in candidates if fnmatch.fnmatchcase(i, pattern)]
        hits.sort(key=self._order.__getitem__)
        return tuple(hits)


def _literal_start(pattern: str) -> str:
    """The text before the first glob character (`]` counts for a reversed pattern)."""
    for n, c in enumerate(pattern):
        if c in _GLOB_CHARS or c == "]":
            return pattern[:n]
    return pattern


def _with_prefix(ordered: Sequence[str], prefix: str) -> Sequence[str]:
    if not prefix:
        return ordered
    low = bisect.bisect_left(ordered, prefix)
    # Every string starting with `prefix` sorts before `prefix` followed by the last character.
    high = bisect.bisect_left(ordered, prefix + "\U0010ffff", lo=low)
    return ordered[low:high]


def find_cycle(edges: Mapping[str, Sequence[str]]) -> list[str] | None:
    """One dependency cycle as `[a, b, ..., a]`, or None. Iterative: no recursion limit.

    Tasks that share one dependency sequence (as the resolver gives every task of a barrier
    stage) are walked once: when a task is finished, so is every task it depends on, so
    another task with the very same sequence is finished without walking it again.
    """
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    cleared: set[int] = set()  # id() of sequences whose tasks are all finished
    for start in edges:
        if state.get(start):
            continue
        if id(edges.get(start, ())) in cleared:
            state[start] = 2
            continue
        path: list[str] = [start]
        walking = [edges.get(start, ())]
        iters = [iter(walking[-1])]
        state[start] = 1
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
                cleared.add(id(walking.pop()))
                continue
            seen = state.get(nxt)
            if seen == 1:
                return [*path[path.index(nxt) :], nxt]
            if seen is None:
                deps = edges.get(nxt, ())
                if id(deps) in cleared:
                    state[nxt] = 2
                    continue
                state[nxt] = 1
                path.append(nxt)
                walking.append(deps)
                iters.append(iter(deps))
    return None
