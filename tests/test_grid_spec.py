"""Grid files: validated as strictly as scenario files, and the jobs they make."""

from __future__ import annotations

from pathlib import Path

import pytest

from fragility import grid
from fragility.grid import jobs as jobs_mod
from fragility.grid.executors import ray_options
from fragility.grid.spec import GridError

BASE = """\
name = "t"
seeds = [0, 1]

[[models]]
name = "mlp"
lecture = { kind = "mlp", hidden = [8, 8] }
train = { epochs = 2 }

[[analyses]]
kind = "attack"
epsilons = [0.1]
steps = 3
n = 20
"""


def error(text: str, folder: Path | None = None) -> str:
    with pytest.raises(GridError) as exc:
        grid.loads(text, "g.toml", folder)
    return str(exc.value)


def test_the_packaged_grid_makes_twelve_jobs_each_analysis_after_its_models_training():
    g = grid.load("digits-small")
    assert g.name == "digits-small" and "digits-small" in grid.packaged_names()
    jobs = jobs_mod.plan(g)
    assert len(jobs) == 12
    kinds = [j.kind for j in jobs]
    assert kinds.count("train") == 4 and kinds.count("attack") == 4
    assert kinds.count("garbage") == 4
    by_id = {j.id: j for j in jobs}
    for j in jobs:
        if j.kind != "train":
            assert j.after == (f"{j.model}/s0/train",)
            assert by_id[j.after[0]].kind == "train"
    assert len({j.settings_hash for j in jobs}) == 12


def test_unknown_keys_are_errors_with_file_line_and_a_suggestion():
    msg = error(BASE.replace("steps = 3", "stepz = 3"))
    assert msg.startswith("g.toml:12: analyses[0].stepz: unknown key (did you mean steps?)")
    msg = error(BASE.replace('kind = "mlp", hidden', 'kind = "mlp", hiden'))
    assert msg.startswith("g.toml:6: models[0].lecture.hiden: unknown key (did you mean hidden?)")
    msg = error("seedz = [1]\n" + BASE)
    assert msg.startswith("g.toml:1: seedz: unknown key (did you mean seeds?)")


def test_wrong_values_name_their_key_and_line():
    assert error(BASE.replace("epsilons = [0.1]", "epsilons = [0.1, 2.0]")).startswith(
        "g.toml:11: analyses[0].epsilons: Linf budgets lie from 0 to 1"
    )
    assert "g.toml:12: analyses[0].steps: expected a whole number" in error(
        BASE.replace("steps = 3", 'steps = "three"')
    )
    msg = error(BASE.replace('kind = "attack"', 'kind = "atack"'))
    assert msg.startswith("g.toml:10: analyses[0].kind: expected one of")
    assert "(did you mean attack?)" in msg
    assert "seeds: lists a value twice" in error(BASE.replace("[0, 1]", "[1, 1]"))
    assert "g.toml:7: models[0].train.epochs: 0 is out of range" in error(
        BASE.replace("epochs = 2", "epochs = 0")
    )
    assert "not valid TOML" in error(BASE + "[[models]\n")


def test_a_model_is_exactly_one_kind_of_source_and_its_files_must_exist(tmp_path):
    both = BASE.replace("train = { epochs = 2 }", 'checkpoint = "runs/x"')
    assert "give exactly one of lecture, checkpoint, factory or arch" in error(both)
    missing = BASE.replace(
        'lecture = { kind = "mlp", hidden = [8, 8] }\ntrain = { epochs = 2 }',
        'factory = "net.py:build"\nweights = "net.safetensors"',
    )
    msg = error(missing, tmp_path)
    assert msg.startswith("g.toml:6: models[0].factory: no file 'net.py'")
    (tmp_path / "net.py").write_text("def build():\n    pass\n")
    msg = error(missing, tmp_path)
    assert msg.startswith("g.toml:7: models[0].weights: no file 'net.safetensors'")
    (tmp_path / "net.safetensors").write_bytes(b"")
    g = grid.loads(missing, "g.toml", tmp_path)
    source = g.models[0].source
    assert source is not None and source.factory == f"{tmp_path / 'net.py'}:build"
    assert "does not apply to a lecture model" in error(
        BASE.replace("train = { epochs = 2 }", 'weights = "w.safetensors"')
    )


def test_analyses_choose_models_by_name_and_lecture_only_analyses_refuse_others(tmp_path):
    (tmp_path / "net.py").write_text("def build():\n    pass\n")
    two = BASE + '\n[[models]]\nname = "ext"\nfactory = "net.py:build"\n'
    shortcut = two + '\n[[analyses]]\nkind = "shortcut"\n'
    assert "shortcut retrains the network, so it runs on lecture models only" in error(
        shortcut, tmp_path
    )
    g = grid.loads(shortcut + 'models = ["mlp"]\n', "g.toml", tmp_path)
    jobs = jobs_mod.plan(g)
    assert {j.id for j in jobs if j.kind == "shortcut"} == {"mlp/s0/shortcut", "mlp/s1/shortcut"}
    assert [j.kind for j in jobs if j.model == "ext"] == ["evaluate", "attack"] * 2
    assert "no model named 'mlp2' (did you mean mlp?)" in error(
        shortcut + 'models = ["mlp2"]\n', tmp_path
    )
    retrain = two + '\n[[analyses]]\nkind = "garbage"\nmethods = ["survey", "retrain"]\n'
    assert "retrain trains the network again" in error(retrain, tmp_path)
    dup = BASE + '\n[[analyses]]\nkind = "attack"\n'
    assert "a second analysis named 'attack'; give one a name = ..." in error(dup)


def test_scenario_analyses_split_into_chunks_of_whole_blocks_and_a_merge():
    text = (
        '[[analyses]]\nkind = "scenario"\nname = "mc"\nscenario = "tempe-2018-monte-carlo"\n'
        "runs = 10000\nchunk_runs = 4096\n"
    )
    g = grid.loads(text, "g.toml")
    jobs = jobs_mod.plan(g, {"mc": 10000})
    chunks = [j for j in jobs if j.kind == "scenario-chunk"]
    assert [j.definition["chunk"]["part"] for j in chunks] == [[0, 1], [1, 2], [2, 3]]
    merge = jobs[-1]
    assert merge.kind == "scenario" and merge.after == tuple(j.id for j in chunks)
    assert "not a multiple of 4096" in error(text.replace("4096", "5000"))


def test_the_settings_hash_follows_what_fixes_the_result_and_not_the_cache_option():
    a = jobs_mod.plan(grid.loads(BASE, "g.toml"))
    b = jobs_mod.plan(grid.loads("cache = false\n" + BASE, "g.toml"))
    c = jobs_mod.plan(grid.loads(BASE.replace("steps = 3", "steps = 4"), "g.toml"))
    assert [j.settings_hash for j in a] == [j.settings_hash for j in b]
    assert b[0].definition["options"] == {"cache": False}
    changed = [x.id for x, y in zip(a, c, strict=True) if x.settings_hash != y.settings_hash]
    assert changed == ["mlp/s0/attack", "mlp/s1/attack"]


def test_cuda_jobs_declare_a_gpu_to_ray_and_cpu_jobs_do_not():
    g = grid.loads(BASE.replace("train = { epochs = 2 }", 'device = "cuda"'), "g.toml")
    jobs = jobs_mod.plan(g)
    assert all(j.device == "cuda" for j in jobs)
    assert ray_options(jobs[0], 2) == {"num_cpus": 1, "num_gpus": 1, "max_retries": 2}
    cpu = jobs_mod.plan(grid.loads(BASE, "g.toml"))[0]
    assert ray_options(cpu, 0) == {"num_cpus": 1, "num_gpus": 0, "max_retries": 0}


def test_the_attack_command_names_the_attacks_grids_build():
    from fragility.attacks import named
    from fragility.cli import attack

    assert attack.ATTACKS == named.ATTACKS
    assert attack.DEFAULT_EPS == named.DEFAULT_EPS
