"""Grids of runs: many models x analyses x seeds, on local worker processes or a Ray cluster,
with a SQLite results store per grid folder and a leaderboard.

    from fragility import grid
    spec = grid.load("digits-small")          # a packaged grid, or a path to a .toml file
    outcome = grid.run(spec, "runs/digits-small", workers=2)
    board = grid.leaderboard("runs/digits-small")

- `spec`: grid files (TOML), validated strictly with file:line errors;
- `jobs`: the jobs a grid makes, their dependencies and settings hashes;
- `analyses`: the thin adapters from a job to the library's public functions;
- `worker`, `executors`: one job in a worker process; local processes and Ray tasks;
- `store`: the SQLite results store; `run`: the coordinator (resume, retries, progress);
- `leaderboard`: models ranked by what the grid measured, as a page, CSV and JSON.
"""

from fragility.grid.spec import GridError, GridSpec, load, loads, packaged_names

__all__ = ["GridError", "GridSpec", "load", "loads", "packaged_names", "run"]


def run(*args, **kwargs):  # type: ignore[no-untyped-def]
    """`fragility.grid.run.run`: run a grid into a folder (see there)."""
    from fragility.grid.run import run as _run

    return _run(*args, **kwargs)
