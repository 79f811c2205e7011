"""SQLite state under the data dir: pools, nodes, jobs, tasks and task dependencies.

Each entity is kept as its REST document (JSON) plus the few indexed columns the scheduler and
the counters need, so a restart finds everything as it was. Keys are stored lower-cased:
Batch ids are case-preserving but case-insensitive. One connection, used only from the
event loop thread.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from batchspec.emulator.service.values import Doc

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pools (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (id TEXT PRIMARY KEY, pool_id TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS nodes_pool ON nodes (pool_id);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, pool_id TEXT NOT NULL, state TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    job_id TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, pool_id TEXT NOT NULL,
    state TEXT NOT NULL, result TEXT, blocked INTEGER NOT NULL DEFAULT 0,
    slots INTEGER NOT NULL DEFAULT 1, doc TEXT NOT NULL, PRIMARY KEY (job_id, id));
CREATE INDEX IF NOT EXISTS tasks_sched ON tasks (pool_id, state, blocked, seq);
CREATE INDEX IF NOT EXISTS tasks_job ON tasks (job_id, seq);
CREATE INDEX IF NOT EXISTS tasks_counts ON tasks (job_id, state, result);
CREATE TABLE IF NOT EXISTS deps (job_id TEXT NOT NULL, task_id TEXT NOT NULL, dep_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS deps_by_dep ON deps (job_id, dep_id);
CREATE INDEX IF NOT EXISTS deps_by_task ON deps (job_id, task_id);
CREATE TABLE IF NOT EXISTS procs (pid INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS schedules (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
"""


def _result(doc: Doc) -> str | None:
    info = doc.get("executionInfo") or {}
    value = info.get("result")
    return value if isinstance(value, str) else None


class Store:
    """The emulator's persistent state."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        row = self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM tasks").fetchone()
        self._seq = int(row[0])
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit every write inside as one, or none of them (nested uses join the outer one).

        State changes that belong together (a task's end, its dependants, its job) go in one
        transaction, so that a kill between them cannot leave half of them on disk.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.db.execute("BEGIN")
        self._depth = 1
        seq = self._seq
        try:
            yield
        except BaseException:
            self._depth = 0
            self.db.execute("ROLLBACK")
            self._seq = seq
            raise
        self._depth = 0
        self.db.execute("COMMIT")

    def close(self) -> None:
        """Flush and close the database."""
        self.db.close()

    # -- pools ---------------------------------------------------------------------------
    def get_pool(self, pool_id: str) -> Doc | None:
        """A pool's document, or None."""
        row = self.db.execute("SELECT doc FROM pools WHERE id = ?", (pool_id.lower(),)).fetchone()
        return json.loads(row[0]) if row else None

    def put_pool(self, doc: Doc) -> None:
        """Insert or replace a pool."""
        self.db.execute(
            "REPLACE INTO pools (id, doc) VALUES (?, ?)", (doc["id"].lower(), json.dumps(doc))
        )

    def delete_pool(self, pool_id: str) -> None:
        """Remove a pool and its nodes."""
        self.db.execute("DELETE FROM nodes WHERE pool_id = ?", (pool_id.lower(),))
        self.db.execute("DELETE FROM pools WHERE id = ?", (pool_id.lower(),))

    def list_pools(self) -> list[Doc]:
        """All pools, by id."""
        return [json.loads(r[0]) for r in self.db.execute("SELECT doc FROM pools ORDER BY id")]

    # -- nodes ---------------------------------------------------------------------------
    def get_node(self, node_id: str) -> Doc | None:
        """A node's document, or None."""
        row = self.db.execute("SELECT doc FROM nodes WHERE id = ?", (node_id.lower(),)).fetchone()
        return json.loads(row[0]) if row else None

    def put_node(self, pool_id: str, doc: Doc) -> None:
        """Insert or replace a node."""
        self.db.execute(
            "REPLACE INTO nodes (id, pool_id, doc) VALUES (?, ?, ?)",
            (doc["id"].lower(), pool_id.lower(), json.dumps(doc)),
        )

    def delete_node(self, node_id: str) -> None:
        """Remove a node."""
        self.db.execute("DELETE FROM nodes WHERE id = ?", (node_id.lower(),))

    def list_nodes(self, pool_id: str) -> list[Doc]:
        """A pool's nodes, by id."""
        rows = self.db.execute(
            "SELECT doc FROM nodes WHERE pool_id = ? ORDER BY id", (pool_id.lower(),)
        )
        return [json.loads(r[0]) for r in rows]

    # -- jobs ----------------------------------------------------------------------------
    def get_job(self, job_id: str) -> Doc | None:
        """A job's document, or None."""
        row = self.db.execute("SELECT doc FROM jobs WHERE id = ?", (job_id.lower(),)).fetchone()
        return json.loads(row[0]) if row else None

    def put_job(self, doc: Doc) -> None:
        """Insert or replace a job."""
        self.db.execute(
            "REPLACE INTO jobs (id, pool_id, state, doc) VALUES (?, ?, ?, ?)",
            (
                doc["id"].lower(),
                str(
                    (doc.get("executionInfo") or {}).get("poolId")
                    or doc["poolInfo"].get("poolId", "")
                ).lower(),
                doc["state"],
                json.dumps(doc),
            ),
        )

    def delete_job(self, job_id: str) -> None:
        """Remove a job with its tasks and dependencies."""
        with self.transaction():
            self.db.execute("DELETE FROM deps WHERE job_id = ?", (job_id.lower(),))
            self.db.execute("DELETE FROM tasks WHERE job_id = ?", (job_id.lower(),))
            self.db.execute("DELETE FROM jobs WHERE id = ?", (job_id.lower(),))

    def list_jobs(self) -> list[Doc]:
        """All jobs, by id."""
        return [json.loads(r[0]) for r in self.db.execute("SELECT doc FROM jobs ORDER BY id")]

    def jobs_in_state(self, state: str) -> list[Doc]:
        """Jobs in one state."""
        rows = self.db.execute("SELECT doc FROM jobs WHERE state = ?", (state,))
        return [json.loads(r[0]) for r in rows]

    # -- tasks ---------------------------------------------------------------------------
    def existing_task_ids(self, job_id: str, ids: Iterable[str]) -> set[str]:
        """Which of `ids` already exist in the job."""
        wanted = list(ids)
        found: set[str] = set()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT id FROM tasks WHERE job_id = ? AND id IN ({marks})",
                (job_id.lower(), *[c.lower() for c in chunk]),
            )
            found.update(r[0] for r in rows)
        return found

    def insert_tasks(
        self, job_id: str, pool_id: str, items: list[tuple[Doc, int, list[str]]]
    ) -> None:
        """Add tasks (doc, blocked count, dependency ids) in one transaction."""
        with self.transaction():
            for doc, blocked, deps in items:
                self._seq += 1
                self.db.execute(
                    "INSERT INTO tasks (job_id, id, seq, pool_id, state, result, blocked, slots,"
                    " doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        job_id.lower(),
                        doc["id"].lower(),
                        self._seq,
                        pool_id.lower(),
                        doc["state"],
                        _result(doc),
                        blocked,
                        int(doc.get("requiredSlots") or 1),
                        json.dumps(doc),
                    ),
                )
                self.db.executemany(
                    "INSERT INTO deps (job_id, task_id, dep_id) VALUES (?, ?, ?)",
                    [(job_id.lower(), doc["id"].lower(), d.lower()) for d in deps],
                )

    def get_task(self, job_id: str, task_id: str) -> Doc | None:
        """A task's document, or None."""
        row = self.db.execute(
            "SELECT doc FROM tasks WHERE job_id = ? AND id = ?", (job_id.lower(), task_id.lower())
        ).fetchone()
        return json.loads(row[0]) if row else None

    def put_task(self, job_id: str, doc: Doc, blocked: int | None = None) -> None:
        """Update a task's document (and its indexed columns)."""
        if blocked is None:
            self.db.execute(
                "UPDATE tasks SET state = ?, result = ?, doc = ? WHERE job_id = ? AND id = ?",
                (doc["state"], _result(doc), json.dumps(doc), job_id.lower(), doc["id"].lower()),
            )
        else:
            self.db.execute(
                "UPDATE tasks SET state = ?, result = ?, blocked = ?, doc = ?"
                " WHERE job_id = ? AND id = ?",
                (
                    doc["state"],
                    _result(doc),
                    blocked,
                    json.dumps(doc),
                    job_id.lower(),
                    doc["id"].lower(),
                ),
            )

    def delete_task(self, job_id: str, task_id: str) -> None:
        """Remove a task."""
        self.db.execute(
            "DELETE FROM tasks WHERE job_id = ? AND id = ?", (job_id.lower(), task_id.lower())
        )
        self.db.execute(
            "DELETE FROM deps WHERE job_id = ? AND task_id = ?", (job_id.lower(), task_id.lower())
        )

    def list_tasks(self, job_id: str, after_seq: int, limit: int) -> list[tuple[int, Doc]]:
        """Tasks of a job in creation order, after a paging cursor."""
        rows = self.db.execute(
            "SELECT seq, doc FROM tasks WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (job_id.lower(), after_seq, limit),
        )
        return [(int(r[0]), json.loads(r[1])) for r in rows]

    def tasks_in_states(self, job_id: str, states: tuple[str, ...]) -> list[Doc]:
        """A job's tasks in the given states."""
        marks = ",".join("?" * len(states))
        rows = self.db.execute(
            f"SELECT doc FROM tasks WHERE job_id = ? AND state IN ({marks})",
            (job_id.lower(), *states),
        )
        return [json.loads(r[0]) for r in rows]

    def runnable(self, pool_id: str, max_slots: int, limit: int) -> list[tuple[str, Doc]]:
        """The oldest active, unblocked tasks of active jobs on a pool that fit in `max_slots`."""
        rows = self.db.execute(
            "SELECT json_extract(j.doc, '$.id'), t.doc FROM tasks t JOIN jobs j ON j.id = t.job_id"
            " WHERE t.pool_id = ? AND t.state = 'active' AND t.blocked = 0 AND t.slots <= ?"
            " AND j.state = 'active' ORDER BY t.seq LIMIT ?",
            (pool_id.lower(), max_slots, limit),
        )
        return [(r[0], json.loads(r[1])) for r in rows]

    def tasks_in_flight(self) -> list[tuple[str, Doc]]:
        """Tasks that were preparing or running (to requeue after a restart)."""
        rows = self.db.execute(
            "SELECT job_id, doc FROM tasks WHERE state IN ('preparing', 'running')"
        )
        return [(r[0], json.loads(r[1])) for r in rows]

    def counts(self, job_id: str) -> dict[str, int]:
        """Task and slot counts by state, from one aggregate query."""
        out = {k: 0 for k in ("active", "running", "completed", "succeeded", "failed")}
        slots = dict(out)
        rows = self.db.execute(
            "SELECT state, result, COUNT(*), SUM(slots) FROM tasks WHERE job_id = ?"
            " GROUP BY state, result",
            (job_id.lower(),),
        )
        for state, result, n, s in rows:
            key = "running" if state in ("preparing", "running") else state
            out[key] = out.get(key, 0) + int(n)
            slots[key] = slots.get(key, 0) + int(s)
            if state == "completed":
                sub = "succeeded" if result == "success" else "failed"
                out[sub] += int(n)
                slots[sub] += int(s)
        return {**out, **{"slot_" + k: v for k, v in slots.items()}}

    def all_completed(self, job_id: str) -> bool:
        """Whether every task of the job is completed: one index probe, whatever the job's size."""
        row = self.db.execute(
            "SELECT 1 FROM tasks WHERE job_id = ? AND state IN ('active', 'preparing', 'running')"
            " LIMIT 1",
            (job_id.lower(),),
        ).fetchone()
        return row is None

    def unfinished(self, job_id: str) -> int:
        """How many of a job's tasks are not completed."""
        row = self.db.execute(
            "SELECT COUNT(*) FROM tasks WHERE job_id = ? AND state != 'completed'",
            (job_id.lower(),),
        ).fetchone()
        return int(row[0])

    # -- dependencies --------------------------------------------------------------------
    def dependants(self, job_id: str, dep_id: str) -> list[str]:
        """Tasks that depend on `dep_id`."""
        rows = self.db.execute(
            "SELECT task_id FROM deps WHERE job_id = ? AND dep_id = ?",
            (job_id.lower(), dep_id.lower()),
        )
        return [r[0] for r in rows]

    def unsatisfied(self, job_id: str, task_id: str, satisfied: set[str]) -> int:
        """How many of a task's dependencies are not in `satisfied` (by checking each)."""
        rows = self.db.execute(
            "SELECT d.dep_id, t.doc FROM deps d LEFT JOIN tasks t"
            " ON t.job_id = d.job_id AND t.id = d.dep_id WHERE d.job_id = ? AND d.task_id = ?",
            (job_id.lower(), task_id.lower()),
        )
        missing = 0
        for dep_id, doc in rows:
            if dep_id in satisfied:
                continue
            if doc is None or not json.loads(doc).get("_satisfies"):
                missing += 1
        return missing

    def set_blocked(self, job_id: str, task_id: str, blocked: int) -> None:
        """Record how many dependencies a task still waits for."""
        self.db.execute(
            "UPDATE tasks SET blocked = ? WHERE job_id = ? AND id = ?",
            (blocked, job_id.lower(), task_id.lower()),
        )

    def waiting_dependants(self) -> list[tuple[str, str]]:
        """(job id, task id) of every active task that has dependencies."""
        rows = self.db.execute(
            "SELECT DISTINCT d.job_id, d.task_id FROM deps d JOIN tasks t"
            " ON t.job_id = d.job_id AND t.id = d.task_id WHERE t.state = 'active'"
        )
        return [(r[0], r[1]) for r in rows]

    # -- job schedules ---------------------------------------------------------------------
    def get_schedule(self, schedule_id: str) -> Doc | None:
        """A job schedule's document, or None."""
        row = self.db.execute(
            "SELECT doc FROM schedules WHERE id = ?", (schedule_id.lower(),)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def put_schedule(self, doc: Doc) -> None:
        """Insert or replace a job schedule."""
        self.db.execute(
            "REPLACE INTO schedules (id, doc) VALUES (?, ?)", (doc["id"].lower(), json.dumps(doc))
        )

    def delete_schedule(self, schedule_id: str) -> None:
        """Remove a job schedule."""
        self.db.execute("DELETE FROM schedules WHERE id = ?", (schedule_id.lower(),))

    def list_schedules(self) -> list[Doc]:
        """All job schedules, by id."""
        rows = self.db.execute("SELECT doc FROM schedules ORDER BY id")
        return [json.loads(r[0]) for r in rows]

    # -- task processes (to clean up after a crash of the emulator) ---------------------------
    def add_proc(self, pid: int) -> None:
        """Record a running task process group."""
        self.db.execute("INSERT OR REPLACE INTO procs (pid) VALUES (?)", (pid,))

    def remove_proc(self, pid: int) -> None:
        """Forget a process group that ended."""
        self.db.execute("DELETE FROM procs WHERE pid = ?", (pid,))

    def take_procs(self) -> list[int]:
        """The recorded process groups, forgetting them."""
        pids = [int(r[0]) for r in self.db.execute("SELECT pid FROM procs")]
        self.db.execute("DELETE FROM procs")
        return pids
