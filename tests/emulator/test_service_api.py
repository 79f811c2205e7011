"""The REST surface through the unmodified azure-batch SDK: auth, CRUD, errors, paging, $filter."""

from __future__ import annotations

from typing import Any

import pytest
from azure.batch import BatchClient
from azure.batch import models as m
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from emulator_helpers import job_options, pool_options, unique, wait_until

pytestmark = pytest.mark.timeout(120)


def test_wrong_key_is_refused_with_authentication_failed(batch_service: Any) -> None:
    wrong = "AAAA" + batch_service.key[4:]
    credential = AzureNamedKeyCredential(batch_service.account, wrong)
    client = BatchClient(batch_service.endpoint, credential)
    with pytest.raises(HttpResponseError) as info:
        client.get_pool("anything")
    assert info.value.status_code == 403
    assert info.value.error is not None and info.value.error.code == "AuthenticationFailed"
    client.close()


def test_other_account_name_is_refused(batch_service: Any) -> None:
    credential = AzureNamedKeyCredential("someone", batch_service.key)
    client = BatchClient(batch_service.endpoint, credential)
    with pytest.raises(HttpResponseError) as info:
        list(client.list_pools())
    assert info.value.status_code == 403
    client.close()


def test_unsigned_request_is_refused(batch_service: Any) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{batch_service.endpoint}/pools?api-version=2025-06-01")
    with info.value as response:
        assert response.code == 403
        assert b'"AuthenticationFailed"' in response.read()


def test_pool_create_get_duplicate_and_delete(batch_client: BatchClient) -> None:
    pool_id = unique("crud")
    batch_client.create_pool(pool_options(pool_id, nodes=0))
    pool = batch_client.get_pool(pool_id)
    assert pool.id == pool_id and pool.state == m.BatchPoolState.ACTIVE
    assert pool.task_slots_per_node == 1 and pool.target_dedicated_nodes == 0
    assert batch_client.pool_exists(pool_id)
    assert pool_id in [p.id for p in batch_client.list_pools()]
    with pytest.raises(ResourceExistsError) as info:
        batch_client.create_pool(pool_options(pool_id.upper(), nodes=0))
    assert info.value.error.code == "PoolExists"
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()
    with pytest.raises(ResourceNotFoundError) as missing:
        batch_client.get_pool(pool_id)
    assert missing.value.error.code == "PoolNotFound"


@pytest.mark.parametrize("bad_id", ["has space", "x" * 65, "dots.are.out", "slash/no", "ünicode"])
def test_invalid_ids_are_refused_as_batch_does(batch_client: BatchClient, bad_id: str) -> None:
    with pytest.raises(HttpResponseError) as info:
        batch_client.create_pool(pool_options(bad_id, nodes=0))
    assert info.value.status_code == 400
    assert info.value.error.code == "InvalidPropertyValue"


def test_missing_required_fields_are_refused(batch_client: BatchClient) -> None:
    with pytest.raises(HttpResponseError) as info:
        batch_client.create_pool(m.BatchPoolCreateOptions(id=unique("novm"), vm_size="small"))
    assert info.value.status_code == 400
    assert info.value.error.code == "MissingRequiredProperty"
    job_id = unique("job")
    batch_client.create_job(job_options(job_id, "no-such-pool"))
    with pytest.raises(HttpResponseError) as task_info:
        batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="t", command_line=""))
    assert task_info.value.error.code == "MissingRequiredProperty"
    batch_client.begin_delete_job(job_id, polling_interval=0).result()


def test_unsupported_image_is_refused(batch_client: BatchClient) -> None:
    options = pool_options(unique("img"), nodes=0)
    options.virtual_machine_configuration.node_agent_sku_id = "batch.node.windows amd64"
    with pytest.raises(HttpResponseError) as info:
        batch_client.create_pool(options)
    # A limit of this machine, not Batch's validation: said with its own code.
    assert info.value.error.code == "NotSupportedByLocalService"


def test_supported_images_are_real_verified_linux_images(batch_client: BatchClient) -> None:
    images = list(batch_client.list_supported_images())
    agents = {i.node_agent_sku_id for i in images}
    assert "batch.node.ubuntu 24.04" in agents and "batch.node.ubuntu 22.04" in agents
    assert all(i.verification_type == "verified" and i.os_type == "linux" for i in images)


def test_job_errors_not_found_and_exists(batch_client: BatchClient) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        batch_client.get_job(unique("absent"))
    assert info.value.error.code == "JobNotFound"
    job_id = unique("dup")
    batch_client.create_job(job_options(job_id, "any-pool"))
    with pytest.raises(ResourceExistsError) as exists:
        batch_client.create_job(job_options(job_id, "any-pool"))
    assert exists.value.error.code == "JobExists"
    with pytest.raises(ResourceNotFoundError) as task_missing:
        batch_client.get_task(job_id, "nope")
    assert task_missing.value.error.code == "TaskNotFound"
    batch_client.begin_delete_job(job_id, polling_interval=0).result()


def test_task_list_pages_filters_and_selects(batch_client: BatchClient) -> None:
    job_id = unique("page")
    batch_client.create_job(job_options(job_id, "pool-that-does-not-exist"))
    tasks = [m.BatchTaskCreateOptions(id=f"t{i:03}", command_line="/bin/true") for i in range(30)]
    batch_client.create_tasks(job_id, tasks)
    pages = batch_client.list_tasks(job_id, max_results=7).by_page()
    sizes = [len(list(p)) for p in pages]
    assert sizes == [7, 7, 7, 7, 2]
    batch_client.terminate_task(job_id, "t005")
    done = list(
        batch_client.list_tasks(job_id, filter="state eq 'completed'", select=["id", "state"])
    )
    assert [t.id for t in done] == ["t005"]
    assert done[0].command_line is None  # not selected
    query = "startswith(id, 't01') and state eq 'active'"
    some = list(batch_client.list_tasks(job_id, filter=query))
    assert len(some) == 10
    with pytest.raises(HttpResponseError) as info:
        list(batch_client.list_tasks(job_id, filter="state eq"))
    assert info.value.error.code == "InvalidQueryParameterValue"
    batch_client.begin_delete_job(job_id, polling_interval=0).result()


def test_ids_are_case_insensitive_like_batch(batch_client: BatchClient) -> None:
    job_id = unique("Case")
    batch_client.create_job(job_options(job_id, "p"))
    assert batch_client.get_job(job_id.upper()).id == job_id
    batch_client.begin_delete_job(job_id.lower(), polling_interval=0).result()
    wait_until(lambda: job_id not in [j.id for j in batch_client.list_jobs()])


def test_conditional_reads_and_etags(batch_client: BatchClient) -> None:
    from azure.core import MatchConditions

    job_id = unique("etag")
    batch_client.create_job(job_options(job_id, "p"))
    etag = batch_client.get_job(job_id).etag
    same = batch_client.get_job(job_id, etag=etag, match_condition=MatchConditions.IfNotModified)
    assert same.id == job_id
    with pytest.raises(HttpResponseError) as unchanged:
        batch_client.get_job(job_id, etag=etag, match_condition=MatchConditions.IfModified)
    assert unchanged.value.status_code == 304
    with pytest.raises(HttpResponseError) as stale:
        batch_client.get_job(job_id, etag="0xSTALE", match_condition=MatchConditions.IfNotModified)
    assert stale.value.status_code == 412
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
