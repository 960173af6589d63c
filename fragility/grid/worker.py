"""One job in a worker process: one intra-op thread, a log file, the outcome as plain data.

`execute` is what every executor runs (a local worker process or a Ray task). It never raises
for a job's own failure: an error a user can cause comes back as its one-line message, a bug
as its type and first line with the traceback in the job's log, so the coordinator decides
about retries the same way whatever ran the job.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

from fragility import threads, train
from fragility._io import to_json
from fragility.data import DataBundle
from fragility.errors import FragilityError
from fragility.grid import analyses
from fragility.grid.jobs import Job

_DATA: dict[str, DataBundle] = {}  # per process: each dataset is loaded once


def init_local_worker(environ: dict[str, str]) -> None:
    """A local worker takes the coordinator's FRAGILITY_* settings (the model cache, the data
    folder: its process was forked from a server started earlier), computes on one intra-op
    thread, so N workers use N cores, and leaves Ctrl-C to the coordinator, which stops it."""
    for name in [k for k in os.environ if k.startswith("FRAGILITY_")]:
        del os.environ[name]
    os.environ.update(environ)
    threads.configure(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def ready() -> int:
    """Nothing: submitted once per worker so the processes start before the first job."""
    return os.getpid()


def _data(job: Job, given: DataBundle | None) -> DataBundle | None:
    record = job.definition.get("data")
    if record is None:
        return None
    if given is not None:
        return given
    key = json.dumps(record, sort_keys=True)
    if key not in _DATA:
        _DATA[key] = analyses.load_data(record)
    return _DATA[key]


def execute(
    job_dict: dict[str, Any], folder: str, data: DataBundle | None = None, gpu: int | None = None
) -> dict[str, Any]:
    """Run one job (a `Job.to_dict()`) with the grid folder `folder`; `data` is the job's
    dataset when the executor shares one (Ray's object store), else it is loaded here; `gpu`
    is the GPU a local CUDA job was given (Ray gives a task its GPU itself)."""
    threads.configure(1)  # Ray tasks have no initializer; the same rule as local workers
    if gpu is not None:
        import torch

        torch.cuda.set_device(gpu)  # "cuda" in this process is now that GPU
    job = Job.from_dict(job_dict)
    root = Path(folder)
    log_path = root / "logs" / f"{job.path}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    started, t0 = time.time(), time.perf_counter()
    outcome: dict[str, Any]
    with open(log_path, "a", encoding="utf-8") as log, warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("default")
        log.write(f"== {job.id}: started {time.strftime('%Y-%m-%d %H:%M:%S')} on {worker}\n")
        log.write(f"definition: {json.dumps(job.definition, sort_keys=True)}\n")
        log.flush()
        try:
            bundle = _data(job, data)
            ctx = analyses.Context(job, bundle, root, train.resolve_device(job.device))
            out = analyses.run(ctx)
            outcome = {
                "status": "done",
                "result": to_json(out.result),
                "artefacts": list(out.artefacts),
                "weights_hash": out.weights_hash,
                "data_hash": None if bundle is None else bundle.hash,
            }
        except FragilityError as exc:
            outcome = {"status": "failed", "error": str(exc)}
        except Exception as exc:  # a bug: its first line here, the traceback in the log
            first = str(exc).splitlines()[0] if str(exc) else ""
            outcome = {"status": "failed", "error": f"{type(exc).__name__}: {first}".rstrip(": ")}
            log.write(traceback.format_exc())
        seconds = time.perf_counter() - t0
        for w in seen:
            log.write(f"warning: {w.category.__name__}: {w.message}\n")
        if outcome["status"] == "done":
            log.write(f"done in {seconds:.2f} s\n")
        else:
            log.write(f"failed after {seconds:.2f} s: {outcome['error']}\n")
    return {
        **outcome,
        "id": job.id,
        "worker": worker,
        "started": started,
        "finished": time.time(),
        "seconds": seconds,
    }
