"""Shared fixtures: the digits data and small trained models, trained once per session.

The model cache points at a temporary folder so tests never read or write the user's cache.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import torch

_CACHE = tempfile.mkdtemp(prefix="fragility-test-cache-")
os.environ["FRAGILITY_CACHE"] = _CACHE
os.environ["FRAGILITY_DATA"] = os.path.join(_CACHE, "data")

from fragility import data, models, train  # noqa: E402
from fragility.report.section import ReportContext  # noqa: E402


@pytest.fixture(scope="session")
def cache_root() -> Path:
    return Path(_CACHE)


@pytest.fixture(scope="session")
def digits() -> data.DataBundle:
    return data.load("digits")


def _trained(kind: str, bundle: data.DataBundle, **overrides) -> train.Trained:
    spec = models.default_spec(kind, bundle.input_shape, bundle.num_classes)
    config = train.default_config(spec, bundle, seed=0)
    return train.train(spec, bundle, config, **overrides)


@pytest.fixture(scope="session")
def trained_mlp(digits) -> train.Trained:
    return _trained("mlp", digits)


@pytest.fixture(scope="session")
def trained_cnn(digits) -> train.Trained:
    return _trained("cnn", digits)


@pytest.fixture(scope="session")
def trained_autoencoder(digits) -> train.Trained:
    return _trained("autoencoder", digits)


@pytest.fixture(scope="session")
def quick_context(digits, trained_mlp, trained_cnn) -> ReportContext:
    """What a quick digits report hands its sections: both classifiers, no autoencoder."""
    return ReportContext(
        data=digits,
        classifiers={"mlp": trained_mlp, "cnn": trained_cnn},
        autoencoder=None,
        quick=True,
    )


@pytest.fixture(scope="session")
def quick_report(trained_mlp, trained_cnn, trained_autoencoder):
    """A quick digits report (built once per session from the cached models), unwritten."""
    from fragility.report.build import ReportConfig, build

    return build(ReportConfig(quick=True), command=["fragility", "report", "--quick"])


@pytest.fixture
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(1234)
