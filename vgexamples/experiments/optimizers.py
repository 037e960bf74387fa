"""Optimizers on a network plain SGD cannot train: a 10-layer sigmoid MLP trained with SGD,
momentum, AdaGrad, RMSprop and Adam, each at its best learning rate of three, with each
layer's update-to-weight ratio recorded; and the same network with batch normalization and
plain SGD for comparison.

Shown by ``gallery/trainable/plot_05_optimizers.py``, quoted by
``docs/chapters/trainable.md`` and the claims page, asserted by
``tests/claims/test_trainable.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .._checks import check_int
from ..data import load_digits
from ..models import seeded_mlp
from ..monitors import TrainingRecorder
from ..results import record
from ..runtime import resolve_device
from ..train import Budget, History, check_budget, train, train_mlp

__all__ = [
    "BATCH_NORM_BUDGET",
    "BUDGET",
    "GRID",
    "KEY",
    "TARGET_LOSS",
    "Optimizers",
    "run",
    "steps_to",
]

KEY = "trainable.optimizers"
#: The network plain SGD leaves at chance level.
NET = {"depth": 10, "width": 64, "activation": "sigmoid", "init": "xavier"}
#: Learning rates tried for each optimizer.
GRID: dict[str, tuple[float, ...]] = {
    "sgd": (0.1, 0.3, 1.0),
    "momentum": (0.01, 0.03, 0.1),
    "adagrad": (0.003, 0.01, 0.03),
    "rmsprop": (3e-4, 1e-3, 3e-3),
    "adam": (3e-4, 1e-3, 3e-3),
}
#: Every run of the grid: 300 steps of 64 images, evaluated every 50; its optimizer and
#: learning rate are replaced by each grid point's (the first learning rate stands in).
BUDGET = Budget(steps=300, lr=GRID["sgd"][0], optimizer="sgd", batch_size=64, eval_every=50)
#: The same network with batch normalization, trained by plain SGD with the same steps.
BATCH_NORM_BUDGET = BUDGET.replace(optimizer="sgd", lr=0.1)
#: The training loss whose first crossing :func:`steps_to` reports in the summary.
TARGET_LOSS = 1.0


def steps_to(history: History, loss: float = TARGET_LOSS) -> float:
    """First evaluated step at which the full training loss is below ``loss`` (``inf`` if
    never)."""
    pairs = zip(history.eval_step, history.train_loss, strict=True)
    return next((float(step) for step, value in pairs if value < loss), math.inf)


@dataclass
class Optimizers:
    """What :func:`run` measured.

    Attributes
    ----------
    budget, grid, window
        The budget, the learning rates tried and the steps (1..window) over which update
        ratios are averaged.
    runs
        ``(optimizer, lr, seed) -> (History, TrainingRecorder)``.
    best
        ``optimizer -> learning rate`` with the lowest final training loss on the first seed.
    batch_norm, batch_norm_budget
        ``seed -> History`` of the network with batch normalization, and its budget.
    """

    budget: Budget
    grid: dict[str, tuple[float, ...]]
    window: int
    runs: dict[tuple[str, float, int], tuple[History, TrainingRecorder]]
    best: dict[str, float]
    batch_norm: dict[int, History]
    batch_norm_budget: Budget

    def final_loss(self, optimizer: str, lr: float | None = None, seed: int | None = None) -> float:
        """Final training loss (default: the best learning rate, the first seed)."""
        lr = self.best[optimizer] if lr is None else lr
        return self.runs[optimizer, lr, self.budget.seeds[0] if seed is None else seed][
            0
        ].final_train_loss

    def update_ratios(self, optimizer: str, seed: int | None = None) -> list[float]:
        """Each layer's update-to-weight ratio averaged over steps 1..window (best lr)."""
        seed = self.budget.seeds[0] if seed is None else seed
        rec = self.runs[optimizer, self.best[optimizer], seed][1]
        n = sum(1 for s in rec.steps if s <= self.window)
        return [float(np.mean(v[:n])) for v in rec.update_ratio.values()]

    def first_over_last(self, optimizer: str, seed: int | None = None) -> float:
        """First layer's averaged update ratio over the last layer's."""
        r = self.update_ratios(optimizer, seed)
        return r[0] / r[-1]

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages (first seed)."""
        seed = self.budget.seeds[0]
        out: dict[str, object] = {
            "budget": f"{self.budget.steps} steps of {self.budget.batch_size} examples",
            "batch_norm_budget": str(self.batch_norm_budget),
            "window": self.window,
            "chance_loss": math.log(10),
            "batchnorm_sgd_loss": self.batch_norm[seed].final_train_loss,
            "batchnorm_sgd_losses": [
                self.batch_norm[s].final_train_loss for s in self.budget.seeds
            ],
            "target_loss": TARGET_LOSS,
            "eval_every": self.budget.eval_every,
            "batchnorm_sgd_steps_to_target": steps_to(self.batch_norm[seed]),
            "best_adaptive_loss": min(
                self.final_loss(o) for o in self.grid if o not in ("sgd", "momentum")
            ),
        }
        for opt in self.grid:
            out[f"{opt}_best_lr"] = self.best[opt]
            out[f"{opt}_best_loss"] = self.final_loss(opt)
            out[f"{opt}_update_first_over_last"] = self.first_over_last(opt)
            out[f"{opt}_steps_to_target"] = steps_to(self.runs[opt, self.best[opt], seed][0])
        return out


def run(
    *,
    grid: Mapping[str, Sequence[float]] = GRID,
    budget: Budget = BUDGET,
    batch_norm_budget: Budget = BATCH_NORM_BUDGET,
    window: int = 100,
    record_every: int = 20,
    device: torch.device | str | None = None,
) -> Optimizers:
    """Train the network with every optimizer and learning rate of ``grid`` and every seed of
    ``budget`` (its steps, batches and evaluations); pick each optimizer's best learning rate
    on the first seed; train the batch-normalized network with ``batch_norm_budget`` on the
    same seeds."""
    check_int("window", window)
    check_int("record_every", record_every)
    grid = {opt: tuple(lrs) for opt, lrs in grid.items()}
    check_budget(budget)
    check_budget(batch_norm_budget)
    device = resolve_device(device)
    data = load_digits(seed=0).to(device)
    kwargs = budget.train_kwargs()
    runs = {}
    for seed in budget.seeds:
        for opt, lrs in grid.items():
            for lr in lrs:
                net = seeded_mlp(data, seed, device=device, **NET)
                rec = TrainingRecorder(net, every=record_every)
                try:
                    hist = train(
                        net,
                        data,
                        seed=seed,
                        callbacks=[rec],
                        device=device,
                        **{**kwargs, "optimizer": opt, "lr": lr},
                    )
                finally:
                    rec.remove()
                runs[opt, lr, seed] = (hist, rec)
    first = budget.seeds[0]
    best = {
        opt: min(lrs, key=lambda lr, opt=opt: runs[opt, lr, first][0].final_train_loss)
        for opt, lrs in grid.items()
    }
    batch_norm = {
        seed: train_mlp(data, seed, batch_norm_budget, norm="batch", device=device, **NET)[1]
        for seed in budget.seeds
    }
    result = Optimizers(budget, grid, window, runs, best, batch_norm, batch_norm_budget)
    record(KEY, **result.summary())
    return result
