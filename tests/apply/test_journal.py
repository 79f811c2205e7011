import os
from pathlib import Path

import pytest

from batchspec.apply.journal import Journal, JournalBusy, RunState, changes_since


def state(**changes: object) -> RunState:
    base = RunState(
        spec_path="/s/topn.yaml",
        spec_digest="d1",
        target="local",
        run_id="r1",
        run_date="2026-11-24",
        pool_id="p",
        job_id="j-r1",
    )
    return RunState(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_round_trip_and_steps(tmp_path: Path) -> None:
    journal = Journal(tmp_path, tmp_path / "topn.yaml", "local")
    assert journal.load() is None
    saved = journal.save(state().with_step("containers").with_step("pool"))
    loaded = journal.load()
    assert loaded == saved
    assert loaded is not None and loaded.done("pool") and not loaded.done("job")
    assert loaded.updated_at
    assert not loaded.without_steps("pool").done("pool")
    with pytest.raises(ValueError):
        state().with_step("nonsense")


def test_journal_is_keyed_by_spec_path_and_target(tmp_path: Path) -> None:
    a = Journal(tmp_path, tmp_path / "a" / "topn.yaml", "local")
    b = Journal(tmp_path, tmp_path / "b" / "topn.yaml", "local")
    c = Journal(tmp_path, tmp_path / "a" / "topn.yaml", "azure")
    assert len({a.path, b.path, c.path}) == 3
    assert a.path.parent == tmp_path / "runs"
    assert a.path.name.startswith("topn-local-")


def test_unreadable_journal_counts_as_none(tmp_path: Path) -> None:
    journal = Journal(tmp_path, tmp_path / "topn.yaml", "local")
    journal.path.parent.mkdir(parents=True)
    journal.path.write_text("{not json")
    assert journal.load() is None
    journal.path.write_text('{"spec_path": 3}')
    assert journal.load() is None


def test_save_leaves_no_temporary_files(tmp_path: Path) -> None:
    journal = Journal(tmp_path, tmp_path / "topn.yaml", "local")
    for i in range(3):
        journal.save(state(tasks_submitted=i))
    assert [p.name for p in journal.directory.iterdir() if p.suffix == ".tmp"] == []
    loaded = journal.load()
    assert loaded is not None and loaded.tasks_submitted == 2


def test_second_apply_of_the_same_spec_is_refused(tmp_path: Path) -> None:
    # flock belongs to an open file description, so a second open in this process contends
    # exactly as another process would.
    journal = Journal(tmp_path, tmp_path / "topn.yaml", "local")
    other = Journal(tmp_path, tmp_path / "topn.yaml", "local")
    with (
        journal.locked(),
        pytest.raises(
            JournalBusy, match=f"another apply of this spec is running \\(pid {os.getpid()}\\)"
        ),
        other.locked(),
    ):
        pass
    with other.locked():
        pass


def test_ownership_inputs_and_downloads_round_trip(tmp_path: Path) -> None:
    journal = Journal(tmp_path, tmp_path / "topn.yaml", "local")
    saved = journal.save(
        state(inputs=(("a.txt", "1"),), downloaded=(("/o/a", "m"),), outcome=0)
        .with_owned("container", "c", "creating")
        .with_owned("container", "c", "created")
        .with_owned("pool", "p", "found")
    )
    loaded = journal.load()
    assert loaded == saved
    assert loaded.owned("container", "c") == "created"
    assert loaded.owned("pool", "p") == "found"
    assert loaded.owned("job", "j") is None
    assert loaded.without_owned("pool", "p").owned("pool", "p") is None


def test_owner_names_the_checkout_not_the_content(tmp_path: Path) -> None:
    a = Journal(tmp_path, tmp_path / "a" / "topn.yaml", "local")
    b = Journal(tmp_path, tmp_path / "b" / "topn.yaml", "local")
    assert a.owner != b.owner
    assert a.owner == Journal(tmp_path, tmp_path / "a" / "topn.yaml", "local").owner
    assert a.origin.endswith(f":{(tmp_path / 'a' / 'topn.yaml').resolve()}")


def test_changes_since_names_the_changed_files() -> None:
    before = state(spec_digest="d1", inputs=(("app/t.py", "1"), ("data/a.txt", "2")))
    assert changes_since(before, "d1", before.inputs) == ""
    now = (("app/t.py", "9"), ("data/b.txt", "3"))
    assert changes_since(before, "d2", now) == (
        "app/t.py, new data/b.txt, no longer uploaded data/a.txt"
    )
    assert changes_since(before, "d2", before.inputs) == "the spec or its --var values"
