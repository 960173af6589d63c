"""The coordinator: plan a grid's jobs, start each when what it needs is done and its resources
are free, record every outcome in the store, retry failures a bounded number of times.

`run` is the only writer of the store. Finished jobs are never run again: a resumed grid
(`resume=True`) starts with the jobs that are not done, the ones a dead run left running
included. Ready jobs start longest-first (train jobs, which others wait for, before short
leaves), which keeps the last minutes of a grid from running on one worker.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fragility.errors import FragilityError
from fragility.grid import analyses
from fragility.grid.jobs import Job, plan
from fragility.grid.spec import GridError, GridSpec
from fragility.grid.store import FILENAME, Store, StoreError

POLL_S = 0.5  # how often the progress line refreshes while nothing finishes


@dataclass(frozen=True)
class Progress:
    """Where a grid stands: one line for people (`line`)."""

    grid: str
    total: int
    done: int
    running: int
    failed: int
    elapsed_s: float
    left_s: float | None  # None until a job has finished

    @property
    def waiting(self) -> int:
        return self.total - self.done - self.running - self.failed

    def line(self) -> str:
        left = "" if self.left_s is None else f", about {_duration(self.left_s)} left"
        return (
            f"grid {self.grid}: {self.done}/{self.total} done, {self.running} running, "
            f"{self.failed} failed, {self.waiting} waiting; {_duration(self.elapsed_s)}{left}"
        )


def _duration(s: float) -> str:
    s = max(0, round(s))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


@dataclass(frozen=True)
class Outcome:
    """How a run ended: the store's counts and the failed jobs with their errors."""

    folder: Path
    counts: dict[str, int]
    failed: tuple[tuple[str, str], ...]
    seconds: float
    new_jobs: int  # jobs that were not in the store before this run


def prepare(grid: GridSpec, *, need_data: bool = True) -> tuple[tuple[Job, ...], Any]:
    """The grid's jobs and its dataset (loaded once here, to check the models against it, to
    hash it and to share it), with every error a job would meet at its start raised now."""
    data = None
    jobs_need_data = any(a.per_model for a in grid.analyses)
    if need_data and jobs_need_data:
        data = analyses.load_data(grid.data)
        analyses.check(grid, data)
    runs = {}
    for a in grid.analyses:
        if not a.per_model:
            try:
                runs[a.name] = analyses.monte_carlo_runs(a.kind, a.settings, grid.seeds)
            except FragilityError as exc:  # a scenario file's error, or runs out of range
                raise GridError(f"{a.where}: analyses.{a.name}: {exc}") from None
    return plan(grid, runs), data


def _check_devices(jobs: tuple[Job, ...], capacity: dict[str, int], where: str) -> None:
    gpu_jobs = [j for j in jobs if j.resources["GPU"]]
    if gpu_jobs and capacity.get("GPU", 0) < 1:
        raise GridError(
            f'job {gpu_jobs[0].id} asks for device = "cuda" but {where} has no GPU; '
            'set device = "cpu" for its model, or run on a machine or cluster with one'
        )


def open_store(
    folder: Path, grid: GridSpec, jobs: tuple[Job, ...], resume: bool
) -> tuple[Store, int]:
    """The folder's store: made for a new grid, or reopened to resume one (jobs it lacks are
    added; failed jobs get another try). Returns it and the number of new jobs."""
    if (folder / FILENAME).exists():
        check_folder(folder, resume)
        store = Store.open(folder)
        if store.meta().get("grid") != grid.name:
            raise StoreError(
                f"{folder} holds grid {store.meta().get('grid')!r}, not {grid.name!r}; resume "
                "with its own grid file, or choose another --out"
            )
        new = store.reconcile(jobs)
        store.reset_failed()
        return store, len(new)
    check_folder(folder, resume)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GridError(f"cannot create {folder} ({exc.strerror}); choose another --out") from None
    meta = {
        "grid": grid.name,
        "title": grid.title,
        "description": grid.description,
        "grid_text": grid.text,
        "grid_path": grid.path,
    }
    return Store.create(folder, meta, jobs), len(jobs)


def check_folder(folder: Path, resume: bool) -> None:
    """Refuse a --out that cannot take this grid, before any work: another grid without
    --resume, a file, a folder with other things in it."""
    if (folder / FILENAME).exists():
        if not resume:
            raise GridError(
                f"{folder} already holds a grid; add --resume to go on with it, or choose "
                "another --out"
            )
        return
    if folder.exists() and not folder.is_dir():
        raise GridError(f"{folder} exists and is not a folder; choose another --out")
    if folder.is_dir() and any(folder.iterdir()):
        raise GridError(f"{folder} is not empty and holds no grid; choose an empty or new --out")


def _check_data(store: Store, data: Any) -> None:
    if data is None:
        return
    for r in store.jobs("done"):
        if r.data_hash is not None and r.data_hash != data.hash:
            raise StoreError(
                f"job {r.id} ran on other data (hash {r.data_hash}, now {data.hash}); the "
                "dataset changed since the grid started: run into a new --out"
            )


def run(
    grid: GridSpec,
    folder: str | os.PathLike,
    *,
    workers: int | None = None,
    ray: str | None = None,
    resume: bool = False,
    command: str = "",
    on_progress: Callable[[Progress], None] | None = None,
) -> Outcome:
    """Run `grid` into `folder` with `workers` local processes (default: one per core), or on
    a Ray cluster (`ray`: "auto" or an address). Interrupting it (KeyboardInterrupt, or the
    CLI's exception for SIGTERM) stops the workers and leaves the store as it was after the
    last finished job."""
    folder = Path(folder)
    check_folder(folder, resume)
    workers = workers or os.cpu_count() or 1
    executor: Any = None
    try:
        if ray is None:
            from fragility.grid.executors import LocalExecutor

            # Started first: the workers import torch while the data loads here.
            executor = LocalExecutor(folder, workers, _local_gpus())
            jobs, data = prepare(grid)
            _check_devices(jobs, executor.capacity, "this machine")
            store, new = open_store(folder, grid, jobs, resume)
        else:
            from fragility.grid.executors import RayExecutor

            jobs, data = prepare(grid)
            store, new = open_store(folder, grid, jobs, resume)
            executor = RayExecutor(folder, ray, grid.retries, data)
            _check_devices(jobs, executor.capacity, "the Ray cluster")
        _check_data(store, data)
    except BaseException:
        if executor is not None:
            executor.close()
        raise
    started = time.perf_counter()
    run_id = store.start_run(command, executor.name, executor.workers)
    status = "died"
    try:
        _loop(grid, store, executor, run_id, on_progress, started)
        status = "finished"
    except BaseException as exc:  # Ctrl-C or SIGTERM: interrupted; an error: the run died
        status = "died" if isinstance(exc, Exception) else "interrupted"
        raise
    finally:
        executor.close()
        store.end_run(run_id, status)
        counts = store.counts()
        failed = tuple((r.id, r.error or "") for r in store.jobs("failed"))
        store.close()
    return Outcome(folder, counts, failed, time.perf_counter() - started, new)


def _local_gpus() -> int:
    import torch

    return torch.cuda.device_count()


class _Estimate:
    """Time left: the mean seconds of finished jobs of each kind (of every kind while a kind
    has none yet), over the jobs still to do, shared by the CPU slots."""

    def __init__(self, store: Store) -> None:
        self.seconds: dict[str, list[float]] = {}
        for r in store.jobs("done"):
            if r.seconds is not None:
                self.seconds.setdefault(r.kind, []).append(r.seconds)

    def add(self, kind: str, seconds: float) -> None:
        self.seconds.setdefault(kind, []).append(seconds)

    def left(
        self, todo: list[Job], running: dict[str, tuple[Job, float]], slots: int
    ) -> float | None:
        every = [s for v in self.seconds.values() for s in v]
        if not every:
            return None
        mean_all = sum(every) / len(every)

        def mean(kind: str) -> float:
            v = self.seconds.get(kind)
            return sum(v) / len(v) if v else mean_all

        now = time.perf_counter()
        work = sum(mean(j.kind) for j in todo)
        work += sum(max(0.0, mean(j.kind) - (now - t)) for j, t in running.values())
        return work / max(1, slots)


def _loop(
    grid: GridSpec,
    store: Store,
    executor: Any,
    run_id: int,
    on_progress: Callable[[Progress], None] | None,
    started: float,
) -> None:
    rows = store.jobs()
    position = {r.id: r.position for r in rows}
    done = {r.id for r in rows if r.status == "done"}
    failed = {r.id for r in rows if r.status == "failed"}
    pending = {r.id: r.job() for r in rows if r.status == "pending"}
    running: dict[str, tuple[Job, float]] = {}
    tries: dict[str, int] = {}
    capacity = dict(executor.capacity)
    used = dict.fromkeys(capacity, 0)
    estimate = _Estimate(store)

    def report() -> None:
        if on_progress is not None:
            todo = list(pending.values())
            on_progress(
                Progress(
                    grid.name,
                    len(rows),
                    len(done),
                    len(running),
                    len(failed),
                    time.perf_counter() - started,
                    estimate.left(todo, running, capacity["CPU"]),
                )
            )

    def fits(job: Job) -> bool:
        return all(used[k] + n <= capacity.get(k, 0) for k, n in job.resources.items() if n)

    def block(why: Callable[[Job], str | None]) -> None:
        for job_id, job in list(pending.items()):
            reason = why(job)
            if reason is not None:
                del pending[job_id]
                store.blocked(job_id, reason)
                failed.add(job_id)

    def needs_failed(job: Job) -> str | None:
        needs = next((a for a in job.after if a in failed), None)
        return None if needs is None else f"not run: it needs {needs}, which failed"

    report()
    while pending or running:
        block(needs_failed)
        ready = [j for j in pending.values() if all(a in done for a in j.after)]
        for job in sorted(ready, key=lambda j: (-j.priority, position[j.id])):
            if not fits(job):
                continue
            store.started(job.id, run_id)
            executor.submit(job)
            running[job.id] = (job, time.perf_counter())
            del pending[job.id]
            for k, n in job.resources.items():
                used[k] = used.get(k, 0) + n
        if not running:
            # Nothing could start: what is left needs more than the executor has.
            block(lambda j: f"not run: it needs {j.resources}, more than {capacity}")
            break
        report()
        for job_id, outcome in executor.wait(POLL_S):
            job, _ = running.pop(job_id)
            for k, n in job.resources.items():
                used[k] -= n
            tries[job_id] = tries.get(job_id, 0) + 1
            ok = outcome["status"] == "done"
            final = ok or tries[job_id] > grid.retries
            store.finished(job_id, outcome, final=final)
            if ok:
                done.add(job_id)
                estimate.add(job.kind, outcome["seconds"])
            elif final:
                failed.add(job_id)
            else:
                pending[job_id] = job
        report()
