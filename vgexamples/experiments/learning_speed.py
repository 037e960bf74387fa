"""How fast each hidden layer of a sigmoid MLP learns: Nielsen's (2015) speed of learning, the
norm of each layer's bias gradient over the whole training set, at initialization and over
training.

Shown by ``gallery/trainable/plot_01_learning_speed.py``, quoted by
``docs/chapters/trainable.md`` and the claims page, asserted by
``tests/claims/test_trainable.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .._checks import check_int
from ..data import load_digits
from ..models import seeded_mlp
from ..monitors import PeriodicProfile
from ..results import record
from ..runtime import resolve_device
from ..train import Budget, History, check_budget, train

__all__ = ["BUDGET", "KEY", "LearningSpeed", "run"]

KEY = "trainable.learning_speed"
#: Plain SGD with a large learning rate and small batches, long enough to leave the plateau.
BUDGET = Budget(steps=2000, lr=0.5, optimizer="sgd", batch_size=32, eval_every=100)
NET = {"width": 30, "activation": "sigmoid", "init": "xavier"}


@dataclass
class LearningSpeed:
    """What :func:`run` measured.

    Attributes
    ----------
    budget, depths, init_seeds, net
        The training budget, the numbers of hidden layers, the seeds profiled at
        initialization and the networks' other settings.
    at_init
        ``(depth, seed) -> array`` of the hidden layers' speeds at initialization (input side
        first; the output layer is left out).
    steps
        Steps at which the trained networks were profiled (0 = before training).
    speeds
        ``(depth, seed) -> array (records, hidden layers)`` over training.
    histories
        ``(depth, seed) -> History``.
    """

    budget: Budget
    depths: tuple[int, ...]
    init_seeds: tuple[int, ...]
    net: dict[str, object]
    at_init: dict[tuple[int, int], np.ndarray]
    steps: list[int]
    speeds: dict[tuple[int, int], np.ndarray]
    histories: dict[tuple[int, int], History]

    def layer_factors(self) -> np.ndarray:
        """Ratios of consecutive layers' speeds at initialization, every depth and seed."""
        return np.concatenate([s[1:] / s[:-1] for s in self.at_init.values()])

    def gap(self, depth: int, seed: int | None = None) -> np.ndarray:
        """Last hidden layer's speed over the first's, at every profiled step."""
        sp = self.speeds[depth, self.budget.seeds[0] if seed is None else seed]
        return sp[:, -1] / sp[:, 0]

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages (trained runs: the budget's first seed)."""
        factors = self.layer_factors()
        deepest, seed = max(self.depths), self.budget.seeds[0]
        sp = self.speeds[deepest, seed]
        return {
            "budget": str(self.budget),
            "width": self.net["width"],
            "depths": list(self.depths),
            "depth": deepest,
            "init_seeds": len(self.init_seeds),
            "median_layer_factor": float(np.median(factors)),
            "min_layer_factor": float(factors.min()),
            "max_layer_factor": float(factors.max()),
            "gap_at_init": float(self.gap(deepest)[0]),
            "gap_at_end": float(self.gap(deepest)[-1]),
            "first_layer_growth": float(sp[-1, 0] / sp[0, 0]),
            "last_layer_change": float(sp[-1, -1] / sp[0, -1]),
            "final_train_loss": self.histories[deepest, seed].final_train_loss,
            "speeds_at_init": [self.at_init[d, self.init_seeds[0]].tolist() for d in self.depths],
        }


def run(
    *,
    depths: Sequence[int] = (2, 3, 4),
    init_seeds: Sequence[int] = (0, 1, 2),
    budget: Budget = BUDGET,
    profile_every: int | None = None,
    device: torch.device | str | None = None,
) -> LearningSpeed:
    """Measure every hidden layer's speed of learning.

    At initialization for every depth and each of ``init_seeds``; over training for every
    depth and each of the budget's seeds, profiling the full training set every
    ``profile_every`` steps (default: the budget's evaluation interval).
    """
    depths = tuple(check_int("depths[i]", d) for d in depths)
    init_seeds = tuple(check_int("init_seeds[i]", s, minimum=0) for s in init_seeds)
    if not depths or not init_seeds:
        raise ValueError("depths and init_seeds must each hold at least one value")
    check_budget(budget)
    every = check_int("profile_every", profile_every or budget.eval_every or budget.steps)
    device = resolve_device(device)
    data = load_digits(seed=0).to(device)
    at_init = {}
    for depth in depths:
        for seed in init_seeds:
            net = seeded_mlp(data, seed, depth=depth, device=device, **NET)
            mon = PeriodicProfile(data.x_train, data.y_train)
            mon.record(0, net)
            at_init[depth, seed] = mon.series("bias_grad_norm")[0, :-1]
    speeds, histories, steps = {}, {}, []
    for depth in depths:
        for seed in budget.seeds:
            net = seeded_mlp(data, seed, depth=depth, device=device, **NET)
            mon = PeriodicProfile(data.x_train, data.y_train, every=every)
            mon.record(0, net)
            histories[depth, seed] = train(
                net, data, seed=seed, callbacks=[mon], device=device, **budget.train_kwargs()
            )
            speeds[depth, seed] = mon.series("bias_grad_norm")[:, :-1]
            steps = mon.steps
    result = LearningSpeed(budget, depths, init_seeds, dict(NET), at_init, steps, speeds, histories)
    record(KEY, **result.summary())
    return result
