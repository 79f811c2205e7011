"""`foreach: {blobs: ...}`: listing a container on the local target, and planning its tasks.

Run: .venv/bin/python bench/blob_listing.py [--blobs 20000] [--planned 100000]
Starts the local services in a temporary data directory (Azurite), puts `--blobs` small blobs
into a container (half of them matching the glob), lists it as apply does (pages of 5,000),
then plans a spec from a synthetic listing of `--planned` blobs. Prints a markdown table for
bench/README.md: wall time, List Blobs requests, peak traced memory.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from batchspec.apply.listing import list_stored
from batchspec.local.services import stop
from batchspec.plan.build import build_plan
from batchspec.plan.listing import ListedBlob, Listing, ListingRequest
from batchspec.plan.model import Plan
from batchspec.spec.document import LoadedSpec
from batchspec.spec.load import load_spec
from batchspec.targets import resolve_target

SPEC = """\
batchspec: 1
name: scans
containers:
  scans: {name: scan-data}
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
    - foreach: {blobs: {container: scans, prefix: scans/, match: "*.tif"}}
      id: "scan-{{ index }}"
      command: "wc -c {{ item.name | quote }}"
      resource_files: [{container: scans, blob: "{{ item.name }}"}]
      outputs: [{pattern: "*.out", container: out}]
"""


def measure(action: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall time of one run, then the peak traced memory of a second one (tracing slows
    Python code several times over, so it is not timed)."""
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    action()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--blobs", type=int, default=20000)
    parser.add_argument("--planned", type=int, default=100000)
    args = parser.parse_args()
    print("| case | wall | List Blobs requests | peak traced memory |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench-listing-") as tmp:
        root = Path(tmp)
        home = root / "home"
        try:
            target = resolve_target("local", home)
            requests: Counter[str] = Counter()
            service = target.blob_service(
                raw_request_hook=lambda r: requests.update([r.http_request.method])
            )
            name = f"bench-{uuid.uuid4().hex[:8]}"
            container = service.create_container(name)
            names = [f"scans/{i:06d}.{'tif' if i % 2 else 'txt'}" for i in range(args.blobs)]
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(lambda n: container.upload_blob(n, b"x"), names))
            requests.clear()
            request = ListingRequest(name, "scans/", "*.tif")
            seconds, peak, listing = measure(lambda: list_stored(service, request))
            print(
                f"| list {args.blobs:,} blobs, {len(listing.blobs):,} matching | {seconds:.2f} s "
                f"| {requests['GET'] // 2} | {peak:.1f} MiB |"
            )
            service.delete_container(name)
            service.close()
        finally:
            stop(home)
        spec = root / "scans.yaml"
        spec.write_text(SPEC)
        loaded = load_spec(spec)
        assert isinstance(loaded, LoadedSpec)
        synthetic = ListingRequest("scan-data", "scans/", "*.tif")
        blobs = tuple(
            ListedBlob(f"scans/{i:07d}.tif", 1000, f'"0x{i:x}"') for i in range(args.planned)
        )
        listings = {synthetic: Listing(synthetic, blobs, scanned=args.planned)}
        seconds, peak, plan = measure(lambda: build_plan(loaded, {}, None, listings))
        assert isinstance(plan, Plan) and len(plan.tasks) == args.planned
        print(f"| plan {args.planned:,} listed tasks | {seconds:.2f} s | - | {peak:.1f} MiB |")


if __name__ == "__main__":
    main()
