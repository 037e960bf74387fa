"""Experiments that more than one claim-test module reads, run once per session at the
budget of the page that shows them (see each fixture for the seeds)."""

import pytest

from vgexamples.experiments import compact_filters, gradients_at_init, half_precision


@pytest.fixture(scope="session")
def at_init():
    """The vanishing chapter's gradients at initialization, at the example's budget."""
    return gradients_at_init.run(device="cpu")


@pytest.fixture(scope="session")
def half():
    """The half-precision experiment on three seeds (the example shows seed 0)."""
    return half_precision.run(seeds=(0, 1, 2), device="cpu")


@pytest.fixture(scope="session")
def shared_weights():
    """The compact-filters experiment at the example's budget (three profile seeds)."""
    return compact_filters.run(device="cpu")
