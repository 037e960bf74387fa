"""Context managers that change a model for a moment and always put it back.

Measuring a model must not change it. Three things a measurement touches are saved on entry
and restored on exit, also when the measurement raises:

* :func:`training_mode` -- the train/eval flag of the model and all its submodules;
* :func:`set_aside_grads` -- each parameter's ``.grad``: set to ``None`` inside the block,
  so the block's backward pass starts from zero, and the old values restored afterwards;
* :func:`kept_buffers` -- buffers such as batch normalization's running means and variances,
  which a forward pass in training mode updates.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

__all__ = ["kept_buffers", "set_aside_grads", "training_mode"]


def _check_module(model: object) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    return model


@contextmanager
def training_mode(model: nn.Module, training: bool) -> Iterator[nn.Module]:
    """Put ``model`` in training (``True``) or eval (``False``) mode inside the block.

    Each submodule's own flag is restored on exit, so a model whose parts were in different
    modes comes back exactly as it was.
    """
    _check_module(model)
    flags = [(m, m.training) for m in model.modules()]
    model.train(bool(training))
    try:
        yield model
    finally:
        for module, flag in flags:
            module.training = flag


@contextmanager
def set_aside_grads(model: nn.Module) -> Iterator[list[nn.Parameter]]:
    """Clear every parameter's ``.grad`` inside the block; restore the old ones on exit.

    Yields the list of parameters, in ``model.parameters()`` order.
    """
    params = list(_check_module(model).parameters())
    saved = [p.grad for p in params]
    for p in params:
        p.grad = None
    try:
        yield params
    finally:
        for p, g in zip(params, saved, strict=True):
            p.grad = g


@contextmanager
def kept_buffers(model: nn.Module) -> Iterator[nn.Module]:
    """Keep every buffer (running statistics, counters) of ``model`` as it was on entry.

    Inside the block each module works on copies of its buffers; on exit the original
    tensors are put back untouched. Nothing is written into them, so a backward pass of a
    forward pass that ran before the block (batch normalization saves its running statistics
    for it) still works afterwards. A buffer shared by several modules stays shared.
    """
    originals = []
    copies: dict[int, torch.Tensor] = {}
    for module in _check_module(model).modules():
        for name, buf in module._buffers.items():
            if buf is None:
                continue
            originals.append((module, name, buf))
            if id(buf) not in copies:
                copies[id(buf)] = buf.detach().clone()
            module._buffers[name] = copies[id(buf)]
    try:
        yield model
    finally:
        for module, name, buf in originals:
            module._buffers[name] = buf
