"""
Batch normalization in a deep sigmoid network
=============================================

Ioffe & Szegedy (2015) normalize every unit's input over the mini-batch, then let the network
rescale and shift it with two learned parameters per unit. We train 10-layer sigmoid and tanh
networks, 64 units wide, on the digits data with and without batch normalization under one
budget, and look at three things: the training curves, the gradient norm of every layer, and
the distribution of the input one sigmoid unit receives as training proceeds (the picture in
Ioffe & Szegedy's figure 1). Then we check what the transform normalizes where the paper puts
it, and measure whether it trains better before or after the nonlinearity, with sigmoid and
with ReLU units.
"""

# %%
# Setup
# -----
import matplotlib.pyplot as plt
import numpy as np

from vgexamples.experiments import batch_norm
from vgexamples.plotting import plot_layer_values, plot_training_curves, use_style
from vgexamples.runtime import configure

device = configure(seed=0)
use_style()

# %%
# Training with and without batch normalization
# ---------------------------------------------
# :func:`vgexamples.experiments.batch_norm.run` trains each network with
# :func:`vgexamples.train.train`. Two callbacks ride along: a
# :class:`~vgexamples.monitors.TrainingRecorder` for per-layer gradient norms and an
# :class:`~vgexamples.monitors.InputQuantiles` that evaluates the network on the test images
# every 20 steps and keeps the 15th, 50th and 85th percentiles of the input to unit 0 of the
# last hidden layer's nonlinearity. The networks and the budget:
print(f"{batch_norm.NET['depth']} hidden layers of {batch_norm.NET['width']} units")
print(batch_norm.BUDGET)
result = batch_norm.run(device=device)
runs = {
    (act, norm): result.run_of(act, norm)
    for act in ("sigmoid", "tanh")
    for norm in ("none", "batch")
}
for (act, norm), (hist, _, _) in runs.items():
    print(
        f"{act:>7}, norm={norm:>5}: final training loss {hist.final_train_loss:.3f}, "
        f"test accuracy {hist.final_test_accuracy:.1%}"
    )

fig, axes = plt.subplots(1, 2, figsize=(8.8, 3.6), sharey=True)
for ax, act in zip(axes, ("sigmoid", "tanh"), strict=True):
    plot_training_curves(
        ax, {f"norm={n}": runs[act, n][0] for n in ("none", "batch")}, metric="train_loss"
    )
    ax.set_title(f"10-layer {act} MLP")
plt.show()

# %%
# Per-layer gradient norms
# ------------------------
# The weight-gradient norm of each linear layer, averaged over the recorded mini-batches of
# the first 100 steps. Without normalization the sigmoid network's first layers receive a
# tiny fraction of what the last ones get; batch normalization re-scales the signal at every
# layer on the way back.
fig, axes = plt.subplots(1, 2, figsize=(8.8, 3.6), sharey=True)
for ax, act in zip(axes, ("sigmoid", "tanh"), strict=True):
    series = {}
    for norm in ("none", "batch"):
        series[f"norm={norm}"] = result.early_grad_norms(act, norm)
        print(
            f"{act:>7}, norm={norm:>5}: first/last layer gradient "
            f"{series[f'norm={norm}'][0] / series[f'norm={norm}'][-1]:.2e}"
        )
    plot_layer_values(ax, series, ylabel="||dL/dW|| (steps 1-100)")
    ax.set_title(act)
plt.show()

# %%
# The input of one unit over training
# -----------------------------------
# Each band spans the 15th to 85th percentile of unit 0's input over the test images, with
# the median as a line. With batch normalization the input is the normalized value after the
# learned scale and shift, computed (as in training) with the statistics of the batch.
fig, axes = plt.subplots(2, 2, figsize=(8.8, 6.4), sharex=True)
for row, act in enumerate(("sigmoid", "tanh")):
    for col, norm in enumerate(("none", "batch")):
        ax = axes[row, col]
        steps, v = runs[act, norm][2]
        ax.fill_between(steps, v[:, 0], v[:, 2], alpha=0.3, label="15th-85th percentile")
        ax.plot(steps, v[:, 1], label="median")
        ax.set_title(f"{act}, norm={norm}")
        ax.legend()
    axes[row, 0].set_ylabel("input to unit 0")
for ax in axes[1]:
    ax.set_xlabel("step")
plt.show()
for act in ("sigmoid", "tanh"):
    for norm in ("none", "batch"):
        v = runs[act, norm][2][1]
        print(
            f"{act:>7}, norm={norm:>5}: median {v[0, 1]:+.2f} -> {v[-1, 1]:+.2f}; "
            f"15-85 spread {v[0, 2] - v[0, 0]:.2e} -> {v[-1, 2] - v[-1, 0]:.2e}"
        )

# %%
# What does batch normalization normalize?
# ----------------------------------------
# A common description says that batch normalization "normalizes the data after every
# activation". Ioffe & Szegedy add the transform immediately before the nonlinearity
# (their section 3.2), so what is normalized is the *input* of each nonlinearity. We build the
# sigmoid and ReLU networks that way and, at initialization (scale 1, shift 0), take every
# unit's mean and variance over a batch of 512 images, before and after its nonlinearity,
# averaged over the units and the hidden layers
# (:func:`vgexamples.experiments.batch_norm.normalization_stats`, five seeds):
summary = result.summary()
print(f"{'':>8} | {'input |mean|':>12} {'input var':>9} | {'output |mean|':>13} {'output var':>10}")
for act in batch_norm.ORDER_ACTIVATIONS:
    print(
        f"{act:>8} | {summary[f'{act}_bn_pre_mean']:12.3f} {summary[f'{act}_bn_pre_var']:9.3f} | "
        f"{summary[f'{act}_bn_post_mean']:13.3f} {summary[f'{act}_bn_post_var']:10.3f}"
    )

# %%
# Before or after the nonlinearity?
# ---------------------------------
# Many practitioners place the layer after the nonlinearity instead. We train both orderings
# with sigmoid and with ReLU units, at two learning rates, on the same five seeds, and compare
# the final training loss. The two budgets:
for budget in batch_norm.ORDER_BUDGETS:
    print(budget)
order = result.order
SEEDS = batch_norm.ORDER_BUDGETS[0].seeds
LRS = [budget.lr for budget in batch_norm.ORDER_BUDGETS]
for act in batch_norm.ORDER_ACTIVATIONS:
    for lr in LRS:
        b, a = np.array(order[act, lr, "before"]), np.array(order[act, lr, "after"])
        print(
            f"{act:>7}, lr={lr}: before {b.mean():.3f} +- {b.std():.3f} | after {a.mean():.3f}"
            f" +- {a.std():.3f} | 'after' lower on {result.after_wins(act, lr)} of {len(SEEDS)}"
            " seeds"
        )
fig, axes = plt.subplots(1, 2, figsize=(8.8, 3.6), sharey=True)
for ax, act in zip(axes, batch_norm.ORDER_ACTIVATIONS, strict=True):
    cells = [(lr, pos) for lr in LRS for pos in ("before", "after")]
    for i, (lr, pos) in enumerate(cells):
        ax.scatter(np.full(len(SEEDS), i), order[act, lr, pos], color=f"C{i % 2}")
    ax.set_xticks(range(len(cells)), [f"{pos}\nlr={lr}" for lr, pos in cells])
    ax.set_yscale("log")
    ax.set_title(f"{act}: batch norm before vs after ({len(SEEDS)} seeds)")
axes[0].set_ylabel(f"training loss after {batch_norm.ORDER_BUDGETS[0].steps} steps")
plt.show()

# %%
# Conclusion
# ----------
# Under the same budget the 10-layer sigmoid network without normalization does not leave
# chance level, and with batch normalization it fits the training set; the tanh network trains
# either way, and reaches a lower loss with normalization. Normalization lifts the sigmoid
# network's first-layer gradient from a tiny fraction of the last layer's to within a small
# factor of it. The unit inputs tell a second story: without normalization the tanh unit's
# input distribution widens several-fold during training, while with normalization its spread
# stays nearly fixed; and the un-normalized sigmoid unit receives practically the same input
# for every image -- after ten sigmoid layers the forward signal itself has collapsed, so the
# network is stuck for a reason beyond small gradients.
#
# Placed as in the paper, the transform normalizes what enters each nonlinearity (mean 0,
# variance 1 per unit in the table above), not what leaves it: a sigmoid's outputs sit around
# 1/2 with a small variance, a ReLU's are non-negative. Which placement trains better is an
# empirical question whose answer, in the printed runs, depends on the activation: compare the
# seed counts for sigmoid and for ReLU above.
