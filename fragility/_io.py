"""Atomic output: a run leaves the previous result or the new one, never half of one.

Only the writers named in the design use these (cli, report, train's checkpoints, the
scenario writers); analyses stay pure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fragility.errors import FragilityError


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def to_json(obj: Any) -> str:
    """JSON with stable key order and a trailing newline (diff-friendly, byte-reproducible)."""
    return json.dumps(obj, indent=2, sort_keys=True, allow_nan=False, default=_json_default) + "\n"


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "tolist"):  # numpy arrays and scalars, torch tensors
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside `final`; on success it replaces `final` in one step.

    If the block raises, the temporary folder is removed and `final` is left as it was.
    The old folder is moved aside and deleted only after the new one is in place.
    """
    final = Path(final)
    parent = final.parent if str(final.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FragilityError(
            f"cannot create the output folder {parent}: {exc.strerror}; choose another --out"
        ) from exc
    if final.exists() and not final.is_dir():
        raise FragilityError(f"{final} exists and is not a folder; choose another --out")
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the result should not be
    try:
        yield tmp
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=parent))
            os.replace(final, old / "x")
        os.replace(tmp, final)
        _fsync_dir(parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
