"""Knowledge distillation (Hinton et al. 2015) on scarce data: small students trained on a
teacher's softened outputs at several temperatures against the same students trained on the
labels, for two student widths and three seeds.

Shown by ``gallery/compression/plot_03_distillation.py``, quoted by
``docs/chapters/compression.md``, asserted by ``tests/claims/test_compression.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .._checks import check_int
from ..compression import DistillationLoss
from ..data import load_digits
from ..models import MLP, count_parameters
from ..results import record
from ..runtime import resolve_device
from ..train import Budget, History, check_budget, train

__all__ = ["KEY", "STUDENT_BUDGET", "TEACHER_BUDGET", "Distillation", "run"]

KEY = "compression.distillation"
#: Training images kept (stratified) out of the digits' training split.
N_TRAIN = 150
#: The teacher: two hidden layers of 256 units, trained with weight decay.
TEACHER = {"depth": 2, "width": 256}
TEACHER_BUDGET = Budget(steps=300, lr=0.05, optimizer="momentum", weight_decay=1e-3, eval_every=50)
#: Every student, hard labels or soft targets: 200 steps, three seeds.
STUDENT_BUDGET = Budget(steps=200, lr=0.05, optimizer="momentum", seeds=(0, 1, 2))
#: Weight of the soft term in :func:`vgexamples.compression.distillation_loss`.
ALPHA = 0.9


@dataclass
class Distillation:
    """What :func:`run` measured.

    Attributes
    ----------
    n_train, n_test
        Training and test images.
    teacher, teacher_history
        The trained teacher and its history.
    widths, temperatures, budget
        Students' hidden units, the temperatures tried (``None`` = hard labels) and the
        students' budget.
    accuracy
        ``(width, temperature, seed) ->`` final test accuracy.
    """

    n_train: int
    n_test: int
    teacher: MLP
    teacher_history: History
    widths: tuple[int, ...]
    temperatures: tuple[float | None, ...]
    budget: Budget
    accuracy: dict[tuple[int, float | None, int], float]

    def mean(self, width: int, temperature: float | None) -> float:
        """Mean test accuracy over the seeds."""
        return float(np.mean([self.accuracy[width, temperature, s] for s in self.budget.seeds]))

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages: mean accuracies by width and temperature."""
        return {
            "n_train": self.n_train,
            "teacher_accuracy": self.teacher_history.final_test_accuracy,
            "student_budget": str(self.budget),
            "widths": list(self.widths),
            "mean_accuracy": {
                str(w): {
                    ("hard" if t is None else f"T{t:g}"): self.mean(w, t) for t in self.temperatures
                }
                for w in self.widths
            },
        }


def run(
    *,
    widths: Sequence[int] = (8, 32),
    temperatures: Sequence[float | None] = (None, 1, 2, 4, 8),
    budget: Budget = STUDENT_BUDGET,
    device: torch.device | str | None = None,
) -> Distillation:
    """Train the teacher (from seed 0), then every student width at every temperature for each
    of the budget's seeds; all students of a seed start from the same weights and see the same
    mini-batches."""
    widths = tuple(check_int("widths[i]", w) for w in widths)
    check_budget(budget)
    device = resolve_device(device)
    data = load_digits(seed=0, n_train=N_TRAIN).to(device)
    torch.manual_seed(0)
    teacher = MLP(64, 10, **TEACHER).to(device)
    teacher_history = train(teacher, data, device=device, **TEACHER_BUDGET.train_kwargs())
    accuracy = {}
    for width in widths:
        for t in temperatures:
            loss = "cross_entropy" if t is None else DistillationLoss(teacher, t, ALPHA)
            for seed in budget.seeds:
                torch.manual_seed(seed)
                student = MLP(64, 10, depth=1, width=width)
                h = train(
                    student, data, loss=loss, seed=seed, device=device, **budget.train_kwargs()
                )
                accuracy[width, t, seed] = h.final_test_accuracy
    result = Distillation(
        len(data.x_train),
        len(data.x_test),
        teacher,
        teacher_history,
        widths,
        tuple(temperatures),
        budget,
        accuracy,
    )
    record(KEY, **result.summary())
    return result


def student_parameters(width: int) -> int:
    """Parameters of a student with ``width`` hidden units."""
    return count_parameters(MLP(64, 10, depth=1, width=width))
