"""Sequence tasks and recurrent models: the adding problem, RNN/LSTM/GRU regressors, and the
gradient with respect to every hidden state (the gradient *through time*).

* :func:`adding_problem` / :func:`make_adding_split` -- the adding problem of Hochreiter &
  Schmidhuber (1997): a sequence of random numbers with two of them marked; the target is
  their sum, so the network must carry information across the whole sequence.
* :class:`RecurrentRegressor` -- a one-layer ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU`` read out by
  a linear layer at the last time step.
* :func:`hidden_gradient_norms` -- per-time-step norms of :math:`\\partial L / \\partial h_t`
  (and :math:`\\partial L / \\partial c_t` for the LSTM's cell state).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ._checks import check_choice, check_finite_tensor, check_int, check_positive
from .data import Split
from .state import set_aside_grads
from .train import Budget, History, check_budget, train

__all__ = [
    "ADDING_BASELINE_MSE",
    "ADDING_BUDGET",
    "CELLS",
    "SUCCESS_FRACTION",
    "RecurrentRegressor",
    "TimeProfile",
    "adding_problem",
    "baseline_mse",
    "hidden_gradient_norms",
    "make_adding_split",
    "solved",
    "train_adding",
]

#: Recurrent cell names accepted by :class:`RecurrentRegressor`.
CELLS = ("rnn", "lstm", "gru")

#: Test MSE of always predicting the mean target: the target is the sum of two independent
#: uniform(0, 1) numbers, whose variance is ``2 * 1/12 = 1/6``.
ADDING_BASELINE_MSE = 1.0 / 6.0

#: The budget of every adding-problem run on the site: Adam, 500 steps of 64 sequences,
#: evaluated once at the end.
ADDING_BUDGET = Budget(steps=500, lr=0.01, optimizer="adam", batch_size=64)

#: A run *solves* the adding problem when its test MSE is below this fraction of the
#: mean-predictor's MSE (see :func:`solved`).
SUCCESS_FRACTION = 0.1


def adding_problem(
    n: int, length: int, *, generator: torch.Generator | None = None, seed: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` sequences of the adding problem.

    Each sequence has ``length`` steps and two input channels: channel 0 holds independent
    uniform(0, 1) numbers, channel 1 is a marker that is 1 at exactly two positions (one drawn
    uniformly in the first half of the sequence, one in the second half) and 0 elsewhere. The
    target is the sum of the two marked numbers.

    Parameters
    ----------
    n
        Number of sequences, >= 1.
    length
        Sequence length ``T``, >= 2.
    generator, seed
        Source of randomness: an existing ``torch.Generator`` or a seed for a new one
        (default seed 0). Give at most one.

    Returns
    -------
    x, y
        ``x`` shaped ``(n, length, 2)`` and ``y`` shaped ``(n, 1)``, both float32.
    """
    check_int("n", n)
    check_int("length", length, minimum=2)
    if generator is not None and seed is not None:
        raise ValueError("give either generator or seed, not both")
    if generator is None:
        seed = 0 if seed is None else check_int("seed", seed, minimum=0)
        generator = torch.Generator().manual_seed(seed)
    elif not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator; got {type(generator).__name__}")
    values = torch.rand(n, length, generator=generator)
    half = length // 2
    first = torch.randint(0, half, (n,), generator=generator)
    second = torch.randint(half, length, (n,), generator=generator)
    marker = torch.zeros(n, length)
    rows = torch.arange(n)
    marker[rows, first] = 1.0
    marker[rows, second] = 1.0
    y = (values * marker).sum(1, keepdim=True)
    return torch.stack([values, marker], dim=-1), y


def make_adding_split(
    length: int, *, n_train: int = 8000, n_test: int = 1000, seed: int = 0
) -> Split:
    """A train/test :class:`~vgexamples.data.Split` of the adding problem of one length.

    Parameters
    ----------
    length
        Sequence length ``T``, >= 2.
    n_train, n_test
        Number of training and test sequences, >= 1.
    seed
        Seed of the draw; the test set never overlaps the training draw's random stream.
    """
    check_int("n_train", n_train)
    check_int("n_test", n_test)
    check_int("seed", seed, minimum=0)
    gen = torch.Generator().manual_seed(seed)
    x_train, y_train = adding_problem(n_train, length, generator=gen)
    x_test, y_test = adding_problem(n_test, length, generator=gen)
    return Split(x_train, y_train, x_test, y_test)


def baseline_mse(data: Split) -> float:
    """Test MSE of the best constant prediction learned from the training set (its mean)."""
    if not isinstance(data, Split):
        raise TypeError(f"data must be a vgexamples.data.Split; got {type(data).__name__}")
    mean = data.y_train.float().mean()
    return float(((data.y_test.float() - mean) ** 2).mean())


def solved(test_mse: float, *, baseline: float = ADDING_BASELINE_MSE) -> bool:
    """True if ``test_mse`` is finite and below ``SUCCESS_FRACTION * baseline``."""
    check_positive("baseline", baseline)
    return math.isfinite(test_mse) and test_mse < SUCCESS_FRACTION * baseline


class RecurrentRegressor(nn.Module):
    """One recurrent layer read out by a linear layer at the last time step.

    Parameters
    ----------
    cell
        One of :data:`CELLS`: ``"rnn"`` (Elman, :math:`h_t = \\phi(W x_t + U h_{t-1} + b)`),
        ``"lstm"`` (Hochreiter & Schmidhuber 1997) or ``"gru"`` (Cho et al. 2014).
    input_size, hidden_size, output_size
        Sizes, each >= 1.
    nonlinearity
        ``"tanh"`` or ``"relu"``; only for ``cell="rnn"``.
    recurrent_gain
        If given (> 0), every recurrent weight block (one per gate) is replaced by
        ``recurrent_gain`` times a random orthogonal matrix, so its spectral radius is exactly
        ``recurrent_gain``. Otherwise PyTorch's default initialization is kept.
    forget_bias
        LSTM only: if given, the forget gate's bias is set to this value (PyTorch's default
        keeps it near 0, i.e. a forget gate near 1/2 at initialization).

    Notes
    -----
    ``forward`` runs PyTorch's fused recurrent layer in one call; :meth:`unroll` runs the same
    layer one time step at a time and returns every hidden state, for gradient measurements.
    """

    def __init__(
        self,
        cell: str = "lstm",
        input_size: int = 2,
        hidden_size: int = 32,
        output_size: int = 1,
        *,
        nonlinearity: str = "tanh",
        recurrent_gain: float | None = None,
        forget_bias: float | None = None,
    ) -> None:
        super().__init__()
        check_choice("cell", cell, CELLS)
        check_int("input_size", input_size)
        check_int("hidden_size", hidden_size)
        check_int("output_size", output_size)
        check_choice("nonlinearity", nonlinearity, ("tanh", "relu"))
        if nonlinearity != "tanh" and cell != "rnn":
            raise ValueError(f"nonlinearity applies only to cell='rnn'; got cell={cell!r}")
        if forget_bias is not None and cell != "lstm":
            raise ValueError(f"forget_bias applies only to cell='lstm'; got cell={cell!r}")
        self.cell = cell
        if cell == "rnn":
            self.rnn: nn.RNNBase = nn.RNN(
                input_size, hidden_size, nonlinearity=nonlinearity, batch_first=True
            )
        elif cell == "lstm":
            self.rnn = nn.LSTM(input_size, hidden_size, batch_first=True)
        else:
            self.rnn = nn.GRU(input_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, output_size)
        with torch.no_grad():
            if recurrent_gain is not None:
                check_positive("recurrent_gain", recurrent_gain)
                weight = self.rnn.weight_hh_l0
                for block in weight.split(hidden_size, dim=0):
                    nn.init.orthogonal_(block, gain=recurrent_gain)
            if forget_bias is not None:
                if not math.isfinite(forget_bias):
                    raise ValueError(f"forget_bias must be a finite number; got {forget_bias}")
                # PyTorch's LSTM gate order is (input, forget, cell, output); the two bias
                # vectors are added, so put the whole value in one of them.
                self.rnn.bias_ih_l0[hidden_size : 2 * hidden_size] = float(forget_bias)
                self.rnn.bias_hh_l0[hidden_size : 2 * hidden_size] = 0.0

    @property
    def hidden_size(self) -> int:
        """Number of hidden units."""
        return self.rnn.hidden_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1])

    def unroll(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor] | None]:
        """Run the recurrent layer one step at a time.

        Returns
        -------
        output, hidden, cell_states
            The prediction (same as ``forward``), the hidden states ``h_1..h_T`` (each shaped
            ``(N, hidden_size)``, part of the autograd graph), and for the LSTM the cell
            states ``c_1..c_T`` (``None`` for the other cells).
        """
        if x.dim() != 3:
            raise ValueError(f"x must be shaped (batch, time, features); got {tuple(x.shape)}")
        state = None
        hidden: list[torch.Tensor] = []
        cells: list[torch.Tensor] = []
        for t in range(x.shape[1]):
            _, new_state = self.rnn(x[:, t : t + 1], state)
            # Feed the next step from the squeezed views, so that each stored state lies on
            # every path from the loss back to the earlier steps.
            if self.cell == "lstm":
                h, c = new_state[0][0], new_state[1][0]
                cells.append(c)
                state = (h.unsqueeze(0), c.unsqueeze(0))
            else:
                h = new_state[0]
                state = h.unsqueeze(0)
            hidden.append(h)
        return self.head(hidden[-1]), hidden, (cells if self.cell == "lstm" else None)


@dataclass
class TimeProfile:
    """Per-time-step gradient norms of one backward pass (see :func:`hidden_gradient_norms`).

    Attributes
    ----------
    hidden
        ``hidden[t-1]`` = mean over the batch of :math:`\\lVert\\partial L_i/\\partial h_t\\rVert`.
    cell
        The same for the LSTM's cell state :math:`c_t` (``None`` for other cells).
    loss
        Mean loss of the batch.
    """

    hidden: list[float]
    cell: list[float] | None
    loss: float

    def ratio_first_to_last(self) -> float:
        """``hidden[0] / hidden[-1]``: how much of the gradient reaches the first step."""
        return self.hidden[0] / self.hidden[-1] if self.hidden[-1] > 0 else math.nan


def hidden_gradient_norms(
    model: RecurrentRegressor, x: torch.Tensor, y: torch.Tensor
) -> TimeProfile:
    """Norm of the gradient of the loss with respect to every hidden state.

    The loss is the squared error of each example, :math:`L_i = (f(x_i) - y_i)^2`; for each
    step ``t`` the function reports the batch mean of :math:`\\lVert\\partial L_i/\\partial
    h_t\\rVert`, the total derivative through every later step. The model's parameter
    gradients are left untouched.

    Parameters
    ----------
    model
        A :class:`RecurrentRegressor`.
    x, y
        A batch shaped ``(N, T, F)`` and its targets ``(N, output_size)``.
    """
    if not isinstance(model, RecurrentRegressor):
        raise TypeError(f"model must be a RecurrentRegressor; got {type(model).__name__}")
    check_finite_tensor("x", x)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length; got {len(x)} and {len(y)}")
    with set_aside_grads(model):
        out, hidden, cells = model.unroll(x)
        states = hidden + (cells or [])
        for s in states:
            s.retain_grad()
        per_example = ((out - y) ** 2).sum(dim=1)
        per_example.sum().backward()

        def _norms(seq: list[torch.Tensor]) -> list[float]:
            # A state with no path to the loss (the LSTM's last cell state) gets no gradient.
            return [
                float(torch.linalg.vector_norm(s.grad, dim=-1).mean())
                if s.grad is not None
                else 0.0
                for s in seq
            ]

        profile = TimeProfile(
            hidden=_norms(hidden),
            cell=_norms(cells) if cells is not None else None,
            loss=float(per_example.detach().mean()),
        )
    return profile


def train_adding(
    cell: str,
    length: int,
    *,
    seed: int = 0,
    budget: Budget = ADDING_BUDGET,
    hidden_size: int = 32,
    n_train: int = 8000,
    data: Split | None = None,
    device: torch.device | str | None = None,
    **model_kwargs,
) -> tuple[RecurrentRegressor, History]:
    """Train one :class:`RecurrentRegressor` on the adding problem under a fixed budget.

    MSE loss and :data:`ADDING_BUDGET` (Adam, Kingma & Ba 2015) unless another ``budget`` is
    given; ``seed`` fixes the initial weights and the mini-batch order (the budget's ``seeds``
    are not used: this is one run). The data set (drawn with seed 0 unless ``data`` is given)
    is the same for every cell and seed, so that runs differ only in what is being compared.

    Parameters
    ----------
    cell
        One of :data:`CELLS`.
    length
        Sequence length, >= 2 (ignored when ``data`` is given).
    seed
        Seed of the initial weights and of the mini-batch order.
    budget
        Steps, learning rate, optimizer and batch size (:class:`~vgexamples.train.Budget`).
    hidden_size, n_train
        Hidden units, and training sequences drawn when ``data`` is not given.
    data
        A ready-made split (e.g. from :func:`make_adding_split`) to reuse across runs.
    device
        Where to train.
    **model_kwargs
        Passed to :class:`RecurrentRegressor` (``forget_bias``, ``recurrent_gain``, ...).

    Returns
    -------
    model, history
        The trained model and its :class:`~vgexamples.train.History`; the test MSE is
        ``history.final_test_loss``.
    """
    check_choice("cell", cell, CELLS)
    check_int("seed", seed, minimum=0)
    check_budget(budget)
    if data is None:
        data = make_adding_split(length, n_train=n_train, seed=0)
    torch.manual_seed(seed)
    model = RecurrentRegressor(cell, data.x_train.shape[-1], hidden_size, **model_kwargs)
    hist = train(model, data, loss="mse", seed=seed, device=device, **budget.train_kwargs())
    return model, hist
