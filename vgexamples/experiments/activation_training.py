"""Which deep MLPs train: 20-layer He-initialized networks with five activations under one
budget, with saturated and dead units recorded during training, and the forward signal
(:func:`vgexamples.diagnostics.example_spread`) and gradient ratio of every network measured
before and after it.

Shown by ``gallery/vanishing/plot_03_training.py``, quoted by ``docs/chapters/vanishing.md``,
asserted by ``tests/claims/test_vanishing.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .._checks import check_int
from ..data import load_digits
from ..diagnostics import Profile, gradient_profile
from ..models import MLP
from ..monitors import TrainingRecorder
from ..results import record
from ..runtime import resolve_device
from ..train import Budget, History, check_budget, train
from .gradients_at_init import ACTIVATIONS

__all__ = ["BUDGET", "KEY", "ActivationTraining", "run"]

KEY = "vanishing.training"
#: Training images in the profiling pass before and after training.
PROFILE_BATCH = 512
#: Plain SGD for 1,000 steps: the same budget for every activation.
BUDGET = Budget(steps=1000, lr=0.05, optimizer="sgd", batch_size=64, eval_every=50)


@dataclass
class ActivationTraining:
    """What :func:`run` measured.

    Attributes
    ----------
    budget, depth, width, init
        The training budget and the networks.
    activations
        The activations compared.
    histories, recorders
        ``(activation, seed) -> History`` and the matching
        :class:`~vgexamples.monitors.TrainingRecorder` (hooks removed).
    profiles
        ``(activation, seed, "initial" | "final") -> Profile``: one forward/backward pass on
        the first :data:`PROFILE_BATCH` training images before and after training.
    """

    budget: Budget
    depth: int
    width: int
    init: str
    activations: tuple[str, ...]
    histories: dict[tuple[str, int], History]
    recorders: dict[tuple[str, int], TrainingRecorder]
    profiles: dict[tuple[str, int, str], Profile]

    def history(self, activation: str, seed: int | None = None) -> History:
        """One run's history (default: the budget's first seed)."""
        return self.histories[activation, self.budget.seeds[0] if seed is None else seed]

    def recorder(self, activation: str, seed: int | None = None) -> TrainingRecorder:
        """One run's recorder (default: the budget's first seed)."""
        return self.recorders[activation, self.budget.seeds[0] if seed is None else seed]

    def profile(self, activation: str, when: str, seed: int | None = None) -> Profile:
        """The pass before (``"initial"``) or after (``"final"``) training (default: first seed)."""
        return self.profiles[activation, self.budget.seeds[0] if seed is None else seed, when]

    def last_spread(self, activation: str, when: str, seed: int | None = None) -> float:
        """The last hidden layer's spread across images, before or after training."""
        return self.profile(activation, when, seed).spread[-1]

    def final_fraction(self, activation: str, which: str, seed: int | None = None) -> float:
        """Mean over hidden layers of the last recorded ``"saturated"`` or ``"dead"`` fraction."""
        series = getattr(self.recorder(activation, seed), which)
        return float(np.mean([v[-1] for v in series.values()]))

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages (first seed)."""
        out: dict[str, object] = {"budget": str(self.budget), "depth": self.depth}
        for act in self.activations:
            h = self.history(act)
            out[f"{act}_accuracy"] = h.final_test_accuracy
            out[f"{act}_train_loss"] = h.final_train_loss
            for when in ("initial", "final"):
                out[f"{act}_{when}_last_spread"] = self.last_spread(act, when)
                out[f"{act}_{when}_ratio"] = self.profile(act, when).ratio_first_to_last()
        for act in ("sigmoid", "tanh"):
            if act in self.activations:
                out[f"{act}_final_saturated"] = self.final_fraction(act, "saturated")
        if "relu" in self.activations:
            out["relu_final_dead"] = self.final_fraction("relu", "dead")
        return out


def run(
    *,
    activations: Sequence[str] = ACTIVATIONS,
    depth: int = 20,
    width: int = 64,
    init: str = "he",
    budget: Budget = BUDGET,
    record_every: int = 25,
    device: torch.device | str | None = None,
) -> ActivationTraining:
    """Train one MLP per activation and seed of ``budget`` on the digits.

    Each network is built after ``torch.manual_seed(seed)`` (the network that
    :mod:`~vgexamples.experiments.gradients_at_init` profiles under He initialization) and
    trained with the same seed's mini-batch order; it is profiled
    (:func:`~vgexamples.diagnostics.gradient_profile`) before and after training, and a
    :class:`~vgexamples.monitors.TrainingRecorder` records per-layer statistics every
    ``record_every`` steps.
    """
    check_int("record_every", record_every)
    check_budget(budget)
    device = resolve_device(device)
    data = load_digits(seed=0)
    x = data.x_train[:PROFILE_BATCH].to(device)
    y = data.y_train[:PROFILE_BATCH].to(device)
    histories, recorders, profiles = {}, {}, {}
    for act in activations:
        for seed in budget.seeds:
            torch.manual_seed(seed)
            net = MLP(64, 10, depth=depth, width=width, activation=act, init=init).to(device)
            profiles[act, seed, "initial"] = gradient_profile(net, x, y, keep_tensors=False)
            rec = TrainingRecorder(net, every=record_every)
            try:
                histories[act, seed] = train(
                    net, data, seed=seed, callbacks=[rec], device=device, **budget.train_kwargs()
                )
            finally:
                rec.remove()
            recorders[act, seed] = rec
            profiles[act, seed, "final"] = gradient_profile(net, x, y, keep_tensors=False)
    result = ActivationTraining(
        budget, depth, width, init, tuple(activations), histories, recorders, profiles
    )
    record(KEY, **result.summary())
    return result
