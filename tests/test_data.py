from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch
from idx import fake_mnist, write_idx

from fragility import data
from fragility.data import DataSource
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


def test_digits_split_is_seeded_by_the_split_seed_alone(digits):
    again = data.load("digits")
    other = data.load("digits", split_seed=1)
    assert torch.equal(again.x_train, digits.x_train) and again.hash == digits.hash
    assert not torch.equal(other.y_test, digits.y_test) and other.hash != digits.hash
    # The split of earlier versions (scikit-learn's train_test_split, random_state 0): the
    # default hash is unchanged, so default results and cached models stay as they were.
    assert digits.hash == "3ef9dc46d01a1863"
    assert digits.source == DataSource("digits") and digits.location == "scikit-learn (embedded)"


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
    bundle = data.load("mnist", folder=tmp_path)
    assert bundle.x_train.shape == (60, 1, 28, 28) and bundle.x_test.shape == (20, 1, 28, 28)
    expected = torch.from_numpy(arrays["train-images-idx3-ubyte"]).float() / 255
    assert torch.equal(bundle.x_train[:, 0], expected)
    assert bundle.y_test.tolist() == list(np.arange(20) % 10)
    assert bundle.location == str(tmp_path)


def test_torchvision_layout_goes_through_torchvision(tmp_path, monkeypatch):
    import torchvision.datasets

    real, roots = torchvision.datasets.FashionMNIST, []

    def spy(root, **kwargs):
        roots.append(root)
        return real(root, **kwargs)

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", spy)
    arrays = fake_mnist(tmp_path / "FashionMNIST" / "raw")
    bundle = data.load("fashion-mnist", folder=tmp_path)
    assert roots == [str(tmp_path), str(tmp_path)]  # train and test, through torchvision
    assert bundle.class_names[0] == "T-shirt/top"
    expected = torch.from_numpy(arrays["t10k-images-idx3-ubyte"]).float() / 255
    assert torch.equal(bundle.x_test[:, 0], expected)
    assert bundle.location.endswith("FashionMNIST/raw")


def test_emnist_images_are_transposed_upright(tmp_path):
    names = tuple(
        f"emnist-digits-{s}-{k}-idx{d}-ubyte"
        for s in ("train", "test")
        for k, d in (("images", 3), ("labels", 1))
    )
    arrays = fake_mnist(tmp_path, names=names, gz=True)
    bundle = data.load("emnist-digits", folder=tmp_path)
    raw = torch.from_numpy(arrays[names[0]]).float() / 255
    assert torch.equal(bundle.x_train[:, 0], raw.transpose(1, 2))


def test_same_files_same_hash_and_size_changes_it(tmp_path):
    fake_mnist(tmp_path)
    a, b = data.load("mnist", folder=tmp_path), data.load("mnist", folder=tmp_path)
    assert a.hash == b.hash
    assert data.load("mnist", folder=tmp_path, size=16).hash != a.hash


def test_truncated_idx_names_the_file(tmp_path):
    fake_mnist(tmp_path, gz=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(
        DataError, match=r"train-images-idx3-ubyte\.gz is truncated.*fetch the file again"
    ):
        data.load("mnist", folder=tmp_path)


def test_truncated_file_in_torchvision_layout_is_a_clear_error(tmp_path):
    folder = tmp_path / "MNIST" / "raw"
    fake_mnist(folder)
    (folder / "t10k-labels-idx1-ubyte").write_bytes(
        (folder / "t10k-labels-idx1-ubyte").read_bytes()[:10]
    )
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        data.load("mnist", folder=tmp_path)


def test_wrong_magic(tmp_path):
    fake_mnist(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(DataError, match=r"not an IDX file.*wrong magic"):
        data.load("mnist", folder=tmp_path)


def test_labels_from_another_dataset(tmp_path):
    fake_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.full(60, 42, dtype=np.uint8))
    with pytest.raises(DataError, match="labels run from 42 to 42"):
        data.load("mnist", folder=tmp_path)


def test_missing_dataset_says_how_to_get_it(tmp_path):
    with pytest.raises(DataError, match=r"kmnist not found in .*--download"):
        data.load("kmnist", folder=tmp_path)
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        data.load("fashion-mnist", folder=tmp_path)


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
    bundle = data.load("usps", folder=tmp_path)
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
    bundle = data.load("kmnist", folder=tmp_path, download=True)
    assert calls == [(str(tmp_path), True, True), (str(tmp_path), False, True)]
    assert bundle.x_train.shape == (12, 1, 28, 28) and bundle.class_names[1] == "ki"


def test_torchvision_failure_is_a_data_error(tmp_path, monkeypatch):
    import torchvision.datasets

    class Offline:
        def __init__(self, *a, **k):
            raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nno network")

    monkeypatch.setattr(torchvision.datasets, "MNIST", Offline)
    with pytest.raises(DataError, match=r"torchvision could not load mnist .*Error downloading"):
        data.load("mnist", folder=tmp_path, download=True)


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


# --- DataSource ---------------------------------------------------------------------------


def test_source_round_trips_and_records_an_absolute_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = DataSource("mnist", folder="here", size=16, split_seed=3, test_fraction=None, channels=3)
    assert s.folder == str(tmp_path / "here")
    d = s.to_dict()
    assert d == {
        "name": "mnist",
        "folder": str(tmp_path / "here"),
        "download": False,
        "size": 16,
        "split_seed": 3,
        "test_fraction": None,
        "channels": 3,
    }
    assert DataSource.from_dict(d) == s
    assert data.load(data.load("digits", size=12).source).hash == data.load("digits", size=12).hash


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": "cifar"}, DataError, "unknown dataset 'cifar'; known datasets: digits"),
        ({"size": 2}, DataError, "--size 2 is out of range"),
        ({"split_seed": -1}, ConfigError, "--split-seed -1 is out of range"),
        ({"test_fraction": 1.0}, ConfigError, "strictly between 0 and 1"),
        ({"channels": 2}, ConfigError, "--channels 2 must be 1 \\(grey\\) or 3"),
    ],
)
def test_source_validates(kwargs, error, message):
    with pytest.raises(error, match=message):
        DataSource(**kwargs)


def test_source_from_dict_refuses_unknown_keys():
    with pytest.raises(ConfigError, match=r"unknown data source key 'split_sed'.*'split_seed'"):
        DataSource.from_dict({"name": "digits", "split_sed": 1})


def test_source_from_an_older_checkpoint_record():
    old_digits = {"name": "digits", "source": "scikit-learn (embedded)", "size": 8, "hash": "x"}
    assert DataSource.from_record(old_digits, legacy_split_seed=4) == DataSource(
        "digits", size=8, split_seed=4
    )
    old_mnist = {"name": "mnist", "source": "/data/mnist", "size": 28}
    assert DataSource.from_record(old_mnist, legacy_split_seed=4) == DataSource(
        "mnist", folder="/data/mnist", size=28
    )


def test_options_go_inside_a_source():
    with pytest.raises(ConfigError, match="inside the DataSource"):
        data.load(DataSource("digits"), size=16)


def test_test_fraction_only_where_fragility_splits(tmp_path):
    fake_mnist(tmp_path)
    with pytest.raises(ConfigError, match="mnist comes with its own test split"):
        data.load("mnist", folder=tmp_path, test_fraction=0.5)
    half = data.load("digits", test_fraction=0.5)
    assert len(half.y_test) == 899 and len(half.y_train) == 898


def test_channels_convert_grey_and_colour(digits):
    rgb = data.load("digits", channels=3)
    assert rgb.x_train.shape[1] == 3
    assert all(torch.equal(rgb.x_train[:, c], digits.x_train[:, 0]) for c in range(3))
    back = data.to_channels(rgb.x_train, 1)
    assert torch.allclose(back, digits.x_train, atol=1e-6)  # luma weights sum to 1


# --- CIFAR-10 -------------------------------------------------------------------------------


def test_cifar10_binary_version(tmp_path):
    from formats import cifar_arrays, write_cifar_binary

    arrays = cifar_arrays()
    folder = write_cifar_binary(tmp_path, arrays)
    b = data.load("cifar10", folder=tmp_path)
    assert b.x_train.shape == (20, 3, 32, 32) and b.x_test.shape == (6, 3, 32, 32)
    assert b.x_train.dtype == torch.float32 and b.x_train.is_contiguous()
    assert torch.equal(b.x_train, torch.from_numpy(arrays["x_train"]).float() / 255)
    assert b.y_test.tolist() == arrays["y_test"].tolist()
    assert b.class_names[0] == "airplane" and b.num_classes == 10
    assert b.location == str(folder) and data.locate("cifar10", tmp_path) == folder


def test_cifar10_truncated_binary_names_the_file(tmp_path):
    from formats import cifar_arrays, write_cifar_binary

    folder = write_cifar_binary(tmp_path, cifar_arrays())
    path = folder / "data_batch_3.bin"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DataError, match=r"data_batch_3.bin holds .* not a whole number"):
        data.load("cifar10", folder=tmp_path)


def test_cifar10_python_version_goes_through_torchvision(tmp_path, monkeypatch):
    import torchvision.datasets as tvd
    from formats import cifar_arrays, trust_cifar_python, write_cifar_python

    arrays = cifar_arrays(seed=1)
    folder = write_cifar_python(tmp_path, arrays)
    trust_cifar_python(monkeypatch, folder)
    real, calls = tvd.CIFAR10, []

    def spy(root, **kwargs):
        calls.append(kwargs["train"])
        return real(root, **kwargs)

    monkeypatch.setattr(tvd, "CIFAR10", spy)
    b = data.load("cifar10", folder=tmp_path)
    assert calls == [True, False]
    assert torch.equal(b.x_test, torch.from_numpy(arrays["x_test"]).float() / 255)
    assert b.y_train.tolist() == arrays["y_train"].tolist()


def test_cifar10_pickles_that_are_not_the_release_are_never_unpickled(tmp_path):
    import pickle

    from formats import cifar_arrays, write_cifar_python

    folder = write_cifar_python(tmp_path, cifar_arrays())
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (marker.mkdir, ())

    (folder / "data_batch_1").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(DataError, match="MD5 matches the official release"):
        data.load("cifar10", folder=tmp_path)
    assert not marker.exists()


# --- SVHN and GTSRB -------------------------------------------------------------------------


def test_svhn_mat_files_through_torchvision(tmp_path, monkeypatch):
    from formats import trust_svhn, write_svhn

    written = write_svhn(tmp_path)
    with pytest.raises(DataError, match=r"torchvision could not load svhn .*corrupted"):
        data.load("svhn", folder=tmp_path)  # not the official files: refused by MD5
    trust_svhn(monkeypatch, tmp_path)
    b = data.load("svhn", folder=tmp_path)
    x, y = written["train"]
    assert b.x_train.shape == (12, 3, 32, 32) and b.x_test.shape == (5, 3, 32, 32)
    # .mat stores (H, W, C, N); the bundle is (N, C, H, W).
    assert torch.equal(b.x_train[4, 1], torch.from_numpy(x[:, :, 1, 4]).float() / 255)
    assert b.y_train.tolist() == [v % 10 for v in y[:, 0].tolist()]  # 10 is the digit 0
    assert 0 in b.y_train.tolist() and max(b.y_train.tolist()) == 9


def test_gtsrb_layout_resized_to_32_by_default(tmp_path):
    from formats import write_gtsrb

    colours = write_gtsrb(tmp_path)
    b = data.load("gtsrb", folder=tmp_path)
    assert b.x_train.shape == (9, 3, 32, 32) and b.x_test.shape == (4, 3, 32, 32)
    assert b.num_classes == 43 and b.class_names[14] == "stop"
    for x, y, written in (
        (b.x_train, b.y_train, colours["train"]),
        (b.x_test, b.y_test, colours["test"]),
    ):
        assert y.tolist() == [c for _, c in written]
        for img, (rgb, _) in zip(x, written, strict=True):  # solid colours stay exact
            expected = torch.tensor(rgb, dtype=torch.float32).view(3, 1, 1) / 255
            assert torch.allclose(img, expected.expand_as(img), atol=1e-6)
    assert "each image resized to 32x32" in b.description
    assert data.load("gtsrb", folder=tmp_path, size=16).x_test.shape == (4, 3, 16, 16)
    assert data.load("gtsrb", folder=tmp_path / "gtsrb").hash == b.hash  # either folder


# --- imagefolder ----------------------------------------------------------------------------


def test_imagefolder_seeded_split_by_split_seed(tmp_path):
    from formats import write_imagefolder

    pixels = write_imagefolder(tmp_path, {"cat": 8, "dog": 8, "owl": 4})
    b = data.load("imagefolder", folder=tmp_path)
    assert b.class_names == ("cat", "dog", "owl")
    assert b.x_train.shape == (15, 3, 10, 12) and b.x_test.shape == (5, 3, 10, 12)
    assert torch.bincount(b.y_test).tolist() == [2, 2, 1]  # stratified, a quarter each
    rows = {
        tuple((torch.from_numpy(a).permute(2, 0, 1).float() / 255).flatten().tolist())
        for a in pixels.values()
    }
    assert all(tuple(x.flatten().tolist()) in rows for x in torch.cat([b.x_train, b.x_test]))
    assert data.load("imagefolder", folder=tmp_path).hash == b.hash
    other = data.load("imagefolder", folder=tmp_path, split_seed=5)
    assert other.hash != b.hash and not torch.equal(other.x_test, b.x_test)


def test_imagefolder_train_and_test_folders(tmp_path):
    from formats import write_imagefolder

    write_imagefolder(tmp_path / "train", {"a": 3, "b": 3, "c": 2}, mode="L")
    write_imagefolder(tmp_path / "test", {"b": 2, "c": 1}, mode="L", seed=1)
    b = data.load("imagefolder", folder=tmp_path)
    assert b.class_names == ("a", "b", "c") and b.x_train.shape == (8, 1, 10, 12)
    assert b.y_test.tolist() == [1, 1, 2]  # numbered as train/ numbers them
    with pytest.raises(ConfigError, match="drop --test-fraction"):
        data.load("imagefolder", folder=tmp_path, test_fraction=0.3)


def test_imagefolder_grey_only_when_every_image_is(tmp_path):
    from formats import write_imagefolder
    from PIL import Image

    write_imagefolder(tmp_path, {"a": 4, "b": 4}, mode="L")
    assert data.load("imagefolder", folder=tmp_path).input_shape == (1, 10, 12)
    Image.new("RGB", (12, 10), (255, 0, 0)).save(tmp_path / "a" / "red.png")
    b = data.load("imagefolder", folder=tmp_path)
    x = torch.cat([b.x_train, b.x_test])
    red = (x[:, 0] == 1).all(dim=(1, 2)) & (x[:, 1] == 0).all(dim=(1, 2))
    assert b.input_shape == (3, 10, 12) and int(red.sum()) == 1
    grey = x[~red]
    assert torch.equal(grey[:, 0], grey[:, 1]) and torch.equal(grey[:, 1], grey[:, 2])
    assert data.load("imagefolder", folder=tmp_path, channels=1).input_shape == (1, 10, 12)


def test_imagefolder_mixed_sizes_go_to_32_or_size(tmp_path):
    from formats import write_imagefolder

    write_imagefolder(tmp_path, {"a": 4}, size=(20, 20))
    write_imagefolder(tmp_path, {"b": 4}, size=(50, 40), seed=2)
    b = data.load("imagefolder", folder=tmp_path)
    assert b.input_shape == (3, 32, 32) and "2 sizes, each resized to 32x32" in b.description
    assert data.load("imagefolder", folder=tmp_path, size=8).input_shape == (3, 8, 8)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: None, "imagefolder needs a folder"),
        (lambda root: root / "missing", "missing is not a folder"),
        (lambda root: _folder(root, {"only": 5}), "holds 1 class of images"),
        (lambda root: _folder(root, {"a": 5, "b": 1}), "a class has a single image"),
        (lambda root: _folder(root, {"a": 3, "b": 3}, empty="c"), "Found no valid file"),
        (lambda root: _folder(root / "train", {"a": 3, "b": 3}), "has train/ but no test/"),
        (lambda root: _folder(root, {"a": 3, "b": 3}, junk=True), "not an image Pillow can read"),
    ],
)
def test_imagefolder_errors(tmp_path, make, message):
    root = make(tmp_path)
    with pytest.raises(DataError, match=message):
        data.load("imagefolder", folder=None if root is None else root)


def _folder(root, classes, *, empty=None, junk=False):
    from formats import write_imagefolder

    write_imagefolder(root, classes)
    if empty:
        (root / empty).mkdir()
    if junk:
        (root / "a" / "broken.png").write_bytes(b"not a png")
    return root.parent if root.name == "train" else root


# --- npz ------------------------------------------------------------------------------------


def _npz(path, **arrays):
    rng = np.random.default_rng(0)
    base = {
        "x_train": rng.integers(0, 256, (12, 8, 8, 3), dtype=np.uint8),
        "y_train": np.arange(12) % 3,
        "x_test": rng.integers(0, 256, (6, 8, 8, 3), dtype=np.uint8),
        "y_test": np.arange(6) % 3,
    }
    base.update(arrays)
    np.savez(path, **{k: v for k, v in base.items() if v is not None})
    return base


def test_npz_uint8_nhwc_and_class_names(tmp_path):
    arrays = _npz(tmp_path / "d.npz", class_names=np.array(["red", "green", "blue"]))
    b = data.load("npz", folder=tmp_path / "d.npz")
    assert b.x_train.shape == (12, 3, 8, 8) and b.class_names == ("red", "green", "blue")
    expected = torch.from_numpy(arrays["x_train"]).permute(0, 3, 1, 2).float() / 255
    assert torch.equal(b.x_train, expected)
    assert data.load("npz", folder=tmp_path).hash == b.hash  # the folder's only .npz


def test_npz_float_nchw_and_grey_nhw(tmp_path):
    x = np.random.default_rng(1).random((10, 1, 5, 5)).astype(np.float32)
    _npz(
        tmp_path / "f.npz",
        x_train=x,
        x_test=x[:4],
        y_train=np.arange(10) % 2,
        y_test=np.arange(4) % 2,
    )
    b = data.load("npz", folder=tmp_path / "f.npz")
    assert torch.equal(b.x_train, torch.from_numpy(x)) and b.class_names == ("0", "1")
    g = np.zeros((6, 7, 7), dtype=np.uint8)
    _npz(tmp_path / "g.npz", x_train=g, x_test=g, y_train=np.arange(6) % 2, y_test=np.arange(6) % 2)
    assert data.load("npz", folder=tmp_path / "g.npz").input_shape == (1, 7, 7)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"y_test": None}, "lacks y_test"),
        ({"x_train": np.zeros((12, 3, 8, 8), np.uint8)}, "must be NHWC.*looks like NCHW"),
        ({"x_train": np.zeros((12, 8, 8, 3), np.float32)}, "must be NCHW.*looks like NHWC"),
        (
            {"x_train": np.full((12, 3, 8, 8), 255.0, np.float32)},
            "runs from 255 to 255.*in \\[0, 1\\]",
        ),
        ({"x_train": np.zeros((12, 8, 8, 3), np.int32)}, "x_train is int32; images must be"),
        ({"y_train": np.arange(11) % 3}, "y_train has 11 labels for 12 images"),
        ({"y_train": np.zeros(12, np.float32)}, "labels must be a 1-D integer array"),
        ({"x_test": np.zeros((6, 9, 9, 3), np.uint8)}, "both splits need one shape"),
        ({"y_train": np.zeros(12, np.int64)}, "y_train holds one class"),
        ({"class_names": np.array(["a", "b"])}, "labels run to 2 but class_names names only 2"),
        (
            {"x_test": np.zeros((0, 8, 8, 3), np.uint8), "y_test": np.zeros(0, np.int64)},
            "x_test holds no images",
        ),
    ],
)
def test_npz_errors_say_what_is_wrong(tmp_path, arrays, message):
    _npz(tmp_path / "d.npz", **arrays)
    with pytest.raises(DataError, match=message):
        data.load("npz", folder=tmp_path / "d.npz")


def test_npz_object_arrays_are_refused_not_unpickled(tmp_path):
    _npz(tmp_path / "d.npz", class_names=np.array(["a", "b", None], dtype=object))
    with pytest.raises(DataError, match="object array, which only unpickling could read"):
        data.load("npz", folder=tmp_path / "d.npz")


def test_npz_not_a_zip(tmp_path):
    (tmp_path / "d.npz").write_bytes(b"hello")
    with pytest.raises(DataError, match=r"is not an npz file .*numpy.savez"):
        data.load("npz", folder=tmp_path / "d.npz")


# --- the command line -----------------------------------------------------------------------


def test_data_list_shows_where_each_dataset_would_be_found(tmp_path, capsys):
    from formats import cifar_arrays, write_cifar_binary

    from fragility.cli import main

    folder = write_cifar_binary(tmp_path, cifar_arrays())
    assert main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    rows = {r.split()[0]: r for r in capsys.readouterr().out.splitlines()[2:]}
    assert set(rows) >= {"cifar10", "svhn", "gtsrb", "imagefolder", "npz"}
    assert rows["cifar10"].endswith(str(folder)) and "32x32 RGB" in rows["cifar10"]
    assert "not found: pass --download" in rows["svhn"]
    assert rows["imagefolder"].endswith(str(tmp_path))  # it holds a sub-folder
    assert main(["data", "info", "cifar10", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "20 / 6 images" in out and "(3, 32, 32)" in out and "airplane" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["data", "info", "imagefolder"], "imagefolder needs a folder"),
        (["data", "info", "npz", "--data-dir", "{tmp}/x.npz"], "no single .npz file"),
        (["train", "--split-seed", "-3", "--out", "{tmp}/o"], "--split-seed: expected a seed"),
        (["train", "--test-fraction", "2", "--out", "{tmp}/o"], "strictly between 0 and 1"),
        (["data", "info", "cifar10", "--data-dir", "{tmp}"], "cifar10 not found in"),
    ],
)
def test_data_errors_are_one_line_exit_2(tmp_path, capsys, argv, message):
    from fragility.cli import main

    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fragility") and message in err and err.count("\n") == 1


def test_the_run_seed_never_changes_the_test_split(tmp_path, digits):
    import json

    from fragility.cli import main

    for seed in ("0", "1"):
        out = tmp_path / f"s{seed}"
        argv = ["train", "--seed", seed, "--epochs", "1", "--quiet", "--out", str(out)]
        assert main(argv) == 0
        recorded = json.loads((out / "metrics.json").read_text())["dataset"]
        assert recorded["hash"] == digits.hash and recorded["source"]["split_seed"] == 0
    assert main([*argv[:-1], str(tmp_path / "split1"), "--split-seed", "1"]) == 0
    other = json.loads((tmp_path / "split1" / "metrics.json").read_text())["dataset"]
    assert other["hash"] != digits.hash and other["source"]["split_seed"] == 1


def _train_on_fake_mnist(tmp_path):
    from fragility.cli import main

    folder = tmp_path / "mnist-files"
    fake_mnist(folder)
    ck = tmp_path / "ck"
    argv = ["train", "--dataset", "mnist", "--data-dir", str(folder), "--size", "8"]
    assert main([*argv, "--epochs", "1", "--quiet", "--out", str(ck)]) == 0
    return folder, ck


def test_a_checkpoint_remembers_its_data_folder(tmp_path, capsys):
    import json

    from fragility.cli import main

    folder, ck = _train_on_fake_mnist(tmp_path)
    recorded = json.loads((ck / "metrics.json").read_text())["dataset"]
    assert recorded["source"] == DataSource("mnist", folder=str(folder), size=8).to_dict()
    capsys.readouterr()
    argv = ["attack", "--checkpoint", str(ck), "--attack", "fgsm", "--eps", "0.1", "--n", "8"]
    assert main([*argv, "--quiet", "--out", str(tmp_path / "a")]) == 0
    assert "warning" not in capsys.readouterr().err
    attack = json.loads((tmp_path / "a" / "attack.json").read_text())
    assert attack["dataset"]["source"] == recorded["source"]  # found without --data-dir
    assert attack["dataset"]["hash"] == recorded["hash"]
    # An explicit --data-dir still wins: here it points at a folder without the files.
    assert main([*argv, "--data-dir", str(tmp_path / "empty"), "--out", str(tmp_path / "b")]) == 2
    assert "mnist not found in" in capsys.readouterr().err


def test_a_checkpoint_of_the_previous_version_still_loads(tmp_path, digits):
    import argparse
    import json

    from fragility.cli.common import load_model_and_data

    folder, ck = _train_on_fake_mnist(tmp_path)
    metrics = json.loads((ck / "metrics.json").read_text())
    new = metrics["dataset"]
    # What earlier versions wrote: the folder read under "source", the side under "size".
    metrics["dataset"] = {
        **{k: v for k, v in new.items() if k not in ("source", "location")},
        "source": new["location"],
        "size": 8,
    }
    (ck / "metrics.json").write_text(json.dumps(metrics))
    args = argparse.Namespace(
        model_flags=[("--checkpoint", str(ck))],
        dataset=None,
        data_dir=None,
        download=False,
        device="cpu",
        command="attack",
    )
    _, bundle = load_model_and_data(args)
    assert bundle.hash == new["hash"] and bundle.source.folder == str(folder)
