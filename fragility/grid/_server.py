"""The process local workers are forked from: started once, with torch and the analyses
imported, so a worker starts in milliseconds. Importing this module imports nothing heavy, so
the command line can start the server first and let it import torch while it reads the grid.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import forkserver
from typing import Any

# The analyses' modules, imported once in the server every local worker is forked from.
PRELOAD = (
    "fragility.grid.worker",
    "fragility.attacks",
    "fragility.garbage",
    "fragility.corruptions",
    "fragility.inversion",
    "fragility.shortcut",
    "fragility.metrics",
)


def context() -> Any:
    """multiprocessing's forkserver context, its server preloading PRELOAD."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(PRELOAD))
    return ctx


def start() -> None:
    """Start the server now (it imports in the background); later pools reuse it."""
    context()
    forkserver.ensure_running()
