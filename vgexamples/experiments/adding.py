"""The adding problem: a vanilla RNN, an LSTM and a GRU trained under one budget
(:data:`vgexamples.sequences.ADDING_BUDGET`) at several sequence lengths, with the gradient
through time measured before and after training.

Shown by ``gallery/recurrent/plot_01_adding_problem.py`` (:func:`run_lengths`) and
``plot_02_long_sequences.py`` (:func:`run_long`), quoted by ``docs/chapters/recurrent.md``
and the claims page, asserted by ``tests/claims/test_recurrent.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .._checks import check_int
from ..results import record
from ..runtime import resolve_device
from ..sequences import (
    ADDING_BUDGET,
    CELLS,
    RecurrentRegressor,
    TimeProfile,
    hidden_gradient_norms,
    make_adding_split,
    solved,
    train_adding,
)
from ..train import Budget, check_budget

__all__ = ["LENGTHS_KEY", "LONG_KEY", "Adding", "run_lengths", "run_long"]

LENGTHS_KEY = "recurrent.adding"
LONG_KEY = "recurrent.long"
#: Hidden units of every cell.
HIDDEN = 32
#: Sequences the gradient through time is measured on: the first test sequences.
PROBE = 256


@dataclass
class Adding:
    """What one of the runs measured.

    Attributes
    ----------
    budget, lengths, cells, hidden_size
        The budget (its seeds are the runs' seeds), the sequence lengths, the cells and their
        hidden units.
    mse, step_ms
        ``(length, cell, seed) ->`` test MSE and median milliseconds per training step.
    before, after
        ``(length, cell, seed) -> TimeProfile`` of the gradient through time on the first
        test sequences, at initialization (:func:`run_long` only) and after training.
    """

    budget: Budget
    lengths: tuple[int, ...]
    cells: tuple[str, ...]
    hidden_size: int
    mse: dict[tuple[int, str, int], float]
    step_ms: dict[tuple[int, str, int], float]
    before: dict[tuple[int, str, int], TimeProfile]
    after: dict[tuple[int, str, int], TimeProfile]

    def solved(self, length: int, cell: str, seed: int | None = None) -> bool:
        """Whether that run's test MSE is below the success threshold."""
        return solved(self.mse[length, cell, self.budget.seeds[0] if seed is None else seed])

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages (first seed)."""
        seed = self.budget.seeds[0]
        out: dict[str, object] = {
            "budget": str(self.budget),
            "lengths": list(self.lengths),
            "hidden_size": self.hidden_size,
        }
        for length in self.lengths:
            for cell in self.cells:
                key = (length, cell, seed)
                out[f"{cell}_t{length}_mse"] = self.mse[key]
                out[f"{cell}_t{length}_solved"] = self.solved(length, cell)
                if key in self.before:
                    out[f"{cell}_t{length}_ratio_at_init"] = self.before[key].ratio_first_to_last()
                out[f"{cell}_t{length}_ratio_trained"] = self.after[key].ratio_first_to_last()
        return out


def _run(
    lengths: Sequence[int],
    cells: Sequence[str],
    budget: Budget,
    device: torch.device | str | None,
    *,
    measure_before: bool,
) -> Adding:
    lengths = tuple(check_int("lengths[i]", n, minimum=2) for n in lengths)
    check_budget(budget)
    device = resolve_device(device)
    mse, step_ms, before, after = {}, {}, {}, {}
    for length in lengths:
        split = make_adding_split(length, seed=0)
        probe = split.x_test[:PROBE].to(device), split.y_test[:PROBE].to(device)
        for cell in cells:
            for seed in budget.seeds:
                key = (length, cell, seed)
                if measure_before:
                    torch.manual_seed(seed)  # the weights train_adding starts from
                    model = RecurrentRegressor(cell, split.x_train.shape[-1], HIDDEN).to(device)
                    before[key] = hidden_gradient_norms(model, *probe)
                model, hist = train_adding(
                    cell,
                    length,
                    data=split,
                    seed=seed,
                    budget=budget,
                    hidden_size=HIDDEN,
                    device=device,
                )
                mse[key] = hist.final_test_loss
                step_ms[key] = 1e3 * float(np.median(hist.step_time))
                after[key] = hidden_gradient_norms(model, *probe)
    return Adding(budget, lengths, tuple(cells), HIDDEN, mse, step_ms, before, after)


def run_lengths(
    *,
    lengths: Sequence[int] = (10, 25, 50),
    cells: Sequence[str] = CELLS,
    budget: Budget = ADDING_BUDGET,
    device: torch.device | str | None = None,
) -> Adding:
    """Train every cell at every length, for each of the budget's seeds."""
    result = _run(lengths, cells, budget, device, measure_before=False)
    record(LENGTHS_KEY, **result.summary())
    return result


def run_long(
    *,
    length: int = 100,
    cells: Sequence[str] = CELLS,
    budget: Budget = ADDING_BUDGET,
    device: torch.device | str | None = None,
) -> Adding:
    """The same budget at one long sequence length (the page's 100)."""
    result = _run((length,), cells, budget, device, measure_before=True)
    record(LONG_KEY, length=length, **result.summary())
    return result
