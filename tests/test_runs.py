"""Unit tests for vgexamples.runs."""

from __future__ import annotations

import pytest
import torch

from vgexamples.data import load_digits
from vgexamples.models import MLP
from vgexamples.runs import seeded_mlp, train_mlp


@pytest.fixture(scope="module")
def data():
    return load_digits(seed=0)


def test_seeded_mlp_is_reproducible_and_sized(data):
    a = seeded_mlp(data, 3, depth=2, width=8, activation="tanh", device="cpu")
    b = seeded_mlp(data, 3, depth=2, width=8, activation="tanh", device="cpu")
    c = seeded_mlp(data, 4, depth=2, width=8, activation="tanh", device="cpu")
    assert isinstance(a, MLP)
    assert a.linears[0].in_features == 64 and a.head.out_features == 10
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.linears[0].weight, c.linears[0].weight)


def test_train_mlp_is_reproducible(data):
    _, h1 = train_mlp(data, 1, depth=2, width=8, steps=20, eval_every=10, device="cpu")
    _, h2 = train_mlp(data, 1, depth=2, width=8, steps=20, eval_every=10, device="cpu")
    assert h1.loss == h2.loss and h1.steps_run == 20
    assert h1.eval_step == [10, 20]


def test_bad_arguments(data):
    with pytest.raises(TypeError, match="data"):
        seeded_mlp((1, 2), 0, depth=1, width=2)
    with pytest.raises(ValueError, match="seed"):
        seeded_mlp(data, -1, depth=1, width=2)
    with pytest.raises(ValueError, match="activation"):
        seeded_mlp(data, 0, depth=1, width=2, activation="swish")
    with pytest.raises(ValueError, match="optimizer"):
        train_mlp(data, 0, depth=1, width=2, optimizer="lbfgs")
