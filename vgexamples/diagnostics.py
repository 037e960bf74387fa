"""Per-layer gradient and activation statistics of one pass, recorded with hooks, one call each.

* :func:`gradient_profile` -- one forward/backward pass on a batch: per-layer weight-gradient
  norms, norms of the gradient with respect to each layer's output (the back-propagated signal
  of Glorot & Bengio 2010), activation statistics, fraction of saturated and dead units.
* :func:`gradient_values` -- every gradient value of one pass as one flat tensor (the
  parameters' gradients, the back-propagated activation gradients, or both).
* :func:`activation_stats` -- mean, spread, saturated and dead fractions of one layer's output.
* :func:`example_spread` -- how much one layer's output differs from one example to another,
  relative to its size; below :data:`FLOAT32_EPS` the layer gives (to float32 rounding) the
  same output for every input.
* :class:`Recorder` -- the hooks themselves, for any ``torch.nn.Module``.

Removing a recorder (``remove()`` or leaving its ``with`` block) deletes every hook it added;
the model is then exactly as before. Watching a model *while it trains* is the job of
:mod:`vgexamples.monitors`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from ._checks import check_choice
from .activations import ACTIVATION_TYPES, SATURATION_FRACTION
from .state import kept_buffers, set_aside_grads

__all__ = [
    "ACTIVATION_STATS",
    "FLOAT32_EPS",
    "LAYER_TYPES",
    "Profile",
    "Recorder",
    "activation_stats",
    "activation_tensors",
    "example_spread",
    "gradient_profile",
    "gradient_values",
]

#: Module types whose outputs and weight gradients are recorded by default.
LAYER_TYPES: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
#: float32's machine epsilon, 2**-23: the relative gap between 1 and the next float32 number.
#: An :func:`example_spread` below it means the outputs for different examples differ by less
#: than one rounding step of their own size.
FLOAT32_EPS = float(torch.finfo(torch.float32).eps)


def _first_tensor(output: object) -> torch.Tensor | None:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    return None


def _unit_view(t: torch.Tensor) -> torch.Tensor:
    """Reshape to (samples, units): channels are units for conv maps, else the last axis."""
    if t.dim() == 1:
        return t.reshape(-1, 1)
    if _is_conv_layout(t):
        return t.transpose(0, 1).reshape(t.shape[1], -1).T
    return t.reshape(-1, t.shape[-1])


def _unit_count(t: torch.Tensor) -> int:
    """How many units a layer's output ``t`` holds (the columns of :func:`_unit_view`)."""
    if t.dim() <= 1:
        return 1
    return t.shape[1] if _is_conv_layout(t) else t.shape[-1]


def _is_conv_layout(t: torch.Tensor) -> bool:
    # (N, C, H, W) and (N, C, D, H, W): units are channels; (N, T, C) sequences: last axis.
    return t.dim() >= 4


def example_spread(output: torch.Tensor) -> float:
    """How much a layer's output varies across the examples of a batch, relative to its size.

    With the output viewed as ``(samples, units)`` (for a conv map the channels are the units
    and every position of every example is a sample), the spread is the mean over units of the
    standard deviation across samples, divided by the mean over units of the root-mean-square
    value: ``mean_u std_n a[n, u] / mean_u sqrt(mean_n a[n, u]**2)``. It is of order one for a
    layer whose units take clearly different values for different inputs, and 0 when every
    example produces the same output vector -- the layer, and every layer after it, then
    carries no information about the input.

    Values are taken as stored (float32 in a float32 network) and the statistics computed in
    float64, so a spread below :data:`FLOAT32_EPS` means the examples' outputs differ by less
    than about one float32 rounding step of their own size. An output that is identically zero
    has spread 0.

    Parameters
    ----------
    output
        A layer's output for a batch of at least two examples; finite values.
    """
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"output must be a torch.Tensor; got {type(output).__name__}")
    if output.dim() < 2 or output.shape[0] < 2:
        raise ValueError(
            "output must hold at least two examples along its first axis (shape (examples, "
            f"units, ...)); got shape {tuple(output.shape)}"
        )
    units = _unit_view(output.detach()).double()
    if not torch.isfinite(units).all():
        raise ValueError("output must be finite; it holds NaN or infinite values")
    scale = float(units.pow(2).mean(dim=0).sqrt().mean())
    if scale == 0.0:
        return 0.0
    return float(units.std(dim=0, correction=0).mean()) / scale


#: What :func:`activation_tensors` computes, in order.
ACTIVATION_STATS = ("mean", "std", "saturated", "dead")


def activation_tensors(module: nn.Module | str, output: torch.Tensor) -> torch.Tensor:
    """:data:`ACTIVATION_STATS` of one activation layer's output as one float tensor, computed
    where the output lives (no copy to the host): the core of :func:`activation_stats`."""
    kind = module if isinstance(module, str) else type(module).__name__
    y = output.detach().float()
    std, mean = _std_mean(y)
    n = max(y.numel(), 1)
    if kind == "Sigmoid":
        saturated = torch.count_nonzero(y * (1 - y) < SATURATION_FRACTION * 0.25) / n
    elif kind == "Tanh":
        saturated = torch.count_nonzero(1 - y * y < SATURATION_FRACTION) / n
    else:
        saturated = torch.full((), math.nan, device=y.device)
    units = _unit_view(y)
    if units.shape[0]:
        # a unit is dead when its largest |output| over the batch is exactly zero
        dead = torch.count_nonzero(units.abs().amax(dim=0) == 0) / max(units.shape[1], 1)
    else:
        dead = torch.full((), math.nan, device=y.device)
    return torch.stack([mean, std, saturated.float(), dead.float()])


def _std_mean(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Standard deviation (``correction=1``; 0 for a single value) and mean of all of ``t``'s
    values, as 0-d tensors where ``t`` lives.

    Two reductions, which on a CPU are several times faster than ``torch.std_mean``.
    """
    if t.numel() > 1:
        return t.std(), t.mean()
    return torch.zeros((), dtype=t.dtype, device=t.device), t.mean()


def activation_stats(
    module: nn.Module | str, output: torch.Tensor, *, spread: bool = True
) -> dict[str, float]:
    """Summary statistics of one activation layer's output.

    Parameters
    ----------
    module
        The activation module (or its class name, e.g. ``"Tanh"``): decides what counts as
        saturated.
    output
        The layer's output for a batch.
    spread
        Also compute :func:`example_spread` (in float64; ``False`` leaves it out, for a
        watcher that samples a running training loop).

    Returns
    -------
    dict
        ``mean``, ``std``; ``spread`` -- :func:`example_spread` (``nan`` for a single
        example); ``saturated`` -- fraction of values where the local derivative is
        below :data:`~vgexamples.activations.SATURATION_FRACTION` of its maximum (``nan`` for
        non-saturating activations); ``dead`` -- fraction of units whose output is exactly
        zero for every sample of the batch (a dead ReLU receives no gradient at all).
    """
    y = output.detach().float()
    stats = {
        k: float(v) for k, v in zip(ACTIVATION_STATS, activation_tensors(module, y), strict=True)
    }
    if spread:
        finite = bool(torch.isfinite(y).all())
        several = y.dim() >= 2 and y.shape[0] > 1
        stats["spread"] = example_spread(y) if several and finite else math.nan
    return stats


class Recorder:
    """Hooks that keep, for the last forward/backward pass, each layer's output and its gradient.

    Parameters
    ----------
    model
        Any module.
    layers
        Which modules to watch as *layers* (output and output-gradient recorded): a mapping
        ``name -> module``, an iterable of qualified names, or ``None`` for every submodule of
        a type in :data:`LAYER_TYPES`.
    activations
        Same, for activation modules (outputs recorded); ``None`` selects every submodule of a
        type in :data:`~vgexamples.activations.ACTIVATION_TYPES`.

    Examples
    --------
    >>> import torch
    >>> from vgexamples.models import MLP
    >>> net = MLP(4, 2, depth=3, width=8, activation="tanh")
    >>> with Recorder(net) as rec:
    ...     net(torch.randn(16, 4)).sum().backward()
    >>> sorted(rec.output_grad) == sorted(rec.layers)
    True
    """

    def __init__(
        self,
        model: nn.Module,
        layers: Mapping[str, nn.Module] | Iterable[str] | None = None,
        activations: Mapping[str, nn.Module] | Iterable[str] | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        self.model = model
        self.layers = _select(model, layers, LAYER_TYPES, "layers")
        self.activations = _select(model, activations, ACTIVATION_TYPES, "activations")
        if not self.layers and not self.activations:
            raise ValueError(
                "the recorder found nothing to watch: pass layers= or activations= "
                "(names of submodules), or use a model with nn.Linear/nn.Conv layers"
            )
        self.outputs: dict[str, torch.Tensor] = {}
        self.output_grad: dict[str, torch.Tensor] = {}
        self.activation_outputs: dict[str, torch.Tensor] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        #: While False the hooks stay installed but record nothing (cheap passes between the
        #: steps a :class:`~vgexamples.monitors.TrainingRecorder` samples).
        self.active = True
        self.attach()

    # -- hooks ---------------------------------------------------------------------------
    def attach(self) -> Recorder:
        """(Re)install the hooks; called by the constructor."""
        if self._handles:
            return self
        for name, module in self.layers.items():
            self._handles.append(module.register_forward_hook(self._layer_hook(name)))
        for name, module in self.activations.items():
            self._handles.append(module.register_forward_hook(self._activation_hook(name)))
        return self

    def remove(self) -> None:
        """Remove every hook (the tensors recorded so far stay readable)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def clear(self) -> None:
        """Forget the tensors recorded so far (the hooks stay)."""
        self.outputs.clear()
        self.output_grad.clear()
        self.activation_outputs.clear()

    def __enter__(self) -> Recorder:
        return self.attach()

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def _layer_hook(self, name: str):
        def hook(module: nn.Module, inputs: tuple, output: object) -> None:
            if not self.active:
                return
            out = _first_tensor(output)
            if out is None:
                return
            self.outputs[name] = out.detach()
            if out.requires_grad:

                def keep(grad: torch.Tensor, name: str = name) -> None:
                    self.output_grad[name] = grad.detach()

                out.register_hook(keep)

        return hook

    def _activation_hook(self, name: str):
        def hook(module: nn.Module, inputs: tuple, output: object) -> None:
            if not self.active:
                return
            out = _first_tensor(output)
            if out is not None:
                self.activation_outputs[name] = out.detach()

        return hook

    # -- statistics ----------------------------------------------------------------------
    def output_grad_norms(self) -> dict[str, float]:
        """Per layer, ``||G||_F / sqrt(N)`` for ``G = dL/d(layer output)`` over a batch of ``N``:
        the root mean square of ``G``'s rows (with a batch-mean loss, each row is ``1/N`` of
        that sample's own gradient)."""
        return {
            name: float(g.float().norm() / math.sqrt(max(1, g.shape[0])))
            for name, g in self.output_grad.items()
        }

    def weight_grad_norms(self) -> dict[str, float]:
        """Frobenius norm of each layer's ``weight.grad`` (``nan`` if it has none)."""
        result = {}
        for name, module in self.layers.items():
            w = getattr(module, "weight", None)
            grad = None if w is None else w.grad
            result[name] = math.nan if grad is None else float(grad.float().norm())
        return result

    def bias_grad_norms(self) -> dict[str, float]:
        """Euclidean norm of each layer's ``bias.grad`` (``nan`` if it has none).

        For a fully connected layer this is the norm of ``dL/db``, the quantity Nielsen (2015)
        calls the layer's *speed of learning*.
        """
        result = {}
        for name, module in self.layers.items():
            b = getattr(module, "bias", None)
            grad = b.grad if isinstance(b, torch.Tensor) else None
            result[name] = math.nan if grad is None else float(grad.float().norm())
        return result

    def activation_summary(self) -> dict[str, dict[str, float]]:
        """:func:`activation_stats` of every recorded activation layer."""
        return {
            name: activation_stats(self.activations[name], out)
            for name, out in self.activation_outputs.items()
        }


def _select(model, which, types, param) -> dict[str, nn.Module]:
    named = dict(model.named_modules())
    if which is None:
        return {n: m for n, m in named.items() if n and isinstance(m, types)}
    if isinstance(which, Mapping):
        return dict(which)
    if isinstance(which, str):
        raise TypeError(f"{param} must be a list of submodule names, not a single string")
    chosen = {}
    for name in which:
        if name not in named:
            options = ", ".join(repr(n) for n in named if n) or "(none)"
            raise ValueError(
                f"{param}: {name!r} is not a submodule of the model; choose from {options}"
            )
        chosen[name] = named[name]
    return chosen


@dataclass
class Profile:
    """Per-layer statistics of one forward/backward pass (see :func:`gradient_profile`).

    Lists are ordered like the model's layers (input side first). ``bias_grad_norm`` holds the
    norm of each layer's bias gradient (Nielsen's "speed of learning"; ``nan`` without bias);
    ``spread`` each activation layer's :func:`example_spread` (how much its output differs
    between the examples of the batch).
    """

    layer_names: list[str]
    weight_grad_norm: list[float]
    output_grad_norm: list[float]
    weight_norm: list[float]
    activation_names: list[str]
    activation_mean: list[float]
    activation_std: list[float]
    saturated: list[float]
    dead: list[float]
    loss: float
    activations: dict[str, torch.Tensor] = field(repr=False, default_factory=dict)
    output_grads: dict[str, torch.Tensor] = field(repr=False, default_factory=dict)
    bias_grad_norm: list[float] = field(default_factory=list)
    spread: list[float] = field(default_factory=list)

    def ratio_first_to_last(self, which: str = "weight_grad_norm") -> float:
        """``first layer / last layer`` of ``which`` (a list attribute); << 1 means vanishing."""
        check_choice("which", which, ("weight_grad_norm", "output_grad_norm"))
        values = getattr(self, which)
        return values[0] / values[-1] if values[-1] else math.inf


def gradient_profile(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    loss: str = "cross_entropy",
    layers: Mapping[str, nn.Module] | Iterable[str] | None = None,
    activations: Mapping[str, nn.Module] | Iterable[str] | None = None,
    keep_tensors: bool = True,
) -> Profile:
    """One forward and backward pass on ``(x, y)``, measured layer by layer.

    The model's existing ``.grad`` values, buffers (batch norm's running statistics), train/eval
    mode and hooks are restored afterwards, so profiling does not change the model.

    Parameters
    ----------
    model
        Any module mapping ``x`` to outputs for ``loss``.
    x, y
        A batch of inputs and targets.
    loss
        ``"cross_entropy"`` (class labels) or ``"mse"``.
    layers, activations
        Which submodules to record; see :class:`Recorder`.
    keep_tensors
        Keep each activation layer's output (for histograms) in ``Profile.activations``.
    """
    check_choice("loss", loss, ("cross_entropy", "mse"))
    with set_aside_grads(model), kept_buffers(model), Recorder(model, layers, activations) as rec:
        out = model(x)
        fn = nn.functional.cross_entropy if loss == "cross_entropy" else nn.functional.mse_loss
        value = fn(out, y)
        value.backward()
        wg = rec.weight_grad_norms()
        bg = rec.bias_grad_norms()
        og = rec.output_grad_norms()
        acts = rec.activation_summary()
        names = list(rec.layers)
        act_names = list(rec.activations)
        profile = Profile(
            layer_names=names,
            weight_grad_norm=[wg[n] for n in names],
            output_grad_norm=[og.get(n, math.nan) for n in names],
            weight_norm=[
                float(rec.layers[n].weight.detach().float().norm())
                if getattr(rec.layers[n], "weight", None) is not None
                else math.nan
                for n in names
            ],
            activation_names=act_names,
            activation_mean=[acts[n]["mean"] for n in act_names if n in acts],
            activation_std=[acts[n]["std"] for n in act_names if n in acts],
            saturated=[acts[n]["saturated"] for n in act_names if n in acts],
            dead=[acts[n]["dead"] for n in act_names if n in acts],
            loss=float(value.detach()),
            activations=dict(rec.activation_outputs) if keep_tensors else {},
            output_grads=dict(rec.output_grad) if keep_tensors else {},
            bias_grad_norm=[bg[n] for n in names],
            spread=[acts[n]["spread"] for n in act_names if n in acts],
        )
    return profile


def gradient_values(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    which: str = "both",
    *,
    loss: str = "cross_entropy",
) -> torch.Tensor:
    """Gradient values of one forward/backward pass of ``model`` on ``(x, y)``, flattened.

    Parameters
    ----------
    which
        ``"weights"`` (every parameter's gradient, in ``model.parameters()`` order: the vector
        an optimizer or ``clip_grad_norm_`` sees), ``"activations"`` (the gradient of the loss
        with respect to each linear/conv layer's output, the signal back-propagation passes
        down) or ``"both"``.
    loss
        ``"cross_entropy"`` or ``"mse"``.

    Returns
    -------
    torch.Tensor
        One flat float32 tensor on the CPU. The model's ``.grad`` fields and buffers are left
        as before.
    """
    check_choice("which", which, ("weights", "activations", "both"))
    check_choice("loss", loss, ("cross_entropy", "mse"))
    fn = nn.functional.cross_entropy if loss == "cross_entropy" else nn.functional.mse_loss
    with set_aside_grads(model) as params, kept_buffers(model), Recorder(model) as rec:
        fn(model(x), y).backward()
        parts = []
        if which in ("weights", "both"):
            parts += [p.grad.flatten() for p in params if p.grad is not None]
        if which in ("activations", "both"):
            parts += [g.flatten() for g in rec.output_grad.values()]
        return torch.cat([t.detach().float().cpu() for t in parts])
