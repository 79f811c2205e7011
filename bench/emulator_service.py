"""Start and stop `batchspec emulator` for the emulator benches (a subprocess, like the tests)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from azure.batch import BatchClient
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.pipeline.policies import SansIOHTTPPolicy

from batchspec.emulator.api.auth import DEFAULT_KEY


class CountRequests(SansIOHTTPPolicy):  # type: ignore[misc]
    """Counts the requests a BatchClient sends, by method and path tail."""

    def __init__(self) -> None:
        super().__init__()
        self.by_kind: dict[str, int] = {}

    def on_request(self, request: Any) -> None:
        path = request.http_request.url.split("?")[0].rsplit("/", 1)[-1]
        kind = f"{request.http_request.method} .../{path}"
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())


@contextmanager
def emulator(data_dir: Path) -> Iterator[tuple[BatchClient, CountRequests]]:
    """A fresh emulator on a free port, and a counting client for it."""
    ready = data_dir.parent / "ready.json"
    cmd = [sys.executable, "-m", "batchspec", "emulator", "--port", "0"]
    cmd += ["--data-dir", str(data_dir), "--ready-file", str(ready)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        while not ready.exists():
            if proc.poll() is not None:
                raise RuntimeError("the emulator exited")
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        counter = CountRequests()
        client = BatchClient(
            info["endpoint"],
            AzureNamedKeyCredential(info["account"], DEFAULT_KEY),
            per_call_policies=[counter],
        )
        yield client, counter
        client.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
