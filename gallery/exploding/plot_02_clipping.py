"""
Clipping by value and by norm
=============================

Gradient clipping caps the gradient before the optimizer uses it. Clipping *by value* clamps
every component into :math:`[-c, c]`; clipping *by norm* rescales the whole gradient to length
:math:`c` whenever it is longer. We first look at what each does to one real gradient, then
train the exploding ReLU network of the previous example under no clipping and both kinds of
clipping over a range of thresholds and three seeds. Both kinds use PyTorch's own
``clip_grad_value_`` and ``clip_grad_norm_``.
"""

# %%
# Setup
# -----
import math

import matplotlib.pyplot as plt
import numpy as np

from vgexamples.clipping import plot_clipping_sweep, summarize_sweep, sweep_table
from vgexamples.experiments import clipping
from vgexamples.plotting import use_style
from vgexamples.runtime import configure

device = configure(seed=0)
use_style()

# %%
# Run the experiment
# ------------------
# :func:`vgexamples.experiments.clipping.run_mlp` clips one gradient both ways and then runs
# the training sweep; the sections below read its result.
result = clipping.run_mlp(device=device)
one = result.clipped

# %%
# One gradient, clipped both ways
# -------------------------------
# The gradient of the exploding network on one batch, flattened into a single vector ``g``
# (:func:`vgexamples.experiments.clipping.one_gradient`). For each threshold we compare the
# clipped vector with ``g`` (:func:`vgexamples.clipping.clip_gradient`): its norm, and the
# cosine of the angle between them (1 means the direction is unchanged).
n_params, thresholds, cos = one.n_parameters, one.thresholds, one.cosine
print(
    f"{n_params} parameters; gradient norm {one.norm_before:.4g}, "
    f"largest |component| {one.largest_component:.4g}"
)
print(f"{'c':>8} | {'value: cos':>10} {'norm after':>10} | {'norm: cos':>10} {'norm after':>10}")
for i, c in enumerate(thresholds):
    row = [cos["value"][i], one.norm["value"][i], cos["norm"][i], one.norm["norm"][i]]
    print(f"{c:8.0e} | {row[0]:10.4f} {row[1]:10.4g} | {row[2]:10.4f} {row[3]:10.4g}")

fig, ax = plt.subplots(figsize=(6, 3.4))
ax.plot(thresholds, cos["value"], "o-", label="clip by value")
ax.plot(thresholds, cos["norm"], "s-", label="clip by norm")
ax.set(xscale="log", xlabel="threshold c", ylabel="cosine(clipped, original)")
ax.set_title("norm clipping keeps the direction, value clipping bends it")
ax.legend()
plt.show()

# %%
# A value-clipped gradient can be far longer than ``c``: with :math:`P` parameters its norm is
# at most :math:`c\sqrt{P}`. The two thresholds are therefore on different scales; the
# printed norms after clipping show it.
print(f"sqrt(P) = {math.sqrt(n_params):.1f}")

# %%
# Training under both kinds of clipping
# -------------------------------------
# :func:`vgexamples.clipping.clipping_sweep` trains the network with no clipping and with
# each kind at each threshold; each seed fixes the initial weights and the mini-batch order.
# A run *fails* if its loss becomes non-finite, or if its final training loss is within 10% of
# the chance level :math:`\log 10` (the loss of a network that outputs the same prediction
# for every image). The budget of every run:
print(result.budget)
print("thresholds:", ", ".join(f"{t:g}" for t in result.thresholds))
runs = result.runs
summary = summarize_sweep(runs)
print("\n".join(sweep_table(runs)))

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
plot_clipping_sweep(*axes, runs)
fig.suptitle(
    f"exploding ReLU network (gain {clipping.GAIN:g}), {len(result.budget.seeds)} seeds per point"
)
plt.show()

# %%
# Put on a common scale
# ---------------------
# The same results with the value-clipping thresholds multiplied by :math:`\sqrt{P}`, the
# largest norm a value-clipped gradient can reach. The two windows of thresholds that train
# well now roughly line up.
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
plot_clipping_sweep(*axes, runs, value_scale=math.sqrt(n_params))
plt.show()

best = {m: float(np.nanmin(summary[m]["median_loss"])) for m in ("value", "norm")}
print(
    f"best median final loss: value clipping {best['value']:.4f}, norm clipping {best['norm']:.4f}"
)


# %%
# Conclusion
# ----------
# Without clipping every seed's loss became non-finite within a few steps. Norm clipping
# shortens the gradient without turning it (cosine 1 at every threshold); value clipping turns
# it, more the smaller the threshold. Both kinds rescue training inside a window of thresholds:
# below it the steps are too small to make progress in the budget, above it clipping no longer
# bites and the first large steps wreck the network -- here its ReLU units die and the loss
# settles at the chance level rather than becoming non-finite. Measured by the largest
# gradient norm they allow, the two windows sit in the same place.
