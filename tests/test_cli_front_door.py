"""What a new user meets first: a light --help, signals, progress in a log file."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from fragility._progress import ProgressLines, progress_bar

ROOT = Path(__file__).resolve().parents[1]


def _env(**extra: str) -> dict[str, str]:
    path = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": path, **extra}


# Runs main() on each argv in turn (inside one process) and reports whether torch was imported.
IMPORTS = textwrap.dedent(
    """
    import json, sys
    from fragility.cli import main

    codes = [main(argv) for argv in json.loads(sys.argv[1])]
    print(json.dumps({"codes": codes, "torch": "torch" in sys.modules}))
    """
)


def _imports(argvs: list[list[str]], cwd: Path) -> dict:
    import json

    p = subprocess.run(
        [sys.executable, "-c", IMPORTS, json.dumps(argvs)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=_env(),
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.splitlines()[-1])


def test_help_and_scenario_commands_do_not_import_torch(tmp_path):
    helps = [["--help"], ["--version"], ["scenario", "--help"], ["scenario", "run", "--help"]]
    assert _imports(helps, tmp_path) == {"codes": [0, 0, 0, 0], "torch": False}
    scenario = [
        ["scenario", "list"],
        ["scenario", "run", "persistent-tracking", "--no-gif", "--out", "run"],
        ["scenario", "explain", "tempe-2018"],
    ]
    assert _imports(scenario, tmp_path) == {"codes": [0, 0, 0], "torch": False}
    assert (tmp_path / "run" / "summary.json").is_file()
    # ... and a command that needs torch does import it, so the check above can fail.
    assert _imports([["neurons", "--json"]], tmp_path) == {"codes": [0], "torch": True}


def test_top_level_help_lists_every_command(capsys):
    from fragility.cli import COMMANDS, main

    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:  # a long name gets its help on the next line
        assert f"    {name} " in out or f"    {name}\n" in out


# Runs a command whose output folder write waits (inside atomic_dir) to be signalled.
SLOW_WRITE = textwrap.dedent(
    """
    import contextlib, sys, time
    from fragility import _io

    real = _io.atomic_dir

    @contextlib.contextmanager
    def slow(final):
        with real(final) as tmp:
            yield tmp
            print("writing", flush=True)
            time.sleep(60)

    _io.atomic_dir = slow
    from fragility.cli import main

    sys.exit(main(["scenario", "run", "tempe-2018", "--no-gif", "--out", sys.argv[1]]))
    """
)


def test_sigterm_during_a_write_leaves_the_previous_result_and_no_leftovers(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "previous.txt").write_text("kept")
    p = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITE, str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert p.stdout is not None and p.stdout.readline() == "writing\n"
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 143
    assert err == "fragility: terminated; earlier outputs were left as they were\n"
    assert sorted(os.listdir(tmp_path)) == ["out"]
    assert os.listdir(out) == ["previous.txt"]


def test_progress_lines_every_interval_with_the_time_left():
    now = [0.0]
    stream = io.StringIO()
    bar = ProgressLines(
        200, unit="batch", desc="train", interval_s=10, stream=stream, clock=lambda: now[0]
    )

    def batches(n: int) -> None:
        for _ in range(n):
            now[0] += 0.125
            bar.update()

    batches(79)  # 9.9 s: no line yet
    assert stream.getvalue() == ""
    batches(1)  # 10 s: 40 % done, 15 s left at this rate
    bar.set_postfix(epoch=3)
    batches(80)  # 20 s
    batches(40)  # 25 s: the loop ends between two lines
    bar.close()
    assert stream.getvalue().splitlines() == [
        "fragility: train 40 % (80 of 200 batches), 10 s so far, about 15 s left",
        "fragility: train 80 % (160 of 200 batches), 20 s so far, about 5 s left (epoch 3)",
        "fragility: train 100 % (200 of 200 batches), 25 s so far (epoch 3)",
    ]
    short = ProgressLines(5, stream=stream, clock=lambda: now[0])
    short.update(5)
    short.close()  # a loop shorter than the interval prints nothing
    assert len(stream.getvalue().splitlines()) == 3


def test_progress_without_a_terminal_is_lines_and_silent_when_not_asked(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal
    assert progress_bar(10, False) is None
    assert isinstance(progress_bar(10, True, unit="step", desc="x"), ProgressLines)


def test_missing_data_names_the_folders_searched(tmp_path, monkeypatch, capsys):
    from fragility.cli import main

    monkeypatch.setenv("FRAGILITY_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("FRAGILITY_DATA", raising=False)
    assert main(["data", "info", "mnist"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fragility: error: mnist not found in {tmp_path}/cache/data or ")
    assert "/usr/share/datasets/mnist;" in err
    monkeypatch.setenv("FRAGILITY_DATA", str(tmp_path / "data"))
    assert main(["data", "info", "kmnist"]) == 2
    assert f"kmnist not found in {tmp_path}/data;" in capsys.readouterr().err


def test_pdf_without_chromium_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    from fragility.cli import main

    monkeypatch.setenv("FRAGILITY_CHROMIUM", str(tmp_path / "no-chromium"))
    for argv in (
        ["report", "--pdf", "--out", str(tmp_path / "r")],
        ["scenario", "case-study", "--pdf", "--out", str(tmp_path / "c")],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("fragility: error: --pdf needs headless Chromium")
        assert err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
