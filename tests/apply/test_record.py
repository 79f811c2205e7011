"""The run record and the `apply --format json` summary built from it."""

from __future__ import annotations

import json
from pathlib import Path

from batchspec.apply.record import RunRecord, summary_document


def test_each_resource_keeps_its_origin_and_how_it_ended() -> None:
    record = RunRecord(target="local", run_id="ab12cd34")
    record.resource("container", "c", "creating")
    record.resource("container", "c", "created")
    record.resource("pool", "p", "found")
    record.resource("job", "j", "created")
    record.resource("job", "j", "deleted")
    record.tasks = {"planned": 2, "succeeded": 1, "failed": 1, "blocked": 0}
    record.failed_tasks = ["t2"]
    record.downloaded = [Path("/out/b.txt"), Path("/out/a.txt")]
    document = summary_document(record, target="local", spec="s.yaml", exit_code=1)
    assert json.loads(json.dumps(document)) == document  # plain JSON values only
    assert document["outcome"] == "failed" and document["exit_code"] == 1
    assert document["run_id"] == "ab12cd34"
    assert document["resources"] == [
        {"kind": "container", "name": "c", "origin": "created", "end": "kept"},
        {"kind": "pool", "name": "p", "origin": "found", "end": "kept"},
        {"kind": "job", "name": "j", "origin": "created", "end": "deleted"},
    ]
    assert document["failed_tasks"] == ["t2"] and document["blocked_tasks"] == []
    assert document["downloaded"] == ["/out/b.txt", "/out/a.txt"]


def test_a_run_stopped_before_it_started_has_nulls_not_guesses() -> None:
    document = summary_document(RunRecord(), target="azure", spec="s.yaml", exit_code=2)
    assert document["outcome"] == "refused"
    assert (document["run_id"], document["tasks"], document["uploads"]) == (None, None, None)
    assert document["resources"] == [] and document["downloaded"] == []
