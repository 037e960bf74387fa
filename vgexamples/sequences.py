"""Sequence tasks and recurrent models: the adding problem, RNN/LSTM/GRU regressors, and the
gradient with respect to every hidden state (the gradient *through time*).

* :func:`adding_problem` / :func:`make_adding_split` -- the adding problem: a sequence of
  random numbers with two of them marked; the target is their sum, so the network must carry
  information across the sequence. Two variants (:data:`ADDING_VARIANTS`): the later one the
  site trains on (values in [0, 1], one marker in each half, the raw sum, as in Le, Jaitly &
  Hinton 2015) and the original of Hochreiter & Schmidhuber (1997, Experiment 4).
* :func:`baseline_mse`, :func:`last_value_baseline_mse`, :func:`fraction_correct` -- the
  mean predictor, the short-memory predictor, and the 1997 paper's criterion.
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
    "ADDING_LAST_VALUE_MSE",
    "ADDING_VARIANTS",
    "CELLS",
    "PAPER_TOLERANCE",
    "SUCCESS_FRACTION",
    "RecurrentRegressor",
    "TimeProfile",
    "adding_problem",
    "baseline_mse",
    "fraction_correct",
    "hidden_gradient_norms",
    "last_value_baseline_mse",
    "last_value_prediction",
    "make_adding_split",
    "solved",
    "target_range",
    "train_adding",
]

#: Recurrent cell names accepted by :class:`RecurrentRegressor`.
CELLS = ("rnn", "lstm", "gru")

#: The adding-problem variants :func:`adding_problem` draws: ``"le2015"``, the later variant the
#: site trains on (values uniform in [0, 1], one marker in each half, target the raw sum, as in
#: Le, Jaitly & Hinton 2015), and ``"hochreiter1997"``, the original (Hochreiter & Schmidhuber
#: 1997, Experiment 4; see :func:`adding_problem`).
ADDING_VARIANTS = ("le2015", "hochreiter1997")

#: Test MSE of always predicting the mean target (``"le2015"`` variant): the target is the sum
#: of two independent uniform(0, 1) numbers, whose variance is ``2 * 1/12 = 1/6``.
ADDING_BASELINE_MSE = 1.0 / 6.0

#: Test MSE of a model that remembers only the last marked value ``X2`` and predicts
#: ``X2 + E[X1] = X2 + 1/2`` (``"le2015"`` variant): its error is ``X1 - 1/2``, whose mean square
#: is ``Var(X1) = 1/12``.
ADDING_LAST_VALUE_MSE = 1.0 / 12.0

#: The 1997 paper's criterion: a sequence is processed correctly when the absolute error at
#: its end is below this, on a target that lies in [0, 1] (see :func:`fraction_correct`).
PAPER_TOLERANCE = 0.04

#: The budget of every adding-problem run on the site: Adam, 500 steps of 64 sequences,
#: evaluated once at the end.
ADDING_BUDGET = Budget(steps=500, lr=0.01, optimizer="adam", batch_size=64)

#: A run *solves* the adding problem when its test MSE is below this fraction of the
#: mean-predictor's MSE (see :func:`solved`): ``1/60`` for the ``"le2015"`` variant. The
#: threshold is this site's convention, not a paper's.
SUCCESS_FRACTION = 0.1


def adding_problem(
    n: int,
    length: int,
    *,
    variant: str = "le2015",
    generator: torch.Generator | None = None,
    seed: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` sequences of the adding problem.

    Each sequence has ``length`` steps and two input channels: channel 0 holds independent
    random numbers, channel 1 holds the markers. The two variants (:data:`ADDING_VARIANTS`):

    ``"le2015"`` (the default, the variant the site trains on)
        Values uniform in [0, 1]; the marker is 1 at exactly two positions, one drawn uniformly
        in the first half of the sequence and one in the second half, and 0 elsewhere. The
        target is the sum of the two marked values, in [0, 2].
    ``"hochreiter1997"`` (Hochreiter & Schmidhuber 1997, Experiment 4)
        Values uniform in [-1, 1]. The first marked position is drawn among the first ten,
        the second among the other positions of the first ``length // 2 - 1``; the marker is
        1 there, -1 at the first and last positions when they are not marked, 0 elsewhere. A
        marked value at the first position is set to 0 (the paper: "we set X1 to zero"). The
        target is ``0.5 + (X1 + X2) / 4``, in [0, 1]. One difference from the paper: every
        sequence here has exactly ``length`` steps, where the paper drew lengths between
        ``T`` and ``T + T/10``.

    Parameters
    ----------
    n
        Number of sequences, >= 1.
    length
        Sequence length ``T``: >= 2, and >= 22 for ``"hochreiter1997"`` (so that the first
        ten positions lie among the first ``T/2 - 1``).
    variant
        One of :data:`ADDING_VARIANTS`.
    generator, seed
        Source of randomness: an existing ``torch.Generator`` or a seed for a new one
        (default seed 0). Give at most one.

    Returns
    -------
    x, y
        ``x`` shaped ``(n, length, 2)`` and ``y`` shaped ``(n, 1)``, both float32.
    """
    check_int("n", n)
    check_choice("variant", variant, ADDING_VARIANTS)
    check_int("length", length, minimum=22 if variant == "hochreiter1997" else 2)
    if generator is not None and seed is not None:
        raise ValueError("give either generator or seed, not both")
    if generator is None:
        seed = 0 if seed is None else check_int("seed", seed, minimum=0)
        generator = torch.Generator().manual_seed(seed)
    elif not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator; got {type(generator).__name__}")
    rows = torch.arange(n)
    if variant == "le2015":
        values = torch.rand(n, length, generator=generator)
        half = length // 2
        first = torch.randint(0, half, (n,), generator=generator)
        second = torch.randint(half, length, (n,), generator=generator)
        marker = torch.zeros(n, length)
        marker[rows, first] = 1.0
        marker[rows, second] = 1.0
        y = (values * marker).sum(1, keepdim=True)
        return torch.stack([values, marker], dim=-1), y
    values = 2.0 * torch.rand(n, length, generator=generator) - 1.0
    first = torch.randint(0, 10, (n,), generator=generator)
    # The second position: uniform among the first length // 2 - 1 positions other than the
    # first marked one (which always lies among them, since length >= 22).
    window = length // 2 - 1
    second = torch.randint(0, window - 1, (n,), generator=generator)
    second = second + (second >= first).long()
    values[:, 0] = torch.where((first == 0) | (second == 0), 0.0, values[:, 0])
    marker = torch.zeros(n, length)
    marker[:, 0] = -1.0
    marker[:, -1] = -1.0
    marker[rows, first] = 1.0
    marker[rows, second] = 1.0
    y = 0.5 + (values * (marker == 1.0)).sum(1, keepdim=True) / 4.0
    return torch.stack([values, marker], dim=-1), y


def target_range(variant: str) -> tuple[float, float]:
    """The interval the adding problem's target lies in: ``(0, 2)`` for ``"le2015"``,
    ``(0, 1)`` for ``"hochreiter1997"``."""
    check_choice("variant", variant, ADDING_VARIANTS)
    return (0.0, 2.0) if variant == "le2015" else (0.0, 1.0)


def fraction_correct(
    prediction: torch.Tensor, target: torch.Tensor, *, variant: str = "le2015"
) -> float:
    """Fraction of sequences processed correctly by the 1997 paper's criterion.

    Hochreiter & Schmidhuber (1997) count a sequence as correct when the absolute error at its
    end is below :data:`PAPER_TOLERANCE` (0.04), on their target in [0, 1]. For the
    ``"le2015"`` variant, whose target lies in [0, 2], the error is first mapped linearly onto
    the same [0, 1] scale (divided by 2), so the criterion is an absolute error below 0.08.

    Raises
    ------
    ValueError
        If the shapes differ or either tensor holds NaN or inf.
    """
    check_finite_tensor("prediction", prediction)
    check_finite_tensor("target", target)
    if prediction.shape != target.shape:
        raise ValueError(
            "prediction and target must have the same shape; got "
            f"{tuple(prediction.shape)} and {tuple(target.shape)}"
        )
    lo, hi = target_range(variant)
    error = (prediction.detach().float() - target.float()).abs() / (hi - lo)
    return float((error < PAPER_TOLERANCE).float().mean())


def make_adding_split(
    length: int,
    *,
    n_train: int = 8000,
    n_test: int = 1000,
    seed: int = 0,
    variant: str = "le2015",
) -> Split:
    """A train/test :class:`~vgexamples.data.Split` of the adding problem of one length.

    Parameters
    ----------
    length
        Sequence length ``T``, >= 2 (>= 22 for ``"hochreiter1997"``).
    variant
        One of :data:`ADDING_VARIANTS` (see :func:`adding_problem`).
    n_train, n_test
        Number of training and test sequences, >= 1.
    seed
        Seed of the draw; the test set never overlaps the training draw's random stream.
    """
    check_int("n_train", n_train)
    check_int("n_test", n_test)
    check_int("seed", seed, minimum=0)
    gen = torch.Generator().manual_seed(seed)
    x_train, y_train = adding_problem(n_train, length, variant=variant, generator=gen)
    x_test, y_test = adding_problem(n_test, length, variant=variant, generator=gen)
    return Split(x_train, y_train, x_test, y_test)


def baseline_mse(data: Split) -> float:
    """Test MSE of the best constant prediction learned from the training set (its mean)."""
    if not isinstance(data, Split):
        raise TypeError(f"data must be a vgexamples.data.Split; got {type(data).__name__}")
    mean = data.y_train.float().mean()
    return float(((data.y_test.float() - mean) ** 2).mean())


def _last_marked_value(x: torch.Tensor) -> torch.Tensor:
    # Index of the last position whose marker is 1, then the value there.
    marked = x[..., 1] == 1.0
    position = torch.arange(x.shape[1]).expand_as(marked)
    last = torch.where(marked, position, -1).max(dim=1).values
    return x[torch.arange(len(x)), last, 0]


def last_value_baseline_mse(data: Split) -> float:
    """Test MSE of a predictor that remembers only the last marked value.

    It predicts ``a * X2 + b``, where ``X2`` is the value at the last marked position and
    ``a, b`` are the least-squares fit on the training set. For the ``"le2015"`` variant the
    fit is ``a = 1, b = E[X1] = 1/2``, and the MSE is ``Var(X1) = 1/12``
    (:data:`ADDING_LAST_VALUE_MSE`): the score of a model with a memory one marker long.
    """
    pred = last_value_prediction(data).double()
    return float(((data.y_test.double() - pred) ** 2).mean())


def last_value_prediction(data: Split) -> torch.Tensor:
    """The short-memory predictor's predictions on ``data.x_test``, shaped like ``y_test``
    (see :func:`last_value_baseline_mse`)."""
    if not isinstance(data, Split):
        raise TypeError(f"data must be a vgexamples.data.Split; got {type(data).__name__}")
    if data.x_train.dim() != 3 or data.x_train.shape[-1] != 2:
        raise ValueError(
            "data must hold adding-problem sequences shaped (N, T, 2); got "
            f"{tuple(data.x_train.shape)}"
        )
    x2 = _last_marked_value(data.x_train).double()
    y = data.y_train[:, 0].double()
    design = torch.stack([x2, torch.ones_like(x2)], dim=1)
    coef = torch.linalg.lstsq(design, y.unsqueeze(1)).solution[:, 0]
    pred = coef[0] * _last_marked_value(data.x_test).double() + coef[1]
    return pred.float().unsqueeze(1)


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
    variant: str = "le2015",
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
    variant
        One of :data:`ADDING_VARIANTS`, for the split drawn when ``data`` is not given.
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
    check_choice("variant", variant, ADDING_VARIANTS)
    if data is None:
        data = make_adding_split(length, n_train=n_train, seed=0, variant=variant)
    torch.manual_seed(seed)
    model = RecurrentRegressor(cell, data.x_train.shape[-1], hidden_size, **model_kwargs)
    hist = train(model, data, loss="mse", seed=seed, device=device, **budget.train_kwargs())
    return model, hist
