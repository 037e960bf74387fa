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


def configure(
    seed: int = 0, threads: int | None = None, deterministic: bool = True
) -> torch.device:
    """Prepare a reproducible run and return the device to use.

    Seeds every generator, sets the number of intra-op CPU threads (``threads``, by default
    ``min(2, os.cpu_count())`` so that an example behaves the same on a laptop and on a
    2-core build machine) and asks PyTorch for deterministic algorithms where it has them.

    Parameters
    ----------
    seed
        Seed for Python, NumPy and PyTorch.
    threads
        Number of CPU threads for PyTorch, ``>= 1``; ``None`` picks ``min(2, cpu_count)``.
    deterministic
        Call ``torch.use_deterministic_algorithms(True, warn_only=True)``.
    """
    if threads is None:
        threads = max(1, min(2, os.cpu_count() or 1))
    check_int("threads", threads, minimum=1)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    seed_everything(seed)
    return get_device()
