"""Residual connections and the degradation problem (He et al. 2016): plain and residual ReLU
MLPs, with and without batch normalization, and residual MLPs without normalization whose
branches start small (SkipInit, De & Smith 2020; Fixup, Zhang et al. 2019), at several depths,
under one budget and on several seeds.

Shown by ``gallery/trainable/plot_04_residual.py``, quoted by ``docs/chapters/trainable.md``
and the claims page, asserted by ``tests/claims/test_trainable.py``.
"""

from __future__ import annotations

import math
import re
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

__all__ = ["BUDGET", "KEY", "SMALL_BRANCH", "VARIANTS", "Residual", "branch_scale", "run"]

KEY = "trainable.residual"
#: label -> (norm, residual, branch start) of :class:`vgexamples.models.MLP`; the branch start
#: is ``None`` (plain skips ``h + F(h)``) or a number: the start of a learned multiplier of
#: each residual branch (``branch_scale``; 0 as in SkipInit). :func:`branch_scale` also
#: accepts ``"1/sqrt(L)"``, one over the root of the depth, for a variant of your own.
VARIANTS: dict[str, tuple[str, bool, float | str | None]] = {
    "plain": ("none", False, None),
    "residual": ("none", True, None),
    "plain + BN": ("batch", False, None),
    "residual + BN": ("batch", True, None),
    "residual, zero branch": ("none", True, 0.0),
}
#: The variant without normalization whose residual branches start small.
SMALL_BRANCH = "residual, zero branch"
#: SGD with momentum for 200 steps at every depth, on three seeds.
BUDGET = Budget(steps=200, lr=0.01, optimizer="momentum", batch_size=64, seeds=(0, 1, 2))


def key(label: str, depth: int) -> str:
    """The recorded name of a variant at a depth, e.g. ``"plain_and_bn_32"``,
    ``"residual_zero_branch_32"``."""
    slug = re.sub(r"[^a-z0-9]+", "_", label.replace("+", "and").lower()).strip("_")
    return f"{slug}_{depth}"


def branch_scale(start: float | str | None, depth: int) -> float | None:
    """The ``branch_scale`` argument of :class:`~vgexamples.models.MLP` for a variant's branch
    start at ``depth`` hidden blocks: ``None``, a number, or ``"1/sqrt(L)"``."""
    if start == "1/sqrt(L)":
        return 1.0 / math.sqrt(depth)
    if start is not None and (isinstance(start, str) or not isinstance(start, (int, float))):
        raise ValueError(f"start must be None, a number or '1/sqrt(L)'; got {start!r}")
    return start


def per_block_growth(vp: VarianceProfile) -> float:
    """Mean per-block multiplier of the hidden layers' pre-activation variance."""
    return float(np.exp(np.diff(np.log(vp.preactivation_var[1:-1]))).mean())


@dataclass
class Residual:
    """What :func:`run` measured.

    Attributes
    ----------
    budget, depths, width
        The training budget (its seeds are the seeds of every measurement), the numbers of
        hidden blocks and their width.
    profiles
        ``(label, seed) -> Profile`` of the deepest networks at initialization (He init, one
        batch of 512 training digits).
    growth
        ``seed -> VarianceProfile`` of the deepest residual network without normalization.
    at_init
        ``(label, depth, seed) -> (per-block growth, first/last weight-gradient ratio)`` of
        every network at initialization, on the same batch.
    histories
        ``(label, depth, seed) -> History``.
    """

    budget: Budget
    depths: tuple[int, ...]
    width: int
    profiles: dict[tuple[str, int], Profile]
    growth: dict[int, VarianceProfile]
    at_init: dict[tuple[str, int, int], tuple[float, float]]
    histories: dict[tuple[str, int, int], History]

    @property
    def seeds(self) -> tuple[int, ...]:
        return self.budget.seeds

    def final_loss(self, label: str, depth: int, seed: int | None = None) -> float:
        """Final training loss, ``inf`` for a run that diverged."""
        h = self.histories[label, depth, self.seeds[0] if seed is None else seed]
        return math.inf if h.diverged else h.final_train_loss

    def losses(self, label: str, depth: int) -> list[float]:
        """Final training loss of every seed (``inf`` where the run diverged)."""
        return [self.final_loss(label, depth, s) for s in self.seeds]

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages: every seed's as a list, first-seed values
        under the historical names."""
        seed = self.seeds[0]
        deepest = max(self.depths)
        out: dict[str, object] = {
            "budget": str(self.budget),
            "depths": list(self.depths),
            "width": self.width,
            "deepest": deepest,
            "seeds": list(self.seeds),
            "chance_loss": math.log(10),
            "growth_per_block": per_block_growth(self.growth[seed]),
            "var_at_head": self.growth[seed].preactivation_var[-1],
        }
        for label in VARIANTS:
            out[f"{key(label, deepest)}_ratio_at_init"] = self.profiles[
                label, seed
            ].ratio_first_to_last()
            for depth in self.depths:
                k = key(label, depth)
                out[k] = self.final_loss(label, depth)
                out[f"{k}_losses"] = self.losses(label, depth)
                out[f"{k}_growth"] = [self.at_init[label, depth, s][0] for s in self.seeds]
                out[f"{k}_ratio"] = [self.at_init[label, depth, s][1] for s in self.seeds]
        return out


def run(
    *,
    depths: Sequence[int] = (4, 8, 16, 32),
    width: int = 32,
    budget: Budget = BUDGET,
    device: torch.device | str | None = None,
) -> Residual:
    """Measure every variant at every depth at initialization and train it, for each of the
    budget's seeds (He initialization, ReLU units)."""
    depths = tuple(check_int("depths[i]", d) for d in depths)
    if not depths:
        raise ValueError("depths must hold at least one depth")
    width = check_int("width", width)
    check_budget(budget)
    device = resolve_device(device)
    data = load_digits(seed=0).to(device)
    x, y = data.x_train[:512], data.y_train[:512]
    net_kwargs = {"width": width, "activation": "relu", "init": "he", "device": device}
    deepest = max(depths)
    profiles, growth, at_init, histories = {}, {}, {}, {}
    for seed in budget.seeds:
        for label, (norm, residual, start) in VARIANTS.items():
            for depth in depths:
                kwargs = {
                    "depth": depth,
                    "norm": norm,
                    "residual": residual,
                    "branch_scale": branch_scale(start, depth),
                    **net_kwargs,
                }
                net = seeded_mlp(data, seed, **kwargs)
                with kept_buffers(net):  # the passes must not move the running statistics
                    vp = variance_profile(net, x, y)
                    prof = gradient_profile(net, x, y)
                at_init[label, depth, seed] = (per_block_growth(vp), prof.ratio_first_to_last())
                if depth == deepest:
                    profiles[label, seed] = prof
                    if label == "residual":
                        growth[seed] = vp
                _, histories[label, depth, seed] = train_mlp(data, seed, budget, **kwargs)
    result = Residual(budget, depths, width, profiles, growth, at_init, histories)
    record(KEY, **result.summary())
    return result
