"""The gradient through time at initialization: a vanilla RNN whose recurrent matrix is
orthogonal times a gain, an LSTM with and without a positive forget-gate bias, and the three
cells with PyTorch's default initialization -- on one batch of 50-step adding sequences.

Cheap enough for the page that quotes it, ``docs/chapters/recurrent.md``, to run it; asserted
by ``tests/claims/test_recurrent.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .._checks import check_int, check_seeds
from ..sequences import (
    CELLS,
    RecurrentRegressor,
    TimeProfile,
    adding_problem,
    hidden_gradient_norms,
)

__all__ = ["ThroughTime", "run"]


@dataclass
class ThroughTime:
    """What :func:`run` measured, on ``batch`` sequences of ``length`` steps, with cells of
    ``hidden_size`` units.

    Attributes
    ----------
    rnn_gain
        ``(gain, seed) -> TimeProfile`` of the tanh RNN with recurrent matrix gain x orthogonal.
    lstm_forget
        ``(forget bias or None, seed) -> TimeProfile`` of the LSTM.
    default
        ``(cell, seed) -> TimeProfile`` with PyTorch's default initialization.
    """

    length: int
    batch: int
    hidden_size: int
    seeds: tuple[int, ...]
    rnn_gain: dict[tuple[float, int], TimeProfile]
    lstm_forget: dict[tuple[float | None, int], TimeProfile]
    default: dict[tuple[str, int], TimeProfile]

    def gain_ratio(self, gain: float, seed: int | None = None) -> float:
        """``|dL/dh_1| / |dL/dh_T|`` of the RNN with that gain."""
        return self.rnn_gain[gain, self.seeds[0] if seed is None else seed].ratio_first_to_last()

    def cell_state_ratio(self, bias: float | None, seed: int | None = None) -> float:
        """``|dL/dc_1| / |dL/dh_T|``: how much reaches the LSTM's first cell state."""
        p = self.lstm_forget[bias, self.seeds[0] if seed is None else seed]
        return p.cell[0] / p.hidden[-1]


def run(
    *,
    length: int = 50,
    batch: int = 256,
    hidden_size: int = 32,
    gains: Sequence[float] = (0.5, 1.0, 2.0),
    forget_biases: Sequence[float | None] = (None, 1.0, 3.0),
    seeds: Sequence[int] = (0,),
) -> ThroughTime:
    """Measure every setting on the same probe batch (adding problem, generator seed 1), each
    model built after ``torch.manual_seed(seed)``."""
    seeds = check_seeds("seeds", seeds)
    check_int("hidden_size", hidden_size)
    x, y = adding_problem(batch, length, seed=1)
    rnn_gain, lstm_forget, default = {}, {}, {}
    for seed in seeds:
        for gain in gains:
            torch.manual_seed(seed)
            model = RecurrentRegressor("rnn", hidden_size=hidden_size, recurrent_gain=gain)
            rnn_gain[gain, seed] = hidden_gradient_norms(model, x, y)
        for bias in forget_biases:
            torch.manual_seed(seed)
            model = RecurrentRegressor("lstm", hidden_size=hidden_size, forget_bias=bias)
            lstm_forget[bias, seed] = hidden_gradient_norms(model, x, y)
        for cell in CELLS:
            torch.manual_seed(seed)
            model = RecurrentRegressor(cell, hidden_size=hidden_size)
            default[cell, seed] = hidden_gradient_norms(model, x, y)
    return ThroughTime(length, batch, hidden_size, seeds, rnn_gain, lstm_forget, default)
