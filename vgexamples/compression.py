"""Making a trained network smaller: pruning, low-rank factorization, distillation, and the
measurements that say what a compression really buys.

Counting and timing
    :func:`count_parameters` (all or non-zero), :func:`count_macs` (multiply-accumulates of
    one forward pass, counted with hooks on linear and convolutional layers),
    :func:`saved_bytes` (size of ``torch.save(state_dict)``), :func:`time_inference` (median
    wall-clock time of repeated forward passes).
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
    :func:`distillation_loss` and :func:`distill`, a training loop on the teacher's softened
    outputs that draws the same mini-batches as :func:`vgexamples.train.train`.
"""

from __future__ import annotations

import copy
import io
import math
import statistics
import time
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils import prune

from ._checks import check_choice, check_int, check_positive
from .data import Split
from .models import MLP
from .runtime import get_device
from .train import History, evaluate, make_optimizer, minibatches, train

__all__ = [
    "count_macs",
    "count_parameters",
    "distill",
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
def count_parameters(model: nn.Module, *, nonzero: bool = False) -> int:
    """Number of parameter values of ``model``.

    With ``nonzero=True``, count only the values that are not exactly zero *as the model
    computes with them*: for a layer pruned with ``torch.nn.utils.prune`` that is the masked
    ``weight`` (stored as ``weight_orig`` times ``weight_mask``), not the parameter itself.
    """
    _check_module("model", model)
    total = 0
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if name.endswith("_orig"):
                base = name.removesuffix("_orig")
                effective = getattr(module, base)
                total += int((effective != 0).sum()) if nonzero else p.numel()
            else:
                total += int((p != 0).sum()) if nonzero else p.numel()
    return total


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
def time_inference(
    model: nn.Module, x: torch.Tensor, *, repeats: int = 30, warmup: int = 3
) -> float:
    """Median wall-clock seconds of ``model(x)`` in eval mode over ``repeats`` runs.

    ``warmup`` untimed runs come first; CUDA work is synchronized before each reading. Timings
    depend on the machine and on its load: compare models measured in the same run.
    """
    _check_module("model", model)
    check_int("repeats", repeats)
    check_int("warmup", warmup, minimum=0)
    sync = torch.cuda.synchronize if x.device.type == "cuda" else (lambda: None)
    was_training = model.training
    model.eval()
    try:
        for _ in range(warmup):
            model(x)
        sync()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(x)
            sync()
            times.append(time.perf_counter() - t0)
    finally:
        model.train(was_training)
    return statistics.median(times)


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


def distill(
    student: nn.Module,
    teacher: nn.Module | None,
    data: Split,
    *,
    temperature: float = 4.0,
    alpha: float = 0.9,
    steps: int = 500,
    lr: float = 0.1,
    optimizer: str = "sgd",
    batch_size: int = 64,
    seed: int = 0,
    eval_every: int = 50,
    weight_decay: float = 0.0,
    device: torch.device | str | None = None,
) -> History:
    """Train ``student`` on :func:`distillation_loss` against a fixed ``teacher``.

    Mini-batches are drawn exactly as :func:`vgexamples.train.train` draws them for the same
    ``seed``, so a student trained on hard labels (``teacher=None`` or ``alpha=0``) and one
    trained on soft targets see the same examples in the same order.

    Returns
    -------
    History
        As from :func:`vgexamples.train.train` (test accuracy on the hard labels).
    """
    _check_module("student", student)
    if teacher is not None:
        _check_module("teacher", teacher)
    check_int("steps", steps)
    check_int("batch_size", batch_size)
    check_int("eval_every", eval_every)
    check_int("seed", seed, minimum=0)
    check_positive("lr", lr)
    check_positive("temperature", temperature)
    if teacher is None:
        alpha = 0.0
    if not isinstance(data, Split):
        raise TypeError(f"data must be a vgexamples.data.Split; got {type(data).__name__}")
    device = torch.device(device) if device is not None else get_device()
    student.to(device)
    data = data.to(device)
    teacher_logits = None
    if teacher is not None and alpha > 0:
        teacher.to(device)
        was_training = teacher.training
        teacher.eval()
        with torch.no_grad():
            teacher_logits = teacher(data.x_train)
        teacher.train(was_training)
    params = [p for p in student.parameters() if p.requires_grad]
    opt = make_optimizer(optimizer, params, lr, weight_decay=weight_decay)
    hist = History()
    student.train()
    for step, idx in minibatches(len(data.x_train), batch_size, steps, seed, device):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        out = student(data.x_train[idx])
        if teacher_logits is None:
            value = nn.functional.cross_entropy(out, data.y_train[idx])
        else:
            value = distillation_loss(
                out, teacher_logits[idx], data.y_train[idx], temperature, alpha
            )
        if not torch.isfinite(value):
            hist.stop_reason = f"stopped at step {step}: the training loss became non-finite"
            break
        value.backward()
        opt.step()
        hist.step_time.append(time.perf_counter() - t0)
        hist.loss.append(float(value.detach()))
        if step % eval_every == 0 or step == steps:
            tr_loss, _ = evaluate(student, data.x_train, data.y_train)
            te_loss, te_acc = evaluate(student, data.x_test, data.y_test)
            hist.eval_step.append(step)
            hist.train_loss.append(tr_loss)
            hist.test_loss.append(te_loss)
            hist.test_accuracy.append(te_acc)
    return hist
