"""The grid behind the interactive explorer: every activation x initialization x depth x
architecture of a digits MLP, measured at initialization and over a short training run.

For each setting and seed, one forward/backward pass at initialization
(:func:`vgexamples.diagnostics.gradient_profile`, as in
:mod:`~vgexamples.experiments.gradients_at_init` but on the first 256 training images: a
64-unit network built right after ``torch.manual_seed(seed)``) gives, per layer, the norm of the
back-propagated gradient (the gradient of the loss with respect to the layer's output), the
norm of the weight gradient, and the forward signal's spread across examples
(:func:`vgexamples.diagnostics.example_spread`). For the first seed, the same network then
trains for :data:`BUDGET` (:func:`vgexamples.train.train`), which gives its loss curve, where
it diverged if it did, and its test accuracy. Every setting gets a one-line reading computed
from those numbers (:meth:`Point.reading`).

The settings are independent of one another, so :func:`run` spreads them over worker
processes on the CPU (one thread each); a setting's numbers are the same wherever it runs.
The page reports how long the build machine took (:attr:`Grid.seconds`).

Shown by ``docs/explorer.md`` (one page, every setting behind four controls), asserted by
``tests/claims/test_explorer.py``.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch

from .._checks import check_choice, check_int, check_seeds
from ..data import Split, load_digits
from ..diagnostics import FLOAT32_EPS, gradient_profile
from ..health import THRESHOLDS
from ..models import MLP, seeded_mlp
from ..runtime import resolve_device
from ..train import Budget, check_budget, train

__all__ = [
    "ACTIVATIONS",
    "ARCHITECTURES",
    "BUDGET",
    "DEPTHS",
    "INITS",
    "Grid",
    "Point",
    "default_workers",
    "network",
    "run",
]

#: The activations offered, in the order the page lists them.
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "gelu")
#: PyTorch's default initialization, Glorot & Bengio's (2010) and He et al.'s (2015).
INITS = ("default", "xavier", "he")
#: Hidden layers.
DEPTHS = (5, 10, 20, 40)
#: ``name -> (norm, residual)`` of :class:`~vgexamples.models.MLP`: plain, batch norm before
#: every activation (Ioffe & Szegedy 2015), identity skips around every hidden block but the
#: first (He et al. 2016), and both.
ARCHITECTURES: dict[str, tuple[str, bool]] = {
    "plain": ("none", False),
    "batch_norm": ("batch", False),
    "residual": ("none", True),
    "residual_batch_norm": ("batch", True),
}
#: Units per hidden layer, and images in the pass at initialization (the first of the training set).
WIDTH, BATCH = 64, 256
#: The training run of every setting (first seed only): short, so that the whole grid fits
#: in the build, and plain SGD, so that the gradient's size decides the step's.
BUDGET = Budget(steps=30, lr=0.1, optimizer="sgd", batch_size=64, eval_every=30)
#: Below this, the last hidden layer's spread says the network maps every image to nearly
#: the same vector (about a thousand float32 rounding steps).
COLLAPSED_SPREAD = 1e3 * FLOAT32_EPS


@dataclass
class Point:
    """What the grid measured for one setting.

    Attributes
    ----------
    activation, init, depth, architecture
        The setting.
    grad, weight_grad
        ``(seeds, depth + 1)``: per linear layer, input side first (the head last), the norm
        of the gradient of the batch-mean loss with respect to the layer's output, divided
        by the square root of the batch size (:meth:`~vgexamples.diagnostics.Recorder.
        output_grad_norms`), and the norm of its weight gradient, at initialization.
    spread
        ``(seeds, depth)``: :func:`~vgexamples.diagnostics.example_spread` of every hidden
        layer's activation output at initialization.
    loss
        Mini-batch training loss at every step taken (first seed).
    stop_step
        The step at which training stopped because the loss or a gradient stopped being a
        finite number, or ``None``.
    accuracy
        Test accuracy after the last step (``nan`` if it diverged).
    """

    activation: str
    init: str
    depth: int
    architecture: str
    grad: np.ndarray
    weight_grad: np.ndarray
    spread: np.ndarray
    loss: list[float]
    stop_step: int | None
    accuracy: float

    @property
    def key(self) -> str:
        return key(self.activation, self.init, self.depth, self.architecture)

    def grad_ratios(self) -> np.ndarray:
        """Per seed: the first layer's back-propagated gradient over the head's."""
        return self.grad[:, 0] / self.grad[:, -1]

    def grad_ratio(self) -> float:
        """Median over seeds of :meth:`grad_ratios`."""
        return float(np.median(self.grad_ratios()))

    def last_spread(self) -> float:
        """Median over seeds of the last hidden layer's spread across examples."""
        return float(np.median(self.spread[:, -1]))

    def gradient_verdict(self) -> str:
        """``"vanishing"``, ``"exploding"`` or ``"steady"`` by :data:`~vgexamples.health.
        THRESHOLDS` on :meth:`grad_ratio`."""
        r = self.grad_ratio()
        if not math.isfinite(r) or r > THRESHOLDS["exploding"]:
            return "exploding"
        if r < THRESHOLDS["vanishing"]:
            return "vanishing"
        return "steady"

    def final_loss(self) -> float:
        """Mean mini-batch loss over the last ten steps taken."""
        return float(np.mean(self.loss[-10:])) if self.loss else math.nan

    def reading(self) -> str:
        """One line from the numbers: the gradient's first/last ratio and its verdict, a
        collapsed forward signal, and what training did."""
        r = self.grad_ratio()
        if r == 0:
            parts = ["the first layer's gradient underflows to 0: vanishing"]
        else:
            parts = [f"first/last gradient ratio {_fmt(r)}: {self.gradient_verdict()}"]
        if self.last_spread() < COLLAPSED_SPREAD:
            parts.append(
                f"the last hidden layer's output is nearly the same for every image (spread "
                f"{_fmt(self.last_spread())})"
            )
        if self.stop_step is not None:
            parts.append(f"training diverged at step {self.stop_step}")
        else:
            parts.append(
                f"after {len(self.loss)} steps: test accuracy {self.accuracy:.0%}, loss "
                f"{self.loss[0]:.2f} to {self.final_loss():.2f}"
            )
        return "; ".join(parts)


@dataclass
class Grid:
    """Every :class:`Point` of one :func:`run`, with its settings and cost."""

    activations: tuple[str, ...]
    inits: tuple[str, ...]
    depths: tuple[int, ...]
    architectures: tuple[str, ...]
    seeds: tuple[int, ...]
    budget: Budget
    points: dict[str, Point] = field(default_factory=dict)
    seconds: float = math.nan

    def point(self, activation: str, init: str, depth: int, architecture: str) -> Point:
        return self.points[key(activation, init, depth, architecture)]

    def __len__(self) -> int:
        return len(self.points)


def key(activation: str, init: str, depth: int, architecture: str) -> str:
    """The grid's name for a setting, also the page's URL state: ``relu.he.20.plain``."""
    return f"{activation}.{init}.{depth}.{architecture}"


def _fmt(x: float) -> str:
    return f"{x:.0e}" if math.isfinite(x) else str(x)


def network(
    data: Split,
    seed: int,
    activation: str,
    init: str,
    depth: int,
    architecture: str,
    device: torch.device | str | None = None,
) -> MLP:
    """The network of one setting and seed, as the grid builds it
    (:func:`~vgexamples.models.seeded_mlp`, :data:`WIDTH` units per hidden layer)."""
    norm, residual = ARCHITECTURES[check_choice("architecture", architecture, ARCHITECTURES)]
    return seeded_mlp(
        data,
        seed,
        device=device,
        depth=depth,
        width=WIDTH,
        activation=activation,
        init=init,
        norm=norm,
        residual=residual,
    )


def _measure(
    data: Split,
    setting: tuple[str, str, int, str],
    seeds: tuple[int, ...],
    budget: Budget,
    device: torch.device,
) -> Point:
    """Profile one setting at every seed and train the first seed's network."""
    act, init, depth, arch = setting
    x, y = data.x_train[:BATCH], data.y_train[:BATCH]
    grads, weights, spreads = [], [], []
    for seed in seeds:
        net = network(data, seed, act, init, depth, arch, device)
        prof = gradient_profile(
            net,
            x,
            y,
            layers={str(i): m for i, m in enumerate(net.linears)},
            activations={str(i): m for i, m in enumerate(net.activations)},
            keep_tensors=False,
        )
        grads.append(prof.output_grad_norm)
        weights.append(prof.weight_grad_norm)
        spreads.append(prof.spread)
        if seed == seeds[0]:
            history = train(net, data, seed=seed, device=device, **budget.train_kwargs())
    stop = history.stop.step if history.diverged else None
    return Point(
        act,
        init,
        depth,
        arch,
        grad=np.array(grads),
        weight_grad=np.array(weights),
        spread=np.array(spreads),
        loss=list(history.loss),
        stop_step=stop,
        accuracy=math.nan if stop is not None else history.final_test_accuracy,
    )


# -- worker processes: each holds the data and runs one setting at a time, on one thread ------
_WORKER_DATA: Split | None = None


def _start_worker(deterministic: bool) -> None:
    global _WORKER_DATA
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    _WORKER_DATA = load_digits(seed=0)


def _measure_in_worker(
    setting: tuple[str, str, int, str], seeds: tuple[int, ...], budget: Budget
) -> Point:
    assert _WORKER_DATA is not None
    return _measure(_WORKER_DATA, setting, seeds, budget, torch.device("cpu"))


def default_workers(device: torch.device | str | None = None) -> int:
    """Processes :func:`run` uses by default: one per CPU core, at most four, on the CPU;
    one (this process) on a GPU."""
    if resolve_device(device).type != "cpu":
        return 1
    return max(1, min(4, os.cpu_count() or 1))


def run(
    *,
    activations: Sequence[str] = ACTIVATIONS,
    inits: Sequence[str] = INITS,
    depths: Sequence[int] = DEPTHS,
    architectures: Sequence[str] = tuple(ARCHITECTURES),
    seeds: Sequence[int] = (0, 1, 2),
    budget: Budget = BUDGET,
    device: torch.device | str | None = None,
    workers: int | None = None,
) -> Grid:
    """Measure every combination of the given settings (defaults: the page's grid).

    Each setting's networks are built right after ``torch.manual_seed(seed)``; every seed's
    network is profiled, and the first seed's is then trained for ``budget`` (its ``seeds``
    are not used: the run's seed is the grid's first).

    The settings are independent, so on the CPU they are spread over ``workers`` processes
    (default :func:`default_workers`), each on one thread; every setting is computed the same
    way wherever it runs, so the grid does not depend on ``workers``. A GPU run uses this
    process only (``workers`` must then be 1 or ``None``).
    """
    for name, values, allowed in (
        ("activations", activations, ACTIVATIONS),
        ("inits", inits, INITS),
        ("architectures", architectures, tuple(ARCHITECTURES)),
    ):
        if isinstance(values, str) or not values:
            raise ValueError(f"{name} must be a non-empty sequence of {allowed}; got {values!r}")
        for v in values:
            check_choice(name, v, allowed)
    if isinstance(depths, (int, str)) or not depths:
        raise ValueError(f"depths must be a non-empty sequence of integers >= 1; got {depths!r}")
    depths = tuple(check_int("depths", d) for d in depths)
    seeds = check_seeds("seeds", seeds)
    budget = check_budget(budget)
    device = resolve_device(device)
    if workers is None:
        workers = default_workers(device)
    check_int("workers", workers)
    if workers > 1 and device.type != "cpu":
        raise ValueError(f"workers must be 1 on a {device.type} device; got {workers}")
    grid = Grid(tuple(activations), tuple(inits), depths, tuple(architectures), seeds, budget)
    settings = list(itertools.product(activations, inits, depths, architectures))
    start = time.perf_counter()
    if workers == 1:
        data = load_digits(seed=0).to(device)
        points = [_measure(data, s, seeds, budget, device) for s in settings]
    else:
        # spawned, not forked: no OpenMP state is inherited; the deepest settings go first
        # so that the last ones to finish are short
        ctx = multiprocessing.get_context("spawn")
        deterministic = torch.are_deterministic_algorithms_enabled()
        with ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_start_worker, initargs=(deterministic,)
        ) as pool:
            order = sorted(settings, key=lambda s: -s[2])
            futures = {s: pool.submit(_measure_in_worker, s, seeds, budget) for s in order}
            points = [futures[s].result() for s in settings]
    for p in points:
        grid.points[p.key] = p
    grid.seconds = time.perf_counter() - start
    return grid
