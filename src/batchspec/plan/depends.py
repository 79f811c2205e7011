"""Task dependencies: expand ids and glob patterns over the job's task ids, find cycles.

Only task ids are needed here, so the checks stay cheap for very large jobs: a pattern is
matched against all ids once, however many tasks use it.
"""

from __future__ import annotations

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
            cached = tuple(i for i in self._ids if fnmatch.fnmatchcase(i, pattern))
            self._patterns[pattern] = cached
        return cached


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
