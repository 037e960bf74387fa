"""Making a trained network smaller: pruning, low-rank factorization, distillation, and the
measurements that say what a compression really buys.

Counting and timing
    :func:`count_macs` (multiply-accumulates of one forward pass, counted with hooks on
    linear and convolutional layers), :func:`saved_bytes` (size of
    ``torch.save(state_dict)``), :func:`time_inference` (median wall-clock time of repeated
    forward passes); parameters are counted by :func:`vgexamples.models.count_parameters`.
Pruning (Han et al. 2015)
    :func:`prune_magnitude` masks the smallest weights with ``torch.nn.utils.prune``, per layer
    or globally; :func:`sparsity` measures the result; :func:`make_pruning_permanent` folds the
    masks into the weights. :func:`prune_neurons` removes whole hidden units of an
    :class:`~vgexamples.models.MLP` and returns a genuinely smaller dense network.
    :func:`iterative_prune` alternates pruning and retraining.
Low-rank factorization (Denton et al. 2014; Jaderberg et al. 2014)
    :func:`factorize_linear` replaces a linear layer by two thinner ones from its truncated SVD;
    :func:`low_rank_mlp` does it for chosen layers of a network.
Knowledge distillation (Hinton et al. 2015)
    :func:`distillation_loss`, and :class:`DistillationLoss`, the same loss as an objective
    for :func:`vgexamples.train.train`: distillation is training with another loss.
"""

from __future__ import annotations

import copy
import io
import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils import prune

from ._checks import check_choice, check_int, check_positive
from .data import Split
from .models import MLP
from .runtime import median_seconds
from .state import training_mode
from .train import History, train

__all__ = [
    "DistillationLoss",
    "count_macs",
    "csr_bytes",
    "distillation_loss",
    "factorize_linear",
    "iterative_prune",
    "low_rank_mlp",
    "make_pruning_permanent",
    "prunable_layers",
    "prune_magnitude",
    "prune_neurons",
    "saved_bytes",
    "sparsity",
    "time_inference",
]

_PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d)


def _check_module(name: str, model: object) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module; got {type(model).__name__}")
    return model


# -- counting and timing -------------------------------------------------------------------
@torch.no_grad()
def count_macs(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-accumulate operations of one forward pass on a single example.

    Counted with forward hooks on ``nn.Linear`` (``in * out``) and ``nn.Conv1d/2d``
    (``out_positions * out_channels * in_channels / groups * kernel_size``) layers;
    element-wise operations, pooling and :func:`torch.einsum` products are not counted
    (:class:`vgexamples.cnn.BilinearCNN` adds its outer product itself through a
    ``extra_macs`` attribute, if a model defines one).

    Parameters
    ----------
    model
        Any module.
    input_shape
        Shape of one example, without the batch dimension, e.g. ``(1, 8, 8)``.
    """
    _check_module("model", model)
    shape = tuple(int(s) for s in input_shape)
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"input_shape must be a non-empty shape of positive sizes; got {shape}")
    total = 0

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Linear):
            total += module.in_features * module.out_features * (output.numel() // output.shape[-1])
        else:
            per_position = module.in_channels // module.groups * math.prod(module.kernel_size)
            total += output.numel() * per_position

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, _PRUNABLE)]
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    try:
        model(torch.zeros((1, *shape), device=device))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return total + int(sum(getattr(m, "extra_macs", 0) for m in model.modules()))


def saved_bytes(model: nn.Module) -> int:
    """Size in bytes of ``torch.save(model.state_dict())`` (written to memory, not disk).

    A model pruned with ``torch.nn.utils.prune`` saves both ``weight_orig`` and
    ``weight_mask``; call :func:`make_pruning_permanent` first to save only the weights.
    """
    _check_module("model", model)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


@torch.no_grad()
def csr_bytes(model: nn.Module, *, index_bytes: int = 4) -> dict[str, int]:
    """Bytes of ``model``'s linear/conv weights stored dense and in compressed sparse row
    (CSR) form, plus the biases in both.

    CSR keeps, per weight matrix (conv weights flattened to ``out x rest``), the non-zero
    values, one column index per non-zero and one row pointer per row plus one; indices take
    ``index_bytes`` bytes each (4: 32-bit). Han et al. (2016) shrink indices further (relative
    indices in 4 to 8 bits); this counts plain CSR. Works on pruned models with live masks too
    (the masked weight is what is stored).
    """
    _check_module("model", model)
    check_int("index_bytes", index_bytes)
    dense = sparse = 0
    for layer in prunable_layers(model):
        w = layer.weight.detach()
        w2 = w.reshape(w.shape[0], -1)
        nnz = int((w2 != 0).sum())
        value = w.element_size()
        dense += w2.numel() * value
        sparse += nnz * (value + index_bytes) + (w2.shape[0] + 1) * index_bytes
        if layer.bias is not None:
            b = layer.bias.numel() * layer.bias.element_size()
            dense, sparse = dense + b, sparse + b
    return {"dense": dense, "csr": sparse}


@torch.no_grad()
def time_inference(
    model: nn.Module, x: torch.Tensor, *, repeats: int = 30, warmup: int = 3
) -> float:
    """Median wall-clock seconds of ``model(x)`` in eval mode over ``repeats`` runs.

    Timed by :func:`vgexamples.runtime.median_seconds` (``warmup`` untimed runs first, CUDA
    work synchronized before each reading). Timings depend on the machine and on its load:
    compare models measured in the same run. The model's mode is restored.
    """
    _check_module("model", model)
    with training_mode(model, False):
        return median_seconds(lambda: model(x), repeats=repeats, warmup=warmup, device=x.device)


# -- pruning -------------------------------------------------------------------------------
def prunable_layers(model: nn.Module, *, include_head: bool = True) -> list[nn.Module]:
    """The linear and convolutional layers of ``model``, input side first.

    With ``include_head=False`` the last such layer (the classifier) is left out.
    """
    _check_module("model", model)
    layers = [m for m in model.modules() if isinstance(m, _PRUNABLE)]
    return layers if include_head else layers[:-1]


def prune_magnitude(
    model: nn.Module, amount: float, *, scope: str = "layer", include_head: bool = True
) -> nn.Module:
    """Mask the smallest-magnitude weights of ``model`` in place and return it.

    Uses ``torch.nn.utils.prune.l1_unstructured`` (``scope="layer"``: the same fraction of
    every layer) or ``torch.nn.utils.prune.global_unstructured`` (``scope="global"``: one
    threshold for all layers together, so layers with many small weights lose more). Biases
    are kept. Called again on a pruned model, ``amount`` applies to the weights still present
    (PyTorch combines the masks).

    Parameters
    ----------
    model
        Any module with linear/conv layers.
    amount
        Fraction of the (remaining) weights to remove, in [0, 1).
    scope
        ``"layer"`` or ``"global"``.
    include_head
        Also prune the last (classifier) layer.
    """
    _check_module("model", model)
    check_choice("scope", scope, ("layer", "global"))
    amount = _check_amount(amount)
    layers = prunable_layers(model, include_head=include_head)
    if amount == 0:
        return model
    if scope == "layer":
        for layer in layers:
            prune.l1_unstructured(layer, "weight", amount=amount)
    else:
        prune.global_unstructured(
            [(layer, "weight") for layer in layers],
            pruning_method=prune.L1Unstructured,
            amount=amount,
        )
    return model


def _check_amount(amount: object, name: str = "amount") -> float:
    amount = check_positive(name, amount, allow_zero=True)
    if amount >= 1:
        raise ValueError(f"{name} must lie in [0, 1); got {amount}")
    return amount


def sparsity(model: nn.Module, *, include_head: bool = True) -> float:
    """Fraction of exactly-zero weights over the linear/conv layers of ``model``."""
    layers = prunable_layers(model, include_head=include_head)
    zeros = sum(int((layer.weight == 0).sum()) for layer in layers)
    total = sum(layer.weight.numel() for layer in layers)
    return zeros / total if total else 0.0


def make_pruning_permanent(model: nn.Module) -> nn.Module:
    """Fold every pruning mask into its weight (``torch.nn.utils.prune.remove``), in place.

    The weights keep their zeros and their full dense shape.
    """
    _check_module("model", model)
    for module in model.modules():
        if prune.is_pruned(module) and hasattr(module, "weight_orig"):
            prune.remove(module, "weight")
    return model


def prune_neurons(mlp: MLP, amount: float) -> MLP:
    """Remove the least important ``amount`` of the hidden units of every layer of ``mlp``.

    A unit's importance is the product of the L2 norms of its incoming weights (row of the
    layer's weight) and of its outgoing weights (column of the next layer's weight). The
    result is a new, smaller, dense :class:`~vgexamples.models.MLP` holding the surviving
    units' weights; ``mlp`` is not changed.

    Parameters
    ----------
    mlp
        A plain MLP (no normalization layers, no residual connections).
    amount
        Fraction of hidden units to remove from every hidden layer, in [0, 1); at least one
        unit per layer is kept.
    """
    if not isinstance(mlp, MLP):
        raise TypeError(f"mlp must be a vgexamples.models.MLP; got {type(mlp).__name__}")
    if mlp.residual or any(len(block) != 2 for block in mlp.blocks):
        raise ValueError("prune_neurons needs an MLP without norm layers or residual connections")
    amount = _check_amount(amount)
    linears = mlp.linears
    width = linears[0].out_features
    keep_n = max(1, width - round(amount * width))
    small = MLP(
        linears[0].in_features,
        linears[-1].out_features,
        depth=len(mlp.blocks),
        width=keep_n,
        activation=mlp.activation_name,
    ).to(linears[0].weight.device)
    with torch.no_grad():
        previous = torch.arange(linears[0].in_features, device=linears[0].weight.device)
        for i, layer in enumerate(linears):
            new = small.linears[i]
            if i < len(linears) - 1:
                incoming = layer.weight.norm(dim=1)
                outgoing = linears[i + 1].weight.norm(dim=0)
                keep = torch.topk(incoming * outgoing, keep_n).indices.sort().values
            else:
                keep = torch.arange(layer.out_features, device=layer.weight.device)
            new.weight.copy_(layer.weight[keep][:, previous])
            new.bias.copy_(layer.bias[keep])
            previous = keep
    return small


def iterative_prune(
    model: nn.Module,
    data: Split,
    target: float,
    *,
    rounds: int = 4,
    steps_per_round: int = 100,
    scope: str = "global",
    **train_kwargs: object,
) -> list[History]:
    """Reach ``target`` sparsity in ``rounds`` prune-then-retrain cycles (in place).

    Each round removes the same fraction ``1 - (1 - target) ** (1 / rounds)`` of the weights
    still present (:func:`prune_magnitude`), then trains ``steps_per_round`` steps with
    :func:`vgexamples.train.train` (masked weights stay zero: the mask multiplies them in
    every forward pass, so they receive no gradient). ``rounds=1`` is one-shot pruning
    followed by fine-tuning.

    Returns
    -------
    list of History
        One per round.
    """
    _check_module("model", model)
    target = _check_amount(target, "target")
    check_int("rounds", rounds)
    check_int("steps_per_round", steps_per_round)
    per_round = 1 - (1 - target) ** (1 / rounds)
    histories = []
    for r in range(rounds):
        prune_magnitude(model, per_round, scope=scope)
        kwargs = dict(train_kwargs)
        kwargs["seed"] = int(kwargs.get("seed", 0)) + r
        histories.append(train(model, data, steps=steps_per_round, **kwargs))
    return histories


# -- low-rank factorization ------------------------------------------------------------------
def factorize_linear(layer: nn.Linear, rank: int) -> nn.Sequential:
    """Replace ``layer`` (``W``: out x in) by two linear layers from its truncated SVD.

    ``W = U S V^T`` (``torch.linalg.svd``) is cut to its ``rank`` largest singular values:
    the first new layer maps the input through ``sqrt(S_r) V_r^T`` (no bias), the second
    through ``U_r sqrt(S_r)`` plus the original bias. Parameters drop from ``in*out`` to
    ``rank*(in+out)``; by the Eckart-Young theorem the product is the best rank-``rank``
    approximation of ``W`` in Frobenius norm.
    """
    if not isinstance(layer, nn.Linear):
        raise TypeError(f"layer must be a torch.nn.Linear; got {type(layer).__name__}")
    check_int("rank", rank)
    full = min(layer.in_features, layer.out_features)
    if rank > full:
        raise ValueError(f"rank must be <= min(in_features, out_features) = {full}; got {rank}")
    with torch.no_grad():
        u, s, vh = torch.linalg.svd(layer.weight.detach().float(), full_matrices=False)
        root = s[:rank].sqrt()
        first = nn.Linear(layer.in_features, rank, bias=False)
        second = nn.Linear(rank, layer.out_features, bias=layer.bias is not None)
        first.weight.copy_(root[:, None] * vh[:rank])
        second.weight.copy_(u[:, :rank] * root[None, :])
        if layer.bias is not None:
            second.bias.copy_(layer.bias)
    seq = nn.Sequential(first, second)
    return seq.to(device=layer.weight.device, dtype=layer.weight.dtype)


def low_rank_mlp(mlp: MLP, rank: int, layers: Sequence[int] | None = None) -> MLP:
    """A copy of ``mlp`` whose chosen linear layers are replaced by rank-``rank`` factors.

    Parameters
    ----------
    mlp
        A :class:`~vgexamples.models.MLP`; it is not changed.
    rank
        Rank of every factorized layer; layers whose smaller side is <= ``rank`` are kept
        as they are (factorizing them would not save parameters).
    layers
        Indices into ``mlp.linears`` (0 = first hidden layer); default: every hidden layer
        (the classifier head is kept).
    """
    if not isinstance(mlp, MLP):
        raise TypeError(f"mlp must be a vgexamples.models.MLP; got {type(mlp).__name__}")
    check_int("rank", rank)
    n = len(mlp.linears)
    chosen = list(range(n - 1)) if layers is None else [int(i) for i in layers]
    for i in chosen:
        if not 0 <= i < n:
            raise ValueError(f"layers must hold indices in [0, {n - 1}]; got {i}")
    small = copy.deepcopy(mlp)
    for i in chosen:
        layer = small.linears[i]
        if min(layer.in_features, layer.out_features) <= rank:
            continue
        factors = factorize_linear(layer, rank)
        if i < len(small.blocks):
            small.blocks[i][0] = factors
        else:
            small.head = factors
    return small


# -- knowledge distillation --------------------------------------------------------------------
def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    temperature: float = 4.0,
    alpha: float = 0.9,
) -> torch.Tensor:
    """Hinton et al.'s (2015) distillation objective.

    .. math::
        \\alpha\\,T^2\\,\\mathrm{KL}\\big(\\mathrm{softmax}(t/T)\\,\\|\\,
        \\mathrm{softmax}(s/T)\\big) + (1-\\alpha)\\,\\mathrm{CE}(s, y)

    The factor :math:`T^2` keeps the soft term's gradient on the same scale as the hard
    term's when the temperature changes. ``alpha=0`` is plain cross-entropy training.
    """
    check_positive("temperature", temperature)
    alpha = check_positive("alpha", alpha, allow_zero=True)
    if alpha > 1:
        raise ValueError(f"alpha must lie in [0, 1]; got {alpha}")
    hard = nn.functional.cross_entropy(student_logits, labels)
    if alpha == 0:
        return hard
    t = temperature
    soft = nn.functional.kl_div(
        nn.functional.log_softmax(student_logits / t, dim=1),
        nn.functional.log_softmax(teacher_logits.detach() / t, dim=1),
        reduction="batchmean",
        log_target=True,
    )
    return alpha * t * t * soft + (1 - alpha) * hard


class DistillationLoss:
    """:func:`distillation_loss` against a fixed teacher, as an objective for
    :func:`vgexamples.train.train`.

    ``train(student, data, loss=DistillationLoss(teacher, temperature=4.0, alpha=0.9))``
    trains the student on the teacher's softened outputs for the training images, with the
    same mini-batches, evaluations and stop rules as any other run; evaluations use the hard
    labels (cross-entropy and accuracy). With ``alpha=0`` it is plain cross-entropy training.

    Parameters
    ----------
    teacher
        The trained teacher; it is evaluated once, in eval mode and fp32, on the whole
        training set when training starts (:meth:`bind`: its mode is restored, and it is moved
        to the training device). The logits stay in ``teacher_logits`` until the next
        ``bind``, so one instance can serve several runs on the same data.
    temperature, alpha
        As in :func:`distillation_loss`.
    """

    eval_loss = "cross_entropy"

    def __init__(self, teacher: nn.Module, temperature: float = 4.0, alpha: float = 0.9) -> None:
        _check_module("teacher", teacher)
        check_positive("temperature", temperature)
        alpha = check_positive("alpha", alpha, allow_zero=True)
        if alpha > 1:
            raise ValueError(f"alpha must lie in [0, 1]; got {alpha}")
        self.teacher, self.temperature, self.alpha = teacher, float(temperature), alpha
        self.teacher_logits: torch.Tensor | None = None

    def bind(self, data: Split) -> None:
        """Compute the teacher's logits for ``data.x_train`` (called by ``train``).

        The teacher runs in fp32 even when the student trains in a reduced format.
        """
        self.teacher.to(data.x_train.device)
        with training_mode(self.teacher, False), torch.no_grad():
            self.teacher_logits = self.teacher(data.x_train.float()).float()

    def __call__(
        self, output: torch.Tensor, target: torch.Tensor, index: torch.Tensor
    ) -> torch.Tensor:
        if self.alpha == 0:
            return nn.functional.cross_entropy(output, target)
        if self.teacher_logits is None:
            raise RuntimeError("DistillationLoss is used before bind(data) computed the targets")
        return distillation_loss(
            output, self.teacher_logits[index], target, self.temperature, self.alpha
        )
