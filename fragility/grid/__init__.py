"""Grids of runs: many models x analyses x seeds, on local worker processes or a Ray cluster,
with a SQLite results store per grid folder and a leaderboard.

    from fragility import grid
    from fragility.grid import leaderboard

    spec = grid.load("digits-small")          # a packaged grid, or a path to a .toml file
    outcome = grid.run(spec, "runs/digits-small", workers=2)   # under `if __name__ == ...`
    board = leaderboard.build_from("runs/digits-small")

- `spec`: grid files (TOML), validated strictly with file:line errors;
- `jobs`: the jobs a grid makes, their dependencies and settings hashes;
- `analyses`: the thin adapters from a job to the library's public functions;
- `worker`, `executors`: one job in a worker process; local processes and Ray tasks;
- `store`: the SQLite results store; `coordinator`: `run`, with resume, retries, progress;
- `leaderboard`: models ranked by what the grid measured, as a page, CSV and JSON.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GridError", "GridSpec", "load", "loads", "packaged_names", "run"]


def __getattr__(name: str) -> Any:
    # Imported on first use: `fragility.grid._server` must load without torch.
    if name == "run":
        from fragility.grid.coordinator import run

        return run
    if name in __all__:
        from fragility.grid import spec

        return getattr(spec, name)
    raise AttributeError(f"module 'fragility.grid' has no attribute {name!r}")
