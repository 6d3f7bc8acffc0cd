"""Shared test configuration: Agg backend, x64 fixture, the slow marker."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("GAMEDYN_SMOKE", "1")

import jax  # noqa: E402
import pytest  # noqa: E402

SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
if os.path.isdir(SHARED_DATA):
    os.environ.setdefault("GAMEDYN_DATA_DIR", os.path.abspath(SHARED_DATA))


def pytest_addoption(parser):
    parser.addoption(
        "--runslow", action="store_true", default=False, help="run slow tests"
    )


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: give --runslow to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def x64():
    """Runs the test with 64-bit floats (for closed-form comparisons)."""
    with jax.enable_x64(True):
        yield


def tol(dtype) -> float:
    """A comparison tolerance for a float dtype (float32 ~1e-5, float64 ~1e-12)."""
    return 1e-12 if jax.numpy.dtype(dtype) == jax.numpy.float64 else 1e-5
