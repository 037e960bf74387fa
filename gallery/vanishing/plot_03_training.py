"""
Which deep networks train?
==========================

The five 20-layer networks of the previous example, all with He initialization, are trained
for the same budget on the digits. We follow the loss, the test accuracy, and two failure
modes recorded during training: the fraction of saturated sigmoid/tanh units and the fraction
of dead ReLU units. Before and after training we also measure the gradient ratio and the
forward signal of the previous example, so that a network that fails can be told which of the
two signals it lacked.
"""

# %%
# Setup
# -----
import matplotlib.pyplot as plt
import numpy as np

from vgexamples.experiments import activation_training
from vgexamples.plotting import plot_training_curves, use_style
from vgexamples.runtime import configure

device = configure(seed=0)
use_style()

# %%
# Train every network under one budget
# ------------------------------------
# :func:`vgexamples.experiments.activation_training.run` trains the five networks with
# :func:`vgexamples.train.train`; a :class:`vgexamples.monitors.TrainingRecorder` rides along
# as a callback and records per-layer statistics every 25 steps. The budget:
print(activation_training.BUDGET)
result = activation_training.run(device=device)
names = result.activations
histories = {name: result.history(name) for name in names}
recorders = {name: result.recorder(name) for name in names}
for name in names:
    h = histories[name]
    print(
        f"{name:>11}: final test accuracy {h.final_test_accuracy:6.1%}, "
        f"final training loss {h.final_train_loss:.3f}, "
        f"{1e3 * np.median(h.step_time):.1f} ms/step"
    )

# %%
# Training curves
# ---------------
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(8.8, 3.8))
plot_training_curves(ax_loss, histories, metric="loss", smooth=25)
plot_training_curves(ax_acc, histories, metric="test_accuracy")
ax_acc.axhline(0.1, color="grey", linestyle=":", linewidth=1)
ax_acc.text(0, 0.12, "chance", color="grey")
plt.show()

# %%
# Saturated and dead units over training
# --------------------------------------
# For each network, the first, middle and last hidden layers. Saturation is only defined for
# the sigmoid and tanh; a dead unit (zero output for the whole batch) only occurs with ReLU.
fig, (ax_sat, ax_dead) = plt.subplots(1, 2, figsize=(8.8, 3.8))
for name, ax, attr in [
    ("tanh", ax_sat, "saturated"),
    ("sigmoid", ax_sat, "saturated"),
    ("relu", ax_dead, "dead"),
]:
    rec = recorders[name]
    series = getattr(rec, attr)
    layers = list(series)
    for pos, style in zip([0, len(layers) // 2, len(layers) - 1], ["-", "--", ":"], strict=True):
        ax.plot(rec.steps, series[layers[pos]], style, label=f"{name}, layer {pos + 1}")
ax_sat.set(title="saturated units", xlabel="step", ylabel="fraction")
ax_dead.set(title="dead ReLU units", xlabel="step", ylabel="fraction")
ax_sat.legend(ncol=2)
ax_dead.legend()
plt.show()

for name in ["sigmoid", "tanh"]:
    final = result.final_fraction(name, "saturated")
    print(f"{name:>7}: mean saturated fraction at the end {final:.1%}")
print(f"   relu: mean dead fraction at the end {result.final_fraction('relu', 'dead'):.1%}")

# %%
# Gradient and forward signal, before and after training
# ------------------------------------------------------
# One forward/backward pass on 512 training images before and after training: the first
# layer's weight gradient over the last's, and the last hidden layer's spread across images
# (:func:`vgexamples.diagnostics.example_spread`; below float32's machine epsilon,
# about 1.2e-7, every image gives the same hidden vector up to rounding).
print(f"{'':>11} | {'first/last gradient':^21} | {'last-layer spread':^21}")
print(f"{'activation':>11} | {'before':>10} {'after':>10} | {'before':>10} {'after':>10}")
for name in names:
    ratios = [result.profile(name, w).ratio_first_to_last() for w in ("initial", "final")]
    spreads = [result.last_spread(name, w) for w in ("initial", "final")]
    print(
        f"{name:>11} | {ratios[0]:10.2e} {ratios[1]:10.2e} | {spreads[0]:10.2e} {spreads[1]:10.2e}"
    )

# %%
# Conclusion
# ----------
# Under the same budget the sigmoid network stays at chance, and the table above shows two
# reasons, measured side by side rather than separated: its early layers receive almost no
# gradient, and its last hidden layer gives the same output for every image, to float32
# rounding, before training and still after it. With no difference between images left at the
# top, the output layer could learn nothing but one prediction for all of them, even if the
# early layers did learn. The tanh network and all three rectifier networks train to high test
# accuracy. Dead units are a real cost of ReLU here (a share of its units never activate for
# any example) but not a fatal one at this depth; leaky ReLU and PReLU avoid them by
# construction.
