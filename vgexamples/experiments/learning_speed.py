"""How fast each hidden layer of a sigmoid MLP learns.

Two measurements. Nielsen's (2015, chapter 5) proxy, the norm of each hidden layer's bias
gradient over many training examples -- in his exact setup (:func:`nielsen_speeds`) and in
ours, at initialization and over training -- and what the proxy stands for: how far each
layer's weights actually move from their initial values while the network trains (relative
change ``||W_t - W_0|| / ||W_0||``).

Shown by ``gallery/trainable/plot_01_learning_speed.py``, quoted by
``docs/chapters/trainable.md`` and the claims page, asserted by
``tests/claims/test_trainable.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .._checks import check_int
from ..data import load_digits
from ..models import MLP, seeded_mlp
from ..monitors import PeriodicProfile
from ..results import record
from ..runtime import resolve_device
from ..train import Budget, History, check_budget, train

__all__ = ["BUDGET", "KEY", "LearningSpeed", "WeightMovement", "nielsen_speeds", "run"]

KEY = "trainable.learning_speed"
#: Plain SGD with a large learning rate and small batches, long enough to leave the plateau.
BUDGET = Budget(steps=2000, lr=0.5, optimizer="sgd", batch_size=32, eval_every=100)
NET = {"width": 30, "activation": "sigmoid", "init": "xavier"}
#: Nielsen's measurement: training examples in the gradient and initializations averaged.
NIELSEN_EXAMPLES = 1000
NIELSEN_SEEDS = tuple(range(10))


def nielsen_speeds(
    depth: int, seed: int = 0, *, examples: int = NIELSEN_EXAMPLES, width: int = 30
) -> np.ndarray:
    """Nielsen's speed of learning of each hidden layer, in his setup, on the digits.

    The network is his ``network2.py`` with its default initializer: ``depth`` sigmoid hidden
    layers of ``width`` units and a layer of ten *sigmoid* output units, weights
    :math:`\\mathcal N(0, 1/n_\\text{in})` and biases :math:`\\mathcal N(0, 1)`, the
    cross-entropy cost :math:`-\\sum_j [y_j \\ln a_j + (1-y_j) \\ln(1-a_j)]` averaged over the
    first ``examples`` training digits with pixels scaled to [0, 1] (64 inputs where his MNIST
    images have 784). Returns the norm of the gradient of that cost with respect to each
    hidden layer's biases, input side first.
    """
    check_int("depth", depth)
    check_int("seed", seed, minimum=0)
    check_int("examples", examples, minimum=2)
    check_int("width", width)
    raw = load_digits(seed=0, standardize=False)
    if examples > len(raw.x_train):
        raise ValueError(f"examples must be at most {len(raw.x_train)}; got {examples}")
    x, y = raw.x_train[:examples] / 16.0, raw.y_train[:examples]
    torch.manual_seed(seed)
    net = MLP(raw.n_features, raw.n_classes, depth=depth, width=width, activation="sigmoid")
    with torch.no_grad():
        for layer in net.linears:
            layer.weight.normal_(0.0, 1.0 / math.sqrt(layer.in_features))
            layer.bias.normal_(0.0, 1.0)
    target = nn.functional.one_hot(y, raw.n_classes).float()
    # sigmoid output units + cross-entropy, summed over the outputs, averaged over examples
    cost = nn.functional.binary_cross_entropy_with_logits(net(x), target, reduction="sum")
    (cost / len(x)).backward()
    return np.array([float(layer.bias.grad.norm()) for layer in net.linears[:-1]])


class WeightMovement:
    """A :func:`~vgexamples.train.train` callback: how far each hidden layer's weights have
    moved from their initial values, ``||W_t - W_0|| / ||W_0||`` (Frobenius norms), every
    ``every`` steps. Create it before training (it stores ``W_0``); ``steps`` starts at 0."""

    def __init__(self, model: MLP, every: int) -> None:
        if not isinstance(model, MLP):
            raise TypeError(f"model must be a vgexamples.models.MLP; got {type(model).__name__}")
        self.every = check_int("every", every)
        self.initial = [layer.weight.detach().clone() for layer in model.linears[:-1]]
        self.steps: list[int] = [0]
        self.values: list[list[float]] = [[0.0] * len(self.initial)]

    def after_step(self, step: int, model: MLP) -> None:
        """Record the relative change of every hidden layer's weights."""
        if step % self.every:
            return
        with torch.no_grad():
            self.values.append(
                [
                    float((layer.weight - w0).norm() / w0.norm())
                    for layer, w0 in zip(model.linears[:-1], self.initial, strict=True)
                ]
            )
        self.steps.append(int(step))

    def series(self) -> np.ndarray:
        """Shape ``(records, hidden layers)``, input side first."""
        return np.array(self.values)


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
    movement
        ``(depth, seed) -> array (records, hidden layers)``: each hidden layer's relative
        weight change from initialization, at the same ``steps`` as ``speeds``.
    nielsen
        ``(depth, seed) -> array`` of :func:`nielsen_speeds`, for ``depth`` in ``depths`` and
        ``seed`` in :data:`NIELSEN_SEEDS`.
    """

    budget: Budget
    depths: tuple[int, ...]
    init_seeds: tuple[int, ...]
    net: dict[str, object]
    at_init: dict[tuple[int, int], np.ndarray]
    steps: list[int]
    speeds: dict[tuple[int, int], np.ndarray]
    histories: dict[tuple[int, int], History]
    movement: dict[tuple[int, int], np.ndarray]
    nielsen: dict[tuple[int, int], np.ndarray]

    def layer_factors(self) -> np.ndarray:
        """Ratios of consecutive layers' speeds at initialization, every depth and seed."""
        return np.concatenate([s[1:] / s[:-1] for s in self.at_init.values()])

    def gap(self, depth: int, seed: int | None = None) -> np.ndarray:
        """Last hidden layer's speed over the first's, at every profiled step."""
        sp = self.speeds[depth, self.budget.seeds[0] if seed is None else seed]
        return sp[:, -1] / sp[:, 0]

    def movement_ratio(self, depth: int, seed: int | None = None) -> np.ndarray:
        """Last hidden layer's relative weight change over the first's, at every profiled step
        after step 0."""
        mv = self.movement[depth, self.budget.seeds[0] if seed is None else seed]
        return mv[1:, -1] / mv[1:, 0]

    def nielsen_mean(self, depth: int) -> np.ndarray:
        """:func:`nielsen_speeds` averaged over the initializations measured."""
        return np.mean([v for (d, _), v in self.nielsen.items() if d == depth], axis=0)

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages (trained runs: the budget's first seed)."""
        factors = self.layer_factors()
        deepest, seed = max(self.depths), self.budget.seeds[0]
        sp = self.speeds[deepest, seed]
        mv = self.movement[deepest, seed]
        ratio = self.movement_ratio(deepest)
        nielsen_factors = np.concatenate([v[1:] / v[:-1] for v in self.nielsen.values()])
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
            # how far the weights move: ||W_t - W_0|| / ||W_0|| per hidden layer
            "movement_steps": self.steps,
            "movement_early_step": self.steps[1],
            "movement_early": mv[1].tolist(),
            "movement_end": mv[-1].tolist(),
            "movement_ratio_early": float(ratio[0]),
            "movement_ratio_end": float(ratio[-1]),
            "movement_ratio_series": ratio.tolist(),
            # Nielsen's setup (network2.py's initializer, sigmoid outputs, cross-entropy)
            "nielsen_examples": NIELSEN_EXAMPLES,
            "nielsen_seeds": len({s for _, s in self.nielsen}),
            "nielsen_speeds": {str(d): self.nielsen_mean(d).tolist() for d in self.depths},
            "nielsen_median_layer_factor": float(np.median(nielsen_factors)),
        }


def run(
    *,
    depths: Sequence[int] = (2, 3, 4),
    init_seeds: Sequence[int] = (0, 1, 2),
    budget: Budget = BUDGET,
    profile_every: int | None = None,
    device: torch.device | str | None = None,
) -> LearningSpeed:
    """Measure every hidden layer's speed of learning and how far its weights move.

    At initialization for every depth and each of ``init_seeds``; over training for every
    depth and each of the budget's seeds, profiling the full training set and each hidden
    layer's relative weight change every ``profile_every`` steps (default: the budget's
    evaluation interval); and Nielsen's setup (:func:`nielsen_speeds`) for every depth and
    each of :data:`NIELSEN_SEEDS`.
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
    nielsen = {(d, s): nielsen_speeds(d, s) for d in depths for s in NIELSEN_SEEDS}
    speeds, histories, movement, steps = {}, {}, {}, []
    for depth in depths:
        for seed in budget.seeds:
            net = seeded_mlp(data, seed, depth=depth, device=device, **NET)
            mon = PeriodicProfile(data.x_train, data.y_train, every=every)
            mon.record(0, net)
            moved = WeightMovement(net, every)
            histories[depth, seed] = train(
                net, data, seed=seed, callbacks=[mon, moved], device=device, **budget.train_kwargs()
            )
            speeds[depth, seed] = mon.series("bias_grad_norm")[:, :-1]
            movement[depth, seed] = moved.series()
            steps = mon.steps
            if moved.steps != steps:
                raise RuntimeError(f"profile steps {steps} differ from movement {moved.steps}")
    result = LearningSpeed(
        budget, depths, init_seeds, dict(NET), at_init, steps, speeds, histories, movement, nielsen
    )
    record(KEY, **result.summary())
    return result
