"""Generated texture images for a fine-grained classification task.

An image is a grid of small cells; a cell holds a short stroke with one of four
orientations (horizontal, vertical, two diagonals) drawn in one of two styles (solid or
dotted). Every class uses every orientation and both styles equally often; a class differs
from another only in *which orientation goes with which style*. Telling classes apart
therefore needs features that respond to the co-occurrence of two local details at the
same place, the situation bilinear pooling (Lin et al. 2015) was designed for.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from ._checks import check_fraction, check_int, check_positive
from .data import Split

__all__ = [
    "ORIENTATIONS",
    "STYLES",
    "class_rules",
    "draw_cell",
    "load_textures",
    "make_textures",
    "prototype_images",
]

#: Stroke orientations, in the order of the ``orientation`` index.
ORIENTATIONS = ("horizontal", "vertical", "diagonal", "antidiagonal")
#: Stroke styles, in the order of the ``style`` index.
STYLES = ("solid", "dotted")


def class_rules() -> list[tuple[int, int, int, int]]:
    """The six classes: for each, the style (0 solid, 1 dotted) of each of the four
    orientations. Exactly two orientations are dotted in every class, so that
    orientations and styles are equally frequent in all classes."""
    return [
        tuple(1 if o in dotted else 0 for o in range(4))
        for dotted in itertools.combinations(range(4), 2)
    ]


def draw_cell(orientation: int, style: int, cell: int = 4, phase: int = 0) -> np.ndarray:
    """A ``cell x cell`` array with one stroke across it (values 0 and 1).

    A dotted stroke keeps every other pixel of the solid one, starting at ``phase`` (0 or 1).
    """
    check_int("orientation", orientation, minimum=0)
    check_int("style", style, minimum=0)
    check_int("cell", cell, minimum=3)
    if orientation > 3 or style > 1:
        raise ValueError(
            f"orientation must be in 0..3 and style in 0..1; got {orientation}, {style}"
        )
    img = np.zeros((cell, cell), dtype=np.float32)
    mid = cell // 2
    idx = np.arange(cell)
    keep = idx if style == 0 else idx[(idx + phase) % 2 == 0]
    if orientation == 0:
        img[mid, keep] = 1
    elif orientation == 1:
        img[keep, mid] = 1
    elif orientation == 2:
        img[keep, keep] = 1
    else:
        img[keep, cell - 1 - keep] = 1
    return img


def make_textures(
    n_per_class: int,
    *,
    size: int = 16,
    cell: int = 4,
    fill: float = 0.75,
    flip: float = 0.1,
    noise: float = 0.3,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generate ``6 * n_per_class`` images ``(N, 1, size, size)`` and their labels.

    Parameters
    ----------
    n_per_class
        Images per class.
    size, cell
        Image side and cell side in pixels (``size`` must be a multiple of ``cell``).
    fill
        Probability that a cell holds a stroke, in (0, 1].
    flip
        Probability that a stroke's style breaks its class's rule, in [0, 1): label noise at
        the level of single cells.
    noise
        Standard deviation of Gaussian pixel noise, >= 0.
    seed
        Seed of the generator.
    """
    check_int("n_per_class", n_per_class)
    check_int("size", size, minimum=4)
    check_int("cell", cell, minimum=3)
    check_fraction("fill", fill, open_right=False)
    check_positive("noise", noise, allow_zero=True)
    flip = check_positive("flip", flip, allow_zero=True)
    if flip >= 1:
        raise ValueError(f"flip must lie in [0, 1); got {flip}")
    if size % cell:
        raise ValueError(f"size must be a multiple of cell; got size={size}, cell={cell}")
    check_int("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    rules = class_rules()
    k = size // cell
    n = n_per_class * len(rules)
    labels = np.repeat(np.arange(len(rules)), n_per_class)
    images = np.zeros((n, 1, size, size), dtype=np.float32)
    for i, c in enumerate(labels):
        for r in range(k):
            for q in range(k):
                if rng.random() >= fill:
                    continue
                o = int(rng.integers(4))
                s = rules[c][o] ^ int(rng.random() < flip)
                patch = draw_cell(o, s, cell, phase=int(rng.integers(2)))
                images[i, 0, r * cell : (r + 1) * cell, q * cell : (q + 1) * cell] = patch
    images += noise * rng.standard_normal(images.shape).astype(np.float32)
    perm = rng.permutation(n)
    return torch.from_numpy(images[perm]), torch.from_numpy(labels[perm]).long()


def load_textures(
    n_train_per_class: int = 100, n_test_per_class: int = 100, *, seed: int = 0, **kwargs
) -> Split:
    """A train/test :class:`~vgexamples.data.Split` of :func:`make_textures` images.

    Training and test images are generated independently (generator seeds ``2 * seed`` and
    ``2 * seed + 1``, so different ``seed`` values never share images);
    extra keyword arguments go to :func:`make_textures`.
    """
    check_int("seed", seed, minimum=0)
    x_tr, y_tr = make_textures(n_train_per_class, seed=2 * seed, **kwargs)
    x_te, y_te = make_textures(n_test_per_class, seed=2 * seed + 1, **kwargs)
    return Split(x_tr, y_tr, x_te, y_te)


def prototype_images(size: int = 16, cell: int = 4) -> tuple[torch.Tensor, list[str]]:
    """One noise-free image per (orientation, style) pair: a grid full of that stroke.

    Returns
    -------
    images
        ``(8, 1, size, size)`` tensor, in the order of the returned names.
    names
        ``"<orientation>, <style>"`` for each image.
    """
    check_int("size", size, minimum=4)
    check_int("cell", cell, minimum=3)
    if size % cell:
        raise ValueError(f"size must be a multiple of cell; got size={size}, cell={cell}")
    k = size // cell
    images, names = [], []
    for o, orientation in enumerate(ORIENTATIONS):
        for s, style in enumerate(STYLES):
            images.append(np.tile(draw_cell(o, s, cell), (k, k))[None])
            names.append(f"{orientation}, {style}")
    return torch.from_numpy(np.stack(images)), names
