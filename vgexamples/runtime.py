"""Seeding, device choice and thread settings: the first call of every example."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from ._checks import check_int

__all__ = ["configure", "get_device", "seed_everything"]


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, NumPy's and PyTorch's generators (all devices).

    Parameters
    ----------
    seed
        A non-negative integer.
    """
    check_int("seed", seed, minimum=0)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 -- seeds code that uses the legacy global generator
    torch.manual_seed(seed)  # also seeds every CUDA device


def get_device(prefer: str | None = None) -> torch.device:
    """Return ``cuda`` when a GPU is available, otherwise ``cpu``.

    Parameters
    ----------
    prefer
        ``None`` (automatic), ``"cpu"`` or ``"cuda"``. The environment variable
        ``VGEXAMPLES_DEVICE`` overrides the automatic choice.
    """
    prefer = prefer or os.environ.get("VGEXAMPLES_DEVICE")
    if prefer is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if prefer not in ("cpu", "cuda"):
        raise ValueError(f"prefer must be one of None, 'cpu', 'cuda'; got {prefer!r}")
    if prefer == "cuda" and not torch.cuda.is_available():
        raise ValueError("prefer='cuda' was requested but no CUDA device is available")
    return torch.device(prefer)


def configure(seed: int = 0, threads: int = 1, deterministic: bool = True) -> torch.device:
    """Prepare a reproducible run and return the device to use.

    Seeds every generator, sets the number of intra-op CPU threads and asks PyTorch for
    deterministic algorithms where it has them.

    The default of one thread is deliberate: the site's networks are small enough that a
    second thread does not speed them up, and on a machine that is also running the docs
    build, a notebook kernel or other jobs, extra OpenMP threads oversubscribe the cores and
    can make small operations many times slower.

    Parameters
    ----------
    seed
        Seed for Python, NumPy and PyTorch.
    threads
        Number of CPU threads for PyTorch, ``>= 1``.
    deterministic
        Call ``torch.use_deterministic_algorithms(True, warn_only=True)``.
    """
    check_int("threads", threads, minimum=1)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    seed_everything(seed)
    return get_device()
