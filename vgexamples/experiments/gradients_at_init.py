"""Per-layer gradients and forward signals of deep MLPs at initialization, for several
activations and three initializations.

One forward/backward pass (:func:`vgexamples.diagnostics.gradient_profile`) on a batch of
digits through a 20-layer, 64-unit MLP, for each activation, initialization and seed: the
weight-gradient norm of every layer, and how much every hidden layer's output still differs
from one image to another (:func:`vgexamples.diagnostics.example_spread`). Shown by
``gallery/vanishing/plot_02_gradients_at_init.py``, quoted by ``docs/chapters/vanishing.md``
and the claims page, asserted by ``tests/claims/test_vanishing.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .._checks import check_int, check_seeds
from ..data import load_digits
from ..diagnostics import FLOAT32_EPS, Profile, gradient_profile
from ..models import MLP
from ..results import record
from ..runtime import resolve_device

__all__ = ["ACTIVATIONS", "INITS", "KEY", "RECTIFIERS", "SQUASHING", "GradientsAtInit", "run"]

KEY = "vanishing.gradients_at_init"
#: The activations compared, in the order the example shows them.
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "prelu")
#: PyTorch's default initialization, Glorot & Bengio's (2010) and He et al.'s (2015).
INITS = ("default", "xavier", "he")
#: The activations whose saturated fraction is defined.
SQUASHING = ("sigmoid", "tanh")
#: The rectifiers, whose flat (zero-derivative) region is where the output is exactly zero.
RECTIFIERS = ("relu", "leaky_relu", "prelu")


@dataclass
class GradientsAtInit:
    """What :func:`run` measured.

    Attributes
    ----------
    depth, width, batch
        The networks' hidden layers and units, and the batch size of the pass.
    activations, inits, seeds
        The settings compared.
    profiles
        ``(init, activation, seed) -> Profile``; only the first seed's profiles keep their
        activation and gradient tensors (for histograms).
    """

    depth: int
    width: int
    batch: int
    activations: tuple[str, ...]
    inits: tuple[str, ...]
    seeds: tuple[int, ...]
    profiles: dict[tuple[str, str, int], Profile]

    def profile(self, init: str, activation: str, seed: int | None = None) -> Profile:
        """The profile of one network (default: the first seed's)."""
        return self.profiles[init, activation, self.seeds[0] if seed is None else seed]

    def ratio(self, init: str, activation: str, seed: int | None = None) -> float:
        """First layer's weight-gradient norm over the last layer's."""
        return self.profile(init, activation, seed).ratio_first_to_last()

    def ratios(self, init: str, activation: str) -> list[float]:
        """:meth:`ratio` for every seed."""
        return [self.ratio(init, activation, s) for s in self.seeds]

    def zero_fraction(self, init: str, activation: str) -> float:
        """Fraction of all hidden outputs that are exactly zero (first seed)."""
        acts = self.profile(init, activation).activations.values()
        return float(torch.cat([(a == 0).float().flatten() for a in acts]).mean())

    def spread(self, init: str, activation: str, seed: int | None = None) -> list[float]:
        """:func:`~vgexamples.diagnostics.example_spread` of every hidden layer, input side
        first: how much the layer's output differs from one image of the batch to another."""
        return self.profile(init, activation, seed).spread

    def last_spreads(self, init: str, activation: str) -> list[float]:
        """The last hidden layer's spread for every seed."""
        return [self.spread(init, activation, s)[-1] for s in self.seeds]

    def median_saturated(self, init: str, activation: str, seed: int | None = None) -> float:
        """Median over hidden layers of the fraction of saturated units (sigmoid/tanh)."""
        return float(np.median(self.profile(init, activation, seed).saturated))

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages (first seed unless the key says otherwise).

        Keys: ``{act}_{init}_ratio`` (first/last weight-gradient norm), ``ratios`` (the same
        for every seed), ``weight_grad_norm`` and ``spread`` (per layer), ``{act}_{init}_
        last_spread`` (the last hidden layer's spread) and ``last_spreads`` (every seed),
        ``{act}_{init}_median_saturated`` and ``_max_saturated`` (sigmoid and tanh: median and
        largest over layers of the saturated fraction), ``{act}_{init}_zero_fraction`` (the
        rectifiers: share of hidden outputs exactly zero, where the derivative is zero).
        """
        out: dict[str, object] = {
            "depth": self.depth,
            "width": self.width,
            "batch": self.batch,
            "seeds": list(self.seeds),
            "inits": list(self.inits),
            "activations": list(self.activations),
            "float32_eps": FLOAT32_EPS,
        }
        for init in self.inits:
            for act in self.activations:
                out[f"{act}_{init}_ratio"] = self.ratio(init, act)
                out[f"{act}_{init}_last_spread"] = self.spread(init, act)[-1]
                if act in SQUASHING:
                    out[f"{act}_{init}_median_saturated"] = self.median_saturated(init, act)
                    out[f"{act}_{init}_max_saturated"] = max(self.profile(init, act).saturated)
                if act in RECTIFIERS:
                    out[f"{act}_{init}_zero_fraction"] = self.zero_fraction(init, act)
        out["ratios"] = {
            init: {act: self.ratios(init, act) for act in self.activations} for init in self.inits
        }
        out["weight_grad_norm"] = {
            init: {act: self.profile(init, act).weight_grad_norm for act in self.activations}
            for init in self.inits
        }
        out["spread"] = {
            init: {act: self.spread(init, act) for act in self.activations} for init in self.inits
        }
        out["last_spreads"] = {
            init: {act: self.last_spreads(init, act) for act in self.activations}
            for init in self.inits
        }
        return out


def run(
    *,
    activations: Sequence[str] = ACTIVATIONS,
    inits: Sequence[str] = INITS,
    depth: int = 20,
    width: int = 64,
    batch: int = 512,
    seeds: Sequence[int] = (0, 1, 2),
    device: torch.device | str | None = None,
) -> GradientsAtInit:
    """Profile one batch of digits through an MLP per activation, initialization and seed.

    Each network is built right after ``torch.manual_seed(seed)``; the batch is the first
    ``batch`` training images of :func:`vgexamples.data.load_digits` (seed 0).
    """
    check_int("depth", depth)
    check_int("width", width)
    check_int("batch", batch, minimum=2)
    seeds = check_seeds("seeds", seeds)
    device = resolve_device(device)
    data = load_digits(seed=0).to(device)
    x, y = data.x_train[:batch], data.y_train[:batch]
    profiles = {}
    for init in inits:
        for act in activations:
            for seed in seeds:
                torch.manual_seed(seed)
                net = MLP(64, 10, depth=depth, width=width, activation=act, init=init).to(device)
                profiles[init, act, seed] = gradient_profile(
                    net, x, y, keep_tensors=seed == seeds[0]
                )
    result = GradientsAtInit(depth, width, batch, tuple(activations), tuple(inits), seeds, profiles)
    record(KEY, **result.summary())
    return result
