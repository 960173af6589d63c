"""Model sources: factories with weights, torchvision architectures, normalisation, and weights
files that are read without ever running code from them."""

from __future__ import annotations

import pickle
import textwrap

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from fragility import sources
from fragility.errors import CheckpointError, ConfigError
from fragility.sources import ModelSource, Normalized

NET = textwrap.dedent(
    """
    from torch import nn

    def build(width=8, classes=3):
        return nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
            nn.Flatten(), nn.Linear(width, classes),
        )

    def broken():
        raise RuntimeError("no GPU here")

    def not_a_model():
        return 42
    """
)


@pytest.fixture
def net_py(tmp_path):
    path = tmp_path / "net.py"
    path.write_text(NET)
    return path


def _reference(width=8, classes=3, seed=1):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, width, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(width, classes),
    )


def test_factory_with_safetensors_weights_gives_the_same_outputs(net_py, tmp_path):
    ref = _reference(width=4).eval()
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, tmp_path / "w.safetensors")
    src = ModelSource(
        "factory",
        factory=f"{net_py}:build",
        factory_args={"width": 4},
        weights=str(tmp_path / "w.safetensors"),
    )
    loaded = sources.load(src)
    x = torch.rand(5, 3, 8, 8)
    assert torch.equal(loaded.model(x), ref(x))
    assert not loaded.model.training
    assert src.name == "net.build"
    assert loaded.weights_hash == sources.weights_hash(ref.state_dict())


def test_pt_state_dict_wrapped_and_from_data_parallel_is_accepted(net_py, tmp_path):
    ref = _reference().eval()
    wrapped = {"epoch": 3, "state_dict": {f"module.{k}": v for k, v in ref.state_dict().items()}}
    torch.save(wrapped, tmp_path / "w.pt")
    loaded = sources.load(
        ModelSource("factory", factory=f"{net_py}:build", weights=str(tmp_path / "w.pt"))
    )
    x = torch.rand(2, 3, 8, 8)
    assert torch.equal(loaded.model(x), ref(x))


class _Payload:
    def __reduce__(self):
        import os

        return (os.system, ("touch PWNED",))


def test_a_malicious_pickle_is_refused_and_never_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open(tmp_path / "evil.pt", "wb") as f:
        pickle.dump({"fc.weight": _Payload()}, f)
    with pytest.raises(CheckpointError, match="never unpickles code") as err:
        sources.load_weights(tmp_path / "evil.pt")
    assert "safetensors" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "PWNED").exists()


def test_a_whole_pickled_model_is_refused_with_how_to_convert(tmp_path):
    torch.save(_reference(), tmp_path / "whole.pth")
    with pytest.raises(CheckpointError, match="save its state dict with safetensors"):
        sources.load_weights(tmp_path / "whole.pth")


def test_weights_that_do_not_fit_name_what_is_wrong(net_py, tmp_path):
    save_file({"0.weight": torch.zeros(8, 1, 3, 3)}, tmp_path / "w.safetensors")
    src = ModelSource("factory", factory=f"{net_py}:build", weights=str(tmp_path / "w.safetensors"))
    with pytest.raises(CheckpointError, match=r"missing 0.bias, 4.bias, 4.weight; 0.weight is"):
        sources.load(src)


def test_a_safetensors_file_that_is_not_one_is_refused(tmp_path):
    (tmp_path / "w.safetensors").write_bytes(b"\x80\x04not really")
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        sources.load_weights(tmp_path / "w.safetensors")


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        ("net.py", "must be FILE.py:FUNCTION"),
        ("{dir}/missing.py:build", "no file"),
        ("{dir}/net.py:nothing", "has no function nothing"),
        ("{dir}/net.py:broken", "raised RuntimeError: no GPU here"),
        ("{dir}/net.py:not_a_model", "returned a int, not a torch.nn.Module"),
        ("no_such_package_xyz.models:build", "cannot import no_such_package_xyz.models"),
    ],
)
def test_factory_errors_are_one_line(net_py, factory, message):
    with pytest.raises(ConfigError, match=message) as err:
        sources.load(ModelSource("factory", factory=factory.format(dir=net_py.parent)))
    assert "\n" not in str(err.value)


def test_a_package_module_factory(net_py, monkeypatch):
    monkeypatch.syspath_prepend(str(net_py.parent))
    model = sources.load(ModelSource("factory", factory="net:build")).model
    assert model(torch.rand(1, 3, 4, 4)).shape == (1, 3)


def test_torchvision_architecture_with_weights(tmp_path):
    import torchvision

    torch.manual_seed(0)
    ref = torchvision.models.get_model("resnet18", weights=None, num_classes=10).eval()
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, tmp_path / "r.safetensors")
    loaded = sources.load(
        ModelSource(
            "torchvision", arch="resnet18", num_classes=10, weights=str(tmp_path / "r.safetensors")
        )
    )
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(loaded.model(x), ref(x))
    with pytest.raises(ConfigError, match="needs --num-classes"):
        ModelSource("torchvision", arch="resnet18")
    with pytest.raises(ConfigError, match="torchvision has no architecture 'resnet19'"):
        sources.load(ModelSource("torchvision", arch="resnet19", num_classes=10))


def test_normalized_equals_normalising_by_hand():
    inner = _reference().eval()
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.5)
    model = Normalized(inner, mean, std)
    x = torch.rand(3, 3, 8, 8)
    by_hand = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    assert torch.allclose(model(x), inner(by_hand))
    with pytest.raises(ConfigError, match="gives 3 channel"):
        model(torch.rand(1, 1, 8, 8))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0.5,0.5", "expects MEAN"),
        ("0.5,a:0.2,0.2", "expects MEAN"),
        ("0.5,0.5:0.2", "as many means as standard deviations"),
        ("0.5:0", "positive standard deviations"),
        ("nan:1", "finite means"),
    ],
)
def test_bad_normalize(text, message):
    with pytest.raises(ConfigError, match=message):
        ModelSource(
            "torchvision", arch="resnet18", num_classes=10, normalize=sources.parse_normalize(text)
        )


def test_source_round_trips_and_rejects_unknown_settings(net_py):
    src = ModelSource(
        "factory",
        name="mine",
        factory=f"{net_py}:build",
        factory_args={"width": 4},
        normalize=((0.5, 0.5, 0.5), (0.2, 0.2, 0.2)),
    )
    assert ModelSource.from_dict(src.to_dict()) == src
    with pytest.raises(ConfigError, match="unknown model source setting"):
        ModelSource.from_dict({"kind": "factory", "factory": "a.py:b", "wieghts": "x"})
    with pytest.raises(ConfigError, match="must be a JSON object"):
        sources.parse_factory_args("[1, 2]")


def test_check_fits_says_what_is_wrong(net_py):
    model = sources.load(ModelSource("factory", factory=f"{net_py}:build")).model
    sources.check_fits(model, (3, 8, 8), 3, "net")
    with pytest.raises(ConfigError, match="scores 3 classes but the data has 10"):
        sources.check_fits(model, (3, 8, 8), 10, "net")
    with pytest.raises(ConfigError, match=r"cannot take images of shape \(1, 8, 8\)"):
        sources.check_fits(model, (1, 8, 8), 3, "net")


def test_initial_model_rebuilds_the_architecture_before_training(net_py):
    src = ModelSource("factory", factory=f"{net_py}:build", normalize=((0.5,) * 3, (0.2,) * 3))
    trained = sources.load(src).model
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(1.0)
    fresh = sources.initial_model(src, trained, seed=3)
    torch.manual_seed(3)
    expected = _reference_factory(net_py)
    assert isinstance(fresh, Normalized)
    want = expected.state_dict()
    assert list(fresh.model.state_dict()) == list(want)
    assert all(torch.equal(v, want[k]) for k, v in fresh.model.state_dict().items())
    # Any module: a copy with each layer's reset_parameters, seeded; the original untouched.
    before = {k: v.clone() for k, v in trained.state_dict().items()}
    again = sources.initial_model(None, trained, seed=3)
    assert all(torch.equal(v, trained.state_dict()[k]) for k, v in before.items())
    copy_a, copy_b = again.state_dict(), sources.initial_model(None, trained, seed=3).state_dict()
    assert all(torch.equal(copy_a[k], copy_b[k]) for k in copy_a)  # same seed, same weights
    assert not torch.equal(copy_a["model.0.weight"], before["model.0.weight"])
    assert torch.equal(copy_a["mean"], before["mean"])  # buffers are not parameters


def _reference_factory(net_py):
    return sources.import_factory(f"{net_py}:build")()
