"""Batch normalization in deep sigmoid and tanh MLPs: per-layer gradients, training, the input
of one unit over training (Ioffe & Szegedy 2015, figure 1); what the transform normalizes
when it is placed as in the paper (before the nonlinearity); and whether it trains better
before or after the nonlinearity, with sigmoid and ReLU units.

Shown by ``gallery/trainable/plot_03_batch_norm.py``, quoted by
``docs/chapters/trainable.md`` and the claims page, asserted by
``tests/claims/test_trainable.py``.
"""

from __future__ import annotations

import math
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

__all__ = [
    "BUDGET",
    "KEY",
    "ORDER_ACTIVATIONS",
    "ORDER_BUDGETS",
    "BatchNorm",
    "normalization_stats",
    "run",
]

KEY = "trainable.batch_norm"
#: The networks: ten hidden layers of 64 units, Xavier initialization.
NET = {"depth": 10, "width": 64, "init": "xavier"}
#: Training with and without normalization: plain SGD for 400 steps.
BUDGET = Budget(steps=400, lr=0.1, optimizer="sgd", batch_size=64, eval_every=50)
#: Before against after the nonlinearity: 200 steps of plain SGD at two learning rates, five
#: seeds, for each of :data:`ORDER_ACTIVATIONS`.
ORDER_BUDGETS = tuple(Budget(steps=200, lr=lr, seeds=(0, 1, 2, 3, 4)) for lr in (0.1, 0.5))
#: The activations of the ordering runs and of the normalization statistics.
ORDER_ACTIVATIONS = ("sigmoid", "relu")
#: The training loss whose first crossing :meth:`BatchNorm.steps_to` reports by default.
TARGET_LOSS = 0.5
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
        ``(activation, lr, position) -> final training losses`` (one per seed) of the network
        with batch normalization before or after the nonlinearity.
    stats
        ``(activation, seed) -> {"pre_mean", "pre_var", "post_mean", "post_var"}``: see
        :func:`normalization_stats`, for the network with the transform before the
        nonlinearity, at initialization.
    """

    budget: Budget
    order_budgets: tuple[Budget, ...]
    ratio_at_init: dict[tuple[str, str, int], float]
    histories: dict[tuple[str, str, int], History]
    recorders: dict[tuple[str, str, int], TrainingRecorder]
    quantiles: dict[tuple[str, str, int], tuple[list[int], np.ndarray]]
    order: dict[tuple[str, float, str], list[float]]
    stats: dict[tuple[str, int], dict[str, float]]

    def run_of(self, act: str, norm: str, seed: int | None = None):
        """``(history, recorder, (steps, quantiles))`` of one run (default: first seed)."""
        key = (act, norm, self.budget.seeds[0] if seed is None else seed)
        return self.histories[key], self.recorders[key], self.quantiles[key]

    def early_grad_norms(self, act: str, norm: str, seed: int | None = None) -> list[float]:
        """Each layer's weight-gradient norm averaged over the records of steps 1-100."""
        rec = self.run_of(act, norm, seed)[1]
        early = [i for i, s in enumerate(rec.steps) if s <= 100]
        return [float(np.mean([v[i] for i in early])) for v in rec.weight_grad_norm.values()]

    def after_wins(self, act: str, lr: float) -> int:
        """Seeds on which normalizing after the nonlinearity reached the lower training loss."""
        after, before = (
            np.array(self.order[act, lr, "after"]),
            np.array(self.order[act, lr, "before"]),
        )
        return int((after < before).sum())

    def steps_to(
        self, act: str, norm: str, loss: float = TARGET_LOSS, seed: int | None = None
    ) -> float:
        """First evaluated step at which the training loss is below ``loss`` (``inf`` if
        never)."""
        h = self.run_of(act, norm, seed)[0]
        return next(
            (float(s) for s, v in zip(h.eval_step, h.train_loss, strict=True) if v < loss),
            math.inf,
        )

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
                out[f"{act}_{norm}_steps_to_target"] = self.steps_to(act, norm)
        out["target_loss"] = TARGET_LOSS
        out["eval_every"] = self.budget.eval_every
        out["steps"] = self.budget.steps
        for act in ORDER_ACTIVATIONS:
            for budget in self.order_budgets:
                tag = f"{act}_lr{str(budget.lr).replace('.', '_')}"
                for pos in POSITIONS:
                    out[f"{tag}_{pos}"] = float(np.mean(self.order[act, budget.lr, pos]))
                    out[f"{tag}_{pos}_losses"] = list(self.order[act, budget.lr, pos])
                out[f"{tag}_after_wins"] = self.after_wins(act, budget.lr)
            for name in ("pre_mean", "pre_var", "post_mean", "post_var"):
                out[f"{act}_bn_{name}"] = float(
                    np.mean([self.stats[act, s][name] for s in self.order_budgets[0].seeds])
                )
        out["seeds"] = len(self.order_budgets[0].seeds)
        out["order_lrs"] = [b.lr for b in self.order_budgets]
        out["order_activations"] = list(ORDER_ACTIVATIONS)
        out["description_activations"] = list(ORDER_ACTIVATIONS)
        return out


def normalization_stats(net: torch.nn.Module, x: torch.Tensor) -> dict[str, float]:
    """Per-unit statistics over the batch ``x`` of what enters and what leaves every hidden
    nonlinearity of an :class:`~vgexamples.models.MLP` built with ``norm="batch"``.

    The network runs in training mode (batch statistics, as in training) without moving its
    running statistics. For each hidden layer we take every unit's mean and variance over the
    batch, then average ``|mean|`` and the variance over the units; the four numbers returned
    (``pre_mean``, ``pre_var`` for the nonlinearity's input, ``post_mean``, ``post_var`` for
    its output) are those averages over the hidden layers.
    """
    acts = net.activations
    seen: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def hook(mod, inputs, output, i):
        seen[i] = (inputs[0].detach(), output.detach())

    handles = [
        a.register_forward_hook(lambda m, i_, o, i=i: hook(m, i_, o, i)) for i, a in enumerate(acts)
    ]
    try:
        with kept_buffers(net), torch.no_grad():
            was = net.training
            net.train()
            try:
                net(x)
            finally:
                net.train(was)
    finally:
        for h in handles:
            h.remove()
    out: dict[str, list[float]] = {"pre_mean": [], "pre_var": [], "post_mean": [], "post_var": []}
    for i in range(len(acts)):
        for side, t in zip(("pre", "post"), seen[i], strict=True):
            t = t.float()
            out[f"{side}_mean"].append(float(t.mean(0).abs().mean()))
            out[f"{side}_var"].append(float(t.var(0, unbiased=False).mean()))
    return {k: float(np.mean(v)) for k, v in out.items()}


def run(
    *,
    budget: Budget = BUDGET,
    order_budgets: Sequence[Budget] = ORDER_BUDGETS,
    record_every: int = 20,
    device: torch.device | str | None = None,
) -> BatchNorm:
    """Train the sigmoid and tanh networks with and without batch normalization; measure what
    the normalization placed before the nonlinearity normalizes; and train the sigmoid and
    ReLU networks with the normalization before and after the nonlinearity (same seeds and
    budgets for both placements)."""
    check_int("record_every", record_every)
    check_budget(budget)
    order_budgets = tuple(order_budgets)
    if not order_budgets:
        raise ValueError("order_budgets must hold at least one budget")
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
    order, stats = {}, {}
    for act in ORDER_ACTIVATIONS:
        for seed in order_budgets[0].seeds:
            net = seeded_mlp(data, seed, activation=act, norm="batch", device=device, **NET)
            stats[act, seed] = normalization_stats(net, x)
        for ob in order_budgets:
            for pos in POSITIONS:
                order[act, ob.lr, pos] = [
                    train_mlp(
                        data,
                        s,
                        ob,
                        activation=act,
                        norm="batch",
                        norm_position=pos,
                        device=device,
                        **NET,
                    )[1].final_train_loss
                    for s in ob.seeds
                ]
    result = BatchNorm(
        budget, tuple(order_budgets), ratio_at_init, histories, recorders, quantiles, order, stats
    )
    record(KEY, **result.summary())
    return result
