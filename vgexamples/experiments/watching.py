"""Models in trouble, trained by a plain PyTorch loop with a :class:`~vgexamples.watch.Watcher`
attached: the cases of the "Diagnose your own model" page.

:func:`fit` is the loop a reader would write (a ``DataLoader``, any optimizer, a scheduler,
gradient clipping); nothing in it knows about the watcher. Each entry of :data:`CASES` is a
model, an optimizer and a schedule; :func:`run` trains one case, watched, and returns the
watcher's report. Shown by ``docs/diagnose.md``, asserted by ``tests/claims/test_watching.py``.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from .._checks import check_choice, check_int
from ..data import load_digits
from ..health import Report
from ..sequences import make_adding_split
from ..watch import Watcher

__all__ = [
    "ADDING_LENGTH",
    "CASES",
    "DEAD_BIAS",
    "EPOCHS",
    "Case",
    "RowTransformer",
    "SequenceRegressor",
    "Standardize",
    "Watched",
    "eps_model",
    "first_row",
    "fit",
    "forget_gate_mean",
    "fresh_model",
    "hidden_layers",
    "layer_factors",
    "loader",
    "mlp",
    "rows_of",
    "run",
    "sigmoid_derivatives",
    "step_sizes",
    "weight_gains",
    "weight_norms",
    "weight_steps",
]

#: Epochs of every case (the 1347 training digits: 22 steps of up to 64 images each).
EPOCHS = 5
#: The hidden biases of the "dead" case at the start.
DEAD_BIAS = -1.0
#: Sequence length of the adding problem the recurrent cases learn.
ADDING_LENGTH = 50


def fit(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    clip: float | None = None,
) -> list[float]:
    """Train ``model``: the loop of any PyTorch tutorial. Returns the loss of every step."""
    losses = []
    model.train()
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            losses.append(loss.item())
    return losses


def loader(data: str = "digits", *, batch_size: int = 64, seed: int = 0) -> DataLoader:
    """A shuffling ``DataLoader`` over the training digits (flat, standardized) or over
    sequences of the adding problem (:data:`ADDING_LENGTH` steps)."""
    check_choice("data", data, ("digits", "adding"))
    if data == "digits":
        split = load_digits()
    else:
        split = make_adding_split(ADDING_LENGTH, n_train=1024, n_test=1, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(
        TensorDataset(split.x_train, split.y_train),
        batch_size=batch_size,
        shuffle=True,
        generator=gen,
    )


def mlp(
    depth: int,
    activation: type[nn.Module] = nn.ReLU,
    *,
    width: int = 64,
    he: bool = True,
    gain: float = 1.0,
    bias: float | None = None,
) -> nn.Sequential:
    """``depth`` hidden layers of ``width`` units for the digits, as an ``nn.Sequential``.

    ``he``: He-normal weights and zero biases (else PyTorch's default initialization);
    ``gain`` multiplies the hidden weights; ``bias`` sets every hidden bias to a constant.
    """
    check_int("depth", depth)
    layers: list[nn.Module] = []
    fan_in = 64
    for _ in range(depth):
        linear = nn.Linear(fan_in, width)
        with torch.no_grad():
            if he:
                nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
                linear.bias.zero_()
            linear.weight.mul_(gain)
            if bias is not None:
                linear.bias.fill_(bias)
        layers += [linear, activation()]
        fan_in = width
    return nn.Sequential(*layers, nn.Linear(fan_in, 10))


class Standardize(nn.Module):
    """Standardize each input feature over the batch -- with a bug: a feature that is the same
    for every example of the batch (a blank pixel) has standard deviation 0, and 0 / 0 is
    NaN."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - x.mean(0)) / x.std(0)


class RowTransformer(nn.Module):
    """PyTorch's ``nn.TransformerEncoder`` reading an 8 x 8 digit as 8 tokens (its rows)."""

    def __init__(self, width: int = 32, heads: int = 4, layers: int = 2) -> None:
        super().__init__()
        self.embed = nn.Linear(8, width)
        block = nn.TransformerEncoderLayer(width, heads, 2 * width, batch_first=True)
        self.encoder = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.head = nn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(x.reshape(-1, 8, 8))
        return self.head(self.encoder(tokens).mean(1))


class SequenceRegressor(nn.Module):
    """PyTorch's ``nn.LSTM`` or ``nn.RNN`` reading a sequence; a linear read-out of the last
    hidden state predicts one number."""

    def __init__(
        self, cell: str = "lstm", hidden: int = 32, *, forget_bias: float | None = None
    ) -> None:
        super().__init__()
        check_choice("cell", cell, ("lstm", "rnn"))
        kind = nn.LSTM if cell == "lstm" else nn.RNN
        self.rnn = kind(2, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)
        if forget_bias is not None:
            if cell != "lstm":
                raise ValueError("forget_bias: only an LSTM has a forget gate (cell='lstm')")
            with torch.no_grad():  # the forget gate's rows of both biases, which add up
                for bias in (self.rnn.bias_ih_l0, self.rnn.bias_hh_l0):
                    bias[hidden : 2 * hidden].fill_(forget_bias / 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def _adamw(lr: float, **options: float) -> Callable:
    return lambda params: torch.optim.AdamW(params, lr=lr, **options)


def _sgd(lr: float, momentum: float = 0.9) -> Callable:
    return lambda params: torch.optim.SGD(params, lr=lr, momentum=momentum)


def _cosine(optimizer: torch.optim.Optimizer, steps: int):
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)


def _warmup(optimizer: torch.optim.Optimizer, steps: int):
    warm = max(1, steps // 10)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warm))


@dataclass(frozen=True)
class Case:
    """One model, its optimizer and schedule.

    ``model``: builds the model (after the seed is set); ``optimizer``: parameters ->
    optimizer; ``scheduler``: ``(optimizer, total steps) -> scheduler`` or ``None``;
    ``clip``: gradient-norm clipping threshold or ``None``; ``data``: ``"digits"`` or
    ``"adding"`` (mean squared error).
    """

    title: str
    model: Callable[[], nn.Module]
    optimizer: Callable
    scheduler: Callable | None = None
    clip: float | None = None
    data: str = "digits"


#: The page's cases.
CASES: dict[str, Case] = {
    "healthy": Case(
        "6 ReLU layers, He initialization, AdamW, cosine schedule, clipping",
        lambda: mlp(6),
        _adamw(1e-3),
        _cosine,
        clip=1.0,
    ),
    "vanishing": Case(
        "12 sigmoid layers, PyTorch's default initialization, SGD with momentum",
        lambda: mlp(12, nn.Sigmoid, he=False),
        _sgd(0.1),
    ),
    "vanishing_adamw": Case(
        "the same 12 sigmoid layers under AdamW (no weight decay)",
        lambda: mlp(12, nn.Sigmoid, he=False),
        _adamw(1e-3, weight_decay=0.0),
    ),
    "vanishing_adamw_eps": Case(
        "the same under AdamW with eps 1e-16 instead of 1e-8",
        lambda: mlp(12, nn.Sigmoid, he=False),
        _adamw(1e-3, eps=1e-16, weight_decay=0.0),
    ),
    "exploding": Case(
        "16 ReLU layers, He initialization times 2, SGD",
        lambda: mlp(16, gain=2.0),
        _sgd(0.01, momentum=0.0),
    ),
    "exploding_clipped": Case(
        "the same, gradients clipped to norm 1",
        lambda: mlp(16, gain=2.0),
        _sgd(0.01, momentum=0.0),
        clip=1.0,
    ),
    "dead": Case(
        "6 ReLU layers whose biases start at -1, SGD with momentum",
        lambda: mlp(6, bias=DEAD_BIAS),
        _sgd(0.05),
    ),
    "nan": Case(
        "a standardizing first layer that divides by a zero spread",
        lambda: nn.Sequential(Standardize(), mlp(3)),
        _adamw(1e-3),
    ),
    "transformer": Case(
        "PyTorch's nn.TransformerEncoder (2 layers), AdamW with warm-up, clipping",
        RowTransformer,
        _adamw(1e-3),
        _warmup,
        clip=1.0,
    ),
    "lstm": Case(
        f"PyTorch's nn.LSTM on the adding problem ({ADDING_LENGTH} steps), AdamW",
        lambda: SequenceRegressor("lstm"),
        _adamw(1e-3),
        data="adding",
    ),
    "lstm_forget1": Case(
        "the same nn.LSTM, its forget gate's bias started at 1 (Jozefowicz et al.)",
        lambda: SequenceRegressor("lstm", forget_bias=1.0),
        _adamw(1e-3),
        data="adding",
    ),
    "lstm_forget": Case(
        "the same nn.LSTM, its forget gate's bias started at 3 instead of about 0",
        lambda: SequenceRegressor("lstm", forget_bias=3.0),
        _adamw(1e-3),
        data="adding",
    ),
    "rnn": Case(
        "nn.RNN (tanh) on the same adding problem, AdamW",
        lambda: SequenceRegressor("rnn"),
        _adamw(1e-3),
        data="adding",
    ),
}


@dataclass
class Watched:
    """One case, trained and watched: the ``report`` (with its ``watcher``) and the loss of
    every step."""

    name: str
    case: Case
    report: Report
    losses: list[float]
    steps_per_epoch: int

    @property
    def final_loss(self) -> float:
        """Mean training loss over the last epoch (``nan`` if it diverged)."""
        return sum(self.losses[-self.steps_per_epoch :]) / self.steps_per_epoch

    @property
    def watcher(self) -> Watcher:
        return self.report.watcher


def run(name: str, *, seed: int = 0, epochs: int = EPOCHS) -> Watched:
    """Train case ``name`` of :data:`CASES` with :func:`fit` for ``epochs``, watched with
    the default sampling; a NaN is recorded (``on_nonfinite="record"``), not raised."""
    check_int("epochs", epochs)
    model = fresh_model(name, seed=seed)
    case = CASES[name]
    data = loader(case.data, seed=seed)
    optimizer = case.optimizer(model.parameters())
    total = epochs * len(data)
    scheduler = case.scheduler(optimizer, total) if case.scheduler is not None else None
    loss_fn = F.mse_loss if case.data == "adding" else F.cross_entropy
    with Watcher(model, optimizer, on_nonfinite="record") as watcher:
        losses = fit(
            model,
            data,
            optimizer,
            epochs=epochs,
            loss_fn=loss_fn,
            scheduler=scheduler,
            clip=case.clip,
        )
    return Watched(name, case, watcher.report(), losses, len(data))


def fresh_model(name: str, *, seed: int = 0) -> nn.Module:
    """Case ``name``'s model as :func:`run` starts training it: built after seeding with
    ``seed``."""
    check_choice("name", name, tuple(CASES))
    torch.manual_seed(seed)
    return CASES[name].model()


def first_row(watched: Watched) -> dict[str, object]:
    """The report's row of the first layer the model called (nearest the input)."""
    rows = watched.report.rows
    if not rows:
        raise ValueError(f"{watched.name}: the report has no rows (nothing was sampled)")
    return rows[0]


def hidden_layers(name: str) -> int:
    """How many hidden linear layers case ``name``'s model has (its linear layers but the
    output layer)."""
    model = fresh_model(name)
    return sum(isinstance(m, nn.Linear) for m in model.modules()) - 1


def forget_gate_mean(lstm: nn.LSTM, x: torch.Tensor) -> float:
    """Mean over the examples, units and time steps of a one-layer, batch-first ``nn.LSTM``'s
    forget gate on the sequences ``x``, from a zero initial state: the fraction of its cell
    state the layer keeps per step.

    The layer runs one step at a time; each step's gate is computed from its weights (the
    forget gate's rows are the second quarter, PyTorch's order being input, forget, cell,
    output) and the hidden state the layer itself returned.
    """
    if not isinstance(lstm, nn.LSTM) or lstm.num_layers != 1 or not lstm.batch_first:
        raise ValueError("lstm: a one-layer nn.LSTM with batch_first=True is needed")
    if x.dim() != 3 or x.shape[-1] != lstm.input_size:
        raise ValueError(
            f"x: a batch of sequences (examples, steps, {lstm.input_size}) is needed; "
            f"got shape {tuple(x.shape)}"
        )
    rows = slice(lstm.hidden_size, 2 * lstm.hidden_size)
    w_i, w_h = lstm.weight_ih_l0[rows], lstm.weight_hh_l0[rows]
    bias = lstm.bias_ih_l0[rows] + lstm.bias_hh_l0[rows] if lstm.bias else 0.0
    state = None
    gates = []
    with torch.no_grad():
        h = x.new_zeros(x.shape[0], lstm.hidden_size)
        for t in range(x.shape[1]):
            gates.append(torch.sigmoid(x[:, t] @ w_i.T + h @ w_h.T + bias).mean())
            _, state = lstm(x[:, t : t + 1], state)
            h = state[0][0]
    return float(torch.stack(gates).mean())


def eps_model(watched: Watched) -> list[dict[str, float | str]]:
    """Per linear layer of an Adam-trained case: how its update follows ``eps``.

    Adam's step for a weight is about ``lr * g / (|g| + eps)`` for a steady gradient ``g``:
    the size of ``lr`` where ``|g|`` is far above ``eps``, shrinking with ``g`` where it is far
    below. Each row holds the layer's gradient per weight (``rms``: the median weight-gradient
    norm over the square root of the number of weights), its median update ratio, and the
    ratio this predicts, ``reference * rms / (rms + eps)``, where ``reference`` is the median
    update ratio of the layers whose ``rms`` is above 100 ``eps``.
    """
    opt = watched.watcher.optimizer
    eps = {g["eps"] for g in opt.param_groups if "eps" in g}
    if len(eps) != 1:
        raise ValueError(f"{watched.name}: the optimizer has no single eps (got {sorted(eps)})")
    eps = eps.pop()
    modules = dict(watched.watcher.model.named_modules())
    rows = []
    for r in watched.report.rows:
        if r["kind"] != "Linear":
            continue
        n = modules[r["layer"]].weight.numel()
        rms = r["weight grad"] / math.sqrt(n)
        rows.append({"layer": r["layer"], "weights": n, "rms": rms, "ratio": r["update ratio"]})
    far = sorted(row["ratio"] for row in rows if row["rms"] > 100 * eps)
    if not far:
        raise ValueError(f"{watched.name}: no layer's gradient is far above eps ({eps:g})")
    reference = far[len(far) // 2]
    for row in rows:
        row["predicted"] = reference * row["rms"] / (row["rms"] + eps)
        row["eps_multiple"] = row["rms"] / eps
    return rows


def rows_of(watched: Watched, kind: str) -> list[dict[str, object]]:
    """The report's rows of modules of type ``kind`` (``"Linear"``, ``"ReLU"``, ...), in the
    order the model calls them."""
    return [r for r in watched.report.rows if r["kind"] == kind]


def layer_factors(watched: Watched) -> list[float]:
    """For each pair of consecutive linear layers, input side first: the fraction of the
    back-propagated gradient reaching the upper layer's output that reaches the lower one's
    (the ratio of their median "grad / last")."""
    rel = [r["grad / last"] for r in rows_of(watched, "Linear")]
    return [lower / upper for lower, upper in itertools.pairwise(rel)]


def sigmoid_derivatives(watched: Watched) -> list[float]:
    """For each sigmoid module, in call order: the mean of its derivative over its outputs,
    ``E[y (1 - y)] = m - m**2 - s**2`` from the recorded mean ``m`` and spread ``s`` of its
    outputs ``y`` (medians over the samples; at most 1/4)."""
    series = watched.watcher.series
    out = []
    for r in rows_of(watched, "Sigmoid"):
        m = statistics.median(series["activation_mean"][r["layer"]])
        s = statistics.median(series["activation_std"][r["layer"]])
        out.append(m - m * m - s * s)
    return out


def weight_norms(watched: Watched) -> list[float]:
    """Per linear layer, in call order: the median over the samples of its weights' norm."""
    series = watched.watcher.series["weight_norm"]
    return [statistics.median(series[r["layer"]]) for r in rows_of(watched, "Linear")]


def weight_steps(watched: Watched) -> list[float]:
    """Per sampled step: the norm of the step of all the linear layers' weights together,
    from each layer's update ratio times its weights' norm."""
    sizes = list(step_sizes(watched).values())
    return [math.sqrt(sum(s[k] ** 2 for s in sizes)) for k in range(len(watched.watcher.steps))]


def weight_gains(watched: Watched) -> list[float]:
    """Per linear layer, in call order: how much its weights scale a random gradient passed
    back through them, ``||W||_F / sqrt(fan-out)`` (median weight norm over the samples):
    ``E||W^T g||^2 = ||W||_F^2 ||g||^2 / fan-out`` for ``g`` of independent entries."""
    modules = dict(watched.watcher.model.named_modules())
    rows = rows_of(watched, "Linear")
    return [
        norm / math.sqrt(modules[r["layer"]].out_features)
        for r, norm in zip(rows, weight_norms(watched), strict=True)
    ]


def step_sizes(watched: Watched) -> dict[str, list[float]]:
    """Per linear layer: the norm of its weights' step at every sampled step (update ratio
    times the weights' norm)."""
    series = watched.watcher.series
    return {
        r["layer"]: [
            ratio * norm
            for ratio, norm in zip(
                series["update_ratio"][r["layer"]], series["weight_norm"][r["layer"]], strict=True
            )
        ]
        for r in rows_of(watched, "Linear")
    }
