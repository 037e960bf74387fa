"""
Building a network whose gradients explode
==========================================

Two constructions make the back-propagated gradient grow layer by layer. The first is a chain
of single sigmoid neurons with large weights and biases tuned so that every neuron works at the
sigmoid's steepest point; the second is a 10-layer ReLU network whose He-initialized weights are
multiplied by a gain above one. We measure the gradient layer by layer, then train the second
network with plain SGD and watch the loss jump and then stop being a number.
"""

# %%
# Setup
# -----
import math

import matplotlib.pyplot as plt

from vgexamples.experiments import exploding
from vgexamples.plotting import plot_layer_values, plot_training_curves, use_style
from vgexamples.runtime import configure

device = configure(seed=0)
use_style()

# %%
# Run the experiment
# ------------------
# :func:`vgexamples.experiments.exploding.run` measures both constructions and trains the
# second one; the sections below read its result.
result = exploding.run(device=device)

# %%
# A chain of sigmoid neurons at their steepest point
# --------------------------------------------------
# :func:`vgexamples.propagation.chain_bias_gradients`: every neuron has weight
# :math:`w = 100` and a bias that cancels its input, so every pre-activation is exactly 0,
# where the sigmoid's slope is 1/4. Going back one layer multiplies the gradient by
# :math:`w \cdot 1/4`.
chain, weight, ratios = result.chain, result.chain_weight, result.chain_ratios()
print("|dC/db_l|, input side first:", " ".join(f"{g:.3g}" for g in chain))
print(f"ratio between consecutive layers: min {min(ratios):.6g}, max {max(ratios):.6g}")
print(f"w / 4 = {weight / 4:g}")

# %%
# A ReLU network with weights above the critical scale
# ----------------------------------------------------
# He initialization is the critical scale for ReLU: the size of the signal and of the gradient
# stays constant from layer to layer. Multiplying every weight by a gain ``g`` (the ``gain``
# of :class:`vgexamples.models.MLP`) multiplies both by about ``g`` per layer. One
# forward/backward pass on a batch of digits records, per layer, the norm of the gradient
# with respect to the layer's output (the back-propagated signal) and of the gradient with
# respect to its weights.
profiles = {g: result.profile(g) for g in result.gains}
for g, p in profiles.items():
    print(
        f"gain {g:4.2f}: loss at init {p.loss:8.4g} | output gradient, first/last layer "
        f"{p.ratio_first_to_last('output_grad_norm'):8.3g}\n"
        f"{'':>11}weight-gradient norm, first layer {p.weight_grad_norm[0]:8.3g}, "
        f"last layer {p.weight_grad_norm[-1]:8.3g}"
    )

fig, (ax_chain, ax_out, ax_w) = plt.subplots(1, 3, figsize=(8.8, 3.8))
plot_layer_values(ax_chain, {f"w = {weight:g}": chain}, ylabel="|dC/db| of each neuron")
ax_chain.set_title("sigmoid chain, every neuron at z = 0")
for ax, attr, title in [
    (ax_out, "output_grad_norm", "gradient w.r.t. layer outputs"),
    (ax_w, "weight_grad_norm", "gradient w.r.t. weights"),
]:
    plot_layer_values(
        ax, {f"gain {g:g}": getattr(p, attr) for g, p in profiles.items()}, ylabel="norm"
    )
    ax.set_title(f"ReLU net, He x gain: {title}")
plt.show()

# %%
# The back-propagated signal grows towards the input by about ``g`` per layer. The weight
# gradients tell a different story: the gradient of layer ``l``'s weights is the product of the
# signal arriving from above (grown by the layers above ``l``) and the activation arriving from
# below (grown by the layers below ``l``), so every layer's weight gradient is inflated by about
# the same factor, ``g`` to the power of the depth. The explosion is global rather than
# concentrated in the first layers -- which is what the global norm of gradient clipping sees.

# %%
# Training the exploding network
# ------------------------------
# The same budget for the critical network and for gain 1.5. :func:`vgexamples.train.train`
# checks the loss before every step and stops at the first one that is not finite, recording
# why. The budget:
print(result.budget)
histories = {f"gain {g:g}": result.history(g) for g in result.trained_gains}
for label, hist in histories.items():
    print(f"{label}: {hist.steps_run} steps taken; stop reason: {hist.stop_reason}")

exploded = histories["gain 1.5"]
for step, (loss, norm) in enumerate(zip(exploded.loss, exploded.grad_norm, strict=True), 1):
    print(f"  gain 1.5, step {step}: loss {loss:.4g}, gradient norm {norm:.4g}")
print(f"  gain 1.5, step {exploded.steps_run + 1}: loss is not finite -> stopped")
print(f"gain 1: final test accuracy {histories['gain 1'].final_test_accuracy:.1%}")

fig, ax = plt.subplots(figsize=(7, 3.6))
plot_training_curves(ax, histories, metric="loss", log=True)
ax.set_xscale("log")
ax.set_title("mini-batch loss (x = last finite loss before the run stopped)")
plt.show()

# %%
# Conclusion
# ----------
# In the sigmoid chain each layer multiplies the gradient by exactly ``w/4`` (the printed
# ratios), so the first bias receives a gradient many orders of magnitude larger than the last.
# In the ReLU network above the critical scale the back-propagated signal grows towards the
# input, while the weight gradients of all layers are inflated together. Trained with SGD, the
# first steps multiply the loss by orders of magnitude until it is no longer finite; the
# training loop stops at that step and reports it instead of crashing. The same budget trains
# the network at the critical scale without trouble.
print(f"chance-level loss for ten classes: {math.log(10):.4f}")
