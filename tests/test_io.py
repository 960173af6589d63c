"""fragility._io: atomic output folders under concurrent writers, crashes and bad paths."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fragility._io import atomic_dir, check_output_folder
from fragility.errors import FragilityError

# A writer process: `count` results into `out`, each two files carrying the same token, so a
# mixture of two results would show.
WRITER = textwrap.dedent(
    """
    import sys
    from fragility._io import atomic_dir

    out, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for i in range(count):
        with atomic_dir(out) as tmp:
            token = f"{name}-{i}"
            (tmp / "a.txt").write_text(token)
            (tmp / "b.txt").write_text(token)
    """
)

# Enters atomic_dir, writes one file, says so, then waits to be killed.
HANG = textwrap.dedent(
    """
    import sys, time
    from fragility._io import atomic_dir

    with atomic_dir(sys.argv[1]) as tmp:
        (tmp / "a.txt").write_text("partial")
        print("inside", flush=True)
        time.sleep(60)
    """
)


def _env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_three_processes_writing_the_same_folder_never_collide(tmp_path):
    out = tmp_path / "out"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(out), f"w{k}", "300"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for k in range(3)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
        assert err == ""
    assert sorted(os.listdir(tmp_path)) == ["out"]  # no .out.*.old, no .out.*.partial
    a, b = (out / "a.txt").read_text(), (out / "b.txt").read_text()
    assert a == b and a.endswith("-299")  # one complete result, the last of some writer
    assert sorted(os.listdir(out)) == ["a.txt", "b.txt"]


def _hang(out: Path) -> subprocess.Popen:
    p = subprocess.Popen(
        [sys.executable, "-c", HANG, str(out)], stdout=subprocess.PIPE, text=True, env=_env()
    )
    assert p.stdout is not None and p.stdout.readline() == "inside\n"
    return p


def test_leftovers_of_a_killed_writer_are_removed_by_the_next_write(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("first")
    p = _hang(out)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    left = [n for n in os.listdir(tmp_path) if n.endswith(".partial")]
    assert left == [n for n in left if n.startswith(f".out.{p.pid}.")] and len(left) == 1
    assert (out / "a.txt").read_text() == "first"  # the previous result is intact
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("second")
    assert sorted(os.listdir(tmp_path)) == ["out"]
    assert (out / "a.txt").read_text() == "second"


def test_a_live_writers_folder_is_left_alone(tmp_path):
    out = tmp_path / "out"
    p = _hang(out)
    try:
        with atomic_dir(out) as tmp:
            (tmp / "a.txt").write_text("mine")
        partial = [n for n in os.listdir(tmp_path) if n.endswith(".partial")]
        assert len(partial) == 1 and partial[0].startswith(f".out.{p.pid}.")
    finally:
        p.kill()
        p.wait(timeout=30)


def test_old_style_leftovers_go_after_an_hour(tmp_path):
    old = tmp_path / ".out.k2j4h5l1.partial"  # no process id: written by an older version
    new = tmp_path / ".out.q8w7e6r5.partial"
    for d in (old, new):
        d.mkdir()
    hours_ago = time.time() - 7200
    os.utime(old, (hours_ago, hours_ago))
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "a.txt").write_text("x")
    assert sorted(os.listdir(tmp_path)) == [".out.q8w7e6r5.partial", "out"]


def test_a_failed_block_leaves_the_previous_result(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("kept")
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("lost")
        raise RuntimeError
    assert os.listdir(tmp_path) == ["out"] and (out / "a.txt").read_text() == "kept"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("{file}", "exists and is not a folder"),
        ("{file}/below", "is a file, so --out"),
        (".", "names no new folder"),
        ("", "names no new folder"),
        ("/proc/fragility-test", "cannot write in /proc"),
        ("/proc/self/fragility/test", "cannot write in /proc/self"),
        ("{cwd}", "would replace the current folder"),
        ("{input}", "which this command needs"),
        ("{input}/..", "names no new folder"),
    ],
)
def test_check_output_folder_refuses_impossible_paths(tmp_path, monkeypatch, name, message):
    (tmp_path / "file").write_text("x")
    (tmp_path / "input").mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    path = name.format(file=tmp_path / "file", cwd=tmp_path, input=tmp_path / "input")
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(FragilityError, match=message):
        check_output_folder(path, keep=[tmp_path / "input"])
    assert sorted(os.listdir(tmp_path)) == before and os.listdir(work) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in a read-only folder")
def test_check_output_folder_refuses_a_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(FragilityError, match=r"cannot write in .*ro"):
            check_output_folder(ro / "out")
    finally:
        ro.chmod(0o755)


def test_check_output_folder_accepts_new_and_existing_folders(tmp_path):
    check_output_folder(tmp_path / "new" / "deeper")
    (tmp_path / "old").mkdir()
    check_output_folder(tmp_path / "old")
    assert sorted(os.listdir(tmp_path)) == ["old"]  # the probe leaves nothing
