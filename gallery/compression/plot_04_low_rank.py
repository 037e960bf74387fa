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
import matplotlib.pyplot as plt
import numpy as np
import torch

from vgexamples.compression import count_macs, count_parameters, low_rank_mlp, time_inference
from vgexamples.data import load_digits
from vgexamples.models import MLP
from vgexamples.plotting import use_style
from vgexamples.runtime import configure
from vgexamples.train import evaluate, train

device = configure(seed=0)
use_style()
data = load_digits(seed=0).to(device)
TRAIN = dict(lr=0.05, optimizer="momentum", eval_every=1000, device=device)
base = MLP(64, 10, depth=2, width=256).to(device)
untrained = MLP(64, 10, depth=2, width=256).to(device)
untrained.load_state_dict(base.state_dict())
train(base, data, steps=400, **TRAIN)
base_acc = evaluate(base, data.x_test, data.y_test)[1]
print(f"dense: {count_parameters(base)} parameters, accuracy {base_acc:.3f}")

# %%
# The singular-value spectrum
# ---------------------------
# The singular values of the 256 x 256 hidden-to-hidden weight matrix, before and after
# training, scaled by the largest. Training lifts a few singular values above the bulk of the
# random initial matrix. Measured by energy the trained matrix is still far from low rank: the
# rank needed to hold 90% of its squared Frobenius norm is printed below.
fig, ax = plt.subplots()
for label, net in [("at initialization", untrained), ("trained", base)]:
    s = torch.linalg.svdvals(net.linears[1].weight.detach()).cpu()
    ax.plot(np.arange(1, len(s) + 1), (s / s[0]).numpy(), label=label)
    energy = torch.cumsum(s**2, 0) / (s**2).sum()
    print(
        f"{label}: rank holding 90% of the squared Frobenius norm: {int((energy < 0.9).sum()) + 1}"
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
# :func:`vgexamples.compression.low_rank_mlp` replaces both hidden layers by their rank-:math:`r`
# factors (:func:`factorize_linear`, built on ``torch.linalg.svd``); the classifier head is
# kept. Fine-tuning trains the factorized network for 100 steps at a fifth of the original
# learning rate (at the full rate it undoes part of what the SVD kept).
ranks = [1, 2, 4, 8, 16, 32, 64]
rows = []
for r in ranks:
    small = low_rank_mlp(base, r)
    acc = evaluate(small, data.x_test, data.y_test)[1]
    train(small, data, steps=100, **{**TRAIN, "lr": 0.01})
    tuned = evaluate(small, data.x_test, data.y_test)[1]
    rows.append((r, count_parameters(small), count_macs(small, (64,)), acc, tuned))
print(" rank | params | MACs   | accuracy | fine-tuned")
for r, n, macs, acc, tuned in rows:
    print(f"{r:5d} | {n:6d} | {macs:6d} | {acc:8.3f} | {tuned:10.3f}")

fig, ax = plt.subplots()
ax.plot(ranks, [row[3] for row in rows], marker="o", label="SVD only")
ax.plot(ranks, [row[4] for row in rows], marker="o", label="SVD + 100 fine-tuning steps")
ax.axhline(base_acc, ls="--", color="k", label="dense")
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
# inference time on the whole test set:
x = data.x_test
t_dense = time_inference(base, x, repeats=50)
print(f"dense: {count_parameters(base)} parameters, {t_dense * 1e3:.3f} ms")
for r in (8, 32):
    small = low_rank_mlp(base, r)
    t = time_inference(small, x, repeats=50)
    print(
        f"rank {r:2d}: {count_parameters(small)} parameters "
        f"({count_parameters(small) / count_parameters(base):.1%}), {t * 1e3:.3f} ms"
    )

# %%
# Conclusion
# ----------
# Training makes a few directions of the layer stand out, and those are what the network
# needs: although the matrix holds its energy in many singular values, a rank far below
# the energy rank keeps the dense accuracy without any retraining. Lower ranks lose accuracy
# at once, and a short fine-tuning wins much of it back. The factorized network has a
# fraction of the parameters and multiply-adds; the printed inference times show what that
# buys on the machine that built this page.
