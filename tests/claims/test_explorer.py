"""Claims of the explorer page (docs/explorer.md) and of the chapter sentences that point to it.

The grid is the page's own call, :func:`vgexamples.experiments.explorer.run` with its defaults
(every setting, three seeds, the page's training budget). Each test asserts what the page's
prose says about it; the training claim of "a steady gradient that does not train" is also
checked on the two seeds the page does not train, so that it does not rest on one lucky
seed (there, a run that diverges does not train either).
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import numpy as np
import pytest

from vgexamples.data import load_digits
from vgexamples.experiments import explorer
from vgexamples.experiments.explorer import COLLAPSED_SPREAD
from vgexamples.train import train

ROOT = Path(__file__).resolve().parents[2]
RELU_LIKE = ("relu", "leaky_relu")
DEEP, SHALLOW = max(explorer.DEPTHS), min(explorer.DEPTHS)


@pytest.fixture(scope="module")
def grid():
    return explorer.run(device="cpu")


def ratios(grid, *setting) -> np.ndarray:
    return grid.point(*setting).grad_ratios()


def test_the_grid_is_what_the_page_describes(grid):
    assert len(grid) == 5 * 3 * 4 * 4
    assert grid.seeds == (0, 1, 2) and grid.budget == explorer.BUDGET
    assert explorer.ACTIVATIONS == ("sigmoid", "tanh", "relu", "leaky_relu", "gelu")
    assert explorer.INITS == ("default", "xavier", "he")
    assert explorer.DEPTHS == (5, 10, 20, 40)
    assert len(explorer.ARCHITECTURES) == 4


# -- "Batch norm alone makes the gradient grow toward the input" --------------------------------


@pytest.mark.parametrize("act", RELU_LIKE)
@pytest.mark.parametrize("init", explorer.INITS)
def test_batch_norm_ratio_grows_with_every_layer_added(grid, act, init):
    medians = [grid.point(act, init, d, "batch_norm").grad_ratio() for d in explorer.DEPTHS]
    assert all(b > a for a, b in itertools.pairwise(medians)), medians
    assert medians[0] < 10  # a shallow batch-normalized network is close to steady


def per_layer(grid, act, init, arch) -> float:
    """The growth factor per layer of the median ratio, between the shallowest and deepest."""
    first = grid.point(act, init, SHALLOW, arch).grad_ratio()
    last = grid.point(act, init, DEEP, arch).grad_ratio()
    return (last / first) ** (1 / (DEEP - SHALLOW))


@pytest.mark.parametrize("act", RELU_LIKE)
@pytest.mark.parametrize("init", explorer.INITS)
def test_batch_norm_growth_is_geometric(grid, act, init):
    assert 1.1 < per_layer(grid, act, init, "batch_norm") < 1.3
    # the growth per layer is about the same over each stretch of depths measured
    medians = [grid.point(act, init, d, "batch_norm").grad_ratio() for d in explorer.DEPTHS]
    steps = [
        (b / a) ** (1 / (d2 - d1))
        for (a, d1), (b, d2) in itertools.pairwise(zip(medians, explorer.DEPTHS, strict=True))
    ]
    assert max(steps) / min(steps) < 1.15, steps


@pytest.mark.parametrize("act", RELU_LIKE)
def test_batch_norm_weight_gradient_ratio_grows_too(grid, act):
    # Yang et al.'s theory is about the weight gradients
    def wratio(d):
        p = grid.point(act, "he", d, "batch_norm")
        return float(np.median(p.weight_grad[:, 0] / p.weight_grad[:, -1]))

    values = [wratio(d) for d in explorer.DEPTHS]
    assert all(b > a for a, b in itertools.pairwise(values)), values
    assert values[-1] > 100 * values[0]


def test_sigmoid_barely_grows_under_batch_norm(grid):
    assert per_layer(grid, "sigmoid", "he", "batch_norm") < 1.05
    assert grid.point("sigmoid", "he", DEEP, "batch_norm").gradient_verdict() == "steady"


def test_batch_norm_deep_ratio_is_large_on_every_seed_and_init(grid):
    lowest = min(
        ratios(grid, a, i, DEEP, "batch_norm").min() for a in RELU_LIKE for i in explorer.INITS
    )
    assert lowest > 100


@pytest.mark.parametrize("act", RELU_LIKE)
def test_batch_norm_makes_the_initialization_barely_matter(grid, act):
    deep = [grid.point(act, i, DEEP, "batch_norm").grad_ratio() for i in explorer.INITS]
    assert max(deep) / min(deep) < 2
    # while without it the same three starts are orders of magnitude apart
    plain = [grid.point(act, i, DEEP, "plain").grad_ratio() for i in explorer.INITS]
    assert max(plain) / min(plain) > 1e6


def test_without_batch_norm_the_he_network_is_steady(grid):
    r = ratios(grid, "relu", "he", DEEP, "plain")
    assert np.all((r > 0.1) & (r < 10)), r


def test_how_fast_depends_on_the_nonlinearity(grid):
    deep = {a: grid.point(a, "he", DEEP, "batch_norm").grad_ratio() for a in explorer.ACTIVATIONS}
    assert deep["sigmoid"] < deep["tanh"] < deep["relu"]
    assert deep["tanh"] < deep["relu"] / 10


@pytest.mark.parametrize("act", RELU_LIKE)
@pytest.mark.parametrize("init", explorer.INITS)
def test_skip_connections_tame_it(grid, act, init):
    bn = grid.point(act, init, DEEP, "batch_norm").grad_ratio()
    both = ratios(grid, act, init, DEEP, "residual_batch_norm")
    assert np.all(both < bn / 10), (both, bn)
    # ...but do not stop the growth
    medians = [
        grid.point(act, init, d, "residual_batch_norm").grad_ratio() for d in explorer.DEPTHS
    ]
    assert all(b > a for a, b in itertools.pairwise(medians)), medians


def test_skips_without_batch_norm_are_far_worse(grid):
    residual = grid.point("relu", "he", DEEP, "residual")
    assert residual.grad_ratio() > 1e3 * grid.point("relu", "he", DEEP, "batch_norm").grad_ratio()
    assert residual.stop_step is not None


# -- "A steady gradient that does not train" -----------------------------------------------------


def test_the_deep_he_relu_start_is_healthy_by_both_measures(grid):
    p = grid.point("relu", "he", DEEP, "plain")
    assert p.gradient_verdict() == "steady"
    r = ratios(grid, "relu", "he", DEEP, "plain")
    assert max(r.max(), 1 / r.min()) < 5  # "within a factor of" a few
    assert np.all(p.spread[:, -1] > 100 * COLLAPSED_SPREAD)
    assert "nearly the same" not in p.reading()


def test_the_deep_he_relu_network_stays_at_chance_and_the_shallow_one_learns(grid):
    deep = grid.point("relu", "he", DEEP, "plain")
    shallow = grid.point("relu", "he", SHALLOW, "plain")
    assert deep.stop_step is None and deep.accuracy < 0.15  # chance: 0.10
    assert abs(deep.final_loss() - math.log(10)) < 0.1  # every class about equally likely
    assert shallow.stop_step is None and shallow.accuracy > 0.7


@pytest.mark.parametrize("seed", [1, 2])
def test_the_other_seeds_do_not_train_either(seed):
    data = load_digits(seed=0)
    net = explorer.network(data, seed, "relu", "he", DEEP, "plain")
    hist = train(net, data, seed=seed, device="cpu", **explorer.BUDGET.train_kwargs())
    assert hist.diverged or hist.final_test_accuracy < 0.2


# -- links into the explorer ----------------------------------------------------------------------


def test_every_linked_setting_is_in_the_grid(grid):
    pages = [ROOT / "docs" / "explorer.md", *sorted((ROOT / "docs" / "chapters").glob("*.md"))]
    linked = {m for p in pages for m in re.findall(r"\?setting=([\w.]+)\"", p.read_text())}
    assert len(linked) >= 5
    assert linked <= set(grid.points), linked - set(grid.points)
