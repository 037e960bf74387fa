"""
Low-rank factorization
======================

A linear layer with an :math:`m \times n` weight matrix costs :math:`mn` parameters and
multiply-adds per example. If the matrix is close to one of rank :math:`r`, two thinner
layers, :math:`n \to r \to m`, do almost the same work for :math:`r(m+n)` (Denton et al.
2014; Jaderberg et al. 2014). The singular value decomposition gives the best such
approximation. We factorize the hidden layers of a trained network at several ranks and
measure accuracy, parameters and inference time, with and without fine-tuning.
"""

# %%
# Setup: a trained network
# ------------------------
# :func:`vgexamples.experiments.low_rank.run` trains a network with two hidden layers of 256
# units and factorizes it; the sections below read its result. The dense network's budget:
import matplotlib.pyplot as plt
import numpy as np

from vgexamples.experiments import low_rank
from vgexamples.plotting import use_style
from vgexamples.runtime import configure

device = configure(seed=0)
use_style()
print(low_rank.BUDGET)
result = low_rank.run(device=device)
n_base = result.dense_timing[0]
print(f"dense: {n_base} parameters, accuracy {result.base_accuracy:.3f}")

# %%
# The singular-value spectrum
# ---------------------------
# The singular values of the 256 x 256 hidden-to-hidden weight matrix, before and after
# training, scaled by the largest. Training lifts a few singular values above the bulk of the
# random initial matrix. Measured by energy the trained matrix is still far from low rank: the
# rank needed to hold 90% of its squared Frobenius norm
# (:func:`vgexamples.experiments.low_rank.energy_rank`) is printed below.
fig, ax = plt.subplots()
summary = result.summary()
for label, which in [("at initialization", "initial"), ("trained", "trained")]:
    s = result.singular_values(which)
    ax.plot(np.arange(1, len(s) + 1), s / s[0], label=label)
    print(
        f"{label}: rank holding 90% of the squared Frobenius norm: "
        f"{summary[f'energy_rank_{which}']}"
    )
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("index of singular value")
ax.set_ylabel("singular value / largest")
ax.legend()
plt.show()

# %%
# Accuracy against rank
# ---------------------
# :func:`vgexamples.compression.low_rank_mlp` replaces both hidden layers by their
# rank-:math:`r` factors (:func:`vgexamples.compression.factorize_linear`, built on
# ``torch.linalg.svd``); the classifier head is kept. Fine-tuning trains the factorized
# network with this budget:
print(low_rank.FINE_TUNE)
ranks = list(result.rows)
print(" rank | params | MACs   | accuracy | fine-tuned")
for r, (n, macs, acc, tuned) in result.rows.items():
    print(f"{r:5d} | {n:6d} | {macs:6d} | {acc:8.3f} | {tuned:10.3f}")

fig, ax = plt.subplots()
ax.plot(ranks, [row[2] for row in result.rows.values()], marker="o", label="SVD only")
ax.plot(ranks, [row[3] for row in result.rows.values()], marker="o", label="SVD + fine-tuning")
ax.axhline(result.base_accuracy, ls="--", color="k", label="dense")
ax.set_xscale("log", base=2)
ax.set_xlabel("rank r")
ax.set_ylabel("test accuracy")
ax.legend()
plt.show()

# %%
# What it buys
# ------------
# Unlike a pruning mask, factorization changes the shapes: fewer parameters and fewer
# multiply-adds, and the two thin products are faster than the one wide product. Median
# inference time on the whole test set (:func:`vgexamples.compression.time_inference`):
print(f"dense: {n_base} parameters, {result.dense_timing[1]:.3f} ms")
for r, (n, ms) in result.rank_timings.items():
    print(f"rank {r:2d}: {n} parameters ({n / n_base:.1%}), {ms:.3f} ms")

# %%
# Conclusion
# ----------
# Training makes a few directions of the layer stand out, and those are what the network
# needs: although the matrix holds its energy in many singular values, a rank far below
# the energy rank keeps the dense accuracy without any retraining. Lower ranks lose accuracy
# at once, and a short fine-tuning wins much of it back. The factorized network has a
# fraction of the parameters and multiply-adds; the printed inference times show what that
# buys on the machine that built this page.
