"""
Batch normalization in a deep sigmoid network
=============================================

Ioffe & Szegedy (2015) normalize every unit's input over the mini-batch, then let the network
rescale and shift it with two learned parameters per unit. We train 10-layer sigmoid and tanh
networks, 64 units wide, on the digits data with and without batch normalization under one
budget, and look at three things: the training curves, the gradient norm of every layer, and
the distribution of the input one sigmoid unit receives as training proceeds (the picture in
Ioffe & Szegedy's figure 1). Finally we measure whether the normalization should come before
or after the nonlinearity.
"""

# %%
# Setup
# -----
import matplotlib.pyplot as plt
import numpy as np

from vgexamples.data import load_digits
from vgexamples.diagnostics import TrainingRecorder
from vgexamples.monitors import InputQuantiles
from vgexamples.plotting import plot_layer_values, plot_training_curves, use_style
from vgexamples.runs import seeded_mlp, train_mlp
from vgexamples.runtime import configure
from vgexamples.train import train

device = configure(seed=0)
use_style()
data = load_digits(seed=0).to(device)
NET = dict(depth=10, width=64, init="xavier")
STEPS, LR = 400, 0.1

# %%
# Training with and without batch normalization
# ---------------------------------------------
# Plain SGD, learning rate 0.1, mini-batches of 64, 400 steps. Two callbacks ride along: a
# :class:`~vgexamples.diagnostics.TrainingRecorder` for per-layer gradient norms and an
# :class:`~vgexamples.monitors.InputQuantiles` that evaluates the network on the test images
# every 20 steps and keeps the 15th, 50th and 85th percentiles of the input to unit 0 of the
# last hidden layer's nonlinearity.
runs = {}
for act in ("sigmoid", "tanh"):
    for norm in ("none", "batch"):
        net = seeded_mlp(data, 0, activation=act, norm=norm, **NET)
        rec = TrainingRecorder(net, every=20)
        quant = InputQuantiles(net.activations[-1], data.x_test, unit=0, every=20)
        quant.record(0, net)
        hist = train(net, data, steps=STEPS, lr=LR, seed=0, eval_every=50, callbacks=[rec, quant])
        rec.remove()
        runs[act, norm] = (hist, rec, quant)
        print(
            f"{act:>7}, norm={norm:>5}: final training loss {hist.final_train_loss:.3f}, "
            f"test accuracy {hist.final_test_accuracy:.1%}"
        )

fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
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
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
for ax, act in zip(axes, ("sigmoid", "tanh"), strict=True):
    series = {}
    for norm in ("none", "batch"):
        rec = runs[act, norm][1]
        early = [i for i, s in enumerate(rec.steps) if s <= 100]
        series[f"norm={norm}"] = [
            np.mean([v[i] for i in early]) for v in rec.weight_grad_norm.values()
        ]
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
fig, axes = plt.subplots(2, 2, figsize=(10, 6.4), sharex=True)
for row, act in enumerate(("sigmoid", "tanh")):
    for col, norm in enumerate(("none", "batch")):
        ax = axes[row, col]
        q = runs[act, norm][2]
        v = q.as_array()
        ax.fill_between(q.steps, v[:, 0], v[:, 2], alpha=0.3, label="15th-85th percentile")
        ax.plot(q.steps, v[:, 1], label="median")
        ax.set_title(f"{act}, norm={norm}")
        ax.legend()
    axes[row, 0].set_ylabel("input to unit 0")
for ax in axes[1]:
    ax.set_xlabel("step")
plt.show()
for act in ("sigmoid", "tanh"):
    for norm in ("none", "batch"):
        v = runs[act, norm][2].as_array()
        print(
            f"{act:>7}, norm={norm:>5}: median {v[0, 1]:+.2f} -> {v[-1, 1]:+.2f}; "
            f"15-85 spread {v[0, 2] - v[0, 0]:.2e} -> {v[-1, 2] - v[-1, 0]:.2e}"
        )

# %%
# Before or after the nonlinearity?
# ---------------------------------
# Ioffe & Szegedy normalize the linear output, *before* the nonlinearity; many practitioners
# place the layer after it. We train both orderings on five seeds for 200 steps at two
# learning rates and compare the final training loss.
SEEDS, ORDER_STEPS = (0, 1, 2, 3, 4), 200
order = {}
for lr in (0.1, 0.5):
    for pos in ("before", "after"):
        order[lr, pos] = [
            train_mlp(
                data,
                s,
                activation="sigmoid",
                norm="batch",
                norm_position=pos,
                steps=ORDER_STEPS,
                lr=lr,
                eval_every=ORDER_STEPS,
                **NET,
            )[1].final_train_loss
            for s in SEEDS
        ]
for lr in (0.1, 0.5):
    b, a = np.array(order[lr, "before"]), np.array(order[lr, "after"])
    wins = int((a < b).sum())
    print(
        f"lr={lr}: before {b.mean():.3f} +- {b.std():.3f} | after {a.mean():.3f} +- "
        f"{a.std():.3f} | 'after' lower on {wins} of {len(SEEDS)} seeds"
    )
fig, ax = plt.subplots(figsize=(6, 3.6))
for i, (lr, pos) in enumerate(order):
    ax.scatter(np.full(len(SEEDS), i), order[lr, pos], color=f"C{i % 2}")
ax.set_xticks(range(len(order)), [f"{pos}\nlr={lr}" for lr, pos in order])
ax.set_yscale("log")
ax.set_ylabel(f"training loss after {ORDER_STEPS} steps")
ax.set_title("batch norm before vs after the sigmoid (5 seeds)")
plt.show()

# sphinx_gallery_start_ignore
# Headline numbers for the site's "Popular claims, tested" page (a no-op outside the docs build).
from vgexamples.results import record

record(
    "deep_nets.batch_norm_order",
    **{f"{pos}_lr{str(lr).replace('.', '_')}": float(np.mean(order[lr, pos])) for lr, pos in order},
    after_wins_lr0_1=int((np.array(order[0.1, "after"]) < np.array(order[0.1, "before"])).sum()),
    after_wins_lr0_5=int((np.array(order[0.5, "after"]) < np.array(order[0.5, "before"])).sum()),
    seeds=len(SEEDS),
)
# sphinx_gallery_end_ignore

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
# network is stuck for a reason beyond small gradients. On the ordering question the measured
# answer depends on the learning rate: at 0.1, normalizing after the sigmoid reaches a clearly
# lower training loss (the printed means and seed counts above); at 0.5 the gap between the
# two orderings is smaller.
