"""Gradient clipping by value and by norm: what each does to one real gradient, threshold
sweeps on two networks whose gradients explode -- the gain-1.5 ReLU MLP of
:mod:`vgexamples.experiments.exploding` on the digits, and a vanilla tanh RNN with spectral
radius 2 on the adding problem -- and, as the control for the claim that clipping also helps
against *vanishing* gradients, the same sweep on the 20-layer sigmoid MLP of
:mod:`vgexamples.experiments.gradients_at_init`, whose gradient vanishes.

Shown by ``gallery/exploding/plot_02_clipping.py`` and ``plot_03_clipping_rnn.py``, quoted by
``docs/chapters/exploding.md`` and the claims page, asserted by
``tests/claims/test_exploding.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..clipping import SweepRun, clip_gradient, clipping_sweep, cosine_similarity, summarize_sweep
from ..data import load_digits
from ..diagnostics import gradient_values
from ..models import MLP
from ..results import record
from ..runtime import resolve_device
from ..sequences import ADDING_BASELINE_MSE, RecurrentRegressor, make_adding_split
from ..train import Budget, History, check_budget, train
from .exploding import build

__all__ = [
    "MLP_BUDGET",
    "RNN_BUDGET",
    "ClippedGradient",
    "Sweep",
    "build_vanishing",
    "clip_one_gradient",
    "one_gradient",
    "run_mlp",
    "run_rnn",
]

MLP_KEY = "exploding.clipping"
RNN_KEY = "exploding.clipping_rnn"
#: The exploding MLP's gain.
GAIN = 1.5
#: Plain SGD for 200 steps, on three seeds, for every clipping setting of the MLP.
MLP_BUDGET = Budget(steps=200, lr=0.05, optimizer="sgd", batch_size=64, seeds=(0, 1, 2))
#: Thresholds of the MLP sweep.
MLP_THRESHOLDS = (1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3)
#: Thresholds of the sweep on the vanishing-gradient network: its gradient norm stays above
#: both during training, so norm clipping at either changes every step.
VANISHING_THRESHOLDS = (0.01, 0.1)
#: Plain SGD for 200 steps, on three seeds, for every clipping setting of the RNN.
RNN_BUDGET = Budget(steps=200, lr=0.1, optimizer="sgd", batch_size=64, seeds=(0, 1, 2))
#: Thresholds of the RNN sweep.
RNN_THRESHOLDS = (0.01, 0.1, 1.0, 10.0, 100.0)
#: The RNN's task: the adding problem with sequences of length 10, 2,000 training sequences.
RNN_LENGTH, RNN_TRAIN = 10, 2000


def one_gradient(seed: int = 0, batch: int = 64, device: torch.device | str | None = None):
    """The exploding MLP's gradient on its first ``batch`` training digits, flattened (every
    parameter's, in order: the vector the clipping functions see)."""
    device = resolve_device(device)
    data = load_digits(seed=0)
    torch.manual_seed(seed)
    net = build(GAIN).to(device)
    return gradient_values(
        net, data.x_train[:batch].to(device), data.y_train[:batch].to(device), "weights"
    )


@dataclass
class ClippedGradient:
    """One gradient clipped both ways at several thresholds (see :func:`clip_one_gradient`).

    ``cosine[mode][i]`` and ``norm[mode][i]`` are the cosine with the original and the norm
    after clipping at ``thresholds[i]``.
    """

    norm_before: float
    largest_component: float
    n_parameters: int
    thresholds: tuple[float, ...]
    cosine: dict[str, list[float]]
    norm: dict[str, list[float]]

    @property
    def max_norm_growth(self) -> float:
        """Largest norm after clipping over the norm before, over modes and thresholds."""
        return max(v for values in self.norm.values() for v in values) / self.norm_before


def clip_one_gradient(
    g: torch.Tensor, thresholds: Sequence[float] = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3)
) -> ClippedGradient:
    """Clip ``g`` by value and by norm at each threshold (PyTorch's own functions)."""
    cosine: dict[str, list[float]] = {"value": [], "norm": []}
    norm: dict[str, list[float]] = {"value": [], "norm": []}
    for c in thresholds:
        for mode in ("value", "norm"):
            clipped = clip_gradient(g, mode, c)
            cosine[mode].append(cosine_similarity(clipped, g))
            norm[mode].append(float(clipped.norm()))
    return ClippedGradient(
        float(g.norm()), float(g.abs().max()), g.numel(), tuple(thresholds), cosine, norm
    )


@dataclass
class Sweep:
    """What a threshold sweep measured.

    Attributes
    ----------
    budget, thresholds, fail_above
        The budget, the thresholds of both kinds, and the final loss at or above which a run
        counts as failed.
    runs
        One :class:`~vgexamples.clipping.SweepRun` per setting and seed.
    clipped
        The MLP sweep only: one gradient clipped both ways.
    curves
        The RNN sweep only: label -> History of the first seed, unclipped and clipped.
    vanishing_thresholds, vanishing_runs
        The MLP sweep only: the same sweep (same budget, seeds and failure level) on the
        vanishing-gradient network of :func:`build_vanishing`.
    """

    budget: Budget
    thresholds: tuple[float, ...]
    fail_above: float
    runs: list[SweepRun]
    clipped: ClippedGradient | None = None
    curves: dict[str, History] | None = None
    vanishing_thresholds: tuple[float, ...] = ()
    vanishing_runs: list[SweepRun] | None = None

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages: per kind and threshold, the failure and
        divergence fractions, the median final loss, the mean share of steps the clipping
        changed (``_clipped_share``) and the largest and smallest share of dead units over the
        seeds (``_dead``, ``_dead_min``; models with activation modules only); the same for
        the vanishing-gradient network (keys starting ``vanishing_``) when it was swept."""
        s = summarize_sweep(self.runs)
        out: dict[str, object] = {
            "budget": str(self.budget),
            "seeds": list(self.budget.seeds),
            "thresholds": list(self.thresholds),
            "fail_above": self.fail_above,
            "unclipped_diverged": float(s["none"]["diverged"][0]),
            "unclipped_failed": float(s["none"]["failed"][0]),
        }
        for mode in ("value", "norm"):
            out[f"{mode}_failed"] = s[mode]["failed"].tolist()
            out[f"{mode}_diverged"] = s[mode]["diverged"].tolist()
            out[f"{mode}_median_loss"] = s[mode]["median_loss"].tolist()
            out[f"{mode}_best_failed"] = float(np.min(s[mode]["failed"]))
            out[f"{mode}_clipped_share"] = _per_threshold(self.runs, mode, "clipped_share", np.mean)
            dead = _per_threshold(self.runs, mode, "dead_fraction", np.max)
            if not all(math.isnan(d) for d in dead):  # a model without activation modules
                out[f"{mode}_dead"] = dead
                out[f"{mode}_dead_min"] = _per_threshold(self.runs, mode, "dead_fraction", np.min)
        if self.clipped is not None:
            out["max_norm_growth"] = self.clipped.max_norm_growth
            out["n_parameters"] = self.clipped.n_parameters
        if self.vanishing_runs is not None:
            v = summarize_sweep(self.vanishing_runs)
            out["vanishing_thresholds"] = list(self.vanishing_thresholds)
            out["vanishing_unclipped_failed"] = float(v["none"]["failed"][0])
            out["vanishing_unclipped_median_loss"] = float(v["none"]["median_loss"][0])
            for mode in ("value", "norm"):
                out[f"vanishing_{mode}_failed"] = v[mode]["failed"].tolist()
                out[f"vanishing_{mode}_median_loss"] = v[mode]["median_loss"].tolist()
            out["vanishing_best_failed"] = float(
                min(np.min(v[m]["failed"]) for m in ("value", "norm"))
            )
            out["vanishing_best_median_loss"] = float(
                min(np.nanmin(v[m]["median_loss"]) for m in ("value", "norm"))
            )
        return out


def _per_threshold(runs: Sequence[SweepRun], mode: str, attr: str, reduce) -> list[float]:
    """``reduce`` over seeds of one :class:`SweepRun` attribute, per threshold (sorted), with
    the ``nan`` of diverged runs left out (``nan`` if every run of a threshold diverged)."""
    out = []
    for t in sorted({r.threshold for r in runs if r.mode == mode}):
        values = [getattr(r, attr) for r in runs if r.mode == mode and r.threshold == t]
        finite = [v for v in values if not math.isnan(v)]
        out.append(float(reduce(finite)) if finite else math.nan)
    return out


def build_vanishing() -> MLP:
    """The vanishing-gradient network of the clipping control: 20 sigmoid layers of 64 units,
    He initialization (:mod:`vgexamples.experiments.gradients_at_init`)."""
    return MLP(64, 10, depth=20, width=64, activation="sigmoid", init="he")


def run_mlp(
    *,
    thresholds: Sequence[float] = MLP_THRESHOLDS,
    budget: Budget = MLP_BUDGET,
    vanishing_thresholds: Sequence[float] | None = VANISHING_THRESHOLDS,
    device: torch.device | str | None = None,
) -> Sweep:
    """Clip one gradient of the exploding MLP both ways, then train it with no clipping and
    with each kind at each threshold, for each of the budget's seeds. A run fails if its loss
    becomes non-finite or ends within 10% of the chance level ``ln 10``. Then the same sweep,
    at ``vanishing_thresholds`` (``None`` to skip it), on the vanishing-gradient network of
    :func:`build_vanishing`."""
    check_budget(budget)
    device = resolve_device(device)
    clipped = clip_one_gradient(one_gradient(device=device))
    fail_above = 0.9 * math.log(10)
    runs = clipping_sweep(
        lambda: build(GAIN),
        load_digits(seed=0),
        thresholds=thresholds,
        seeds=budget.seeds,
        fail_above=fail_above,
        device=device,
        **budget.train_kwargs(),
    )
    vanishing_runs = None
    if vanishing_thresholds is not None:
        vanishing_runs = clipping_sweep(
            build_vanishing,
            load_digits(seed=0),
            thresholds=vanishing_thresholds,
            seeds=budget.seeds,
            fail_above=fail_above,
            device=device,
            **budget.train_kwargs(),
        )
    result = Sweep(
        budget,
        tuple(thresholds),
        fail_above,
        runs,
        clipped=clipped,
        vanishing_thresholds=tuple(vanishing_thresholds or ()),
        vanishing_runs=vanishing_runs,
    )
    record(MLP_KEY, **result.summary())
    return result


def build_rnn() -> RecurrentRegressor:
    """The RNN of the sweep: 32 tanh units, recurrent matrix of spectral radius 2."""
    return RecurrentRegressor("rnn", hidden_size=32, recurrent_gain=2.0)


def run_rnn(
    *,
    thresholds: Sequence[float] = RNN_THRESHOLDS,
    budget: Budget = RNN_BUDGET,
    curve_clip: float = 0.1,
    device: torch.device | str | None = None,
) -> Sweep:
    """Train the RNN without clipping and with norm clipping at ``curve_clip`` (first seed,
    for the loss curves), then sweep both kinds of clipping. A run fails if its loss becomes
    non-finite or ends no better than predicting the mean target (MSE 1/6)."""
    check_budget(budget)
    device = resolve_device(device)
    data = make_adding_split(RNN_LENGTH, n_train=RNN_TRAIN, seed=0)
    curves = {}
    seed = budget.seeds[0]
    for label, clip in [
        ("no clipping", {}),
        (f"clip norm {curve_clip:g}", {"clip_norm": curve_clip}),
    ]:
        torch.manual_seed(seed)
        curves[label] = train(
            build_rnn(),
            data,
            loss="mse",
            seed=seed,
            device=device,
            **clip,
            **budget.train_kwargs(),
        )
    runs = clipping_sweep(
        build_rnn,
        data,
        thresholds=thresholds,
        seeds=budget.seeds,
        fail_above=ADDING_BASELINE_MSE,
        loss="mse",
        device=device,
        **budget.train_kwargs(),
    )
    result = Sweep(budget, tuple(thresholds), ADDING_BASELINE_MSE, runs, curves=curves)
    record(RNN_KEY, **result.summary())
    return result
