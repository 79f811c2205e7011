"""The conformance suite: recorded azure-batch 15.1.0 traffic against real Azure Batch
(Azure/azure-sdk-assets, tag python/batch/azure-batch_2f5749e81e) replayed against the local
service. Every compared request must get Azure's status and Batch error code, at least 95% of
them Azure's key set, and the only unsupported requests are Windows pools and what depends on
them."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from azure.batch import BatchClient
from azure.core.credentials import AzureNamedKeyCredential
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas
from conformance_replay import Figures, Replay, StepResult, figures, recordings

from conftest import AzuriteService, start_batch_service

pytestmark = pytest.mark.timeout(600)

# Long enough that the request after a terminate or delete meets the passing state, as the
# recorded one did on Batch.
DELAY = "1.5"


def _container_url(azurite: AzuriteService) -> str:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = service.get_container_client("conformance-logs")
    if not container.exists():
        container.create_container()
    sas = generate_container_sas(
        azurite.account_name,
        container.container_name,
        account_key=azurite.account_key,
        permission=ContainerSasPermissions(write=True, create=True),
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    return f"{container.url}?{sas}"


def _replay(name: str, recording: dict[str, Any], root: Path, url: str) -> list[StepResult]:
    if recording.get("windows_recording"):
        return []
    with start_batch_service(root / name, extra_args=("--lifecycle-delay", DELAY)) as svc:
        client = BatchClient(svc.endpoint, AzureNamedKeyCredential(svc.account, svc.key))
        try:
            return list(Replay(client, lambda: url).run(name, recording))
        finally:
            client.close()


@pytest.fixture(scope="module")
def outcome(azurite: AzuriteService) -> Iterator[tuple[Figures, list[StepResult]]]:
    stored = recordings()
    url = _container_url(azurite)
    # Each recording gets its own service (ids repeat across recordings, as on Azure, where
    # each test had a fresh account); they run side by side.
    with (
        tempfile.TemporaryDirectory(prefix="conformance-") as tmp,
        ThreadPoolExecutor(max_workers=4) as pool,
    ):
        runs = list(pool.map(lambda r: _replay(r[0], r[1], Path(tmp), url), stored))
    results = [r for run in runs for r in run]
    replayed = sum(1 for _n, rec in stored if not rec.get("windows_recording"))
    found = figures(len(stored), replayed, results)
    print(f"\nconformance: {found.line()}")
    yield found, results


def _show(results: list[StepResult]) -> str:
    return "\n".join(
        f"{r.recording}[{r.index}] {r.request}: status {r.status}, code {r.code}, "
        f"missing {sorted(r.missing_keys)}, extra {sorted(r.extra_keys)}, states {r.states}"
        for r in results
    )


def test_every_compared_request_gets_azures_status(outcome: Any) -> None:
    _figures, results = outcome
    wrong = [r for r in results if not r.unsupported and not r.status_ok]
    assert wrong == [], _show(wrong)


def test_every_error_gets_azures_batch_error_code(outcome: Any) -> None:
    _figures, results = outcome
    wrong = [r for r in results if not r.unsupported and r.code[0] is not None and not r.code_ok]
    assert wrong == [], _show(wrong)


def test_most_answers_have_azures_key_set(outcome: Any) -> None:
    found, results = outcome
    differing = [r for r in results if not r.unsupported and not r.keys_ok]
    assert found.same_keys >= 0.95 * found.compared, _show(differing)


def test_passing_states_are_met_as_on_azure(outcome: Any) -> None:
    found, results = outcome
    differing = [r for r in results if not r.unsupported and not r.states_ok]
    assert found.same_states >= 0.95 * found.compared, _show(differing)


def test_only_windows_pools_are_unsupported(outcome: Any) -> None:
    _figures, results = outcome
    for r in results:
        if r.unsupported and r.status != (0, 0):
            # A Windows pool: refused with the local service's own, documented error.
            assert r.status == (400, 400) and r.code_ok, _show([r])
    stored = dict(recordings())
    for r in results:
        if r.unsupported:
            step = stored[r.recording]["steps"][r.index]
            assert step.get("windows") or step.get("depends_on_windows"), _show([r])
