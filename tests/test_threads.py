"""The thread policy: one place decides, explicit choices win, the caller's count comes back."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fragility import threads
from fragility.errors import ConfigError


@pytest.fixture(autouse=True)
def _restore_policy():
    before_policy, before_threads = threads._policy, torch.get_num_threads()
    yield
    threads._policy = before_policy
    torch.set_num_threads(before_threads)


def test_explicit_count_beats_the_environment():
    env = {"FRAGILITY_THREADS": "3", "OMP_NUM_THREADS": "2"}
    assert threads.policy_from(1, env) == threads.Policy(1, "--threads")
    assert threads.policy_from(None, env) == threads.Policy(3, "FRAGILITY_THREADS")
    assert threads.policy_from(None, {"OMP_NUM_THREADS": "2"}) == threads.Policy(
        2, "OMP_NUM_THREADS"
    )
    assert threads.policy_from(None, {}) == threads.Policy(None, "auto")


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5"])
def test_a_bad_count_in_the_environment_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="OMP_NUM_THREADS must be a whole number"):
        threads.policy_from(None, {"OMP_NUM_THREADS": bad})


def test_macs_of_a_known_model():
    # conv 1->4, 3x3, padding 1 on 8x8: 64 outputs x 4 channels x 9; linear 256 -> 10
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Flatten(), nn.Linear(256, 10))
    assert threads.model_macs(model, (1, 8, 8)) == 64 * 4 * 9 + 256 * 10
    assert model.training  # sizing does not leave the model in eval mode


def test_small_work_gets_one_thread_and_the_callers_count_returns(monkeypatch):
    threads._policy = threads.Policy(None, "auto")
    torch.set_num_threads(2)
    with threads.for_work(1e6) as n:
        assert n == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_large_work_uses_every_core_only_when_the_machine_is_idle(monkeypatch):
    threads._policy = threads.Policy(None, "auto")
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(threads, "others_idle", lambda: True)
    assert threads.choose(10 * threads.LARGE_WORK_MACS) == 4
    monkeypatch.setattr(threads, "others_idle", lambda: False)
    assert threads.choose(10 * threads.LARGE_WORK_MACS) == 1


def test_a_fixed_count_applies_to_all_work_and_to_training():
    threads.configure(2)
    assert threads.choose(1.0) == 2 and threads.choose(1e12) == 2
    assert threads.for_training() == 2
    threads._policy = threads.Policy(None, "auto")
    assert threads.for_training() == 1


def test_the_model_cache_key_names_the_training_thread_count(digits):
    from fragility import models, train

    spec = models.default_spec("mlp", digits.input_shape)
    cfg = train.TrainConfig(epochs=1)
    threads._policy = threads.Policy(None, "auto")
    one = train.cache_key(spec, digits, cfg)
    threads._policy = threads.Policy(2, "--threads")
    assert train.cache_key(spec, digits, cfg) != one


def test_idle_sampling_answers_a_boolean():
    threads._idle_cache = None
    assert threads.others_idle() in (True, False)
