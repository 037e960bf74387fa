"""Networks whose gradients explode: Nielsen's (2015) chain of sigmoid neurons at their
steepest point, and He-initialized ReLU MLPs whose weights are multiplied by a gain, measured
layer by layer at initialization and trained with plain SGD.

Shown by ``gallery/exploding/plot_01_exploding_gradients.py``, quoted by
``docs/chapters/exploding.md``, asserted by ``tests/claims/test_exploding.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .._checks import check_int
from ..data import load_digits
from ..diagnostics import Profile, gradient_profile
from ..models import MLP
from ..propagation import chain_bias_gradients
from ..results import record
from ..runtime import resolve_device
from ..train import Budget, History, check_budget, train

__all__ = ["BUDGET", "KEY", "Exploding", "build", "run"]

KEY = "exploding.gains"
#: Plain SGD for 300 steps, for the critical network and the one above it.
BUDGET = Budget(steps=300, lr=0.05, optimizer="sgd", batch_size=64, eval_every=50)
#: The networks: ten hidden ReLU layers of 64 units, He initialization times a gain.
NET = {"depth": 10, "width": 64, "activation": "relu", "init": "he"}


def build(gain: float) -> MLP:
    """The network of this experiment for the digits, weights times ``gain`` (He init)."""
    return MLP(64, 10, gain=gain, **NET)


@dataclass
class Exploding:
    """What :func:`run` measured.

    Attributes
    ----------
    chain_depth, chain_weight, chain
        The sigmoid chain and its bias gradients (input side first).
    gains, trained_gains, budget
        The gains profiled and trained, and the training budget.
    profiles
        ``(gain, seed) -> Profile`` at initialization on one batch of training digits.
    histories
        ``(gain, seed) -> History``.
    """

    chain_depth: int
    chain_weight: float
    chain: list[float]
    gains: tuple[float, ...]
    trained_gains: tuple[float, ...]
    budget: Budget
    profiles: dict[tuple[float, int], Profile]
    histories: dict[tuple[float, int], History]

    def profile(self, gain: float, seed: int | None = None) -> Profile:
        """One profile (default: the budget's first seed)."""
        return self.profiles[gain, self.budget.seeds[0] if seed is None else seed]

    def history(self, gain: float, seed: int | None = None) -> History:
        """One training run (default: the budget's first seed)."""
        return self.histories[gain, self.budget.seeds[0] if seed is None else seed]

    def chain_ratios(self) -> list[float]:
        """Consecutive bias-gradient ratios of the chain, input side first."""
        return [a / b for a, b in zip(self.chain[:-1], self.chain[1:], strict=True)]

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages (first seed)."""
        low, high = min(self.gains), max(self.gains)
        exploded, critical = self.history(max(self.trained_gains)), self.history(1.0)
        return {
            "budget": str(self.budget),
            "depth": NET["depth"],
            "chain_weight": self.chain_weight,
            "chain_first": self.chain[0],
            "chain_last": self.chain[-1],
            "chain_ratio": self.chain_ratios()[0],
            "high_gain": high,
            "signal_ratio_low": self.profile(low).ratio_first_to_last("output_grad_norm"),
            "signal_ratio_high": self.profile(high).ratio_first_to_last("output_grad_norm"),
            "wgrad_ratio_high": self.profile(high).ratio_first_to_last("weight_grad_norm"),
            "wgrad_inflation": self.profile(high).weight_grad_norm[0]
            / self.profile(low).weight_grad_norm[0],
            "exploded_diverged": exploded.diverged,
            "exploded_stop_step": exploded.stop.step if exploded.stop else exploded.steps_run,
            "exploded_stop_reason": exploded.stop_reason or "ran its whole budget",
            "exploded_losses": exploded.loss,
            "critical_accuracy": critical.final_test_accuracy,
        }


def run(
    *,
    gains: Sequence[float] = (1.0, 1.25, 1.5),
    trained_gains: Sequence[float] = (1.0, 1.5),
    chain_depth: int = 8,
    chain_weight: float = 100.0,
    batch: int = 256,
    budget: Budget = BUDGET,
    device: torch.device | str | None = None,
) -> Exploding:
    """Measure the chain, profile the gain networks on ``batch`` training digits and train the
    ``trained_gains`` ones, each network built after ``torch.manual_seed(seed)`` for each of
    the budget's seeds."""
    check_int("batch", batch, minimum=2)
    gains, trained_gains = tuple(gains), tuple(trained_gains)
    if 1.0 not in gains or 1.0 not in trained_gains:
        raise ValueError("gains and trained_gains must include the critical gain 1.0")
    check_budget(budget)
    device = resolve_device(device)
    chain = chain_bias_gradients(chain_depth, weight=chain_weight)
    data = load_digits(seed=0)
    x, y = data.x_train[:batch].to(device), data.y_train[:batch].to(device)
    profiles, histories = {}, {}
    for seed in budget.seeds:
        for g in gains:
            torch.manual_seed(seed)
            profiles[g, seed] = gradient_profile(build(g).to(device), x, y)
        for g in trained_gains:
            torch.manual_seed(seed)
            histories[g, seed] = train(
                build(g), data, seed=seed, device=device, **budget.train_kwargs()
            )
    result = Exploding(
        chain_depth, chain_weight, chain, gains, trained_gains, budget, profiles, histories
    )
    record(KEY, **result.summary())
    return result
