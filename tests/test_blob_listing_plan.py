"""`foreach: {blobs: ...}` planned: offline (a stand-in blob checks the templates, no task yet)
and with a listing (one task per matching blob; the listing decides the run id)."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchspec.diagnostics import Diagnostic
from batchspec.plan.build import build_plan, default_run
from batchspec.plan.listing import (
    ListedBlob,
    Listing,
    ListingRequest,
    pattern_problem,
    sample_blob,
    unclosed_bracket,
)
from batchspec.plan.model import Plan
from batchspec.plan.tasklist import MAX_TASKS
from plan_helpers import loaded_from

SPEC = """\
batchspec: 1
name: scans
vars: {data: scan-data, day: ""}
containers:
  scans: {name: "{{ vars.data }}"}
  out: {name: "scans-out-{{ run.id }}"}
pool:
  id: p
  vm_size: standard_d2s_v3
  nodes: {dedicated: 1}
  image:
    publisher: canonical
    offer: ubuntu-24_04-lts
    sku: server
    node_agent: batch.node.ubuntu 24.04
job:
  id: "scans-{{ run.id }}"
  tasks:
    - foreach: {blobs: {container: scans, prefix: "scans/{{ vars.day }}", match: "*.tif"}}
      id: "scan-{{ item.stem }}"
      command: "echo {{ item.name | quote }} {{ item.size | quote }} {{ index | quote }}"
      resource_files: [{container: scans, blob: "{{ item.name }}"}]
      outputs: [{pattern: "*.out", container: out}]
    - id: merge
      depends_on: ["scan-*"]
      command: echo merge
"""
REQUEST = ListingRequest("scan-data", "scans/", "*.tif")


def _spec(tmp_path: Path, text: str = SPEC) -> Path:
    path = tmp_path / "scans.yaml"
    path.write_text(text)
    return path


def _plan(
    tmp_path: Path, listings: dict[ListingRequest, Listing] | None, **overrides: str
) -> Plan | list[Diagnostic]:
    return build_plan(loaded_from(_spec(tmp_path)), overrides, None, listings)


def _listing(*names: str, etag: str = "0x1") -> dict[ListingRequest, Listing]:
    blobs = tuple(ListedBlob(n, 10 * (i + 1), f'"{etag}{i}"') for i, n in enumerate(names))
    return {REQUEST: Listing(REQUEST, blobs, scanned=len(names) + 1)}


def test_offline_plan_has_no_listed_task_but_says_what_it_lists_and_checks_a_stand_in(
    tmp_path: Path,
) -> None:
    plan = _plan(tmp_path, None)
    assert isinstance(plan, Plan)
    assert [t.id for t in plan.tasks] == ["merge"]
    # The merge task's dependency on the stand-in is not a task apply would add.
    assert plan.tasks[0].depends_on == ()
    (listing,) = plan.unlisted
    assert (listing.template, listing.container_key, listing.request) == (0, "scans", REQUEST)
    assert listing.example_blob == "scans/example.tif"
    assert listing.example is not None
    assert listing.example.id == "scan-example"
    assert listing.example.command_line == "echo scans/example.tif 0 0"
    assert (
        "blobs listed in scan-data (prefix 'scans/', match '*.tif')",
        "listed when apply runs",
    ) in plan.inputs


def test_a_listing_makes_one_task_per_matching_blob_in_name_order(tmp_path: Path) -> None:
    plan = _plan(tmp_path, _listing("scans/a.tif", "scans/sub/b.tif"))
    assert isinstance(plan, Plan)
    assert not plan.unlisted
    assert [t.id for t in plan.tasks] == ["scan-a", "scan-b", "merge"]
    assert plan.tasks[0].command_line == "echo scans/a.tif 10 0"
    assert plan.tasks[1].command_line == "echo scans/sub/b.tif 20 1"
    assert plan.tasks[1].resource_files[0].blob == "scans/sub/b.tif"
    assert plan.tasks[2].depends_on == ("scan-a", "scan-b")
    (listing,) = plan.listings
    assert (listing.count, listing.first_ids) == (2, ("scan-a", "scan-b"))


def test_the_listing_decides_the_run_id(tmp_path: Path) -> None:
    def run_of(listings: dict[ListingRequest, Listing] | None) -> str:
        plan = _plan(tmp_path, listings)
        assert isinstance(plan, Plan)
        assert plan.run == default_run(plan.spec_digest)
        return plan.run.id

    first = run_of(_listing("scans/a.tif"))
    assert run_of(_listing("scans/a.tif")) == first
    assert run_of(_listing("scans/a.tif", "scans/b.tif")) != first  # a blob added
    assert run_of(_listing("scans/a.tif", etag="0x2")) != first  # a blob rewritten
    assert run_of(None) != first


def test_the_prefix_takes_vars(tmp_path: Path) -> None:
    plan = _plan(tmp_path, None, day="2026-12-01/", data="other-data")
    assert isinstance(plan, Plan)
    assert plan.listings[0].request == ListingRequest("other-data", "scans/2026-12-01/", "*.tif")
    assert plan.listings[0].example_blob == "scans/2026-12-01/example.tif"


@pytest.mark.parametrize(
    ("listing", "path", "words"),
    [
        (Listing(REQUEST), "$.job.tasks[0].foreach.blobs", "the listing found no blob"),
        (
            Listing(REQUEST, scanned=4),
            "$.job.tasks[0].foreach.blobs",
            "4 blob(s) under the prefix, none matching",
        ),
        (
            Listing(REQUEST, missing=True),
            "$.job.tasks[0].foreach.blobs.container",
            "does not exist",
        ),
        (
            Listing(REQUEST, (ListedBlob("scans/a.tif", 1, "e"),), truncated=True),
            "$.job.tasks[0].foreach.blobs",
            f"more than {MAX_TASKS:,} blobs",
        ),
    ],
)
def test_a_listing_apply_cannot_run_is_a_located_error(
    tmp_path: Path, listing: Listing, path: str, words: str
) -> None:
    result = _plan(tmp_path, {REQUEST: listing})
    assert isinstance(result, list)
    (problem,) = result
    assert (problem.line, problem.path) == (19, path)
    assert words in problem.message


def test_a_listed_blob_giving_a_bad_task_id_is_refused_at_the_id(tmp_path: Path) -> None:
    result = _plan(tmp_path, _listing("scans/a b.tif"))
    assert isinstance(result, list)
    assert [d.path for d in result] == ["$.job.tasks[0].id"]
    assert "'scan-a b' has characters Batch does not allow" in result[0].message


@pytest.mark.parametrize(
    ("prefix", "match", "sample"),
    [
        ("scans/", None, "scans/example"),
        ("scans/", "*.tif", "scans/example.tif"),
        ("", "scans/*/raw-?.tif", "scans/example/raw-x.tif"),
        ("s", "s[0-9]*.tif", "s0example.tif"),
    ],
)
def test_the_stand_in_blob_is_under_the_prefix_and_matches(
    prefix: str, match: str | None, sample: str
) -> None:
    assert sample_blob(ListingRequest("c", prefix, match)) == sample


def test_patterns_that_can_never_match_are_refused() -> None:
    assert pattern_problem("scans/", "*.tif") is None
    assert pattern_problem("scans/2026", "scans/*") is None
    assert pattern_problem("scans/", "scans/a[0-9].tif") is None
    assert "can match no blob under the prefix" in (pattern_problem("scans/", "raw/*") or "")
    assert unclosed_bracket("a[0-9") == 1
    assert unclosed_bracket("a[]]b") is None
    assert unclosed_bracket("a[!]b") == 1
