"""
Clipping by value and by norm
=============================

Gradient clipping caps the gradient before the optimizer uses it. Clipping *by value* clamps
every component into :math:`[-c, c]`; clipping *by norm* rescales the whole gradient to length
:math:`c` whenever it is longer. We first look at what each does to one real gradient, then
train the exploding ReLU network of the previous example under no clipping and both kinds of
clipping over a range of thresholds and three seeds. Last, the same sweep on a network whose
gradient *vanishes*, to test the claim that clipping helps there too. Both kinds use PyTorch's
own ``clip_grad_value_`` and ``clip_grad_norm_``.
"""

# %%
# Setup
# -----
import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from vgexamples.clipping import plot_clipping_sweep, summarize_sweep, sweep_table
from vgexamples.data import load_digits
from vgexamples.diagnostics import gradient_profile
from vgexamples.experiments import clipping
from vgexamples.plotting import use_style
from vgexamples.runtime import configure

device = configure(seed=0)
use_style()

# %%
# Run the experiment
# ------------------
# :func:`vgexamples.experiments.clipping.run_mlp` clips one gradient both ways and then runs
# the training sweeps; the sections below read its result.
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

fig, axes = plt.subplots(1, 2, figsize=(8.8, 3.8))
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
fig, axes = plt.subplots(1, 2, figsize=(8.8, 3.8))
plot_clipping_sweep(*axes, runs, value_scale=math.sqrt(n_params))
plt.show()

best = {m: float(np.nanmin(summary[m]["median_loss"])) for m in ("value", "norm")}
print(
    f"best median final loss: value clipping {best['value']:.4f}, norm clipping {best['norm']:.4f}"
)

# %%
# Does clipping still act above the window?
# -----------------------------------------
# For every run we counted the steps at which the clipping changed the gradient (its norm
# above ``c`` for norm clipping, some component above ``c`` for value clipping), and after
# training we ran the network on the training images and counted its *dead* ReLU units: units
# that output zero for every image, so that they pass no gradient and can no longer learn.
# Per setting, the mean share of clipped steps over the seeds and the range of dead units.
print(f"{'setting':>15} | {'steps clipped':>13} | {'dead units (seeds)':>18}")
for mode in ("value", "norm"):
    for t in result.thresholds:
        mine = [r for r in runs if r.mode == mode and r.threshold == t]
        share = np.mean([r.clipped_share for r in mine])
        dead = [r.dead_fraction for r in mine]
        print(f"{mode:>5} c={t:7.0e} | {share:13.0%} | {min(dead):8.0%} .. {max(dead):4.0%}")

# %%
# Does clipping help a gradient that vanishes?
# --------------------------------------------
# Clipping can only shorten a gradient, so it should do nothing for one that is too short
# already. We test the claim anyway: the same budget, seeds and failure level, on the 20-layer
# sigmoid network of the vanishing-gradients chapter (He initialization,
# :func:`vgexamples.experiments.clipping.build_vanishing`), whose first layer receives a
# minute fraction of the last layer's gradient (printed below for seed 0, on 512 digits). Its
# gradient norm stays above both thresholds, so norm clipping shortens every step.
torch.manual_seed(result.budget.seeds[0])
digits = load_digits(seed=0)
vanishing = gradient_profile(clipping.build_vanishing(), digits.x_train[:512], digits.y_train[:512])
print(f"first/last weight-gradient ratio at initialization: {vanishing.ratio_first_to_last():.1e}")
print("\n".join(sweep_table(result.vanishing_runs)))


# %%
# Conclusion
# ----------
# Without clipping every seed's loss became non-finite within a few steps. Norm clipping
# shortens the gradient without turning it (cosine 1 at every threshold); value clipping turns
# it, more the smaller the threshold. Both kinds rescue training inside a window of thresholds.
# Below it the steps are too small to make progress in the budget. Above it clipping still
# acts, but only on the few largest steps: it caps them enough that the loss never becomes
# non-finite, not enough to save the network -- most of its ReLU units end dead and the loss
# settles at the chance level. Measured by the largest gradient norm they allow, the two
# windows sit in the same place. On the network whose gradient vanishes, no threshold of
# either kind let any seed leave the chance level: clipping is a remedy for gradients that are
# too long, not for gradients that are too short.
