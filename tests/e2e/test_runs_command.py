"""`batchspec runs` end to end: two specs applied into one data directory are both listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchspec.apply.journal import Journal

from .live_cli import Cli, blobs, cli
from .live_specs import CHATTY, TALKER, write_spec

__all__ = ["blobs", "cli"]  # fixtures
pytestmark = pytest.mark.timeout(300)


def test_runs_lists_every_spec_applied_in_the_data_directory(tmp_path: Path, cli: Cli) -> None:
    empty = cli("runs", "--format", "json", target=False)
    assert empty.exit_code == 0
    assert json.loads(empty.stdout) == {"runs": []}

    good = write_spec(tmp_path / "a", "runsgood", TALKER.replace("LINES", "1"))
    bad = write_spec(tmp_path / "b", "runsbad", CHATTY)
    assert cli("apply", str(good), "--yes").exit_code == 0
    assert cli("apply", str(bad), "--yes").exit_code == 1

    listed = cli("runs", "--format", "json", target=False)
    assert listed.exit_code == 0, listed.output
    runs = json.loads(listed.stdout)["runs"]
    journals = {spec: Journal(cli.home, spec, "azure") for spec in (good, bad)}
    states = {spec: j.load() for spec, j in journals.items()}
    assert [r["spec"] for r in runs] == [str(good.resolve()), str(bad.resolve())]
    for record, spec, word, code in zip(
        runs, (good, bad), ("succeeded", "failed"), (0, 1), strict=True
    ):
        state = states[spec]
        assert state is not None
        assert record == {
            "spec": str(spec.resolve()),
            "target": "azure",
            "run_id": state.run_id,
            "job_id": state.job_id,
            "pool_id": state.pool_id,
            "started_at": state.started_at,
            "updated_at": state.updated_at,
            "state": word,
            "exit_code": code,
            "journal": str(journals[spec].path),
        }
    assert runs[0]["pool_id"] == "runsgood-pool"

    text = cli("runs", target=False)
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["SPEC", "TARGET", "RUN", "STARTED", "STATE", "EXIT"]
    assert lines[1].split()[:3] == [str(good.resolve()), "azure", states[good].run_id]
    assert lines[1].split()[4:] == ["succeeded", "0"]
    assert lines[2].split()[4:] == ["failed", "1"]

    assert cli("runs", "--target", "local", "--format", "json", target=False).stdout == (
        '{\n  "runs": []\n}\n'
    )
