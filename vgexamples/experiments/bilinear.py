"""Bilinear CNNs (Lin, RoyChowdhury & Maji 2015) on a fine-grained texture task whose classes
differ only in which stroke orientation is drawn in which style: a bilinear CNN against a
single-stream CNN of about the same size, on the same data and budget, and what the trained
bilinear network's streams respond to.

Shown by ``gallery/compression/plot_06_bilinear_cnn.py``, quoted by
``docs/chapters/compression.md``, asserted by ``tests/claims/test_compression.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..cnn import BilinearCNN, SmallCNN
from ..compression import count_macs
from ..data import Split
from ..models import count_parameters
from ..results import record
from ..runtime import resolve_device
from ..textures import load_textures, prototype_images
from ..train import Budget, History, check_budget, train

__all__ = ["BUDGET", "KEY", "Bilinear", "run"]

KEY = "compression.bilinear"
#: Adam for 300 steps, evaluated every 50, three seeds, for both networks.
BUDGET = Budget(steps=300, lr=3e-3, optimizer="adam", batch_size=64, eval_every=50, seeds=(0, 1, 2))
#: Generated images per class, for training and for testing.
PER_CLASS = 100


def builders() -> dict[str, object]:
    """label -> builder of the two networks compared."""
    return {
        "bilinear CNN": lambda: BilinearCNN(1, 6, channels_a=(8, 8), channels_b=(8, 8)),
        "single-stream CNN": lambda: SmallCNN(1, 6, channels=(9, 18), n_pool=0),
    }


def selectivity(maps: torch.Tensor) -> tuple[int, int, float]:
    """``(active channels, channels, median share of the favourite stroke type)`` of one
    stream's responses to the prototype images (``(types, channels, H, W)``)."""
    response = maps.mean(dim=(2, 3)).T
    share = response.max(dim=1).values / response.sum(dim=1).clamp_min(1e-12)
    active = response.sum(dim=1) > 0
    return int(active.sum()), len(active), float(share[active].median())


@dataclass
class Bilinear:
    """What :func:`run` measured.

    Attributes
    ----------
    data
        The texture split.
    budget
        The budget of both networks.
    sizes
        ``label -> (parameters, multiply-adds per image)``.
    histories, models
        ``(label, seed) ->`` History and trained network.
    streams
        The trained bilinear network's (first seed) two streams' responses to one clean image
        per stroke type, ``(types, channels, H, W)`` each, and the types' names.
    """

    data: Split
    budget: Budget
    sizes: dict[str, tuple[int, int]]
    histories: dict[tuple[str, int], History]
    models: dict[tuple[str, int], nn.Module]
    streams: tuple[torch.Tensor, torch.Tensor]
    stroke_names: list[str]

    def accuracies(self, label: str) -> list[float]:
        """Final test accuracy of every seed."""
        return [self.histories[label, s].final_test_accuracy for s in self.budget.seeds]

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages."""
        out: dict[str, object] = {"budget": str(self.budget)}
        for label in self.sizes:
            key = label.split()[0].replace("-", "_")
            out[f"{key}_params"] = self.sizes[label][0]
            out[f"{key}_accuracy"] = float(np.mean(self.accuracies(label)))
            out[f"{key}_first_eval_accuracy"] = self.histories[
                label, self.budget.seeds[0]
            ].test_accuracy[0]
        for name, maps in zip(("a", "b"), self.streams, strict=True):
            out[f"stream_{name}_median_share"] = selectivity(maps)[2]
        return out


def run(*, budget: Budget = BUDGET, device: torch.device | str | None = None) -> Bilinear:
    """Train both networks for each of the budget's seeds on the texture task and probe the
    first seed's bilinear network with the prototype images."""
    check_budget(budget)
    device = resolve_device(device)
    data = load_textures(PER_CLASS, PER_CLASS, seed=0).to(device)
    sizes = {
        label: (count_parameters(build()), count_macs(build(), (1, 16, 16)))
        for label, build in builders().items()
    }
    histories, models = {}, {}
    for label, build in builders().items():
        for seed in budget.seeds:
            torch.manual_seed(seed)
            net = build().to(device)
            histories[label, seed] = train(
                net, data, seed=seed, device=device, **budget.train_kwargs()
            )
            models[label, seed] = net
    protos, names = prototype_images()
    model = models["bilinear CNN", budget.seeds[0]].eval()
    with torch.no_grad():
        a, b = model.streams(protos.to(device))
    result = Bilinear(data, budget, sizes, histories, models, (a.cpu(), b.cpu()), names)
    record(KEY, **result.summary())
    return result
