"""The apply-time listing of `blobs:` factories: paged, filtered, bounded; and the task models a
listed plan gives Batch (one read SAS URL per listed blob)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

from batchspec.apply.batch_models import BatchModels
from batchspec.apply.listing import PAGE_SIZE, list_plan, list_stored
from batchspec.plan.build import build_plan
from batchspec.plan.listing import ListedBlob, ListingRequest
from batchspec.plan.model import Plan
from batchspec.spec.document import LoadedSpec
from batchspec.spec.load import load_spec

from .handmade_plans import RecordingSigner, wire


def loaded_from(path: Path) -> LoadedSpec:
    loaded = load_spec(path)
    assert isinstance(loaded, LoadedSpec)
    return loaded


class _Blob:
    def __init__(self, name: str) -> None:
        self.name, self.size, self.etag = name, len(name), f'"etag-{name}"'


class _Pages:
    def __init__(self, names: list[str], per_page: int, missing: bool) -> None:
        self.names, self.per_page, self.missing = names, per_page, missing
        self.served = 0

    def by_page(self) -> Iterator[Iterator[_Blob]]:
        if self.missing:
            raise ResourceNotFoundError("ContainerNotFound")
        for start in range(0, len(self.names), self.per_page):
            self.served += 1
            yield iter([_Blob(n) for n in self.names[start : start + self.per_page]])


class _Service:
    """A BlobServiceClient that lists `names` (already in name order) a few per page."""

    def __init__(self, names: list[str], *, missing: bool = False) -> None:
        self.names, self.missing = names, missing
        self.asked: list[tuple[str, str | None, int]] = []
        self.pages: _Pages | None = None

    def get_container_client(self, name: str) -> Any:
        service = self

        class _Container:
            def list_blobs(self, name_starts_with: str | None, results_per_page: int) -> _Pages:
                service.asked.append((name, name_starts_with, results_per_page))
                under = [n for n in service.names if n.startswith(name_starts_with or "")]
                service.pages = _Pages(under, 2, service.missing)
                return service.pages

        return _Container()


def test_the_listing_asks_the_service_for_the_prefix_and_filters_by_the_glob() -> None:
    service = _Service(["other/x.tif", "scans/a.tif", "scans/b.txt", "scans/c.tif", "scans/d.tif"])
    listing = list_stored(service, ListingRequest("data", "scans/", "*.tif"))  # type: ignore[arg-type]
    assert service.asked == [("data", "scans/", PAGE_SIZE)]
    assert [b.name for b in listing.blobs] == ["scans/a.tif", "scans/c.tif", "scans/d.tif"]
    assert listing.blobs[0] == ListedBlob("scans/a.tif", 11, '"etag-scans/a.tif"')
    assert (listing.scanned, listing.missing, listing.truncated) == (4, False, False)
    assert service.pages is not None and service.pages.served == 2


def test_more_matches_than_the_limit_stop_the_listing() -> None:
    service = _Service([f"b{i:03}" for i in range(100)])
    listing = list_stored(service, ListingRequest("data"), limit=5)  # type: ignore[arg-type]
    assert listing.truncated and len(listing.blobs) == 5
    assert service.pages is not None and service.pages.served == 3  # not all 50 pages


def test_a_missing_container_is_said_so() -> None:
    listing = list_stored(_Service([], missing=True), ListingRequest("data"))  # type: ignore[arg-type]
    assert listing.missing and listing.blobs == ()


SPEC = """\
batchspec: 1
name: scans
containers:
  scans: {name: scan-data}
  out: {name: scans-out}
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
    - foreach: {blobs: {container: scans, prefix: scans/}}
      id: "scan-{{ item.stem }}"
      command: "wc -c {{ item.name | quote }}"
      resource_files: [{container: scans, blob: "{{ item.name }}"}]
      outputs: [{pattern: "*.out", container: out}]
"""


def test_a_listed_plan_gives_batch_one_task_per_blob_with_its_read_sas(
    tmp_path: Path,
) -> None:
    path = tmp_path / "scans.yaml"
    path.write_text(SPEC)
    offline = build_plan(loaded_from(path), {})
    assert isinstance(offline, Plan) and offline.unlisted
    listings = list_plan(offline, _Service(["scans/one.tif", "scans/two.tif"]))  # type: ignore[arg-type]
    plan = build_plan(loaded_from(path), {}, None, listings)
    assert isinstance(plan, Plan) and not plan.unlisted
    signer = RecordingSigner()
    models = BatchModels(plan, signer)
    bodies = [wire(models.task(t)) for t in plan.tasks]
    assert [(b["id"], b["commandLine"]) for b in bodies] == [
        ("scan-one", "wc -c scans/one.tif"),
        ("scan-two", "wc -c scans/two.tif"),
    ]
    assert bodies[1]["resourceFiles"] == [
        {
            "httpUrl": "https://acct.blob/scan-data/scans/two.tif?sp=r&sig=R",
            "filePath": "scans/two.tif",
        }
    ]
    assert ("blob", "scan-data/scans/two.tif") in signer.calls


def test_a_plan_without_its_listing_cannot_be_applied(tmp_path: Path) -> None:
    from batchspec.apply.workflow import Workflow

    path = tmp_path / "scans.yaml"
    path.write_text(SPEC)
    offline = build_plan(loaded_from(path), {})
    assert isinstance(offline, Plan)
    with pytest.raises(ValueError, match="without its listings"):
        Workflow(offline, None, None, None, None, None)  # type: ignore[arg-type]
