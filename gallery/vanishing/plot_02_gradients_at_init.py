"""
Per-layer gradients at initialization
=====================================

A fully connected network, 64 units wide and 20 layers deep, is built with five different
activations and given one batch of scikit-learn's handwritten digits. Before any training, we
measure the norm of the loss gradient with respect to every layer's weights. If the gradient
vanishes, the layers near the input receive orders of magnitude less of it than the layers near
the output. We repeat the measurement under PyTorch's default initialization and under He et
al.'s (2015), because the activation alone does not decide the outcome, and for three seeds of
the initial weights.
"""

# %%
# Setup
# -----
import matplotlib.pyplot as plt

from vgexamples.experiments import gradients_at_init
from vgexamples.plotting import plot_histograms, plot_layer_values, use_style
from vgexamples.runtime import configure

device = configure(seed=0)
use_style()

# %%
# One forward and backward pass per network
# -----------------------------------------
# :func:`vgexamples.experiments.gradients_at_init.run` builds each network from its seed and
# runs :func:`vgexamples.diagnostics.gradient_profile` on it: the pass with hooks attached,
# returning per-layer statistics and leaving the model exactly as it found it. The figures
# and the first table show seed 0.
result = gradients_at_init.run(device=device)
names, profiles = result.activations, {k[:2]: p for k, p in result.profiles.items() if k[2] == 0}
print(
    f"{result.depth} layers of {result.width} units, one batch of {result.batch} digits, "
    f"seeds {', '.join(map(str, result.seeds))}"
)

# %%
# Weight-gradient norm, layer by layer
# ------------------------------------
# Left: PyTorch's default initialization (weights uniform with bound
# :math:`1/\sqrt{n_\text{in}}`, a variance of :math:`1/(3 n_\text{in})`). Right: He
# initialization (variance :math:`2/n_\text{in}`). The y axis is logarithmic.
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for ax, init in zip(axes, ["default", "he"], strict=True):
    plot_layer_values(
        ax,
        {name: profiles[init, name].weight_grad_norm for name in names},
        ylabel="||dL/dW|| of the layer",
    )
    ax.set_title(f"init = {init!r}")
plt.show()

# %%
# How much smaller is the first layer's gradient than the last one's?
# -------------------------------------------------------------------
# The ratio ``first / last`` is scale free: 1 means every layer receives a similar gradient.
print(f"{'activation':>11} | {'default init':>13} | {'He init':>9}")
for name in names:
    r_default = profiles["default", name].ratio_first_to_last()
    r_he = profiles["he", name].ratio_first_to_last()
    print(f"{name:>11} | {r_default:13.2e} | {r_he:9.2e}")

# %%
# The same ratio for every seed: the smallest and the largest of the three.
print(f"{'activation':>11} | {'default init':>19} | {'He init':>19}")
for name in names:
    cells = [
        f"{min(result.ratios(i, name)):.1e} .. {max(result.ratios(i, name)):.1e}"
        for i in ("default", "he")
    ]
    print(f"{name:>11} | {cells[0]:>19} | {cells[1]:>19}")

# %%
# The back-propagated signal
# --------------------------
# Glorot & Bengio (2010) point out that the gradient with respect to each layer's
# *pre-activations* (the signal back-propagation passes down) can shrink even when weight
# gradients look tolerable, because a weight gradient also scales with the layer's input.
fig, ax = plt.subplots()
plot_layer_values(
    ax,
    {name: profiles["he", name].output_grad_norm for name in names},
    ylabel="||dL/dz|| per example",
)
ax.set_title("gradient w.r.t. each layer's pre-activations (He init)")
plt.show()

# %%
# Saturation and dead units at initialization
# -------------------------------------------
# With He initialization the sigmoid units sit mostly in their steep region (few are
# saturated), yet the gradient still vanishes: the sigmoid's derivative is at most 1/4, and
# He's weights are not large enough to make up for it.
# ReLU instead loses whole units that output zero for every example of the batch.
for name in names:
    p = profiles["he", name]
    # saturation is defined for the squashing functions only: a dash for the rectifiers
    sat = f"{max(p.saturated):6.1%}" if name in ("sigmoid", "tanh") else f"{'-':>6}"
    print(
        f"{name:>11}: most saturated layer {sat} | "
        f"dead units: first layer {p.dead[0]:5.1%}, last hidden layer {p.dead[-1]:5.1%}"
    )

# %%
# Activation histograms per layer
# -------------------------------
# Karpathy's diagnostic: the distribution of each layer's outputs for the batch. Under He
# initialization the tanh outputs stay spread over most of :math:`(-1, 1)`, so its units keep a
# usable slope, while the sigmoid's outputs cluster in a narrow band around 1/2: far from
# saturation, and still the gradient vanishes.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for ax, name in zip(axes, ["tanh", "sigmoid"], strict=True):
    plot_histograms(ax, profiles["he", name].activations, xlabel=f"{name} output", max_lines=5)
    ax.set_title(f"{name}, He init")
plt.show()
for name in ["tanh", "sigmoid"]:
    stds = profiles["he", name].activation_std
    print(f"{name:>7}: output std per layer between {min(stds):.3f} and {max(stds):.3f}")

# %%
# Conclusion
# ----------
# With the sigmoid, the first layer's gradient is many orders of magnitude smaller than the
# last layer's under both initializations. Under PyTorch's default initialization every
# activation, ReLU included, shows a vanishing gradient at this depth: the culprit there is the
# weight scale, not the nonlinearity. Under He initialization tanh and the three rectifiers
# keep first and last layers within a small factor of each other. Whether that is enough to
# train is the subject of the next example.

# sphinx_gallery_thumbnail_number = 1
