"""Seeding, device choice, thread settings and timing: the first call of every example.

* :func:`configure` -- seeds every generator, sets the CPU thread count, returns the device;
* :func:`resolve_device` -- the one place that turns ``None``, a name or a ``torch.device``
  into a device (every function of the library that takes ``device=`` calls it);
* :func:`median_seconds` -- the one timer: median wall-clock time of repeated calls, with
  CUDA work synchronized before each reading.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from ._checks import check_int

__all__ = ["configure", "get_device", "median_seconds", "resolve_device", "seed_everything"]

#: Device names accepted wherever the library takes ``device=`` (besides a ``torch.device``).
DEVICE_NAMES = ("cpu", "cuda")


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
    return resolve_device(prefer)


def resolve_device(device: torch.device | str | None = None) -> torch.device:
    """Turn ``device`` into a ``torch.device``: ``None`` means :func:`get_device`.

    Parameters
    ----------
    device
        ``None``, ``"cpu"``, ``"cuda"`` (optionally with an index, ``"cuda:1"``) or a
        ``torch.device``.

    Raises
    ------
    ValueError
        For any other value, and for a CUDA device when PyTorch finds no GPU.
    """
    if device is None:
        return get_device()
    if isinstance(device, torch.device):
        resolved = device
    elif isinstance(device, str) and device.split(":", 1)[0] in DEVICE_NAMES:
        try:
            resolved = torch.device(device)
        except RuntimeError:
            resolved = None
    else:
        resolved = None
    if resolved is None or resolved.type not in DEVICE_NAMES:
        raise ValueError(
            f"device must be None, 'cpu', 'cuda' (or 'cuda:<index>') or a torch.device; "
            f"got {device!r}"
        )
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was requested but no CUDA device is available")
    return resolved


def median_seconds(
    fn: Callable[[], object],
    *,
    repeats: int = 20,
    warmup: int = 1,
    device: torch.device | str | None = "cpu",
) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls.

    ``warmup`` untimed calls come first. On a CUDA ``device`` the GPU is synchronized before
    each reading, so the time covers the work and not only its launch. Timings depend on the
    machine and on its load: compare only what was measured in the same run.

    Parameters
    ----------
    fn
        Called with no arguments.
    repeats
        Timed calls, >= 1.
    warmup
        Untimed calls first, >= 0.
    device
        Where ``fn`` runs (decides whether to synchronize).
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable with no arguments; got {type(fn).__name__}")
    check_int("repeats", repeats)
    check_int("warmup", warmup, minimum=0)
    sync = torch.cuda.synchronize if resolve_device(device).type == "cuda" else (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


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
