"""Residual connections and the degradation problem (He et al. 2016): plain and residual ReLU
MLPs, with and without batch normalization, at several depths, under one budget.

Shown by ``gallery/trainable/plot_04_residual.py``, quoted by ``docs/chapters/trainable.md``
and the claims page, asserted by ``tests/claims/test_trainable.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .._checks import check_int
from ..data import load_digits
from ..diagnostics import Profile, gradient_profile
from ..models import seeded_mlp
from ..propagation import VarianceProfile, variance_profile
from ..results import record
from ..runtime import resolve_device
from ..state import kept_buffers
from ..train import Budget, History, check_budget, train_mlp

__all__ = ["BUDGET", "KEY", "VARIANTS", "Residual", "run"]

KEY = "trainable.residual"
#: label -> (norm, residual) of :class:`vgexamples.models.MLP`.
VARIANTS: dict[str, tuple[str, bool]] = {
    "plain": ("none", False),
    "residual": ("none", True),
    "plain + BN": ("batch", False),
    "residual + BN": ("batch", True),
}
#: SGD with momentum for 200 steps at every depth.
BUDGET = Budget(steps=200, lr=0.01, optimizer="momentum", batch_size=64)


def key(label: str, depth: int) -> str:
    """The recorded name of a variant at a depth, e.g. ``"plain_and_bn_32"``."""
    return f"{label.replace(' ', '_').replace('+', 'and').lower()}_{depth}"


def per_block_growth(vp: VarianceProfile) -> float:
    """Mean per-block multiplier of the hidden layers' pre-activation variance."""
    return float(np.exp(np.diff(np.log(vp.preactivation_var[1:-1]))).mean())


@dataclass
class Residual:
    """What :func:`run` measured.

    Attributes
    ----------
    budget, depths, width
        The training budget, the numbers of hidden blocks and their width.
    profiles
        ``(label, seed) -> Profile`` of the deepest networks at initialization (He init, one
        batch of 512 training digits).
    growth
        ``seed -> VarianceProfile`` of the deepest residual network without normalization.
    histories
        ``(label, depth, seed) -> History``.
    """

    budget: Budget
    depths: tuple[int, ...]
    width: int
    profiles: dict[tuple[str, int], Profile]
    growth: dict[int, VarianceProfile]
    histories: dict[tuple[str, int, int], History]

    def final_loss(self, label: str, depth: int, seed: int | None = None) -> float:
        """Final training loss, ``inf`` for a run that diverged."""
        h = self.histories[label, depth, self.budget.seeds[0] if seed is None else seed]
        return math.inf if h.diverged else h.final_train_loss

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages (first seed)."""
        seed = self.budget.seeds[0]
        deepest = max(self.depths)
        out: dict[str, object] = {
            "budget": str(self.budget),
            "depths": list(self.depths),
            "width": self.width,
            "deepest": deepest,
            "growth_per_block": per_block_growth(self.growth[seed]),
            "var_at_head": self.growth[seed].preactivation_var[-1],
        }
        for label in VARIANTS:
            out[f"{key(label, deepest)}_ratio_at_init"] = self.profiles[
                label, seed
            ].ratio_first_to_last()
            for depth in self.depths:
                out[key(label, depth)] = self.final_loss(label, depth)
        return out


def run(
    *,
    depths: Sequence[int] = (4, 8, 16, 32),
    width: int = 32,
    budget: Budget = BUDGET,
    device: torch.device | str | None = None,
) -> Residual:
    """Profile the deepest networks at initialization and train every variant at every depth
    (He initialization, ReLU units), for each of the budget's seeds."""
    depths = tuple(check_int("depths[i]", d) for d in depths)
    if not depths:
        raise ValueError("depths must hold at least one depth")
    check_budget(budget)
    device = resolve_device(device)
    data = load_digits(seed=0).to(device)
    x, y = data.x_train[:512], data.y_train[:512]
    net_kwargs = {"width": width, "activation": "relu", "init": "he", "device": device}
    deepest = max(depths)
    profiles, growth, histories = {}, {}, {}
    for seed in budget.seeds:
        for label, (norm, residual) in VARIANTS.items():
            net = seeded_mlp(data, seed, depth=deepest, norm=norm, residual=residual, **net_kwargs)
            with kept_buffers(net):
                profiles[label, seed] = gradient_profile(net, x, y)
        net = seeded_mlp(data, seed, depth=deepest, residual=True, **net_kwargs)
        growth[seed] = variance_profile(net, x, y)
        for label, (norm, residual) in VARIANTS.items():
            for depth in depths:
                _, histories[label, depth, seed] = train_mlp(
                    data, seed, budget, depth=depth, norm=norm, residual=residual, **net_kwargs
                )
    result = Residual(budget, depths, width, profiles, growth, histories)
    record(KEY, **result.summary())
    return result
