"""Compact filters and shared weights: what a standard and a depthwise-separable convolution
(Howard et al. 2017) cost against a fully connected layer, small CNNs against an MLP on the
digits, and whether a deep CNN's shared weights protect it from vanishing gradients: the CNN
against its untied twin (:class:`vgexamples.cnn.DeepCNN` with ``shared=False``: the same
layers with a separate filter at every position, drawn from the same distribution), the one
control that changes the sharing and nothing else; a deep MLP stays as context.

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

from .._checks import check_seeds
from ..cnn import DeepCNN, SmallCNN
from ..compression import count_macs
from ..data import load_digits
from ..diagnostics import Profile, gradient_profile
from ..models import MLP, count_parameters
from ..results import record
from ..runtime import resolve_device
from ..train import Budget, check_budget, train

__all__ = [
    "BUDGET",
    "KEY",
    "KINDS",
    "PROFILE_SEEDS",
    "SETTINGS",
    "CompactFilters",
    "layer_costs",
    "run",
]

KEY = "compression.shared_weights"
#: Adam for 300 steps, three seeds, for each small network.
BUDGET = Budget(steps=300, lr=3e-3, optimizer="adam", batch_size=64, seeds=(0, 1, 2))
#: (activation, init) pairs of the vanishing-gradient comparison.
SETTINGS = (("sigmoid", "default"), ("sigmoid", "xavier"), ("tanh", "xavier"), ("relu", "he"))
#: Depth and width (channels or units) of the deep CNN and MLP compared.
DEEP_DEPTH, DEEP_WIDTH = 10, 16
#: The deep networks profiled: the CNN, its untied twin, and the MLP (context).
KINDS = ("CNN", "untied CNN", "MLP")
#: Seeds of the initializations profiled (one forward and backward pass each).
PROFILE_SEEDS = (0, 1, 2)
#: Digits in the profiled batch.
PROFILE_BATCH = 256


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
        ``(activation, init, kind, seed) -> Profile`` at initialization, on 256 training
        digits, for each kind of :data:`KINDS`.
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

    def ratios(self, activation: str, init: str, kind: str, which: str) -> list[float]:
        """First/last ratio of ``which`` for every profile seed."""
        return [self.ratio(activation, init, kind, which, s) for s in self.profile_seeds]

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages.

        ``cnn_*``, ``untied_*`` and ``mlp_*`` (``<kind>_<activation>_<init>``): the first
        profile seed's first/last weight-gradient ratio; ``ratios``: ``kind -> "activation_init"
        -> {"weight": [...], "output": [...]}``, the weight-gradient and back-propagated
        (output-gradient) ratios for every profile seed.
        """
        out: dict[str, object] = {
            "budget": str(self.budget),
            "depth": DEEP_DEPTH,
            "width": DEEP_WIDTH,
            "profile_seeds": list(self.profile_seeds),
            "small": {
                label: {"params": n, "macs": macs, "accuracy": float(np.mean(accs))}
                for label, (n, macs, accs) in self.small.items()
            },
        }
        prefix = {"CNN": "cnn", "untied CNN": "untied", "MLP": "mlp"}
        for activation, init in SETTINGS:
            for kind in KINDS:
                out[f"{prefix[kind]}_{activation}_{init}"] = self.ratio(activation, init, kind)
        out["ratios"] = {
            kind: {
                f"{activation}_{init}": {
                    short: self.ratios(activation, init, kind, which)
                    for short, which in (
                        ("weight", "weight_grad_norm"),
                        ("output", "output_grad_norm"),
                    )
                }
                for activation, init in SETTINGS
            }
            for kind in KINDS
        }
        return out


def run(
    *,
    budget: Budget = BUDGET,
    profile_seeds: Sequence[int] = PROFILE_SEEDS,
    device: torch.device | str | None = None,
) -> CompactFilters:
    """Cost one layer three ways, train the small networks for each of the budget's seeds,
    and profile a deep CNN, its untied twin and a deep MLP per activation, initialization and
    profile seed."""
    check_budget(budget)
    profile_seeds = check_seeds("profile_seeds", profile_seeds)
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
            nets = {}
            for shared, kind in ((True, "CNN"), (False, "untied CNN")):
                torch.manual_seed(seed)
                nets[kind] = DeepCNN(
                    depth=DEEP_DEPTH,
                    channels=DEEP_WIDTH,
                    activation=activation,
                    init=init,
                    shared=shared,
                ).to(device)
            torch.manual_seed(seed)
            nets["MLP"] = MLP(
                64, 10, depth=DEEP_DEPTH, width=DEEP_WIDTH, activation=activation, init=init
            ).to(device)
            for kind, net in nets.items():
                data = flat if kind == "MLP" else images
                layers = None if kind == "MLP" else net.layers()
                profiles[activation, init, kind, seed] = gradient_profile(
                    net,
                    data.x_train[:PROFILE_BATCH],
                    data.y_train[:PROFILE_BATCH],
                    layers=layers,
                    keep_tensors=False,
                )
    result = CompactFilters(layer_costs(), budget, small, profiles, tuple(profile_seeds))
    record(KEY, **result.summary())
    return result
