"""Planning `foreach: {blobs: ...}`: the listing each such template asks for, checked offline.

A listing decides the run id (its blobs are inputs of the run, as uploaded files are), so what
it lists cannot depend on the run: the container's name and the prefix are rendered with
`vars` and `spec` only, before the run id exists. The checks here are what `validate` can say
without storage: the container is declared and not one this spec uploads into, neither name
nor prefix uses `run`, and the glob can match a blob under the prefix.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, overload

from jinja2 import TemplateSyntaxError, meta

from batchspec.plan.listing import (
    ListedBlob,
    ListingPlan,
    ListingRequest,
    Listings,
    pattern_problem,
    sample_blob,
)
from batchspec.plan.model import TaskPlan
from batchspec.plan.tasks import LazyTasks
from batchspec.spec.document import JsonPath, LoadedSpec
from batchspec.spec.model import BlobsForeach
from batchspec.spec.render import Renderer, has_markup

LISTING_NAMES = frozenset({"vars", "spec"})
"""What a listed container's name and a listing prefix may use: not `run` (the listing decides
it), nor `containers`, `item` or `index`."""


@dataclass(frozen=True, slots=True)
class StoredFactory:
    """One template over stored blobs and the listing it needs."""

    template: int
    """Its index under job.tasks."""
    where: JsonPath
    """The `blobs` mapping."""
    container_key: str
    request: ListingRequest


def stored_factories(
    renderer: Renderer, loaded: LoadedSpec, values: Sequence[tuple[str, Any]]
) -> tuple[StoredFactory, ...]:
    """Every template's listing request, from the schema-valid data; problems are reported
    (a template with one gets no request)."""
    data = loaded.data
    containers: Mapping[str, Any] = data.get("containers", {})
    uploaded_into = {u.get("container") for u in data.get("uploads", [])}
    context = renderer.context(vars=dict(values), spec={"name": data.get("name")})
    out = []
    for index, task in enumerate(data["job"].get("tasks", [])):
        blobs = (task.get("foreach") or {}).get("blobs")
        if blobs is None:
            continue
        where: JsonPath = ("job", "tasks", index, "foreach", "blobs")
        key = blobs["container"]
        if key not in containers:
            continue  # reported with every other container reference
        if key in uploaded_into:
            renderer.report(
                (*where, "container"),
                f"this spec uploads into container {key!r}, so its blobs would change under the "
                "listing; `blobs:` lists what is in storage before apply starts. Use "
                f"`foreach: {{container: {key}}}` for the files this spec uploads",
            )
            continue
        name = _render(
            renderer,
            str(containers[key]["name"]),
            ("containers", key, "name"),
            context,
            f"container {key!r} is listed by a `blobs:` factory, so its name",
        )
        prefix = _render(
            renderer,
            str(blobs.get("prefix", "")),
            (*where, "prefix"),
            context,
            "the listing prefix",
        )
        if name is None or prefix is None:
            continue
        match = blobs.get("match")
        problem = pattern_problem(prefix, match)
        if problem is not None:
            renderer.report((*where, "match"), problem)
            continue
        out.append(StoredFactory(index, where, key, ListingRequest(name, prefix, match)))
    return tuple(out)


def _why(name: str) -> str:
    if name == "run":
        return "`run`: the blobs it lists decide the run id"
    if name in ("item", "index"):
        return f"`{name}`: it is listed once, and the listing makes the items"
    return f"`{name}`: it is listed before the rest of the spec is rendered"


def _render(
    renderer: Renderer, source: str, where: JsonPath, context: Mapping[str, Any], what: str
) -> str | None:
    """`source` rendered with vars and spec only; a use of anything else is reported."""
    if has_markup(source):
        try:
            names = meta.find_undeclared_variables(renderer.env.parse(source))
        except TemplateSyntaxError:
            names = set()  # the compile below reports it
        other = sorted(n for n in names - LISTING_NAMES if n not in renderer.env.globals)
        if other:
            renderer.report(where, f"{what} may use only `vars` and `spec`, not {_why(other[0])}")
            return None
    compiled = renderer.compile(source, where)
    return None if compiled is None else renderer.render(compiled, context)


@dataclass
class Expansion:
    """Filled in by plan_tasks: where each template's tasks are in the plan."""

    spans: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Template index -> (first position, number of tasks) in the plan's tasks."""
    examples: dict[int, TaskPlan] = field(default_factory=dict)
    """Template index -> the task its stand-in blob gave, for `blobs:` factories planned
    without a listing (that task is checked, then left out of the plan)."""


def listed_rows(
    renderer: Renderer,
    foreach: BlobsForeach,
    requests: Mapping[JsonPath, ListingRequest],
    listings: Listings | None,
    limit: int,
) -> Sequence[ListedBlob] | None:
    """The blobs a `blobs:` factory expands over: the listing's, or offline one stand-in."""
    request = requests.get(foreach.where)
    if request is None:
        return None  # its container is unknown or its request was refused: reported
    if listings is None:
        return (ListedBlob(sample_blob(request), 0, ""),)
    listing = listings.get(request)
    if listing is None:  # the listings were made from this very spec: never a stand-in here
        renderer.report(foreach.where, f"{request.describe()} was not listed (a batchspec bug)")
        return None
    if listing.missing:
        renderer.report(
            (*foreach.where, "container"),
            f"container {request.container!r} ({foreach.container}) does not exist in the "
            "storage account; `blobs:` lists blobs already in storage (check its name, or use "
            "`foreach: {container: ...}` for files this spec uploads)",
        )
        return None
    if listing.truncated:
        renderer.report(
            foreach.where,
            f"more than {limit:,} blobs in {request.describe()} match; batchspec plans at "
            f"most {limit:,} tasks (narrow the prefix or the pattern)",
        )
        return None
    if not listing.blobs:
        under = f"{listing.scanned:,} blob(s) under the prefix, none matching"
        renderer.report(
            foreach.where,
            f"no blob in {request.describe()} to make a task from (the listing found "
            f"{under if listing.scanned else 'no blob'}): a job without tasks would never end",
        )
        return None
    return listing.blobs


def without_stand_ins(
    lazy: LazyTasks,
    resolved: dict[int, tuple[str, ...]],
    ids: Sequence[str],
    plans: Sequence[TaskPlan],
    keep: bool,
    expansion: Expansion,
) -> Sequence[TaskPlan]:
    """The tasks without the stand-in of each unlisted `blobs:` factory, which were rendered
    and checked like any task but are not tasks apply would add."""
    skip = {expansion.spans[n][0] for n in expansion.examples}
    gone = {ids[p] for p in skip}
    depends = {
        p: tuple(d for d in deps if d not in gone) for p, deps in resolved.items() if p not in skip
    }
    for number, (start, count) in list(expansion.spans.items()):
        before = sum(1 for p in skip if p < start)
        expansion.spans[number] = (start - before, 0 if start in skip else count)
    if keep:
        return tuple(
            replace(p, depends_on=depends[i]) if i in depends else p
            for i, p in enumerate(plans)
            if i not in skip
        )
    return Skipping(lazy.with_depends(depends), sorted(skip))


class Skipping(Sequence[TaskPlan]):
    """A task sequence without a few of its positions (an offline plan's stand-in tasks)."""

    def __init__(self, tasks: Sequence[TaskPlan], skip: Sequence[int]) -> None:
        self._tasks = tasks
        self._skip = tuple(skip)

    def __len__(self) -> int:
        return len(self._tasks) - len(self._skip)

    def _position(self, index: int) -> int:
        for skipped in self._skip:
            if skipped <= index:
                index += 1
        return index

    @overload
    def __getitem__(self, index: int) -> TaskPlan: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[TaskPlan]: ...
    def __getitem__(self, index: int | slice) -> TaskPlan | Sequence[TaskPlan]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._tasks[self._position(index)]

    def __iter__(self) -> Iterator[TaskPlan]:
        skip = frozenset(self._skip)
        for position, task in enumerate(self._tasks):
            if position not in skip:
                yield task


FIRST_IDS = 5
"""How many task ids of a listed factory the plan names."""


def listing_plans(
    stored: Sequence[StoredFactory],
    tasks: Sequence[TaskPlan],
    expansion: Expansion,
    listed: bool,
) -> tuple[ListingPlan, ...]:
    """What the plan says of each `blobs:` template: its count and first ids once listed,
    else the task its stand-in blob gave."""
    out = []
    for factory in stored:
        start, count = expansion.spans.get(factory.template, (0, 0))
        common = (factory.template, factory.container_key, factory.request)
        if listed:
            first = tuple(t.id for t in tasks[start : start + min(count, FIRST_IDS)])
            out.append(ListingPlan(*common, count=count, first_ids=first))
        else:
            example = expansion.examples.get(factory.template)
            out.append(
                ListingPlan(*common, example=example, example_blob=sample_blob(factory.request))
            )
    return tuple(out)
