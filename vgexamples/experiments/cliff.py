"""Pascanu, Mikolov & Bengio's (2013) one-unit recurrent network: its loss surface over
``(w, b)`` and gradient descent across its cliff, with and without norm clipping.

Shown by ``gallery/exploding/plot_04_cliff.py``, quoted and redrawn by
``docs/chapters/exploding.md``, asserted by ``tests/claims/test_exploding.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._checks import check_int, check_positive
from ..cliff import DescentPath, descent_path, loss_grid
from ..results import record

__all__ = ["KEY", "STARTS", "Cliff", "run"]

KEY = "exploding.cliff"
#: Starting points ``(w, b)`` of the descents.
STARTS: tuple[tuple[float, float], ...] = ((6.0, -4.0), (7.0, -3.0), (7.0, -3.5))
#: The grid of the surface: ``w`` from 0 to 12, ``b`` from -8 to 2.
W_RANGE, B_RANGE = (0.0, 12.0), (-8.0, 2.0)


@dataclass
class Cliff:
    """What :func:`run` measured.

    Attributes
    ----------
    w_values, b_values, surface
        The grid and the loss on it (rows follow ``b``).
    lr, steps, clip_norm
        The descents' learning rate, number of steps and clipping threshold.
    paths
        ``(start, clip) -> DescentPath`` with ``clip`` either ``None`` or ``clip_norm``.
    """

    w_values: np.ndarray
    b_values: np.ndarray
    surface: np.ndarray
    lr: float
    steps: int
    clip_norm: float
    paths: dict[tuple[tuple[float, float], float | None], DescentPath]

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages, including every path's points."""
        starts = list(dict.fromkeys(start for start, _ in self.paths))
        free = [self.paths[s, None] for s in starts]
        clipped = [self.paths[s, self.clip_norm] for s in starts]
        return {
            "lr": self.lr,
            "steps": self.steps,
            "clip_norm": self.clip_norm,
            "starts": [list(s) for s in starts],
            "loss_min": float(self.surface.min()),
            "loss_max": float(self.surface.max()),
            "largest_jump": float(np.abs(np.diff(self.surface, axis=1)).max()),
            "max_grad": max(max(p.grad_norm) for p in self.paths.values()),
            "unclipped_best_final": min(p.loss[-1] for p in free),
            "clipped_worst_final": max(p.loss[-1] for p in clipped),
            "paths_unclipped": [p.params.tolist() for p in free],
            "paths_clipped": [p.params.tolist() for p in clipped],
        }


def run(
    *,
    starts: Sequence[tuple[float, float]] = STARTS,
    lr: float = 1.0,
    steps: int = 150,
    clip_norm: float = 0.5,
    grid: tuple[int, int] = (241, 201),
) -> Cliff:
    """Evaluate the surface on a ``grid`` of ``(w, b)`` points and descend from each start,
    plain and with the gradient's norm clipped at ``clip_norm``."""
    check_positive("lr", lr)
    check_int("steps", steps)
    check_positive("clip_norm", clip_norm)
    if len(grid) != 2:
        raise ValueError(f"grid must be two point counts (w, b); got {grid!r}")
    grid = (check_int("grid[0]", grid[0], minimum=2), check_int("grid[1]", grid[1], minimum=2))
    starts = [tuple(start) for start in starts]
    if not starts or any(len(start) != 2 for start in starts):
        raise ValueError(f"starts must be (w, b) pairs; got {starts!r}")
    w_values = np.linspace(*W_RANGE, grid[0])
    b_values = np.linspace(*B_RANGE, grid[1])
    surface = loss_grid(w_values, b_values)
    paths = {}
    for start in starts:
        start = (float(start[0]), float(start[1]))
        for clip in (None, clip_norm):
            paths[start, clip] = descent_path(*start, lr=lr, steps=steps, clip_norm=clip)
    result = Cliff(w_values, b_values, surface, lr, steps, clip_norm, paths)
    record(KEY, **result.summary())
    return result
