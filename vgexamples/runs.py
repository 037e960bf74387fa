"""Seeded model-and-training recipes, so that a page, a gallery script and a test that compare
the same configurations build exactly the same networks.

* :func:`seeded_mlp` -- an :class:`~vgexamples.models.MLP` sized for a data set, built after
  seeding PyTorch, on the requested device;
* :func:`train_mlp` -- :func:`seeded_mlp` followed by :func:`~vgexamples.train.train` with the
  same seed for the mini-batch order.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ._checks import check_int
from .data import Split
from .models import MLP
from .runtime import get_device
from .train import History, train

__all__ = ["seeded_mlp", "train_mlp"]


def seeded_mlp(
    data: Split, seed: int = 0, *, device: torch.device | str | None = None, **mlp_kwargs
) -> MLP:
    """Build ``MLP(data.n_features, data.n_classes, **mlp_kwargs)`` from seed ``seed``.

    Parameters
    ----------
    data
        Decides the input and output sizes.
    seed
        Seed of the initial weights, >= 0: the same seed gives the same network.
    device
        Where to put the network (default: :func:`~vgexamples.runtime.get_device`).
    **mlp_kwargs
        ``depth``, ``width`` and any other argument of :class:`~vgexamples.models.MLP`.

    Examples
    --------
    >>> from vgexamples.data import load_digits
    >>> net = seeded_mlp(load_digits(), 0, depth=3, width=16, activation="tanh", device="cpu")
    >>> len(net.linears)
    4
    """
    if not isinstance(data, Split):
        raise TypeError(f"data must be a vgexamples.data.Split; got {type(data).__name__}")
    check_int("seed", seed, minimum=0)
    torch.manual_seed(seed)
    net = MLP(data.n_features, data.n_classes, **mlp_kwargs)
    return net.to(torch.device(device) if device is not None else get_device())


def train_mlp(
    data: Split,
    seed: int = 0,
    *,
    steps: int = 500,
    lr: float = 0.1,
    optimizer: str = "sgd",
    batch_size: int = 64,
    eval_every: int = 50,
    callbacks: Sequence[object] = (),
    device: torch.device | str | None = None,
    **mlp_kwargs,
) -> tuple[MLP, History]:
    """Build a seeded MLP and train it; return ``(model, history)``.

    The network comes from :func:`seeded_mlp` with ``seed``; training is
    :func:`~vgexamples.train.train` with the same ``seed`` for the mini-batch order and the
    given budget. Keyword arguments not listed here go to :class:`~vgexamples.models.MLP`.
    """
    net = seeded_mlp(data, seed, device=device, **mlp_kwargs)
    hist = train(
        net,
        data,
        steps=steps,
        lr=lr,
        optimizer=optimizer,
        batch_size=batch_size,
        seed=seed,
        eval_every=eval_every,
        callbacks=callbacks,
        device=device,
    )
    return net, hist
