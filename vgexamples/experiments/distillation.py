"""Knowledge distillation (Hinton et al. 2015) against regularized baselines, at two
training-set sizes.

For each size a teacher is trained on the labelled images; a small student is then trained
(1) on the labels with no regularization, (2) on the labels with every combination of weight
decay and label smoothing (Szegedy et al. 2016; Muller et al. 2019) of a small grid, and (3)
on the teacher's softened outputs (:class:`vgexamples.compression.DistillationLoss`) at every
temperature and soft-term weight of a small grid. The best regularized baseline and the best
distillation setting are chosen on a validation split held out of the digits' training
images, never on the test set; the test set scores the chosen ones. The gain reported is the
distilled student's test accuracy minus the best baseline's, seed by seed.

Shown by ``gallery/compression/plot_03_distillation.py``, quoted by
``docs/chapters/compression.md``, asserted by ``tests/claims/test_compression.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .._checks import check_int, check_positive
from ..compression import DistillationLoss
from ..data import Split, load_digits
from ..models import MLP, count_parameters
from ..results import record
from ..runtime import resolve_device
from ..train import Budget, check_budget, evaluate, train

__all__ = [
    "ALPHAS",
    "KEY",
    "LABEL_SMOOTHINGS",
    "N_VAL",
    "SIZES",
    "STUDENT_BUDGET",
    "TEACHER_BUDGET",
    "TEMPERATURES",
    "WEIGHT_DECAYS",
    "Distillation",
    "LabelSmoothing",
    "run",
    "splits",
]

KEY = "compression.distillation"
#: Labelled training images (stratified subsets of one pool), smallest first.
SIZES = (150, 1000)
#: Validation images held out of the digits' training split (stratified), for model choice.
N_VAL = 300
#: The teacher: two hidden layers of 256 units, trained with weight decay.
TEACHER = {"depth": 2, "width": 256}
TEACHER_BUDGET = Budget(steps=300, lr=0.05, optimizer="momentum", weight_decay=1e-3)
#: The student: one hidden layer of this many units.
STUDENT_WIDTH = 8
#: Every student run, whatever its loss: 200 steps, three seeds.
STUDENT_BUDGET = Budget(steps=200, lr=0.05, optimizer="momentum", seeds=(0, 1, 2))
#: The baselines' grid: weight decay x label smoothing (``(0, 0)`` is the unregularized one).
WEIGHT_DECAYS = (0.0, 1e-3, 1e-2, 1e-1)
LABEL_SMOOTHINGS = (0.0, 0.1, 0.2)
#: The distilled students' grid: temperature x weight of the soft term.
TEMPERATURES = (2.0, 4.0, 8.0)
ALPHAS = (0.5, 0.9)


class LabelSmoothing:
    """Cross-entropy against labels smoothed by ``epsilon`` (PyTorch's
    ``cross_entropy(label_smoothing=epsilon)``), as an objective for
    :func:`vgexamples.train.train`; evaluations use plain cross-entropy."""

    eval_loss = "cross_entropy"

    def __init__(self, epsilon: float) -> None:
        epsilon = check_positive("epsilon", epsilon, allow_zero=True)
        if epsilon >= 1:
            raise ValueError(f"epsilon must lie in [0, 1); got {epsilon}")
        self.epsilon = epsilon

    def __call__(
        self, output: torch.Tensor, target: torch.Tensor, index: torch.Tensor
    ) -> torch.Tensor:
        return nn.functional.cross_entropy(output, target, label_smoothing=self.epsilon)


def splits(sizes: Sequence[int] = SIZES, n_val: int = N_VAL) -> dict[int, tuple[Split, Split]]:
    """``size -> (train/test split, train/validation split)`` from the digits' seeded
    train/test split: ``n_val`` training images are held out (stratified) for validation, the
    training images of each size are a stratified subset of the rest, and every image is
    standardized with that subset's pixel statistics. Both splits of a size share the training
    tensors; the second holds the validation images in place of the test images. The test and
    validation images are the same for every size."""
    from sklearn.model_selection import train_test_split

    raw = load_digits(seed=0, standardize=False)
    pool, val = train_test_split(
        np.arange(len(raw.x_train)), test_size=n_val, random_state=0, stratify=raw.y_train
    )
    out = {}
    for n in sizes:
        if n > len(pool):
            raise ValueError(f"sizes must be at most {len(pool)} with n_val={n_val}; got {n}")
        keep = pool
        if n < len(pool):
            keep = train_test_split(
                pool, train_size=n, random_state=0, stratify=raw.y_train[pool].numpy()
            )[0]
        keep = torch.as_tensor(np.sort(keep))
        x = raw.x_train[keep]
        mean, std = x.mean(), x.std()
        x, y = (x - mean) / std, raw.y_train[keep]
        out[n] = (
            Split(x, y, (raw.x_test - mean) / std, raw.y_test),
            Split(x, y, (raw.x_train[val] - mean) / std, raw.y_train[val]),
        )
    return out


Config = tuple[float, float]


@dataclass
class Distillation:
    """What :func:`run` measured.

    Attributes
    ----------
    sizes, n_val, n_test
        Training-set sizes, validation and test images.
    teachers
        ``size -> (teacher, test accuracy)``.
    budget
        The students' budget.
    runs
        ``(size, method, config, seed) -> (validation accuracy, test accuracy)`` with method
        ``"labels"`` (config = weight decay, label smoothing) or ``"distilled"`` (config =
        temperature, alpha).
    """

    sizes: tuple[int, ...]
    n_val: int
    n_test: int
    teachers: dict[int, tuple[MLP, float]]
    budget: Budget
    grids: dict[str, tuple[Config, ...]]
    runs: dict[tuple[int, str, Config, int], tuple[float, float]]

    def validation(self, size: int, method: str, config: Config) -> float:
        """Mean validation accuracy over the seeds."""
        return float(np.mean([self.runs[size, method, config, s][0] for s in self.budget.seeds]))

    def best(self, size: int, method: str) -> Config:
        """The grid point of ``method`` with the best mean validation accuracy (the first in
        grid order on a tie: the least regularization, the lowest temperature)."""
        grid = self.grids[method]
        scores = [self.validation(size, method, c) for c in grid]
        return grid[int(np.argmax(scores))]

    def test(self, size: int, method: str, config: Config | None = None) -> list[float]:
        """Test accuracy per seed of ``config`` (default: the one chosen on validation)."""
        config = self.best(size, method) if config is None else config
        return [self.runs[size, method, config, s][1] for s in self.budget.seeds]

    def gains(self, size: int, against: str = "baseline") -> list[float]:
        """Distilled minus best baseline (or ``"unregularized"``) test accuracy, per seed."""
        other = self.test(size, "labels", None if against == "baseline" else (0.0, 0.0))
        return [d - o for d, o in zip(self.test(size, "distilled"), other, strict=True)]

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages; ``by_size`` maps each size (as a string) to
        the teacher's test accuracy, the students' test accuracies (``unregularized``,
        ``baseline`` = best regularized baseline, ``distilled``; means and ``*_seeds``), the
        settings chosen on validation, the gain (distilled minus baseline; mean, per seed,
        min, max), the gain over the unregularized student, and mean test errors."""
        by_size = {}
        for n in self.sizes:
            wd, ls = self.best(n, "labels")
            t, alpha = self.best(n, "distilled")
            unreg, base, dist = (
                self.test(n, "labels", (0.0, 0.0)),
                self.test(n, "labels"),
                self.test(n, "distilled"),
            )
            gains = self.gains(n)
            by_size[str(n)] = {
                "teacher": self.teachers[n][1],
                "unregularized": float(np.mean(unreg)),
                "unregularized_seeds": unreg,
                "baseline": float(np.mean(base)),
                "baseline_seeds": base,
                "baseline_weight_decay": wd,
                "baseline_label_smoothing": ls,
                "distilled": float(np.mean(dist)),
                "distilled_seeds": dist,
                "distilled_temperature": t,
                "distilled_alpha": alpha,
                "gain": float(np.mean(gains)),
                "gain_seeds": gains,
                "gain_min": min(gains),
                "gain_max": max(gains),
                "gain_over_unregularized": float(np.mean(self.gains(n, "unregularized"))),
                # mean number of misclassified test images, as Hinton et al. report them
                "test_errors": {
                    name: float(np.mean([round((1 - a) * self.n_test) for a in accs]))
                    for name, accs in (
                        ("teacher", [self.teachers[n][1]]),
                        ("unregularized", unreg),
                        ("baseline", base),
                        ("distilled", dist),
                    )
                },
            }
        return {
            "sizes": list(self.sizes),
            "n_val": self.n_val,
            "n_test": self.n_test,
            "seeds": list(self.budget.seeds),
            "student_width": STUDENT_WIDTH,
            "student_params": student_parameters(STUDENT_WIDTH),
            "teacher_params": count_parameters(MLP(64, 10, **TEACHER)),
            "student_budget": str(self.budget),
            "teacher_budget": str(TEACHER_BUDGET),
            "weight_decays": list(WEIGHT_DECAYS),
            "label_smoothings": list(LABEL_SMOOTHINGS),
            "temperatures": list(TEMPERATURES),
            "alphas": list(ALPHAS),
            "by_size": by_size,
        }


def run(
    *,
    sizes: Sequence[int] = SIZES,
    budget: Budget = STUDENT_BUDGET,
    device: torch.device | str | None = None,
) -> Distillation:
    """For each training-set size, train the teacher (seed 0), then the student on every grid
    point of both methods for each of the budget's seeds; all students of a seed start from
    the same weights and see the same mini-batches. Students are evaluated on the validation
    split during training and on the test set once, at the end."""
    sizes = tuple(sorted(check_int("sizes[i]", n, minimum=20) for n in sizes))
    if not sizes:
        raise ValueError("sizes must list at least one training-set size")
    check_budget(budget)
    device = resolve_device(device)
    data = splits(sizes)
    grids = {
        "labels": tuple((wd, ls) for wd in WEIGHT_DECAYS for ls in LABEL_SMOOTHINGS),
        "distilled": tuple((t, a) for t in TEMPERATURES for a in ALPHAS),
    }
    kwargs = budget.train_kwargs()
    kwargs["eval_every"] = budget.steps
    teachers, runs = {}, {}
    for n in sizes:
        # the students are evaluated on the validation images while training
        full, train_val = (split.to(device) for split in data[n])
        torch.manual_seed(0)
        teacher = MLP(64, 10, **TEACHER).to(device)
        h = train(teacher, full, device=device, **TEACHER_BUDGET.train_kwargs())
        teachers[n] = (teacher, h.final_test_accuracy)
        for method, grid in grids.items():
            for config in grid:
                if method == "labels":
                    loss = LabelSmoothing(config[1]) if config[1] else "cross_entropy"
                    extra = {"weight_decay": config[0]}
                else:
                    loss, extra = DistillationLoss(teacher, *config), {}
                for seed in budget.seeds:
                    torch.manual_seed(seed)
                    student = MLP(64, 10, depth=1, width=STUDENT_WIDTH)
                    h = train(
                        student,
                        train_val,
                        loss=loss,
                        seed=seed,
                        device=device,
                        **{**kwargs, **extra},
                    )
                    test_acc = evaluate(student, full.x_test, full.y_test)[1]
                    runs[n, method, config, seed] = (h.final_test_accuracy, test_acc)
    full, train_val = data[sizes[0]]
    result = Distillation(
        sizes, len(train_val.x_test), len(full.x_test), teachers, budget, grids, runs
    )
    record(KEY, **result.summary())
    return result


def student_parameters(width: int = STUDENT_WIDTH) -> int:
    """Parameters of a student with ``width`` hidden units."""
    return count_parameters(MLP(64, 10, depth=1, width=width))
