"""Initialization: how the weight variance sets the size of the forward signal and of the
back-propagated gradient through depth; why He's variance makes a tanh network's gradient grow
(a per-layer gain above one, measured, with two linear controls); and a 30-layer ReLU MLP
trained from Xavier and from He initialization (He et al. 2015).

Shown by ``gallery/trainable/plot_02_initialization.py``, quoted by
``docs/chapters/trainable.md`` and the claims page, asserted by
``tests/claims/test_trainable.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .._checks import check_int, check_seeds
from ..data import load_digits
from ..models import seeded_mlp
from ..propagation import BackwardGains, VarianceProfile, backward_gains, variance_profile
from ..results import record
from ..runtime import resolve_device
from ..train import Budget, History, check_budget, train_mlp

__all__ = ["BUDGET", "KEY", "SCHEMES", "Initialization", "run"]

KEY = "trainable.initialization"
#: label -> (init, std) of :func:`vgexamples.models.init_weights`.
SCHEMES: dict[str, tuple[str, float | None]] = {
    "normal, std 0.01": ("normal", 0.01),
    "normal, std 0.2": ("normal", 0.2),
    "PyTorch default": ("default", None),
    "Xavier": ("xavier", None),
    "He": ("he", None),
}
#: SGD with momentum, a small learning rate: the same budget from both initializations.
BUDGET = Budget(steps=600, lr=1e-3, optimizer="momentum", batch_size=64, eval_every=50)
TRAINED_INITS = ("xavier", "he")
#: The tanh schemes whose backward gains are measured.
GAIN_SCHEMES = ("Xavier", "He")
#: Controls of the tanh network under He: ``"identity, same weights"`` -- the very same weights
#: with the identity in place of tanh (no unit can saturate; gain ``n Var(W)``, about 2);
#: ``"identity, matched gain"`` -- a linear network whose weight variance is the tanh
#: network's measured mean gain over the width (same gain per layer, no saturation).
CONTROLS = ("identity, same weights", "identity, matched gain")


def grad_ratio(vp: VarianceProfile) -> float:
    """Variance of the back-propagated gradient at the first hidden layer over the last's
    (``nan`` when the last one underflowed to zero)."""
    g = vp.grad_var[:-1]
    return g[0] / g[-1] if g[-1] > 0 else math.nan


def layer_factor(values: Sequence[float]) -> float:
    """Mean per-layer multiplier of a positive per-layer quantity (geometric steps)."""
    return float(np.exp(np.diff(np.log(np.asarray(values, dtype=float)))).mean())


@dataclass
class Initialization:
    """What :func:`run` measured.

    Attributes
    ----------
    depth, width, batch
        The profiled networks (hidden layers, units) and the batch size.
    activations, seeds
        The profiled activations and seeds.
    profiles
        ``(activation, scheme label, seed) -> VarianceProfile`` at initialization.
    budget, train_depth, train_width
        The training budget and the trained ReLU networks' size.
    histories
        ``(init, seed) -> History`` for ``init`` in ``("xavier", "he")``.
    xavier_trained_net
        Variance profile of the trained-size ReLU network under Xavier, at initialization
        (first seed): why it stalls.
    gains
        ``(scheme label, seed) -> BackwardGains`` of the tanh networks, for the labels of
        :data:`GAIN_SCHEMES`.
    controls
        ``(control, seed) -> VarianceProfile`` of the linear controls of :data:`CONTROLS`.
    """

    depth: int
    width: int
    batch: int
    activations: tuple[str, ...]
    seeds: tuple[int, ...]
    profiles: dict[tuple[str, str, int], VarianceProfile]
    budget: Budget
    train_depth: int
    train_width: int
    histories: dict[tuple[str, int], History]
    xavier_trained_net: VarianceProfile
    gains: dict[tuple[str, int], BackwardGains]
    controls: dict[tuple[str, int], VarianceProfile]

    def profile(self, activation: str, scheme: str, seed: int | None = None) -> VarianceProfile:
        """One profile (default: the first seed's)."""
        return self.profiles[activation, scheme, self.seeds[0] if seed is None else seed]

    def history(self, init: str, seed: int | None = None) -> History:
        """One training run (default: the budget's first seed)."""
        return self.histories[init, self.budget.seeds[0] if seed is None else seed]

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages (first seeds)."""
        out: dict[str, object] = {
            "depth": self.depth,
            "width": self.width,
            "budget": str(self.budget),
            "train_depth": self.train_depth,
            "train_width": self.train_width,
            "chance_loss": math.log(10),
        }
        for act in self.activations:
            for label, (init, std) in SCHEMES.items():
                key = init if std is None else f"{init}_{str(std).replace('.', '_')}"
                out[f"{act}_{key}_grad_ratio"] = grad_ratio(self.profile(act, label))
        if "relu" in self.activations:
            out["relu_xavier_layer_factor"] = layer_factor(
                self.profile("relu", "Xavier").activation_var
            )
        if "tanh" in self.activations:
            out["tanh_he_grad_ratio"] = grad_ratio(self.profile("tanh", "He"))
            for label in GAIN_SCHEMES:
                g, key = self.gains[label, self.seeds[0]], f"tanh_{SCHEMES[label][0]}"
                out[f"{key}_gain_mean"] = g.mean_gain()
                out[f"{key}_gain_median"] = float(np.median(g.gain))
                out[f"{key}_gain_min"] = float(np.min(g.gain))
                out[f"{key}_gain_max"] = float(np.max(g.gain))
                out[f"{key}_predicted_grad_ratio"] = g.predicted_ratio()
                out[f"{key}_saturated_median"] = float(np.median(g.saturated))
                out[f"{key}_saturated_first"] = g.saturated[0]
                out[f"{key}_saturated_max"] = float(np.max(g.saturated))
            out["tanh_he_weight_term"] = float(np.mean(self.gains["He", self.seeds[0]].weight_term))
            out["identity_he_grad_ratio"] = grad_ratio(
                self.controls["identity, same weights", self.seeds[0]]
            )
            out["identity_matched_grad_ratio"] = grad_ratio(
                self.controls["identity, matched gain", self.seeds[0]]
            )
        for init in TRAINED_INITS:
            out[f"{init}_final_loss"] = self.history(init).final_train_loss
            out[f"{init}_final_accuracy"] = self.history(init).final_test_accuracy
        vp = self.xavier_trained_net
        out["xavier_trained_net_shrink"] = vp.activation_var[-1] / vp.activation_var[0]
        out["xavier_trained_net_factor"] = layer_factor(vp.activation_var)
        return out


def run(
    *,
    activations: Sequence[str] = ("tanh", "relu"),
    depth: int = 50,
    width: int = 128,
    batch: int = 512,
    seeds: Sequence[int] = (0,),
    budget: Budget = BUDGET,
    train_depth: int = 30,
    train_width: int = 64,
    device: torch.device | str | None = None,
) -> Initialization:
    """Profile every scheme of :data:`SCHEMES` and train a ReLU MLP from Xavier and from He.

    Variance profiles (:func:`vgexamples.propagation.variance_profile`) of ``depth``-layer,
    ``width``-unit networks on the first ``batch`` training digits, for each activation,
    scheme and seed; for tanh under the schemes of :data:`GAIN_SCHEMES` the backward gains
    (:func:`vgexamples.propagation.backward_gains`) and the linear :data:`CONTROLS`; then
    ``train_depth``-layer ReLU networks trained under ``budget`` from
    each of ``("xavier", "he")`` and each of the budget's seeds.
    """
    check_int("depth", depth)
    check_int("batch", batch, minimum=2)
    seeds = check_seeds("seeds", seeds)
    check_budget(budget)
    device = resolve_device(device)
    data = load_digits(seed=0).to(device)
    x, y = data.x_train[:batch], data.y_train[:batch]
    profiles, gains = {}, {}
    for act in activations:
        for label, (init, std) in SCHEMES.items():
            for seed in seeds:
                net = seeded_mlp(
                    data,
                    seed,
                    depth=depth,
                    width=width,
                    activation=act,
                    init=init,
                    init_std=std,
                    device=device,
                )
                profiles[act, label, seed] = variance_profile(net, x, y)
                if act == "tanh" and label in GAIN_SCHEMES:
                    gains[label, seed] = backward_gains(net, x)
    controls = {}
    if "tanh" in activations:
        linear = {"depth": depth, "width": width, "activation": "identity", "device": device}
        for seed in seeds:
            same = seeded_mlp(data, seed, init="he", **linear)
            controls[CONTROLS[0], seed] = variance_profile(same, x, y)
            std = math.sqrt(gains["He", seed].mean_gain() / width)
            matched = seeded_mlp(data, seed, init="normal", init_std=std, **linear)
            controls[CONTROLS[1], seed] = variance_profile(matched, x, y)
    histories = {}
    trained = {"depth": train_depth, "width": train_width, "activation": "relu"}
    for init in TRAINED_INITS:
        for seed in budget.seeds:
            _, histories[init, seed] = train_mlp(
                data, seed, budget, init=init, device=device, **trained
            )
    stall = variance_profile(
        seeded_mlp(data, seeds[0], init="xavier", device=device, **trained), x, y
    )
    result = Initialization(
        depth,
        width,
        batch,
        tuple(activations),
        seeds,
        profiles,
        budget,
        train_depth,
        train_width,
        histories,
        stall,
        gains,
        controls,
    )
    record(KEY, **result.summary())
    return result
