"""Uploads on the local target: first upload, re-upload of unchanged files, large files.

Run: .venv/bin/python bench/storage_uploads.py [--files 1000] [--large-mib 32]
Starts the local services in a temporary data directory and stops them at the end.
Prints a markdown table for bench/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from batchspec.apply import storage
from batchspec.apply.storage import delete_containers, ensure_containers, upload_files
from batchspec.local.services import stop
from batchspec.plan.model import (
    ContainerPlan,
    ImagePlan,
    JobPlan,
    Plan,
    PoolPlan,
    RunInfo,
    UploadPlan,
)
from batchspec.redact import redact
from batchspec.targets import resolve_target


def make_plan(root: Path, files: list[Path]) -> Plan:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    image = ImagePlan("canonical", "ubuntu", "server", "latest", "batch.node.ubuntu 24.04")
    return Plan(
        name=name,
        spec_path=root / "spec.yaml",
        spec_digest="0" * 64,
        run=RunInfo("r", "2026-01-01"),
        vars=(),
        containers=(ContainerPlan("input", name),),
        uploads=tuple(UploadPlan(f, "input", f"data/{f.name}", f.stat().st_size) for f in files),
        pool=PoolPlan("p", "standard_d2s_v3", 1, 0, image),
        job=JobPlan("j", None),
        tasks=(),
    )


def measure(label: str, action: Callable[[], Any], requests: Counter[str]) -> dict[str, Any]:
    requests.clear()
    tracemalloc.start()
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "case": label,
        "seconds": seconds,
        "requests": sum(requests.values()),
        "by_method": dict(sorted(requests.items())),
        "peak_mib": peak / 2**20,
        "result": result,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--large-mib", type=int, default=32)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        root = Path(tmp)
        home = root / "home"
        try:
            target = resolve_target("local", home)
            requests: Counter[str] = Counter()
            blobs = target.blob_service(
                raw_request_hook=lambda r: requests.update([r.http_request.method])
            )
            small_dir = root / "small"
            small_dir.mkdir()
            small = []
            for i in range(args.files):
                path = small_dir / f"f{i:05d}.txt"
                path.write_bytes(f"{i}\n".encode() * 256)
                small.append(path)
            plan = make_plan(root, small)
            ensure_containers(blobs, plan)
            n = args.files
            rows.append(
                measure(f"{n} x 1 KiB, first upload", lambda: upload_files(blobs, plan), requests)
            )
            rows.append(
                measure(
                    f"{n} x 1 KiB, unchanged (listing)", lambda: upload_files(blobs, plan), requests
                )
            )
            threshold = storage.LIST_THRESHOLD
            storage.LIST_THRESHOLD = 10**9
            rows.append(
                measure(
                    f"{n} x 1 KiB, unchanged (HEAD per file)",
                    lambda: upload_files(blobs, plan),
                    requests,
                )
            )
            storage.LIST_THRESHOLD = threshold
            delete_containers(blobs, plan)

            large_dir = root / "large"
            large_dir.mkdir()
            large = []
            for i in range(4):
                path = large_dir / f"big{i}.bin"
                with path.open("wb") as out:
                    for _ in range(args.large_mib):
                        out.write(uuid.uuid4().bytes * 65536)
                large.append(path)
            big = make_plan(root, large)
            ensure_containers(blobs, big)
            label = f"4 x {args.large_mib} MiB, first upload"
            rows.append(measure(label, lambda: upload_files(blobs, big), requests))
            rows.append(
                measure(
                    f"4 x {args.large_mib} MiB, unchanged",
                    lambda: upload_files(blobs, big),
                    requests,
                )
            )
            delete_containers(blobs, big)
            blobs.close()

            line = (
                "GET http://127.0.0.1:1/a/c/b?se=2030-01-01&sp=r&sr=b&sig=abcdefABCDEF0123%3D ok\n"
            )
            text = line * 10000
            rows.append(
                measure(
                    f"redact {len(text) // 1024} KiB of log", lambda: len(redact(text)), Counter()
                )
            )
        finally:
            stop(home)
    print("| case | seconds | requests | peak Python memory (MiB) |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        detail = ", ".join(f"{k} {v}" for k, v in row["by_method"].items())
        cells = [row["case"], f"{row['seconds']:.2f}", f"{row['requests']} ({detail})"]
        print("| " + " | ".join([*cells, f"{row['peak_mib']:.1f}"]) + " |")
    for row in rows:
        if dataclasses.is_dataclass(row["result"]):
            print(f"<!-- {row['case']}: {row['result']} -->")


if __name__ == "__main__":
    main()
