"""Batch normalization in deep sigmoid and tanh MLPs: per-layer gradients, training, the input
of one unit over training (Ioffe & Szegedy 2015, figure 1), and whether the normalization
should come before or after the nonlinearity.

Shown by ``gallery/trainable/plot_03_batch_norm.py``, quoted by
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
from ..diagnostics import gradient_profile
from ..models import seeded_mlp
from ..monitors import InputQuantiles, TrainingRecorder
from ..results import record
from ..runtime import resolve_device
from ..state import kept_buffers
from ..train import Budget, History, check_budget, train, train_mlp

__all__ = ["BUDGET", "KEY", "ORDER_BUDGETS", "BatchNorm", "run"]

KEY = "trainable.batch_norm"
#: The networks: ten hidden layers of 64 units, Xavier initialization.
NET = {"depth": 10, "width": 64, "init": "xavier"}
#: Training with and without normalization: plain SGD for 400 steps.
BUDGET = Budget(steps=400, lr=0.1, optimizer="sgd", batch_size=64, eval_every=50)
#: Before against after the sigmoid: 200 steps of plain SGD at two learning rates, five seeds.
ORDER_BUDGETS = tuple(Budget(steps=200, lr=lr, seeds=(0, 1, 2, 3, 4)) for lr in (0.1, 0.5))
ACTIVATIONS = ("sigmoid", "tanh")
NORMS = ("none", "batch")
POSITIONS = ("before", "after")


@dataclass
class BatchNorm:
    """What :func:`run` measured.

    Attributes
    ----------
    budget, order_budgets
        The two budgets.
    ratio_at_init
        ``(activation, norm, seed) -> first/last weight-gradient ratio`` at initialization,
        on a batch of 512 training digits.
    histories, recorders, quantiles
        ``(activation, norm, seed) ->`` the run's History, its
        :class:`~vgexamples.monitors.TrainingRecorder` (every 20 steps) and the
        ``(steps, quantiles)`` of unit 0's input in the last hidden layer on the test images
        (15th, 50th and 85th percentiles, every 20 steps).
    order
        ``(lr, position) -> final training losses`` (one per seed) of the sigmoid network
        with batch normalization before or after the nonlinearity.
    """

    budget: Budget
    order_budgets: tuple[Budget, ...]
    ratio_at_init: dict[tuple[str, str, int], float]
    histories: dict[tuple[str, str, int], History]
    recorders: dict[tuple[str, str, int], TrainingRecorder]
    quantiles: dict[tuple[str, str, int], tuple[list[int], np.ndarray]]
    order: dict[tuple[float, str], list[float]]

    def run_of(self, act: str, norm: str, seed: int | None = None):
        """``(history, recorder, (steps, quantiles))`` of one run (default: first seed)."""
        key = (act, norm, self.budget.seeds[0] if seed is None else seed)
        return self.histories[key], self.recorders[key], self.quantiles[key]

    def early_grad_norms(self, act: str, norm: str, seed: int | None = None) -> list[float]:
        """Each layer's weight-gradient norm averaged over the records of steps 1-100."""
        rec = self.run_of(act, norm, seed)[1]
        early = [i for i, s in enumerate(rec.steps) if s <= 100]
        return [float(np.mean([v[i] for i in early])) for v in rec.weight_grad_norm.values()]

    def after_wins(self, lr: float) -> int:
        """Seeds on which normalizing after the sigmoid reached the lower training loss."""
        return int((np.array(self.order[lr, "after"]) < np.array(self.order[lr, "before"])).sum())

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages (first seed unless the key says otherwise)."""
        seed = self.budget.seeds[0]
        out: dict[str, object] = {
            "budget": str(self.budget),
            "order_budgets": [str(b) for b in self.order_budgets],
            "depth": NET["depth"],
            "width": NET["width"],
        }
        for act in ACTIVATIONS:
            for norm in NORMS:
                out[f"{act}_{norm}_ratio_at_init"] = self.ratio_at_init[act, norm, seed]
                h = self.histories[act, norm, seed]
                out[f"{act}_{norm}_train_loss"] = h.final_train_loss
                out[f"{act}_{norm}_accuracy"] = h.final_test_accuracy
                g = self.early_grad_norms(act, norm)
                out[f"{act}_{norm}_early_ratio"] = g[0] / g[-1]
                _, q = self.quantiles[act, norm, seed]
                out[f"{act}_{norm}_spread_start"] = float(q[0, 2] - q[0, 0])
                out[f"{act}_{norm}_spread_end"] = float(q[-1, 2] - q[-1, 0])
        for budget in self.order_budgets:
            tag = str(budget.lr).replace(".", "_")
            for pos in POSITIONS:
                out[f"{pos}_lr{tag}"] = float(np.mean(self.order[budget.lr, pos]))
            out[f"after_wins_lr{tag}"] = self.after_wins(budget.lr)
        out["seeds"] = len(self.order_budgets[0].seeds)
        out["order_lrs"] = [b.lr for b in self.order_budgets]
        return out


def run(
    *,
    budget: Budget = BUDGET,
    order_budgets: Sequence[Budget] = ORDER_BUDGETS,
    record_every: int = 20,
    device: torch.device | str | None = None,
) -> BatchNorm:
    """Train the sigmoid and tanh networks with and without batch normalization, and the
    sigmoid network with the normalization before and after the nonlinearity."""
    check_int("record_every", record_every)
    check_budget(budget)
    for ob in order_budgets:
        check_budget(ob)
    device = resolve_device(device)
    data = load_digits(seed=0).to(device)
    x, y = data.x_train[:512], data.y_train[:512]
    ratio_at_init, histories, recorders, quantiles = {}, {}, {}, {}
    for act in ACTIVATIONS:
        for norm in NORMS:
            for seed in budget.seeds:
                key = (act, norm, seed)
                net = seeded_mlp(data, seed, activation=act, norm=norm, device=device, **NET)
                with kept_buffers(net):  # the pass must not move the running statistics
                    ratio_at_init[key] = gradient_profile(net, x, y).ratio_first_to_last()
                rec = TrainingRecorder(net, every=record_every)
                quant = InputQuantiles(net.activations[-1], data.x_test, every=record_every)
                quant.record(0, net)
                try:
                    histories[key] = train(
                        net,
                        data,
                        seed=seed,
                        callbacks=[rec, quant],
                        device=device,
                        **budget.train_kwargs(),
                    )
                finally:
                    rec.remove()
                recorders[key] = rec
                quantiles[key] = (quant.steps, quant.as_array())
    order = {}
    for ob in order_budgets:
        for pos in POSITIONS:
            order[ob.lr, pos] = [
                train_mlp(
                    data,
                    s,
                    ob,
                    activation="sigmoid",
                    norm="batch",
                    norm_position=pos,
                    device=device,
                    **NET,
                )[1].final_train_loss
                for s in ob.seeds
            ]
    result = BatchNorm(
        budget, tuple(order_budgets), ratio_at_init, histories, recorders, quantiles, order
    )
    record(KEY, **result.summary())
    return result
