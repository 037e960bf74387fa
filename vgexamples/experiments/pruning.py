"""Pruning a trained network (Han et al. 2015) by the smallest weights of each layer, by the
smallest weights overall, and by whole hidden units: accuracy against sparsity with and
without fine-tuning, what each pruned model really costs, and iterative against one-shot
pruning at the same number of training steps.

Shown by ``gallery/compression/plot_02_pruning.py``, quoted by
``docs/chapters/compression.md`` and the claims page, asserted by
``tests/claims/test_compression.py``.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..compression import (
    count_macs,
    csr_bytes,
    iterative_prune,
    make_pruning_permanent,
    prune_magnitude,
    prune_neurons,
    saved_bytes,
    sparsity,
    time_inference,
)
from ..data import load_digits
from ..models import MLP, count_parameters
from ..results import record
from ..runtime import median_seconds, resolve_device
from ..train import Budget, check_budget, evaluate, train

__all__ = ["BASE_BUDGET", "FINE_TUNE", "ITERATIVE", "KEY", "MARGIN", "METHODS", "Pruning", "run"]

KEY = "compression.pruning"
#: The network pruned: 64-128-128-10, trained from seed 0.
NET = {"depth": 2, "width": 128}
#: Training the dense network: SGD with momentum, 400 steps.
BASE_BUDGET = Budget(steps=400, lr=0.05, optimizer="momentum", batch_size=64)
#: Fine-tuning after pruning: 100 more steps of the same.
FINE_TUNE = BASE_BUDGET.replace(steps=100)
#: Iterative against one-shot pruning: 300 steps in all, split over the rounds, on three
#: dense networks trained from these seeds (each seed also fixes the fine-tuning order).
ITERATIVE = BASE_BUDGET.replace(steps=300, seeds=(0, 1, 2))
#: The margin by which iterative pruning must beat one-shot pruning to count as a win.
MARGIN = 0.01
METHODS = ("layer", "global", "neurons")
AMOUNTS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98)


def prune(base: MLP, method: str, amount: float) -> nn.Module:
    """A pruned copy of ``base``: magnitude masks (``"layer"``, ``"global"``) or a smaller
    dense network without the least important hidden units (``"neurons"``)."""
    if method == "neurons":
        return prune_neurons(base, amount)
    return prune_magnitude(copy.deepcopy(base), amount, scope=method)


@dataclass
class Pruning:
    """What :func:`run` measured.

    Attributes
    ----------
    base_accuracy, n_base
        The dense network's test accuracy and parameter count.
    curve
        ``(method, amount) -> (fraction of parameters removed, accuracy, accuracy after
        fine-tuning)``.
    sizes
        ``model -> dict`` of parameters, non-zero parameters, sparsity, saved bytes,
        multiply-adds and median inference milliseconds on the test set, for the dense model
        and the three 90% variants (mask, folded mask, neurons removed).
    iterative
        ``seed -> {rounds: (accuracy, measured sparsity)}`` after pruning to ``target`` the
        dense network trained from that seed.
    base_accuracies
        ``seed ->`` test accuracy of the dense network trained from that seed.
    target, rounds
        The iterative comparison's sparsity and numbers of rounds.
    """

    base_accuracy: float
    n_base: int
    curve: dict[tuple[str, float], tuple[float, float, float]]
    sizes: dict[str, dict[str, float]]
    iterative: dict[int, dict[int, tuple[float, float]]]
    base_accuracies: dict[int, float]
    target: float
    rounds: tuple[int, ...]

    def iterative_gains(self) -> list[float]:
        """Per base network: accuracy of the most rounds minus accuracy of one round."""
        lo, hi = min(self.rounds), max(self.rounds)
        return [v[hi][0] - v[lo][0] for v in self.iterative.values()]

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages."""
        dense, masked = self.sizes["dense"], self.sizes["masked 90%"]
        folded, small = self.sizes["masked, folded"], self.sizes["neurons -90%"]
        return {
            "base_budget": str(BASE_BUDGET),
            "base_accuracy": self.base_accuracy,
            "dense_params": int(dense["params"]),
            "masked_params": int(masked["params"]),
            "masked_nonzero": int(masked["nonzero"]),
            "dense_bytes": int(dense["bytes"]),
            "masked_bytes": int(masked["bytes"]),
            "folded_bytes": int(folded["bytes"]),
            "neurons_params": int(small["params"]),
            "neurons_bytes": int(small["bytes"]),
            "masked_macs_ratio": masked["macs"] / dense["macs"],
            "masked_nonzero_fraction": masked["nonzero"] / dense["params"],
            "dense_weight_bytes": int(masked["dense_weight_bytes"]),
            "masked_csr_bytes": int(masked["csr_bytes"]),
            "csr_ratio": masked["dense_weight_bytes"] / masked["csr_bytes"],
            "dense_ms": dense["ms"],
            "masked_ms": masked["ms"],
            "csr_ms": masked["csr_ms"],
            "neurons_ms": small["ms"],
            "masked_speedup": dense["ms"] / masked["ms"],
            "csr_speedup": dense["ms"] / masked["csr_ms"],
            "neurons_speedup": dense["ms"] / small["ms"],
            "accuracy_90_global": self.curve["global", 0.9][1],
            "accuracy_90_global_tuned": self.curve["global", 0.9][2],
            "target": self.target,
            "margin": MARGIN,
            "iterative": {
                str(s): {str(r): a for r, (a, _) in v.items()} for s, v in self.iterative.items()
            },
            "base_accuracies": {str(s): a for s, a in self.base_accuracies.items()},
            "iterative_gains": self.iterative_gains(),
            "iterative_wins": sum(g > MARGIN for g in self.iterative_gains()),
            "iterative_losses": sum(g < -MARGIN for g in self.iterative_gains()),
            "iterative_nets": len(self.iterative),
        }


@torch.no_grad()
def csr_forward_ms(model: MLP, x: torch.Tensor, *, repeats: int = 50) -> float:
    """Median milliseconds of ``model``'s forward pass on ``x`` with every weight matrix
    stored in CSR form and multiplied by ``torch.sparse.mm`` (the same result as the dense
    pass, up to rounding)."""
    with warnings.catch_warnings():
        # PyTorch marks its CSR support as beta; the timing is what we want from it
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        weights = [layer.weight.detach().to_sparse_csr() for layer in model.linears]
    biases = [layer.bias.detach() for layer in model.linears]
    act = model.activations[0] if model.activations else nn.Identity()

    def forward() -> torch.Tensor:
        h = x.t()
        for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
            h = torch.sparse.mm(w, h) + b[:, None]
            if i < len(weights) - 1:
                h = act(h)
        return h.t()

    return 1e3 * median_seconds(forward, repeats=repeats, warmup=3, device=x.device)


def run(
    *,
    amounts: Sequence[float] = AMOUNTS,
    target: float = 0.97,
    rounds: Sequence[int] = (1, 4),
    iterative: Budget = ITERATIVE,
    device: torch.device | str | None = None,
) -> Pruning:
    """Train the dense network, prune it every way at every amount (fine-tuning a copy), size
    the 90% variants, and reach ``target`` sparsity in each number of ``rounds`` for each of
    the ``iterative`` budget's seeds."""
    check_budget(iterative)
    device = resolve_device(device)
    data = load_digits(seed=0).to(device)
    torch.manual_seed(0)
    base = MLP(64, 10, **NET).to(device)
    train(base, data, device=device, **BASE_BUDGET.train_kwargs())
    base_accuracy = evaluate(base, data.x_test, data.y_test)[1]
    n_base = count_parameters(base)
    curve = {}
    for method in METHODS:
        for amount in amounts:
            model = prune(base, method, amount)
            acc = evaluate(model, data.x_test, data.y_test)[1]
            removed = 1 - count_parameters(model, nonzero=True) / n_base
            train(model, data, device=device, **FINE_TUNE.train_kwargs())
            curve[method, amount] = (removed, acc, evaluate(model, data.x_test, data.y_test)[1])
    models = {
        "dense": base,
        "masked 90%": prune(base, "global", 0.9),
        "masked, folded": make_pruning_permanent(prune(base, "global", 0.9)),
        "neurons -90%": prune(base, "neurons", 0.9),
    }
    sizes = {
        name: {
            "params": count_parameters(m),
            "nonzero": count_parameters(m, nonzero=True),
            "sparsity": sparsity(m),
            "bytes": saved_bytes(m),
            "dense_weight_bytes": csr_bytes(m)["dense"],
            "csr_bytes": csr_bytes(m)["csr"],
            "macs": count_macs(m, (64,)),
            "ms": 1e3 * time_inference(m, data.x_test, repeats=50),
        }
        for name, m in models.items()
    }
    folded = models["masked, folded"]
    sizes["masked 90%"]["csr_ms"] = csr_forward_ms(folded, data.x_test)
    sizes["dense"]["csr_ms"] = csr_forward_ms(base, data.x_test)
    accuracies: dict[int, dict[int, tuple[float, float]]] = {}
    base_accuracies = {}
    kwargs = {k: v for k, v in iterative.train_kwargs().items() if k != "steps"}
    for seed in iterative.seeds:
        accuracies[seed] = {}
        if seed == 0:
            seed_base = base
        else:
            torch.manual_seed(seed)
            seed_base = MLP(64, 10, **NET).to(device)
            train(seed_base, data, seed=seed, device=device, **BASE_BUDGET.train_kwargs())
        base_accuracies[seed] = evaluate(seed_base, data.x_test, data.y_test)[1]
        for r in rounds:
            model = copy.deepcopy(seed_base)
            iterative_prune(
                model,
                data,
                target,
                rounds=r,
                steps_per_round=iterative.steps // r,
                seed=seed,
                device=device,
                **kwargs,
            )
            accuracies[seed][r] = (
                evaluate(model, data.x_test, data.y_test)[1],
                sparsity(model),
            )
    result = Pruning(
        base_accuracy, n_base, curve, sizes, accuracies, base_accuracies, target, tuple(rounds)
    )
    record(KEY, **result.summary())
    return result
