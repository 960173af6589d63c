"""Executors: where jobs run. Local worker processes by default, or tasks on a Ray cluster.

Both run `fragility.grid.worker.execute` on the same job definitions and hand back the same
outcomes, so a grid's numbers do not depend on the executor. The coordinator
(`fragility.grid.coordinator`) decides what to start; an executor only starts it, says what
finished, and reports a job whose worker died as lost.

- `LocalExecutor`: `--workers N` processes forked from one server process that imported torch
  and the analyses once; each computes on one intra-op thread (N workers never ask for more
  than N cores). A worker that dies breaks the pool: its jobs come back lost and the pool is
  made again.
- `RayExecutor`: each job is a Ray task declaring its resources (one CPU; one GPU for a
  `device = "cuda"` job, so Ray places it on a node with a free GPU), the dataset is put in
  the object store once and shared by every task, and Ray retries a task whose worker died.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
from pathlib import Path
from typing import Any

from fragility.errors import ConfigError
from fragility.grid.jobs import Job
from fragility.grid.spec import GridError

RAY_EXTRA = "pip install 'fragility[ray]'"


def _lost(job_id: str, why: str) -> dict[str, Any]:
    return {"id": job_id, "status": "failed", "lost": True, "error": why}


class LocalExecutor:
    name = "local"

    def __init__(self, folder: Path, workers: int, gpus: int = 0) -> None:
        self.folder = str(folder)
        self.workers = workers
        self.capacity = {"CPU": workers, "GPU": gpus}
        self._futures: dict[cf.Future, str] = {}
        self._gpu_of: dict[str, int] = {}  # running CUDA jobs -> the GPU each was given
        self._lost: list[tuple[str, dict[str, Any]]] = []
        self._worked = False  # a worker has run something: a broken pool is a worker's death
        self._pool = self._new_pool()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        from fragility.grid import _server, worker

        ctx = _server.context()
        environ = {k: v for k, v in os.environ.items() if k.startswith("FRAGILITY_")}
        pool = cf.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=ctx,
            initializer=worker.init_local_worker,
            initargs=(environ,),
        )
        for _ in range(self.workers):  # start the processes now, not at the first jobs
            pool.submit(worker.ready).add_done_callback(self._ready)
        return pool

    def _ready(self, f: cf.Future) -> None:
        if not f.cancelled() and f.exception() is None:
            self._worked = True

    def _broken(self) -> None:
        """The pool lost a worker. Before any worker ever ran, they cannot start at all."""
        if not self._worked:
            raise GridError(
                "the worker processes could not start; if a script of yours calls "
                'fragility.grid, put the call under `if __name__ == "__main__":` (each '
                "worker imports the script that started it), or run `fragility grid`"
            )
        for f, job_id in list(self._futures.items()):
            self._lost.append((job_id, _lost(job_id, "a worker process died beside it")))
            del self._futures[f]
        self._stop(self._pool)
        self._pool = self._new_pool()

    def submit(self, job: Job) -> None:
        """Start `job`; a CUDA job gets a GPU of its own (the coordinator starts no more of them
        than there are GPUs)."""
        from fragility.grid import worker

        gpu = None
        if job.resources["GPU"]:
            gpu = min(set(range(self.capacity["GPU"])) - set(self._gpu_of.values()))
            self._gpu_of[job.id] = gpu
        try:
            future = self._pool.submit(worker.execute, job.to_dict(), self.folder, None, gpu)
        except cf.process.BrokenProcessPool:
            self._broken()
            self._lost.append((job.id, _lost(job.id, "its worker process died")))
            return
        self._futures[future] = job.id

    def wait(self, timeout: float) -> list[tuple[str, dict[str, Any]]]:
        """The outcomes of jobs that finished, waiting up to `timeout` s for the first."""
        out = self._finished(timeout)
        for job_id, _ in out:
            self._gpu_of.pop(job_id, None)
        return out

    def _finished(self, timeout: float) -> list[tuple[str, dict[str, Any]]]:
        out, self._lost = self._lost, []
        if not self._futures:
            return out
        done, _ = cf.wait(
            self._futures, timeout=0 if out else timeout, return_when=cf.FIRST_COMPLETED
        )
        broken = False
        for f in done:
            job_id = self._futures.pop(f)
            try:
                out.append((job_id, f.result()))
                self._worked = True
            except cf.process.BrokenProcessPool:
                broken = True
                out.append((job_id, _lost(job_id, "its worker process died")))
            except Exception as exc:  # the job could not be sent to or back from the worker
                out.append((job_id, _lost(job_id, f"{type(exc).__name__}: {exc}")))
        if broken:  # the pool is unusable: its other jobs are lost too; make a new one
            self._broken()
            out, self._lost = out + self._lost, []
        return out

    def close(self) -> None:
        self._futures.clear()
        self._stop(self._pool)

    @staticmethod
    def _stop(pool: cf.ProcessPoolExecutor) -> None:
        # Running jobs are not waited for: their work is lost and done again on resume.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            if p.is_alive():
                p.terminate()
        for p in processes:
            p.join(timeout=5)


def ray_options(job: Job, retries: int) -> dict[str, Any]:
    """What a job's Ray task declares: its CPU and GPU, and how often Ray restarts it when its
    worker dies."""
    res = job.resources
    return {"num_cpus": res["CPU"], "num_gpus": res["GPU"], "max_retries": retries}


class RayExecutor:
    name = "ray"

    def __init__(self, folder: Path, address: str, retries: int, data: Any) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError(f"--ray needs Ray, which is not installed: {RAY_EXTRA}") from None
        from fragility.grid import worker

        self.ray = ray
        self.folder = str(folder)
        self.retries = retries
        self._started_ray = False
        if not ray.is_initialized():
            try:
                ray.init(
                    address=None if address == "auto" else address,
                    include_dashboard=False,
                    log_to_driver=False,
                )
            except (ConnectionError, ValueError, RuntimeError) as exc:
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise ConfigError(
                    f"cannot reach the Ray cluster at {address!r} ({first}); check the address "
                    "(ray://HOST:10001 or HOST:6379), or use --ray auto for a local instance"
                ) from None
            self._started_ray = True
        total = ray.cluster_resources()
        self.capacity = {"CPU": int(total.get("CPU", 0)), "GPU": int(total.get("GPU", 0))}
        self.workers = self.capacity["CPU"]
        self._remote = ray.remote(worker.execute)
        self._data = None if data is None else ray.put(data)  # once, shared by every task
        self._refs: dict[Any, str] = {}

    def submit(self, job: Job) -> None:
        data = self._data if "data" in job.definition else None
        ref = self._remote.options(**ray_options(job, self.retries), name=job.id).remote(
            job.to_dict(), self.folder, data
        )
        self._refs[ref] = job.id

    def wait(self, timeout: float) -> list[tuple[str, dict[str, Any]]]:
        if not self._refs:
            return []
        ray = self.ray
        ready, _ = ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        if ready:  # and whatever else is finished by now
            ready, _ = ray.wait(list(self._refs), num_returns=len(self._refs), timeout=0)
        out = []
        for ref in ready:
            job_id = self._refs.pop(ref)
            try:
                out.append((job_id, ray.get(ref)))
            except ray.exceptions.RayError as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                out.append((job_id, _lost(job_id, f"Ray: {type(exc).__name__}: {first}")))
        return out

    def close(self) -> None:
        for ref in list(self._refs):
            # A task already finished or gone with its worker has nothing to stop.
            with contextlib.suppress(Exception):
                self.ray.cancel(ref, force=True)
        self._refs.clear()
        if self._started_ray:
            self.ray.shutdown()
