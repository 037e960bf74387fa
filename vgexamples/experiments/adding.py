"""The adding problem: a vanilla RNN, an LSTM and a GRU trained under one budget
(:data:`vgexamples.sequences.ADDING_BUDGET`) at several sequence lengths, with the gradient
through time measured before and after training.

Shown by ``gallery/recurrent/plot_01_adding_problem.py`` (:func:`run_lengths`),
``plot_02_long_sequences.py`` (:func:`run_long`) and ``plot_03_adding_1997.py``
(:func:`run_paper`, the original variant of Hochreiter & Schmidhuber 1997), quoted by
``docs/chapters/recurrent.md`` and the claims page, asserted by
``tests/claims/test_recurrent.py``.

Every run is scored three ways on the same test sequences: its MSE, whether it is *solved*
(MSE below :data:`~vgexamples.sequences.SUCCESS_FRACTION` of the mean predictor's, this site's
convention), and the fraction of sequences correct by the 1997 paper's criterion
(:func:`~vgexamples.sequences.fraction_correct`). Two baselines are scored the same way: the
mean predictor and the short-memory predictor that remembers only the last marked value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .._checks import check_choice, check_int
from ..results import record
from ..runtime import resolve_device
from ..sequences import (
    ADDING_BASELINE_MSE,
    ADDING_BUDGET,
    ADDING_VARIANTS,
    CELLS,
    PAPER_TOLERANCE,
    SUCCESS_FRACTION,
    RecurrentRegressor,
    TimeProfile,
    baseline_mse,
    fraction_correct,
    hidden_gradient_norms,
    last_value_baseline_mse,
    last_value_prediction,
    make_adding_split,
    solved,
    train_adding,
)
from ..train import Budget, check_budget

__all__ = ["LENGTHS_KEY", "LONG_KEY", "PAPER_KEY", "Adding", "run_lengths", "run_long", "run_paper"]

LENGTHS_KEY = "recurrent.adding"
LONG_KEY = "recurrent.long"
PAPER_KEY = "recurrent.adding1997"
#: Hidden units of every cell.
HIDDEN = 32
#: Sequences the gradient through time is measured on: the first test sequences.
PROBE = 256


@dataclass
class Adding:
    """What one of the runs measured.

    Attributes
    ----------
    budget, lengths, cells, hidden_size, variant
        The budget (its seeds are the runs' seeds), the sequence lengths, the cells, their
        hidden units, and the task variant (:data:`~vgexamples.sequences.ADDING_VARIANTS`).
    mse, correct, step_ms
        ``(length, cell, seed) ->`` test MSE, fraction of test sequences correct by the 1997
        paper's criterion, and median milliseconds per training step.
    mean_mse, last_value_mse, mean_correct, last_value_correct
        ``length ->`` the same two scores for the mean predictor (the training set's mean
        target) and the short-memory predictor (the last marked value, least-squares fitted),
        on the same test sequences.
    before, after
        ``(length, cell, seed) -> TimeProfile`` of the gradient through time on the first
        test sequences, at initialization (:func:`run_long` only) and after training.
    """

    budget: Budget
    lengths: tuple[int, ...]
    cells: tuple[str, ...]
    hidden_size: int
    variant: str
    mse: dict[tuple[int, str, int], float]
    correct: dict[tuple[int, str, int], float]
    step_ms: dict[tuple[int, str, int], float]
    mean_mse: dict[int, float]
    last_value_mse: dict[int, float]
    mean_correct: dict[int, float]
    last_value_correct: dict[int, float]
    before: dict[tuple[int, str, int], TimeProfile]
    after: dict[tuple[int, str, int], TimeProfile]

    def threshold(self, length: int) -> float:
        """The MSE below which a run counts as solved: :data:`SUCCESS_FRACTION` of the mean
        predictor's MSE -- the exact 1/6 for ``"le2015"`` (so 1/60), the measured test value
        for ``"hochreiter1997"``."""
        base = ADDING_BASELINE_MSE if self.variant == "le2015" else self.mean_mse[length]
        return SUCCESS_FRACTION * base

    def solved(self, length: int, cell: str, seed: int | None = None) -> bool:
        """Whether that run's test MSE is below :meth:`threshold`."""
        mse = self.mse[length, cell, self.budget.seeds[0] if seed is None else seed]
        base = ADDING_BASELINE_MSE if self.variant == "le2015" else self.mean_mse[length]
        return solved(mse, baseline=base)

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages (first seed).

        Keys: ``budget``, ``lengths``, ``hidden_size``, ``variant``, ``tolerance`` (the 1997
        criterion's absolute error on the [0, 1] scale), ``success_fraction``; per length
        ``L``: ``threshold_t{L}`` (the solved-MSE threshold), ``mean_mse_t{L}``,
        ``last_value_mse_t{L}``, ``mean_correct_t{L}``, ``last_value_correct_t{L}``; per cell
        and length: ``{cell}_t{L}_mse``, ``_solved``, ``_correct``, ``_ratio_trained`` and
        (:func:`run_long`) ``_ratio_at_init``.
        """
        seed = self.budget.seeds[0]
        out: dict[str, object] = {
            "budget": str(self.budget),
            "lengths": list(self.lengths),
            "hidden_size": self.hidden_size,
            "variant": self.variant,
            "tolerance": PAPER_TOLERANCE,
            "success_fraction": SUCCESS_FRACTION,
        }
        for length in self.lengths:
            out[f"threshold_t{length}"] = self.threshold(length)
            out[f"mean_mse_t{length}"] = self.mean_mse[length]
            out[f"last_value_mse_t{length}"] = self.last_value_mse[length]
            out[f"mean_correct_t{length}"] = self.mean_correct[length]
            out[f"last_value_correct_t{length}"] = self.last_value_correct[length]
            for cell in self.cells:
                key = (length, cell, seed)
                out[f"{cell}_t{length}_mse"] = self.mse[key]
                out[f"{cell}_t{length}_solved"] = self.solved(length, cell)
                out[f"{cell}_t{length}_correct"] = self.correct[key]
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
    variant: str = "le2015",
) -> Adding:
    check_choice("variant", variant, ADDING_VARIANTS)
    minimum = 22 if variant == "hochreiter1997" else 2
    lengths = tuple(check_int("lengths[i]", n, minimum=minimum) for n in lengths)
    check_budget(budget)
    device = resolve_device(device)
    mse, correct, step_ms, before, after = {}, {}, {}, {}, {}
    mean_mse, last_mse, mean_correct, last_correct = {}, {}, {}, {}
    for length in lengths:
        split = make_adding_split(length, seed=0, variant=variant)
        mean_mse[length] = baseline_mse(split)
        last_mse[length] = last_value_baseline_mse(split)
        constant = split.y_train.mean().expand_as(split.y_test)
        mean_correct[length] = fraction_correct(constant, split.y_test, variant=variant)
        last_correct[length] = fraction_correct(
            last_value_prediction(split), split.y_test, variant=variant
        )
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
                with torch.no_grad():
                    prediction = model(split.x_test.to(device)).cpu()
                correct[key] = fraction_correct(prediction, split.y_test, variant=variant)
                step_ms[key] = 1e3 * float(np.median(hist.step_time))
                after[key] = hidden_gradient_norms(model, *probe)
    return Adding(
        budget,
        lengths,
        tuple(cells),
        HIDDEN,
        variant,
        mse,
        correct,
        step_ms,
        mean_mse,
        last_mse,
        mean_correct,
        last_correct,
        before,
        after,
    )


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


def run_paper(
    *,
    lengths: Sequence[int] = (25,),
    cells: Sequence[str] = CELLS,
    budget: Budget = ADDING_BUDGET,
    device: torch.device | str | None = None,
) -> Adding:
    """The same budget on the original 1997 variant of the task (``"hochreiter1997"``: values
    in [-1, 1], the first marker among the first ten steps, the second in the first half,
    target ``0.5 + (X1 + X2) / 4``), at the page's length 25."""
    result = _run(lengths, cells, budget, device, measure_before=False, variant="hochreiter1997")
    record(PAPER_KEY, **result.summary())
    return result
