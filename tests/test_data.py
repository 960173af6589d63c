from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch
from idx import fake_mnist, write_idx

from fragility import data
from fragility.errors import ConfigError, DataError


def test_digits_shapes_split_and_range(digits):
    assert digits.x_train.shape == (1347, 1, 8, 8)
    assert digits.x_test.shape == (450, 1, 8, 8)
    assert digits.x_train.dtype == torch.float32 and digits.y_train.dtype == torch.int64
    assert float(digits.x_train.min()) == 0.0 and float(digits.x_train.max()) == 1.0
    assert digits.class_names == tuple("0123456789")
    # Stratified: each class's share of the test set is within one image of its overall share.
    counts_test = torch.bincount(digits.y_test, minlength=10)
    counts_all = torch.bincount(torch.cat([digits.y_train, digits.y_test]), minlength=10)
    assert torch.all((counts_test - counts_all * 0.25).abs() <= 1)


def test_digits_split_is_seeded(digits):
    again = data.load("digits")
    other = data.load("digits", seed=1)
    assert torch.equal(again.x_train, digits.x_train) and again.hash == digits.hash
    assert not torch.equal(other.y_test, digits.y_test) and other.hash != digits.hash


def test_resize_keeps_range_and_antialiases():
    bundle = data.load("digits", size=28)
    assert bundle.x_train.shape[1:] == (1, 28, 28)
    assert float(bundle.x_train.min()) >= 0.0 and float(bundle.x_train.max()) <= 1.0
    # Down-sampling a one-pixel checkerboard with antialiasing averages it to grey.
    board = (torch.arange(32)[:, None] + torch.arange(32)[None, :]) % 2
    small = data.resize(board.float()[None, None], 8)
    assert torch.allclose(small, torch.full_like(small, 0.5), atol=0.02)


@pytest.mark.parametrize("gz", [False, True])
def test_flat_idx_folder(tmp_path, gz):
    arrays = fake_mnist(tmp_path, gz=gz)
    bundle = data.load("mnist", root=tmp_path)
    assert bundle.x_train.shape == (60, 1, 28, 28) and bundle.x_test.shape == (20, 1, 28, 28)
    expected = torch.from_numpy(arrays["train-images-idx3-ubyte"]).float() / 255
    assert torch.equal(bundle.x_train[:, 0], expected)
    assert bundle.y_test.tolist() == list(np.arange(20) % 10)
    assert bundle.source == str(tmp_path)


def test_torchvision_layout_goes_through_torchvision(tmp_path, monkeypatch):
    import torchvision.datasets

    real, roots = torchvision.datasets.FashionMNIST, []

    def spy(root, **kwargs):
        roots.append(root)
        return real(root, **kwargs)

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", spy)
    arrays = fake_mnist(tmp_path / "FashionMNIST" / "raw")
    bundle = data.load("fashion-mnist", root=tmp_path)
    assert roots == [str(tmp_path), str(tmp_path)]  # train and test, through torchvision
    assert bundle.class_names[0] == "T-shirt/top"
    expected = torch.from_numpy(arrays["t10k-images-idx3-ubyte"]).float() / 255
    assert torch.equal(bundle.x_test[:, 0], expected)
    assert bundle.source.endswith("FashionMNIST/raw")


def test_emnist_images_are_transposed_upright(tmp_path):
    names = tuple(
        f"emnist-digits-{s}-{k}-idx{d}-ubyte"
        for s in ("train", "test")
        for k, d in (("images", 3), ("labels", 1))
    )
    arrays = fake_mnist(tmp_path, names=names, gz=True)
    bundle = data.load("emnist-digits", root=tmp_path)
    raw = torch.from_numpy(arrays[names[0]]).float() / 255
    assert torch.equal(bundle.x_train[:, 0], raw.transpose(1, 2))


def test_same_files_same_hash_and_size_changes_it(tmp_path):
    fake_mnist(tmp_path)
    a, b = data.load("mnist", root=tmp_path), data.load("mnist", root=tmp_path)
    assert a.hash == b.hash
    assert data.load("mnist", root=tmp_path, size=16).hash != a.hash


def test_truncated_idx_names_the_file(tmp_path):
    fake_mnist(tmp_path, gz=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(
        DataError, match=r"train-images-idx3-ubyte\.gz is truncated.*fetch the file again"
    ):
        data.load("mnist", root=tmp_path)


def test_truncated_file_in_torchvision_layout_is_a_clear_error(tmp_path):
    folder = tmp_path / "MNIST" / "raw"
    fake_mnist(folder)
    (folder / "t10k-labels-idx1-ubyte").write_bytes(
        (folder / "t10k-labels-idx1-ubyte").read_bytes()[:10]
    )
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        data.load("mnist", root=tmp_path)


def test_wrong_magic(tmp_path):
    fake_mnist(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(DataError, match=r"not an IDX file.*wrong magic"):
        data.load("mnist", root=tmp_path)


def test_labels_from_another_dataset(tmp_path):
    fake_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.full(60, 42, dtype=np.uint8))
    with pytest.raises(DataError, match="labels run from 42 to 42"):
        data.load("mnist", root=tmp_path)


def test_missing_dataset_says_how_to_get_it(tmp_path):
    with pytest.raises(DataError, match=r"kmnist not found in .*--download"):
        data.load("kmnist", root=tmp_path)
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        data.load("fashion-mnist", root=tmp_path)


def test_unknown_name_lists_known():
    with pytest.raises(DataError, match="known datasets: digits, mnist, fashion-mnist"):
        data.load("cifar")


def test_bad_size():
    with pytest.raises(DataError, match="--size 2 is out of range"):
        data.load("digits", size=2)


def test_read_idx_roundtrip_dtypes(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "x", a)
    assert np.array_equal(data.read_idx(tmp_path / "x"), a)


def test_usps_goes_through_torchvision(tmp_path):
    import bz2

    def libsvm(n: int, seed: int) -> bytes:
        rng = np.random.default_rng(seed)
        lines = []
        for i in range(n):
            values = rng.uniform(-1, 1, 256)
            feats = " ".join(f"{j + 1}:{v:.6f}" for j, v in enumerate(values))
            lines.append(f"{i % 10 + 1} {feats}")
        return ("\n".join(lines) + "\n").encode()

    (tmp_path / "usps.bz2").write_bytes(bz2.compress(libsvm(30, 0)))
    (tmp_path / "usps.t.bz2").write_bytes(bz2.compress(libsvm(10, 1)))
    bundle = data.load("usps", root=tmp_path)
    assert bundle.x_train.shape == (30, 1, 16, 16) and bundle.x_test.shape == (10, 1, 16, 16)
    assert bundle.y_train[:3].tolist() == [0, 1, 2]  # USPS labels 1..10 become 0..9
    assert float(bundle.x_train.min()) >= 0 and float(bundle.x_train.max()) <= 1


def test_download_asks_torchvision_to_download(tmp_path, monkeypatch):
    import torchvision.datasets

    calls = []

    class FakeKMNIST:
        def __init__(self, root, train=True, download=False):
            calls.append((root, train, download))
            n = 12 if train else 4
            self.data = torch.zeros(n, 28, 28, dtype=torch.uint8)
            self.targets = torch.arange(n) % 10

    monkeypatch.setattr(torchvision.datasets, "KMNIST", FakeKMNIST)
    bundle = data.load("kmnist", root=tmp_path, download=True)
    assert calls == [(str(tmp_path), True, True), (str(tmp_path), False, True)]
    assert bundle.x_train.shape == (12, 1, 28, 28) and bundle.class_names[1] == "ki"


def test_torchvision_failure_is_a_data_error(tmp_path, monkeypatch):
    import torchvision.datasets

    class Offline:
        def __init__(self, *a, **k):
            raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nno network")

    monkeypatch.setattr(torchvision.datasets, "MNIST", Offline)
    with pytest.raises(DataError, match=r"torchvision could not load mnist .*Error downloading"):
        data.load("mnist", root=tmp_path, download=True)


def test_subset_is_stratified_seeded_and_hashed_apart(digits):
    small = data.subset(digits, 300, 100, seed=1)
    assert 295 <= len(small.y_train) <= 305 and 95 <= len(small.y_test) <= 105
    full = torch.bincount(digits.y_train, minlength=10).double() / len(digits.y_train)
    part = torch.bincount(small.y_train, minlength=10).double() / len(small.y_train)
    assert float((full - part).abs().max()) < 0.01
    # Every image of the subset is one of the originals, with its own label.
    rows = {
        tuple(x.flatten().tolist()): int(y)
        for x, y in zip(digits.x_train, digits.y_train, strict=True)
    }
    assert all(
        rows[tuple(x.flatten().tolist())] == int(y)
        for x, y in zip(small.x_train, small.y_train, strict=True)
    )
    again = data.subset(digits, 300, 100, seed=1)
    assert torch.equal(small.x_train, again.x_train) and small.hash == again.hash
    assert small.hash != digits.hash != data.subset(digits, 300, 100, seed=2).hash
    assert data.subset(digits, 10**6, 10**6).x_train.shape == digits.x_train.shape


def test_subset_of_nothing_is_an_error(digits):
    with pytest.raises(ConfigError, match="at least one image"):
        data.subset(digits, 0, 10)
