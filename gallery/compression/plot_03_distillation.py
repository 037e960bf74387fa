"""
Knowledge distillation
======================

Hinton et al. (2015) train a small *student* network to match the softened output
distribution of a larger *teacher*, instead of (or as well as) the one-hot labels. The
softened probabilities say which wrong classes the teacher finds plausible, information the
labels do not carry. We test whether that helps on the digits when training data is scarce
(150 training images), for several temperatures, two student sizes and three seeds.
"""

# %%
# Setup
# -----
import matplotlib.pyplot as plt
import numpy as np
import torch

from vgexamples.data import load_digits
from vgexamples.experiments import distillation
from vgexamples.models import count_parameters
from vgexamples.plotting import use_style
from vgexamples.runtime import configure

device = configure(seed=0)
use_style()

# %%
# Scarce data and a teacher
# -------------------------
# :func:`vgexamples.experiments.distillation.run` trains a teacher on a small part of the
# digits and then every student; the sections below read its result. The teacher's budget:
print(distillation.TEACHER_BUDGET)
result = distillation.run(device=device)
teacher = result.teacher
print(f"{result.n_train} training images, {result.n_test} test images")
print(
    f"teacher: {count_parameters(teacher)} parameters, "
    f"accuracy {result.teacher_history.final_test_accuracy:.3f}"
)

# %%
# What the teacher's soft targets look like
# -----------------------------------------
# The teacher's output for one training image, as a softmax at temperature :math:`T`:
# :math:`p_i \propto \exp(z_i / T)`. At :math:`T=1` it is nearly one-hot; higher
# temperatures expose the ranking of the other classes.
data = load_digits(seed=0, n_train=distillation.N_TRAIN).to(device)
with torch.no_grad():
    logits = teacher.eval()(data.x_train[:1])[0]
fig, ax = plt.subplots(figsize=(7, 3))
for i, t in enumerate([1, 4, 8]):
    p = torch.softmax(logits / t, dim=0).cpu().numpy()
    ax.bar(np.arange(10) + (i - 1) * 0.27, p, width=0.27, label=f"T = {t}")
ax.set_xticks(range(10))
ax.set_xlabel(f"class (label: {int(data.y_train[0])})")
ax.set_ylabel("teacher probability")
ax.legend()
plt.show()

# %%
# Students: hard labels against soft targets
# ------------------------------------------
# Each student is a one-hidden-layer MLP. The baseline is trained on the labels with
# cross-entropy; the distilled students are trained by :func:`vgexamples.train.train` with a
# :class:`vgexamples.compression.DistillationLoss`, weight :math:`\alpha = 0.9` on the soft
# term. Every run of a given seed sees the same mini-batches and starts from the same
# weights. The students' budget:
print(result.budget)
acc, widths, temperatures = result.accuracy, result.widths, result.temperatures[1:]
SEEDS = result.budget.seeds
for width in widths:
    print(f"student width {width} ({distillation.student_parameters(width)} parameters)")
    for t in result.temperatures:
        values = [acc[width, t, s] for s in SEEDS]
        name = "hard labels" if t is None else f"soft, T={t}"
        print(f"   {name:>12}: mean {np.mean(values):.3f}  (seeds: {np.round(values, 3)})")

# %%
# Accuracy against temperature
# ----------------------------
# Dashed lines: the same student trained on hard labels. Error bars span the seeds.
fig, ax = plt.subplots()
for width in widths:
    means = [np.mean([acc[width, t, s] for s in SEEDS]) for t in temperatures]
    spread = [np.ptp([acc[width, t, s] for s in SEEDS]) / 2 for t in temperatures]
    line = ax.errorbar(temperatures, means, yerr=spread, marker="o", label=f"width {width}")
    hard = np.mean([acc[width, None, s] for s in SEEDS])
    ax.axhline(hard, ls="--", color=line[0].get_color(), label=f"width {width}, hard labels")
ax.set_xscale("log", base=2)
ax.set_xlabel("temperature T")
ax.set_ylabel("student test accuracy")
ax.legend()
plt.show()

# %%
# Conclusion
# ----------
# For the smallest student, soft targets at a temperature of 4 or 8 beat hard labels on
# every seed, and a temperature of 1 gives nothing over hard labels (the teacher's
# probabilities are then almost one-hot). For the wider student distillation makes no
# measurable difference. Distillation pays where the student has little capacity and the
# data are few.
