"""Shared test settings: a non-interactive matplotlib backend and deterministic torch."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def digits():
    """The digits split every test shares (loading it is cheap but not free)."""
    from vgexamples.data import load_digits

    return load_digits(seed=0)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
