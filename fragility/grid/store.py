"""The results store: one SQLite database per grid folder (`DIR/grid.sqlite`).

Only the coordinator writes, one transaction per change, so a grid killed at any moment leaves
every finished job's result whole and every other job pending or running; `resume` turns the
jobs of a dead run back to pending and the run goes on from there. A job that is done is never
run again: its result, timings and artefacts stay as they were.

Tables:

- `meta` (key, value): the store's schema version; the grid's name, title, description and
  file text; when it was made and by which fragility.
- `jobs`: one row per job: id, position, kind, analysis, model, seed, device, after (JSON list
  of job ids), definition (JSON) and settings_hash; the inputs' hashes (data_hash,
  weights_hash); status (pending, running, done, failed), attempts, timings (started, finished
  as Unix times, seconds of work), worker (host:pid), result (the analysis's to_dict() as
  JSON), artefacts (JSON list of paths relative to the folder), log (path) and error (one line).
- `attempts`: every time a job was started, in which run, how it ended (done, failed, lost:
  its worker or the whole grid died) and its error.
- `runs`: every `fragility grid` invocation on the folder: command, executor, workers, start,
  end and how it ended.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fragility
from fragility.errors import FragilityError
from fragility.grid.jobs import Job

FILENAME = "grid.sqlite"
SCHEMA_VERSION = 1
STATUSES = ("pending", "running", "done", "failed")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    analysis TEXT NOT NULL,
    model TEXT,
    seed INTEGER NOT NULL,
    device TEXT NOT NULL,
    after TEXT NOT NULL,
    definition TEXT NOT NULL,
    settings_hash TEXT NOT NULL,
    data_hash TEXT,
    weights_hash TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    started REAL,
    finished REAL,
    seconds REAL,
    worker TEXT,
    result TEXT,
    artefacts TEXT NOT NULL DEFAULT '[]',
    log TEXT,
    error TEXT
);
CREATE TABLE IF NOT EXISTS attempts (
    job TEXT NOT NULL REFERENCES jobs(id),
    attempt INTEGER NOT NULL,
    run INTEGER NOT NULL REFERENCES runs(id),
    started REAL NOT NULL,
    finished REAL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'lost')),
    worker TEXT,
    error TEXT,
    PRIMARY KEY (job, attempt)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started REAL NOT NULL,
    finished REAL,
    command TEXT NOT NULL,
    executor TEXT NOT NULL,
    workers INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'interrupted', 'died'))
);
"""


class StoreError(FragilityError):
    """A grid folder's database is missing, damaged, or belongs to another grid."""


@dataclass(frozen=True)
class JobRow:
    """A job as the store has it."""

    id: str
    position: int
    kind: str
    analysis: str
    model: str | None
    seed: int
    device: str
    after: tuple[str, ...]
    definition: dict[str, Any]
    settings_hash: str
    data_hash: str | None
    weights_hash: str | None
    status: str
    attempts: int
    started: float | None
    finished: float | None
    seconds: float | None
    worker: str | None
    result: dict[str, Any] | None
    artefacts: tuple[str, ...]
    log: str | None
    error: str | None

    def job(self) -> Job:
        return Job(
            id=self.id,
            kind=self.kind,
            analysis=self.analysis,
            model=self.model,
            seed=self.seed,
            device=self.device,
            after=self.after,
            definition=self.definition,
        )


def _row(r: sqlite3.Row) -> JobRow:
    d = dict(r)
    d["after"] = tuple(json.loads(d["after"]))
    d["definition"] = json.loads(d["definition"])
    d["result"] = None if d["result"] is None else json.loads(d["result"])
    d["artefacts"] = tuple(json.loads(d["artefacts"]))
    return JobRow(**d)


class Store:
    """The database of one grid folder. Every method is one transaction."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{self.path} is not a grid database ({exc}); choose another --out"
            ) from None

    @classmethod
    def open(cls, folder: str | Path) -> Store:
        """The store of an existing grid folder."""
        path = Path(folder) / FILENAME
        if not path.is_file():
            raise StoreError(f"{folder} holds no grid ({FILENAME} is missing); run fragility grid")
        store = cls(path)
        store.check_version()
        return store

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK if the block raises."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- creation and checks -----------------------------------------------------------------

    @classmethod
    def create(cls, folder: str | Path, grid: dict[str, str], jobs: Sequence[Job]) -> Store:
        """A new store in `folder` holding the grid's jobs, all pending, and `grid`'s name,
        title, description and file text. Written beside and renamed into place, so a grid
        folder has a whole database or none."""
        final = Path(folder) / FILENAME
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{FILENAME}.{os.getpid()}.partial")
        tmp.unlink(missing_ok=True)
        store = cls(tmp)
        with store.transaction() as db:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            meta = {
                **grid,
                "schema_version": str(SCHEMA_VERSION),
                "created": str(time.time()),
                "fragility": fragility.__version__,
            }
            db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            store._insert(db, jobs, 0)
        store.db.execute("PRAGMA journal_mode=DELETE")  # fold the log into the file to move it
        store.close()
        os.replace(tmp, final)
        return cls.open(folder)

    def check_version(self) -> None:
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a grid database ({exc})") from None
        if row is None or int(row[0]) != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by another version of fragility's grid store "
                f"(schema {row[0] if row else '?'}, this one reads {SCHEMA_VERSION}); "
                "run the grid into a new --out"
            )

    def meta(self) -> dict[str, str]:
        return {k: v for k, v in self.db.execute("SELECT key, value FROM meta")}

    def _insert(self, db: sqlite3.Connection, jobs: Sequence[Job], first: int) -> None:
        db.executemany(
            "INSERT INTO jobs (id, position, kind, analysis, model, seed, device, after, "
            "definition, settings_hash, status, log) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
            [
                (
                    j.id,
                    first + i,
                    j.kind,
                    j.analysis,
                    j.model,
                    j.seed,
                    j.device,
                    json.dumps(list(j.after)),
                    json.dumps(j.definition, sort_keys=True),
                    j.settings_hash,
                    f"logs/{j.path}.log",
                )
                for i, j in enumerate(jobs)
            ],
        )

    def reconcile(self, jobs: Sequence[Job]) -> list[str]:
        """Check that `jobs` are the grid this store holds: a job whose settings changed is an
        error (its result would be stale); jobs the store lacks are added. Returns their ids."""
        stored = {r.id: r for r in self.jobs()}
        for j in jobs:
            r = stored.get(j.id)
            if r is not None and r.settings_hash != j.settings_hash:
                raise StoreError(
                    f"job {j.id} in {self.path.parent} was made with other settings; resume "
                    "with the grid file it was started with, or run into a new --out"
                )
        ids = {j.id for j in jobs}
        gone = [i for i in stored if i not in ids]
        if gone:
            raise StoreError(
                f"{self.path.parent} holds job {gone[0]}, which this grid file does not make "
                f"({len(gone)} such); resume with the file the grid was started with"
            )
        new = [j for j in jobs if j.id not in stored]
        if new:
            with self.transaction() as db:
                self._insert(db, new, len(stored))
        return [j.id for j in new]

    # -- runs ----------------------------------------------------------------------------------

    def start_run(self, command: str, executor: str, workers: int) -> int:
        """Record a new run; a run still marked running died without saying so, and its running
        jobs' attempts are lost: they go back to pending (their work is done again)."""
        now = time.time()
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET status = 'died', finished = ? WHERE status = 'running'", (now,)
            )
            db.execute(
                "UPDATE attempts SET status = 'lost', finished = ?, "
                "error = 'the grid stopped before the job finished' WHERE status = 'running'",
                (now,),
            )
            db.execute("UPDATE jobs SET status = 'pending', worker = NULL WHERE status = 'running'")
            cur = db.execute(
                "INSERT INTO runs (started, command, executor, workers, status) "
                "VALUES (?, ?, ?, ?, 'running')",
                (now, command, executor, workers),
            )
            return int(cur.lastrowid or 0)

    def end_run(self, run: int, status: str) -> None:
        """Close a run; jobs it left running go back to pending, their attempts lost."""
        now = time.time()
        with self.transaction() as db:
            db.execute(
                "UPDATE attempts SET status = 'lost', finished = ?, error = ? "
                "WHERE status = 'running' AND run = ?",
                (now, f"the grid was {status} before the job finished", run),
            )
            db.execute("UPDATE jobs SET status = 'pending', worker = NULL WHERE status = 'running'")
            db.execute("UPDATE runs SET status = ?, finished = ? WHERE id = ?", (status, now, run))

    def reset_failed(self) -> int:
        """Failed jobs get another try (a resumed grid retries them); returns how many."""
        with self.transaction() as db:
            return db.execute("UPDATE jobs SET status = 'pending' WHERE status = 'failed'").rowcount

    # -- jobs ----------------------------------------------------------------------------------

    def jobs(self, status: str | None = None) -> list[JobRow]:
        sql = "SELECT * FROM jobs"
        args: tuple = ()
        if status is not None:
            sql += " WHERE status = ?"
            args = (status,)
        return [_row(r) for r in self.db.execute(sql + " ORDER BY position", args)]

    def job(self, job_id: str) -> JobRow:
        r = self.db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if r is None:
            raise StoreError(f"no job {job_id!r} in {self.path}")
        return _row(r)

    def attempts(self, job_id: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM attempts", ()
        if job_id is not None:
            sql, args = sql + " WHERE job = ?", (job_id,)
        return [dict(r) for r in self.db.execute(sql + " ORDER BY job, attempt", args)]

    def runs(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute("SELECT * FROM runs ORDER BY id")]

    def started(self, job_id: str, run: int, worker: str = "") -> int:
        """Mark a job running and open an attempt; returns the attempt's number."""
        now = time.time()
        with self.transaction() as db:
            n = db.execute("SELECT attempts FROM jobs WHERE id = ?", (job_id,)).fetchone()[0] + 1
            db.execute(
                "UPDATE jobs SET status = 'running', attempts = ?, started = ?, worker = ? "
                "WHERE id = ?",
                (n, now, worker or None, job_id),
            )
            db.execute(
                "INSERT INTO attempts (job, attempt, run, started, status, worker) "
                "VALUES (?, ?, ?, ?, 'running', ?)",
                (job_id, n, run, now, worker or None),
            )
            return n

    def finished(self, job_id: str, outcome: dict[str, Any], *, final: bool) -> None:
        """Record a worker's outcome. Done: the result, hashes, timings and artefacts, all in
        one transaction. Failed: the error; the job goes back to pending unless `final`."""
        status = outcome["status"]
        with self.transaction() as db:
            n = db.execute("SELECT attempts FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
            db.execute(
                "UPDATE attempts SET status = ?, finished = ?, worker = ?, error = ? "
                "WHERE job = ? AND attempt = ?",
                (
                    "lost" if outcome.get("lost") else status,
                    outcome.get("finished", time.time()),
                    outcome.get("worker"),
                    outcome.get("error"),
                    job_id,
                    n,
                ),
            )
            if status == "done":
                db.execute(
                    "UPDATE jobs SET status = 'done', result = ?, data_hash = ?, "
                    "weights_hash = ?, started = ?, finished = ?, seconds = ?, worker = ?, "
                    "artefacts = ?, error = NULL WHERE id = ?",
                    (
                        outcome["result"],
                        outcome.get("data_hash"),
                        outcome.get("weights_hash"),
                        outcome["started"],
                        outcome["finished"],
                        outcome["seconds"],
                        outcome.get("worker"),
                        json.dumps(list(outcome.get("artefacts", ()))),
                        job_id,
                    ),
                )
            else:
                db.execute(
                    "UPDATE jobs SET status = ?, error = ?, worker = NULL WHERE id = ?",
                    ("failed" if final else "pending", outcome.get("error"), job_id),
                )

    def blocked(self, job_id: str, error: str) -> None:
        """A job that cannot run (what it needs failed): failed, with why, and no attempt."""
        with self.transaction() as db:
            db.execute("UPDATE jobs SET status = 'failed', error = ? WHERE id = ?", (error, job_id))

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for status, n in self.db.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status"):
            out[status] = n
        return out
