"""Shared test settings: a non-interactive matplotlib backend and deterministic torch."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
torch.set_num_threads(1)  # the same single thread the examples use (runtime.configure)


def pytest_addoption(parser):
    parser.addoption(
        "--site", default=None, help="built site to check in a real browser (tests/browser/)"
    )
    parser.addoption("--chromium", default="/usr/bin/chromium", help="Chromium executable")


def pytest_ignore_collect(collection_path, config):
    # the browser suite needs a built site: it runs only when --site is given (nox -s browser)
    if collection_path.name == "browser" and config.getoption("--site") is None:
        return True
    return None


@pytest.fixture(scope="session")
def device():
    """Where the tests run: the CPU, whatever the machine has."""
    return torch.device("cpu")


@pytest.fixture(scope="session")
def seeds():
    """The seeds a statistical unit test repeats over (claim tests name their own)."""
    return (0, 1, 2)


@pytest.fixture(scope="session")
def digits():
    """The digits split every test shares (loading it is cheap but not free)."""
    from vgexamples.data import load_digits

    return load_digits(seed=0)


@pytest.fixture(scope="session")
def small():
    """The digits with 100 training images: for tests that train a few steps."""
    from vgexamples.data import load_digits

    return load_digits(seed=0, n_train=100)


@pytest.fixture(scope="session", autouse=True)
def _no_results_folder():
    """Experiments record their numbers only in a docs build: a test must never overwrite
    the site's results, even from a shell where the build's variable is set. Session-wide,
    so that it holds for session fixtures too; a test that wants a folder sets its own."""
    from vgexamples.results import ENV_VAR

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(ENV_VAR, raising=False)
        yield


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
