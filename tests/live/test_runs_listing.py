"""`batchspec runs` reads journals: each run's state, and running told by the journal's lock."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from click.testing import CliRunner

from batchspec.apply.journal import Journal, RunState
from batchspec.cli import main
from batchspec.live.runs import apply_holds, list_runs


def _journal(home: Path, name: str, **fields: object) -> Journal:
    spec = home.parent / f"{name}.yaml"
    journal = Journal(home, spec, "local")
    state = RunState(str(spec), "d", "local", f"run-{name}", "2026-12-01", "p", f"job-{name}")
    journal.save(dataclasses.replace(state, **fields))  # type: ignore[arg-type]
    return journal


def test_states_from_the_journal_and_its_lock(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = _journal(home, "a", finished=True, exit_code=0, started_at="1")
    failed = _journal(home, "b", finished=True, exit_code=1, started_at="2")
    stopped = _journal(home, "c", started_at="3")
    (home / "runs" / "broken-local-0.json").write_text("{not json")
    assert [(r.run_id, r.state) for r in list_runs(home)] == [
        ("run-a", "succeeded"),
        ("run-b", "failed"),
        ("run-c", "stopped"),
    ]
    with stopped.locked():
        assert apply_holds(stopped.path)
        assert [r.state for r in list_runs(home)][-1] == "running"
    assert not apply_holds(stopped.path)
    assert not apply_holds(done.path) and not apply_holds(failed.path)
    assert list_runs(home, "azure") == []


def test_the_command_lists_them_as_text_and_json(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _journal(home, "a", finished=True, exit_code=130, started_at="2026-12-01T09:00:00+00:00")
    result = CliRunner().invoke(main, ["runs", "--data-dir", str(home), "--format", "json"])
    assert result.exit_code == 0
    [run] = json.loads(result.output)["runs"]
    assert (run["run_id"], run["state"], run["exit_code"]) == ("run-a", "interrupted", 130)
    text = CliRunner().invoke(main, ["runs", "--data-dir", str(home)])
    assert text.output.splitlines()[1].split()[2:] == [
        "run-a",
        "2026-12-01T09:00:00+00:00",
        "interrupted",
        "130",
    ]
    empty = CliRunner().invoke(main, ["runs", "--data-dir", str(tmp_path / "none")])
    assert empty.exit_code == 0 and "no runs in" in empty.output
