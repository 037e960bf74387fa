"""
Initialization: keeping the variance constant through depth
===========================================================

A deep network passes two signals through every layer: activations forward and gradients
backward. If each layer multiplies their variance by a factor other than one, depth turns the
factor into an exponential. We build 50-layer tanh and ReLU networks, 128 units wide, under
five initializations -- small and large Gaussian weights, PyTorch's default, Xavier (Glorot &
Bengio 2010) and He (He et al. 2015) -- and measure the variance of every layer's activations
and back-propagated gradients on a batch of digits. Then we train a 30-layer ReLU network
from Xavier and from He initialization with the same budget, the comparison He et al. report
for a 30-layer convolutional network.
"""

# %%
# Setup
# -----
import math

import matplotlib.pyplot as plt

from vgexamples.experiments import initialization
from vgexamples.plotting import plot_layer_values, plot_training_curves, use_style
from vgexamples.propagation import layer_gains
from vgexamples.runtime import configure

device = configure(seed=0)
use_style()
SCHEMES = initialization.SCHEMES

# %%
# Run the experiment
# ------------------
# :func:`vgexamples.experiments.initialization.run` builds the networks from seed 0, profiles
# them and trains the two 30-layer networks; the sections below look at its result.
result = initialization.run(device=device)
DEPTH, WIDTH = result.depth, result.width

# %%
# What each scheme predicts
# -------------------------
# :func:`vgexamples.propagation.layer_gains` multiplies a layer's width by its weight variance
# and by the activation's moments: the factor by which one hidden layer multiplies the forward
# and the backward variance. Both are evaluated for unit-variance inputs; for tanh, the factor
# approaches ``width * Var(W)`` when the inputs are small (the linear regime).
print(f"{'scheme':>17} | {'tanh fwd':>8} {'tanh bwd':>8} | {'relu fwd':>8} {'relu bwd':>8}")
for label, (init, std) in SCHEMES.items():
    t = layer_gains(init, "tanh", WIDTH, std=std)
    r = layer_gains(init, "relu", WIDTH, std=std)
    print(f"{label:>17} | {t[0]:8.3f} {t[1]:8.3f} | {r[0]:8.3f} {r[1]:8.3f}")

# %%
# Measured variances, layer by layer
# ----------------------------------
# :func:`vgexamples.propagation.variance_profile` runs one forward and backward pass and
# returns each layer's activation variance and the variance of :math:`\partial L/\partial z_l`.
profiles = {
    (act, label): result.profile(act, label) for act in ("tanh", "relu") for label in SCHEMES
}

fig, axes = plt.subplots(2, 2, figsize=(8.8, 7), sharex=True)
for col, act in enumerate(("tanh", "relu")):
    plot_layer_values(
        axes[0, col],
        {lab: profiles[act, lab].activation_var for lab in SCHEMES},
        ylabel="Var(activation)",
        markers=False,
    )
    plot_layer_values(
        axes[1, col],
        {lab: profiles[act, lab].grad_var[:-1] for lab in SCHEMES},
        ylabel="Var(dL/dz)",
        markers=False,
    )
    axes[0, col].set_title(f"{act}, {DEPTH} layers of {WIDTH}")
for ax in axes.ravel():
    ax.legend()
plt.show()

# %%
# The same, in numbers
# --------------------
# Activation variance of the first and the last hidden layer, and the ratio of the gradient
# variance at the first hidden layer to that at the last (1 = no vanishing, no exploding).
# Zeros are underflow: the signal fell below the smallest float32 number.
for act in ("tanh", "relu"):
    for label in SCHEMES:
        p = profiles[act, label]
        ratio = initialization.grad_ratio(p)
        print(
            f"{act:>4} {label:>17}: Var(a) first {p.activation_var[0]:.2e}, last "
            f"{p.activation_var[-1]:.2e} | Var(grad) first/last "
            + ("- (last is 0)" if math.isnan(ratio) else f"{ratio:.2e}")
        )

# %%
# Why He's variance makes the tanh gradient grow
# ----------------------------------------------
# Under He's variance, :math:`n\,\mathrm{Var}(w) = 2`, the tanh network's gradient grows
# towards the input. The cause is each layer's backward gain
# :math:`n\,\mathrm{Var}(w)\,\mathbb E[\tanh'(z)^2]`, measured on the batch by
# :func:`vgexamples.propagation.backward_gains`: above one, the network is on the chaotic side
# of the order-to-chaos transition (Poole et al. 2016; Schoenholz et al. 2017). Saturated units
# (here: :math:`\tanh'(z) < 0.1`) lower :math:`\mathbb E[\tanh'(z)^2]`, so they work
# *against* the growth. Two controls with the identity in place of tanh, where no unit can
# saturate: the very same weights, and a linear network whose weight variance gives it the tanh
# network's mean gain.
for label in initialization.GAIN_SCHEMES:
    g = result.gains[label, 0]
    print(
        f"tanh, {label:>6}: gain per layer median {sorted(g.gain)[len(g.gain) // 2]:.3f} "
        f"(range {min(g.gain):.3f} to {max(g.gain):.3f})\n"
        f"{'':>14}product {g.predicted_ratio():.3g}, measured first/last "
        f"{initialization.grad_ratio(result.profile('tanh', label)):.3g}"
    )
sat = result.gains["He", 0].saturated
print(
    f"tanh, He: saturated units, layer 1 {sat[0]:.1%}, median layer "
    f"{sorted(sat)[len(sat) // 2]:.1%}"
)
for name in initialization.CONTROLS:
    print(f"control, {name}: first/last {initialization.grad_ratio(result.controls[name, 0]):.3g}")
fig, ax = plt.subplots(figsize=(6, 3.4))
he_gains = result.gains["He", 0]
layers = range(1, len(he_gains.gain) + 1)
ax.plot(layers, he_gains.gain, label="gain n Var(w) E[tanh'(z)^2]")
ax.plot(range(1, len(sat) + 1), sat, label="fraction saturated")
ax.axhline(1.0, color="0.5", lw=0.8)
ax.set_xlabel("hidden layer (1 = nearest the input)")
ax.set_title(f"tanh under He, {DEPTH} layers of {WIDTH}")
ax.legend()
plt.show()

# %%
# Training a 30-layer ReLU network: Xavier against He
# ---------------------------------------------------
# Both networks train with :func:`vgexamples.train.train_mlp` on the same data, seeds and
# budget; the only difference is the weight variance, :math:`1/n` against :math:`2/n` per
# layer. The networks and the budget:
print(f"{result.train_depth} hidden layers of {result.train_width} ReLU units")
print(result.budget)
histories = {init: result.history(init) for init in initialization.TRAINED_INITS}
fig, axes = plt.subplots(1, 2, figsize=(8.8, 3.6))
plot_training_curves(axes[0], histories, metric="train_loss")
plot_training_curves(axes[1], histories, metric="test_accuracy")
axes[0].set_title("30-layer ReLU MLP, same budget")
plt.show()
for init, h in histories.items():
    print(
        f"{init:>6}: final training loss {h.final_train_loss:.3f}, "
        f"test accuracy {h.final_test_accuracy:.1%}"
    )

# %%
# Why Xavier stalls here
# ----------------------
# With a square layer Xavier's variance is :math:`1/n`; a ReLU keeps half of its input's
# second moment, so each layer halves the forward variance. After 30 layers the signal that
# reaches the output is about :math:`2^{-30}` of the input's: the logits are all nearly zero,
# every class gets the same probability, and the gradients of the early layers are halved at
# every layer on the way back as well.
vp = result.xavier_trained_net
shrink = vp.activation_var[-1] / vp.activation_var[0]
print(
    f"Xavier, 30 layers: Var(a) last / first = {shrink:.2e}; halving 29 times gives {2.0**-29:.2e}"
)
print(f"per-layer factor measured: {initialization.layer_factor(vp.activation_var):.3f}")

# %%
# Conclusion
# ----------
# Each scheme multiplies the variance by a fixed factor per layer, and the measurements follow
# the factor printed for it: small Gaussian weights and PyTorch's default shrink both
# signals, large ones blow the ReLU network up, Xavier halves the ReLU network's variance at
# every layer, and He keeps it level. Tanh is gentler because it is nearly linear only for
# small inputs: Xavier lets its activations decay slowly rather than geometrically, and He's
# doubling gives each layer a backward gain a little above one, so the gradient grows towards
# the input; the few saturated units brake that growth rather than cause it (without them, on
# the same weights, it is far faster). Trained with the same budget, the 30-layer ReLU network
# starts learning at once under He initialization while under Xavier its loss stays at chance
# level, as He et al. report.

# sphinx_gallery_thumbnail_number = 1
