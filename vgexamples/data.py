"""Data sets the examples use: bundled or generated, never downloaded.

* :func:`load_digits` -- scikit-learn's bundled 8x8 handwritten digits (1,797 images,
  10 classes) as float tensors with a seeded, stratified train/test split.
* :class:`Split` -- the container every training function accepts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._checks import check_finite_tensor, check_fraction, check_int

__all__ = ["Split", "load_digits", "make_split"]


@dataclass(frozen=True)
class Split:
    """Train and test tensors of one supervised task.

    ``x_*`` are float32 feature tensors (first dimension = examples); ``y_*`` are int64 class
    labels, or float targets for regression tasks.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def n_features(self) -> int:
        """Size of one example, flattened."""
        return int(np.prod(self.x_train.shape[1:]))

    @property
    def n_classes(self) -> int:
        """Number of distinct labels (classification tasks)."""
        return int(torch.cat([self.y_train, self.y_test]).max().item()) + 1

    def to(self, device: torch.device | str) -> Split:
        """Return a copy with every tensor on ``device``."""
        return Split(
            *(t.to(device) for t in (self.x_train, self.y_train, self.x_test, self.y_test))
        )


def make_split(
    x: torch.Tensor, y: torch.Tensor, *, test_size: float = 0.25, seed: int = 0
) -> Split:
    """Split ``(x, y)`` into a seeded train/test :class:`Split`.

    Classification labels (integer ``y``) are split stratified, so that both parts have the
    same class proportions.

    Raises
    ------
    ValueError
        If ``x`` holds NaN or inf, the lengths differ, or ``test_size`` is not in (0, 1).
    """
    check_finite_tensor("x", x)
    check_fraction("test_size", test_size)
    check_int("seed", seed, minimum=0)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length; got {len(x)} and {len(y)}")
    from sklearn.model_selection import train_test_split

    stratify = y.numpy() if not y.is_floating_point() else None
    idx_train, idx_test = train_test_split(
        np.arange(len(x)), test_size=test_size, random_state=seed, stratify=stratify
    )
    idx_train, idx_test = torch.as_tensor(idx_train), torch.as_tensor(idx_test)
    return Split(x[idx_train], y[idx_train], x[idx_test], y[idx_test])


def load_digits(
    *,
    test_size: float = 0.25,
    seed: int = 0,
    standardize: bool = True,
    n_train: int | None = None,
    image: bool = False,
) -> Split:
    """Load scikit-learn's bundled digits as a seeded train/test :class:`Split`.

    Parameters
    ----------
    test_size
        Fraction of the 1,797 images held out for testing, in (0, 1).
    seed
        Seed of the split (and of the subsample when ``n_train`` is given).
    standardize
        Scale pixels to zero mean and unit variance using training-set statistics only
        (the raw pixels are integers 0..16).
    n_train
        Keep only this many training examples (stratified), to make the task harder.
    image
        Return images shaped ``(N, 1, 8, 8)`` instead of flat vectors ``(N, 64)``.

    Returns
    -------
    Split
        ``x`` as float32, ``y`` as int64 labels 0..9.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    x = torch.as_tensor(bunch.data, dtype=torch.float32)
    y = torch.as_tensor(bunch.target, dtype=torch.int64)
    split = make_split(x, y, test_size=test_size, seed=seed)
    x_train, y_train, x_test, y_test = split.x_train, split.y_train, split.x_test, split.y_test
    if n_train is not None:
        check_int("n_train", n_train, minimum=10)
        if n_train < len(x_train):
            from sklearn.model_selection import train_test_split

            keep, _ = train_test_split(
                np.arange(len(x_train)),
                train_size=n_train,
                random_state=seed,
                stratify=y_train.numpy(),
            )
            keep = torch.as_tensor(keep)
            x_train, y_train = x_train[keep], y_train[keep]
    if standardize:
        mean = x_train.mean()
        std = x_train.std()
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    if image:
        x_train, x_test = x_train.reshape(-1, 1, 8, 8), x_test.reshape(-1, 1, 8, 8)
    return Split(x_train, y_train, x_test, y_test)
