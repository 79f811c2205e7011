"""Auto pools, existing pools and autoscale as the SDK models apply sends, and how a live pool
is compared with the spec's (autoscale settings included)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from azure.batch import models as bm

from batchspec.apply.batch_models import BatchModels, auto_pool_info
from batchspec.apply.pool import NODE_COUNT_PREFIX, pool_differences
from batchspec.plan.model import AutoscalePlan, Plan

from .handmade_plans import RecordingSigner, topn_like_plan, wire

FORMULA = "$TargetDedicatedNodes = min(4, $PendingTasks);"


def _with_pool(plan: Plan, **changes: object) -> Plan:
    return dataclasses.replace(plan, pool=dataclasses.replace(plan.pool, **changes))


def test_an_autoscale_pool_sends_its_formula_and_interval_instead_of_counts(
    tmp_path: Path,
) -> None:
    plan = _with_pool(topn_like_plan(tmp_path), autoscale=AutoscalePlan(FORMULA, 600))
    body = wire(BatchModels(plan, RecordingSigner()).pool())
    assert body["enableAutoScale"] is True
    assert body["autoScaleFormula"] == FORMULA
    assert body["autoScaleEvaluationInterval"] == "PT10M00S"
    assert "targetDedicatedNodes" not in body and "targetLowPriorityNodes" not in body


def test_a_fixed_pool_sends_no_autoscale_settings(tmp_path: Path) -> None:
    body = wire(BatchModels(topn_like_plan(tmp_path), RecordingSigner()).pool())
    assert not {"enableAutoScale", "autoScaleFormula", "autoScaleEvaluationInterval"} & set(body)


def test_an_auto_pool_job_carries_the_whole_pool_as_its_specification(tmp_path: Path) -> None:
    plan = _with_pool(topn_like_plan(tmp_path), lifetime="job")
    models = BatchModels(plan, RecordingSigner())
    body = wire(models.job())
    auto = body["poolInfo"]["autoPoolSpecification"]
    assert set(body["poolInfo"]) == {"autoPoolSpecification"}
    assert auto["autoPoolIdPrefix"] == "t-pool"
    assert auto["poolLifetimeOption"] == "job"
    assert auto["keepAlive"] is False
    pool = wire(models.pool())
    del pool["id"]
    assert auto["pool"] == pool  # every setting of the pool request, start task included
    assert auto["pool"]["startTask"]["waitForSuccess"] is True


def test_auto_pool_info_takes_autoscale_along(tmp_path: Path) -> None:
    plan = _with_pool(
        topn_like_plan(tmp_path), lifetime="job", autoscale=AutoscalePlan(FORMULA, 300)
    )
    info = auto_pool_info(BatchModels(plan, RecordingSigner()).pool())
    spec = info.auto_pool_specification
    assert spec is not None and spec.pool is not None
    assert spec.pool.enable_auto_scale is True
    assert spec.pool.auto_scale_formula == FORMULA
    assert spec.pool.auto_scale_evaluation_interval == dt.timedelta(minutes=5)


def test_an_existing_pool_job_runs_on_it_by_id(tmp_path: Path) -> None:
    plan = _with_pool(topn_like_plan(tmp_path), existing=True, id="shared-pool")
    body = wire(BatchModels(plan, RecordingSigner()).job())
    assert body["poolInfo"] == {"poolId": "shared-pool"}
    assert not plan.pool.managed


def _live(wanted: bm.BatchPoolCreateOptions, **changes: object) -> bm.BatchPool:
    data = wanted.as_dict()
    data.update(changes)
    return bm.BatchPool(data)


def test_autoscale_settings_are_compared_with_a_live_pool(tmp_path: Path) -> None:
    plan = _with_pool(topn_like_plan(tmp_path), autoscale=AutoscalePlan(FORMULA, 300))
    wanted = BatchModels(plan, RecordingSigner()).pool()
    assert pool_differences(_live(wanted, targetDedicatedNodes=3), wanted) == []
    other = pool_differences(_live(wanted, autoScaleFormula="$TargetDedicatedNodes = 1;"), wanted)
    assert [d.split(":")[0] for d in other] == [f"{NODE_COUNT_PREFIX}autoscale.formula"]
    slower = pool_differences(_live(wanted, autoScaleEvaluationInterval="PT15M"), wanted)
    assert [d.split(":")[0] for d in slower] == [f"{NODE_COUNT_PREFIX}autoscale.interval"]


def test_a_fixed_pool_and_an_autoscale_one_differ_in_size_only(tmp_path: Path) -> None:
    fixed = BatchModels(topn_like_plan(tmp_path), RecordingSigner()).pool()
    live = _live(fixed, enableAutoScale=True, autoScaleFormula=FORMULA)
    differences = pool_differences(live, fixed)
    assert differences and all(d.startswith(NODE_COUNT_PREFIX) for d in differences)
    assert any("autoscale" in d for d in differences)
