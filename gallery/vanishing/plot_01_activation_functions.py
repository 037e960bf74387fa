"""
Activation functions and their derivatives
==========================================

Back-propagation multiplies the gradient by the derivative of the activation function once
per layer, so the shape of that derivative decides how much signal survives a deep network.
This example plots five common activations next to their derivatives (computed by autograd,
not typed in) and measures where each one *saturates*, that is where its derivative falls below
10% of its largest value.
"""

# %%
# Setup
# -----
# :func:`vgexamples.runtime.configure` seeds every generator, fixes the number of CPU threads
# and returns the device (``cuda`` when available).
import matplotlib.pyplot as plt

from vgexamples.activations import (
    SATURATION_FRACTION,
    activation_and_derivative,
    max_derivative,
    saturation_edge,
)
from vgexamples.plotting import use_style
from vgexamples.runtime import configure

device = configure(seed=0)
use_style()
names = ["sigmoid", "tanh", "relu", "leaky_relu", "prelu"]

# %%
# The functions and their derivatives
# -----------------------------------
# :func:`vgexamples.activations.activation_and_derivative` evaluates an activation on a grid and
# differentiates it with ``torch.autograd``. PReLU is shown with its initial slope of 0.25
# (it is learned during training); leaky ReLU uses PyTorch's default slope of 0.01.
fig, (ax_f, ax_d) = plt.subplots(1, 2, figsize=(8.8, 3.6), sharex=True)
for name in names:
    x, y, dy = activation_and_derivative(name)
    ax_f.plot(x, y, label=name)
    ax_d.plot(x, dy, label=name)
ax_f.set(title="activation f(x)", xlabel="x", ylim=(-1.5, 3))
ax_d.set(title="derivative f'(x)", xlabel="x", ylim=(-0.05, 1.1))
ax_d.axhline(0.25, color="grey", linestyle=":", linewidth=1)
ax_f.legend()
plt.show()

# %%
# The largest derivative of each function
# ---------------------------------------
# The sigmoid's derivative :math:`\sigma(x)(1-\sigma(x))` peaks at :math:`x = 0`; tanh's peaks
# there too, four times higher. The rectifiers have slope 1 on the whole positive half-line.
for name in names:
    where, value = max_derivative(name)
    print(f"{name:>10}: max f'(x) = {value:.4f} at x = {where:+.3f}")

# %%
# Where the saturating functions go flat
# --------------------------------------
# A unit whose derivative is below 10% of the maximum passes on less than a tenth of the
# gradient it receives; the site calls it *saturated*
# (:data:`~vgexamples.activations.SATURATION_FRACTION` is that 10%, and
# :func:`vgexamples.diagnostics.activation_stats` counts saturated units with it).
# :func:`vgexamples.activations.saturation_edge` finds where each function crosses it.
print(f"saturated: derivative below {SATURATION_FRACTION:.0%} of its maximum")
for name in ["sigmoid", "tanh"]:
    print(f"{name:>7}: saturated for |x| > {saturation_edge(name):.2f}")

# %%
# Conclusion
# ----------
# The sigmoid never passes on more than a quarter of the incoming gradient, even at its best
# point; tanh passes on all of it near zero but goes flat outside a narrow band; the rectifiers
# pass on the gradient unchanged wherever they are active, and ReLU passes on nothing where it
# is not. The next example shows what these factors add up to across twenty layers.
