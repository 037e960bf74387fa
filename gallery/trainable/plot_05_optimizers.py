"""
Optimizers on a network plain SGD cannot train
==============================================

Adaptive optimizers divide each parameter's step by a running measure of that parameter's
own gradient size: AdaGrad (Duchi et al. 2011) by the root of the sum of its past squared
gradients, RMSprop and Adam (Kingma & Ba 2015) by the root of an exponential average. A layer
whose gradients are a millionth of another layer's therefore still takes steps of a similar
size. We train the 10-layer sigmoid network of
:ref:`sphx_glr_auto_examples_trainable_plot_03_batch_norm.py` -- the one that plain SGD leaves
at chance level -- with five optimizers, and measure each layer's update-to-weight ratio.
"""

# %%
# Setup
# -----
import matplotlib.pyplot as plt

from vgexamples.experiments import optimizers
from vgexamples.plotting import plot_layer_values, plot_training_curves, use_style
from vgexamples.runtime import configure

device = configure(seed=0)
use_style()
GRID = optimizers.GRID

# %%
# A small learning-rate search per optimizer
# ------------------------------------------
# :func:`vgexamples.experiments.optimizers.run` trains the network with every optimizer and
# learning rate, a :class:`~vgexamples.monitors.TrainingRecorder` riding along, and keeps
# each optimizer's best learning rate by the final training loss on seed 0. Every run gets
# the same steps and batches:
b = optimizers.BUDGET
print(f"{b.steps} steps of {b.batch_size} examples, evaluated every {b.eval_every} steps")
result = optimizers.run(device=device)
best, STEPS = result.best, result.budget.steps
runs = {(opt, lr): result.runs[opt, lr, 0] for opt, lrs in GRID.items() for lr in lrs}
for opt, lrs in GRID.items():
    cells = ", ".join(f"lr={lr:g}: {runs[opt, lr][0].final_train_loss:.3f}" for lr in lrs)
    print(f"{opt:>8} | {cells} | best lr {best[opt]:g}")

# %%
# Training curves at the best learning rates
# ------------------------------------------
fig, ax = plt.subplots(figsize=(6.5, 4))
plot_training_curves(
    ax,
    {f"{opt} (lr={best[opt]:g})": runs[opt, best[opt]][0] for opt in GRID},
    metric="train_loss",
)
ax.set_title(f"10-layer sigmoid MLP, {STEPS} steps")
plt.show()

# %%
# How big is each layer's step?
# -----------------------------
# The update-to-weight ratio ``std(W_after - W_before) / std(W_before)`` of every linear
# layer, recorded by :class:`~vgexamples.monitors.TrainingRecorder` and averaged over the
# first 100 steps. Under SGD a layer's step is its gradient times the learning rate, so the
# ratio inherits the gradient's decay towards the input; the adaptive methods flatten it.
series = {opt: result.update_ratios(opt) for opt in GRID}
fig, ax = plt.subplots(figsize=(6.5, 4))
plot_layer_values(ax, series, ylabel="update / weight (steps 1-100)")
plt.show()
for opt, v in series.items():
    print(
        f"{opt:>8}: update ratio first layer {v[0]:.1e}, last layer {v[-1]:.1e}, "
        f"first/last {v[0] / v[-1]:.1e}"
    )

# %%
# What the adaptive step does not fix
# -----------------------------------
# Equal steps in every layer are not the same as a well-conditioned network. The same
# network with batch normalization, trained with plain SGD for comparison:
print(result.batch_norm_budget)
bn_hist = result.batch_norm[0]
summary = result.summary()
print(
    f"best adaptive run: {summary['best_adaptive_loss']:.3f}; "
    f"plain SGD with batch norm: {bn_hist.final_train_loss:.3f}"
)

# %%
# How many steps to a training loss of 1?
# ---------------------------------------
# The first evaluation at which the full training loss is below
# :data:`~vgexamples.experiments.optimizers.TARGET_LOSS`, at each optimizer's best learning
# rate (seed 0); a dash: never within the budget.
target = summary["target_loss"]
for name in [*GRID, "batchnorm_sgd"]:
    steps = summary[f"{name}_steps_to_target"]
    label = "SGD + batch norm" if name == "batchnorm_sgd" else name
    print(f"{label:>16}: {'-' if steps == float('inf') else int(steps)}")
print(f"(loss below {target:g}; evaluated every {summary['eval_every']} steps)")


# %%
# Conclusion
# ----------
# Plain SGD and SGD with momentum leave this network at chance level at every learning rate
# tried, and their update ratios fall by orders of magnitude from the last layer to the
# first. AdaGrad, RMSprop and Adam give every layer a step of similar relative size and do
# get the network off its plateau. They do not make it easy to train: with the same budget
# their training loss stays far above that of the same network with batch normalization and
# plain SGD. A per-parameter rescaling changes the size of the steps, not the forward signal,
# which ten stacked sigmoids squeeze almost flat (see the unit inputs in the batch
# normalization example).
