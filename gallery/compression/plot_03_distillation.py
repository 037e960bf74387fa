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
# Setup: scarce data and a teacher
# --------------------------------
import matplotlib.pyplot as plt
import numpy as np
import torch

from vgexamples.compression import count_parameters, distill
from vgexamples.data import load_digits
from vgexamples.models import MLP
from vgexamples.plotting import use_style
from vgexamples.runtime import configure
from vgexamples.train import train

device = configure(seed=0)
use_style()
data = load_digits(seed=0, n_train=150).to(device)
print(f"{len(data.x_train)} training images, {len(data.x_test)} test images")
teacher = MLP(64, 10, depth=2, width=256).to(device)
hist = train(teacher, data, steps=300, lr=0.05, optimizer="momentum", weight_decay=1e-3)
print(f"teacher: {count_parameters(teacher)} parameters, accuracy {hist.final_test_accuracy:.3f}")

# %%
# What the teacher's soft targets look like
# -----------------------------------------
# The teacher's output for one training image, as a softmax at temperature :math:`T`:
# :math:`p_i \propto \exp(z_i / T)`. At :math:`T=1` it is nearly one-hot; higher
# temperatures expose the ranking of the other classes.
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
# cross-entropy; the distilled students use :func:`vgexamples.compression.distillation_loss`
# with weight :math:`\alpha = 0.9` on the soft term. Every run of a given seed sees the same
# mini-batches and starts from the same weights, and all get 200 steps.
temperatures = [1, 2, 4, 8]
widths = [8, 32]
SEEDS = range(3)
acc = {}
for width in widths:
    for t in [None, *temperatures]:
        for seed in SEEDS:
            torch.manual_seed(seed)
            student = MLP(64, 10, depth=1, width=width)
            h = distill(
                student,
                None if t is None else teacher,
                data,
                temperature=t or 1.0,
                alpha=0.9,
                steps=200,
                lr=0.05,
                optimizer="momentum",
                seed=seed,
                eval_every=200,
                device=device,
            )
            acc[width, t, seed] = h.final_test_accuracy
    n = count_parameters(MLP(64, 10, depth=1, width=width))
    print(f"student width {width} ({n} parameters)")
    for t in [None, *temperatures]:
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
