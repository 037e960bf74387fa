"""Unit tests of vgexamples.cliff."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vgexamples.cliff import cliff_loss, descent_path, loss_grid


def test_cliff_loss_matches_a_python_loop_and_broadcasts():
    def loop(w, b):
        x = 0.5
        for _ in range(50):
            x = w / (1 + np.exp(-x)) + b
        return (1 / (1 + np.exp(-x)) - 0.7) ** 2

    for w, b in [(1.0, 0.0), (8.0, -4.0), (-3.0, 2.0)]:
        assert float(cliff_loss(w, b)) == pytest.approx(loop(w, b), rel=1e-5, abs=1e-7)
    out = cliff_loss(torch.zeros(3, 1), torch.zeros(1, 4))
    assert out.shape == (3, 4)


def test_loss_grid_orientation():
    w, b = np.array([1.0, 8.0]), np.array([-4.0, 0.0, 1.0])
    grid = loss_grid(w, b)
    assert grid.shape == (3, 2)
    assert grid[0, 1] == pytest.approx(float(cliff_loss(8.0, -4.0)), rel=1e-5)
    with pytest.raises(ValueError, match="one-dimensional"):
        loss_grid([], b)


def test_cliff_loss_bad_arguments():
    with pytest.raises(ValueError, match="target"):
        cliff_loss(1.0, 0.0, target=1.5)
    with pytest.raises(ValueError, match="steps"):
        cliff_loss(1.0, 0.0, steps=0)
    with pytest.raises(ValueError, match="x0"):
        cliff_loss(1.0, 0.0, x0=float("nan"))


def test_descent_path_records_and_clips():
    free = descent_path(2.0, 0.0, lr=0.5, steps=20)
    assert free.params.shape == (21, 2) and len(free.loss) == 20
    assert free.loss[-1] < free.loss[0]
    clipped = descent_path(7.0, -3.5, lr=1.0, steps=150, clip_norm=0.5)
    assert clipped.max_step <= 0.5 + 1e-9
    with pytest.raises(ValueError, match="lr"):
        descent_path(1.0, 0.0, lr=0.0)
    with pytest.raises(ValueError, match="clip_norm"):
        descent_path(1.0, 0.0, clip_norm=-1.0)
    with pytest.raises(TypeError, match="w0"):
        descent_path("1", 0.0)
