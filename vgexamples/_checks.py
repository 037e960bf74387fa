"""Argument checks shared by the library: every error names the parameter and what it allows."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch


def check_choice(name: str, value: object, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``; otherwise raise a ``ValueError``."""
    allowed = tuple(allowed)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {_fmt(allowed)}; got {value!r}")
    if value not in allowed:
        raise ValueError(f"{name} must be one of {_fmt(allowed)}; got {value!r}")
    return value


def check_int(name: str, value: object, minimum: int = 1) -> int:
    """Return ``value`` if it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}")
    return value


def check_seeds(name: str, seeds: object) -> tuple[int, ...]:
    """Return ``seeds`` as a tuple if it is a non-empty sequence of integers >= 0."""
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise TypeError(f"{name} must be a sequence of integers >= 0; got {seeds!r}")
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError(f"{name} must hold at least one seed")
    for s in seeds:
        check_int(f"{name}[i]", s, minimum=0)
    return seeds


def check_positive(name: str, value: object, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float if it is finite and > 0 (or >= 0 with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number; got {value!r}")
    value = float(value)
    bound = ">= 0" if allow_zero else "> 0"
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number {bound}; got {value}")
    return value


def check_fraction(name: str, value: object, *, open_right: bool = True) -> float:
    """Return ``value`` if 0 < value < 1 (or <= 1 when ``open_right`` is False)."""
    value = check_positive(name, value)
    if value > 1 or (open_right and value == 1):
        interval = "(0, 1)" if open_right else "(0, 1]"
        raise ValueError(f"{name} must lie in {interval}; got {value}")
    return value


def check_finite_tensor(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """Raise a ``ValueError`` if ``tensor`` holds NaN or infinite values."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type(tensor).__name__}")
    if tensor.is_floating_point() and not torch.isfinite(tensor).all():
        bad = int((~torch.isfinite(tensor)).sum())
        raise ValueError(f"{name} must hold only finite values; found {bad} NaN/inf entries")
    return tensor


def _fmt(allowed: tuple[str, ...]) -> str:
    return ", ".join(repr(a) for a in allowed)
