"""Compact filters and shared weights: what a standard and a depthwise-separable convolution
(Howard et al. 2017) cost against a fully connected layer, small CNNs against an MLP on the
digits, and whether a deep CNN's shared weights protect it from vanishing gradients.

Shown by ``gallery/compression/plot_05_compact_filters.py``, quoted by
``docs/chapters/compression.md`` and the claims page, asserted by
``tests/claims/test_compression.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..cnn import DeepCNN, SmallCNN
from ..compression import count_macs
from ..data import load_digits
from ..diagnostics import Profile, gradient_profile
from ..models import MLP, count_parameters
from ..results import record
from ..runtime import resolve_device
from ..train import Budget, check_budget, train

__all__ = ["BUDGET", "KEY", "SETTINGS", "CompactFilters", "layer_costs", "run"]

KEY = "compression.shared_weights"
#: Adam for 300 steps, three seeds, for each small network.
BUDGET = Budget(steps=300, lr=3e-3, optimizer="adam", batch_size=64, seeds=(0, 1, 2))
#: (activation, init) pairs of the vanishing-gradient comparison.
SETTINGS = (("sigmoid", "default"), ("sigmoid", "xavier"), ("tanh", "xavier"), ("relu", "he"))
#: Depth and width (channels or units) of the deep CNN and MLP compared.
DEEP_DEPTH, DEEP_WIDTH = 10, 16


def layer_costs(c_in: int = 16, c_out: int = 32, k: int = 3, side: int = 8) -> dict:
    """Parameters and multiply-adds per image of one layer mapping ``c_in`` channels to
    ``c_out`` on a ``side x side`` map: standard, depthwise-separable and fully connected."""
    layers = {
        "standard 3x3": nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2)),
        "depthwise + 1x1": nn.Sequential(
            nn.Conv2d(c_in, c_in, k, padding=k // 2, groups=c_in), nn.Conv2d(c_in, c_out, 1)
        ),
    }
    costs = {
        name: (count_parameters(m), count_macs(m, (c_in, side, side))) for name, m in layers.items()
    }
    dense = nn.Linear(c_in * side * side, c_out * side * side)
    costs["fully connected"] = (count_parameters(dense), count_macs(dense, (c_in * side * side,)))
    return costs


def builders() -> dict[str, tuple]:
    """label -> (builder, image input?) of the small networks compared."""
    return {
        "CNN, standard": (lambda: SmallCNN(channels=(16, 32)), True),
        "CNN, separable": (lambda: SmallCNN(channels=(16, 32), separable=True), True),
        "MLP, 64 hidden": (lambda: MLP(64, 10, depth=1, width=64), False),
    }


@dataclass
class CompactFilters:
    """What :func:`run` measured.

    Attributes
    ----------
    costs
        :func:`layer_costs`.
    budget
        The small networks' budget.
    small
        ``label -> (parameters, multiply-adds, [accuracy per seed])``.
    profiles
        ``(activation, init, "CNN" or "MLP", seed) -> Profile`` at initialization, on 256
        training digits.
    profile_seeds
        The seeds of the profiles.
    """

    costs: dict[str, tuple[int, int]]
    budget: Budget
    small: dict[str, tuple[int, int, list[float]]]
    profiles: dict[tuple[str, str, str, int], Profile]
    profile_seeds: tuple[int, ...]

    def ratio(
        self,
        activation: str,
        init: str,
        kind: str,
        which: str = "weight_grad_norm",
        seed: int | None = None,
    ) -> float:
        """First/last layer ratio of one profile (default: first seed, weight gradients)."""
        seed = self.profile_seeds[0] if seed is None else seed
        return self.profiles[activation, init, kind, seed].ratio_first_to_last(which)

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages (first seed)."""
        out: dict[str, object] = {
            "budget": str(self.budget),
            "depth": DEEP_DEPTH,
            "small": {
                label: {"params": n, "macs": macs, "accuracy": float(np.mean(accs))}
                for label, (n, macs, accs) in self.small.items()
            },
        }
        for activation, init in SETTINGS:
            for kind in ("CNN", "MLP"):
                out[f"{kind.lower()}_{activation}_{init}"] = self.ratio(activation, init, kind)
        return out


def run(
    *,
    budget: Budget = BUDGET,
    profile_seeds: Sequence[int] = (0,),
    device: torch.device | str | None = None,
) -> CompactFilters:
    """Cost one layer three ways, train the small networks for each of the budget's seeds,
    and profile a deep CNN and MLP per activation, initialization and profile seed."""
    check_budget(budget)
    device = resolve_device(device)
    images = load_digits(seed=0, image=True).to(device)
    flat = load_digits(seed=0).to(device)
    small = {}
    for label, (build, image) in builders().items():
        data = images if image else flat
        accs = []
        for seed in budget.seeds:
            torch.manual_seed(seed)
            net = build().to(device)
            h = train(net, data, seed=seed, device=device, **budget.train_kwargs())
            accs.append(h.final_test_accuracy)
        shape = tuple(data.x_train.shape[1:])
        small[label] = (count_parameters(net), count_macs(net, shape), accs)
    profiles = {}
    for seed in profile_seeds:
        for activation, init in SETTINGS:
            torch.manual_seed(seed)
            cnn = DeepCNN(
                depth=DEEP_DEPTH, channels=DEEP_WIDTH, activation=activation, init=init
            ).to(device)
            torch.manual_seed(seed)
            mlp = MLP(
                64, 10, depth=DEEP_DEPTH, width=DEEP_WIDTH, activation=activation, init=init
            ).to(device)
            profiles[activation, init, "CNN", seed] = gradient_profile(
                cnn, images.x_train[:256], images.y_train[:256]
            )
            profiles[activation, init, "MLP", seed] = gradient_profile(
                mlp, flat.x_train[:256], flat.y_train[:256]
            )
    result = CompactFilters(layer_costs(), budget, small, profiles, tuple(profile_seeds))
    record(KEY, **result.summary())
    return result
