"""Low-rank factorization (Denton et al. 2014; Jaderberg et al. 2014): a trained MLP's hidden
layers replaced by their truncated SVD at several ranks, with and without fine-tuning, and
what that buys in parameters, multiply-adds and time.

Shown by ``gallery/compression/plot_04_low_rank.py``, quoted by
``docs/chapters/compression.md``, asserted by ``tests/claims/test_compression.py``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..compression import count_macs, low_rank_mlp, time_inference
from ..data import load_digits
from ..models import MLP, count_parameters
from ..results import record
from ..runtime import resolve_device
from ..train import Budget, evaluate, train

__all__ = ["BUDGET", "FINE_TUNE", "KEY", "LowRank", "run"]

KEY = "compression.low_rank"
#: The network factorized: two hidden layers of 256 units, trained from seed 0.
NET = {"depth": 2, "width": 256}
#: Training the dense network: SGD with momentum, 400 steps.
BUDGET = Budget(steps=400, lr=0.05, optimizer="momentum", batch_size=64)
#: Fine-tuning a factorized network: 100 steps at a fifth of the learning rate (at the full
#: rate it undoes part of what the SVD kept).
FINE_TUNE = BUDGET.replace(steps=100, lr=0.01)
RANKS = (1, 2, 4, 8, 16, 32, 64)


def energy_rank(weight: torch.Tensor, fraction: float = 0.9) -> int:
    """Smallest rank whose singular values hold ``fraction`` of the squared Frobenius norm."""
    s = torch.linalg.svdvals(weight.detach().float()).cpu()
    energy = torch.cumsum(s**2, 0) / (s**2).sum()
    return int((energy < fraction).sum()) + 1


@dataclass
class LowRank:
    """What :func:`run` measured.

    Attributes
    ----------
    base, initial
        The trained dense network and a copy of it at initialization.
    base_accuracy
        The dense network's test accuracy.
    rows
        ``rank -> (parameters, multiply-adds, accuracy, accuracy after fine-tuning)``.
    dense_timing, rank_timings
        ``(parameters, median inference ms on the test set)`` of the dense network, and of the
        factorized one by rank.
    """

    base: MLP
    initial: MLP
    base_accuracy: float
    rows: dict[int, tuple[int, int, float, float]]
    dense_timing: tuple[int, float]
    rank_timings: dict[int, tuple[int, float]]

    def singular_values(self, which: str = "trained") -> np.ndarray:
        """The hidden-to-hidden matrix's singular values (``"trained"`` or ``"initial"``)."""
        net = self.base if which == "trained" else self.initial
        return torch.linalg.svdvals(net.linears[1].weight.detach()).cpu().numpy()

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages."""
        return {
            "budget": str(BUDGET),
            "base_accuracy": self.base_accuracy,
            "energy_rank_initial": energy_rank(self.initial.linears[1].weight),
            "energy_rank_trained": energy_rank(self.base.linears[1].weight),
            "ranks": list(self.rows),
            "accuracy": [row[2] for row in self.rows.values()],
            "fine_tuned": [row[3] for row in self.rows.values()],
            "parameters": [row[0] for row in self.rows.values()],
            "macs": [row[1] for row in self.rows.values()],
            "dense_parameters": self.dense_timing[0],
            "dense_macs": count_macs(self.base, (64,)),
            "dense_ms": self.dense_timing[1],
            "timed_ranks": list(self.rank_timings),
            "timed_ms": [ms for _, ms in self.rank_timings.values()],
        }


def run(
    *,
    ranks: Sequence[int] = RANKS,
    timed_ranks: Sequence[int] = (8, 32),
    device: torch.device | str | None = None,
) -> LowRank:
    """Train the dense network, factorize its hidden layers at each rank (fine-tuning a copy)
    and time the dense network and ``timed_ranks``."""
    device = resolve_device(device)
    data = load_digits(seed=0).to(device)
    torch.manual_seed(0)
    base = MLP(64, 10, **NET).to(device)
    initial = copy.deepcopy(base)
    train(base, data, device=device, **BUDGET.train_kwargs())
    base_accuracy = evaluate(base, data.x_test, data.y_test)[1]
    rows = {}
    for r in ranks:
        small = low_rank_mlp(base, r)
        acc = evaluate(small, data.x_test, data.y_test)[1]
        train(small, data, device=device, **FINE_TUNE.train_kwargs())
        tuned = evaluate(small, data.x_test, data.y_test)[1]
        rows[r] = (count_parameters(small), count_macs(small, (64,)), acc, tuned)
    x = data.x_test
    dense_timing = (count_parameters(base), 1e3 * time_inference(base, x, repeats=50))
    rank_timings = {}
    for r in timed_ranks:
        small = low_rank_mlp(base, r)
        rank_timings[r] = (count_parameters(small), 1e3 * time_inference(small, x, repeats=50))
    result = LowRank(base, initial, base_accuracy, rows, dense_timing, rank_timings)
    record(KEY, **result.summary())
    return result
