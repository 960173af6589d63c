"""Atomic output: a run leaves the previous result or the new one, never half of one.

Only the writers named in the design use these (cli, report, train's checkpoints, the
scenario writers); analyses stay pure.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator, Sequence
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


def check_output_folder(final: str | os.PathLike, keep: Sequence[str | os.PathLike] = ()) -> None:
    """Refuse, before any work, an output folder that `atomic_dir` could not write.

    Refused: a path that names no folder ('.', '..', ''), an existing file, a path under a file,
    a folder the user may not write in (read-only, /proc, /sys: probed by creating and removing
    an empty folder, since root passes every permission test), and a folder that holds or is
    one of `keep` (the inputs of the command, or the current folder), which writing would
    replace. Nothing is left behind.
    """
    final = Path(final)
    if final.name in ("", ".", ".."):
        raise FragilityError(f"--out {str(final)!r} names no new folder; give a folder name")
    if _is_non_folder(final):
        raise FragilityError(f"{final} exists and is not a folder; choose another --out")
    target = final.absolute()
    cwd = Path.cwd()
    for inside in (cwd, *keep):
        inside = Path(inside).absolute()
        if inside == target or target in inside.parents:
            what = "the current folder" if inside == cwd else str(inside)
            raise FragilityError(
                f"--out {final} would replace {what}, which this command needs; "
                "choose another --out"
            )
    existing = target.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise FragilityError(
            f"{existing} is a file, so --out {final} cannot be made; choose another"
        )
    try:
        os.rmdir(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".probe", dir=existing))
    except OSError as exc:
        raise FragilityError(
            f"cannot write in {existing} ({exc.strerror or exc}); choose another --out"
        ) from None
    if final.is_dir() and not os.access(final, os.W_OK):
        raise FragilityError(f"{final} cannot be replaced (not writable); choose another --out")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except PermissionError:  # someone else's process
        return True
    except (ProcessLookupError, OverflowError):
        return False
    return True


def _is_non_folder(path: Path) -> bool:
    """Whether `path` exists and is not a folder, in one stat: exists() then is_dir() would race
    with another writer moving the old result aside in between."""
    try:
        return not stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:  # missing, or a path the next steps report in their own words
        return False


_STALE_S = 3600.0  # leftovers without a process id (older versions): removed after an hour


def _remove_leftovers(parent: Path, name: str) -> None:
    """Remove `.NAME.PID.*.partial` and `.NAME.PID.*.old` folders of processes that died in the
    middle of a write (SIGKILL, power loss), and id-less ones from older versions after an
    hour. Folders of live writers are left alone."""
    pattern = re.compile(rf"^\.{re.escape(name)}\.(?:(\d+)\.)?[^.]+\.(?:partial|old)$")
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        m = pattern.match(entry.name)
        if m is None:
            continue
        try:
            if m.group(1) is not None:
                pid = int(m.group(1))
                stale = pid != os.getpid() and not _pid_alive(pid)
            else:
                stale = now - entry.stat(follow_symlinks=False).st_mtime > _STALE_S
        except OSError:
            continue
        if stale:
            shutil.rmtree(entry.path, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside `final`; on success it replaces `final` in one step.

    If the block raises (or the process is interrupted), the temporary folder is removed and
    `final` is left as it was. Writers may race for the same `final`: each installs its folder
    by rename, moving aside whatever result is in the way and retrying, so `final` is always
    one complete result (the last to arrive), never a mixture and never an error. Temporary
    folders carry the writer's process id (`.NAME.PID.XXXX.partial`); the next write removes
    those of processes that died mid-write.
    """
    final = Path(final)
    parent = final.parent if str(final.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FragilityError(
            f"cannot create the output folder {parent}: {exc.strerror}; choose another --out"
        ) from exc
    if _is_non_folder(final):
        raise FragilityError(f"{final} exists and is not a folder; choose another --out")
    _remove_leftovers(parent, final.name)
    prefix = f".{final.name}.{os.getpid()}."
    try:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".partial", dir=parent))
    except OSError as exc:
        raise FragilityError(
            f"cannot write in {parent} ({exc.strerror or exc}); choose another --out"
        ) from exc
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the result should not be
    try:
        yield tmp
        _install(tmp, final, prefix)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _install(tmp: Path, final: Path, prefix: str, attempts: int = 1000) -> None:
    """Rename `tmp` to `final`; while another result is in the way, move it aside (to
    `.NAME.PID.XXXX.old`) and try again. The old results are deleted once `tmp` is in place."""
    old: list[Path] = []
    try:
        for _ in range(attempts):
            try:
                os.replace(tmp, final)  # succeeds onto a missing or empty folder
                break
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
            aside = final.parent / f"{prefix}{secrets.token_hex(4)}.old"
            try:
                os.rename(final, aside)
                old.append(aside)
            except FileNotFoundError:
                pass  # another writer moved it first; try again
        else:
            raise FragilityError(
                f"{final} was replaced by other writers {attempts} times in a row; try again"
            )
        _fsync_dir(final.parent)
    finally:
        for path in old:
            shutil.rmtree(path, ignore_errors=True)
