"""
Which deep networks train?
==========================

The five 20-layer networks of the previous example, all with He initialization, are trained
for the same budget (1,000 steps of plain SGD, learning rate 0.05, batches of 64) on the
digits. We follow the loss, the test accuracy, and two failure modes recorded during training:
the fraction of saturated sigmoid/tanh units and the fraction of dead ReLU units.
"""

# %%
# Setup
# -----
import matplotlib.pyplot as plt
import numpy as np
import torch

from vgexamples.data import load_digits
from vgexamples.diagnostics import TrainingRecorder
from vgexamples.models import MLP
from vgexamples.plotting import plot_training_curves, use_style
from vgexamples.runtime import configure
from vgexamples.train import train

device = configure(seed=0)
use_style()
data = load_digits(seed=0)
names = ["sigmoid", "tanh", "relu", "leaky_relu", "prelu"]
BUDGET = {"steps": 1000, "lr": 0.05, "batch_size": 64, "optimizer": "sgd"}

# %%
# Train every network under one budget
# ------------------------------------
# A :class:`vgexamples.diagnostics.TrainingRecorder` rides along as a callback and records
# per-layer statistics every 25 steps.
histories, recorders = {}, {}
for name in names:
    torch.manual_seed(0)
    net = MLP(64, 10, depth=20, width=64, activation=name, init="he")
    rec = TrainingRecorder(net, every=25)
    histories[name] = train(net, data, seed=0, callbacks=[rec], device=device, **BUDGET)
    rec.remove()
    recorders[name] = rec
    h = histories[name]
    print(
        f"{name:>11}: final test accuracy {h.final_test_accuracy:6.1%}, "
        f"final training loss {h.final_train_loss:.3f}, "
        f"{1e3 * np.median(h.step_time):.1f} ms/step"
    )

# %%
# Training curves
# ---------------
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
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
fig, (ax_sat, ax_dead) = plt.subplots(1, 2, figsize=(10, 3.8))
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
    sat = recorders[name].saturated
    final = np.mean([v[-1] for v in sat.values()])
    print(f"{name:>7}: mean saturated fraction at the end {final:.1%}")
dead = recorders["relu"].dead
print(f"   relu: mean dead fraction at the end {np.mean([v[-1] for v in dead.values()]):.1%}")

# %%
# Conclusion
# ----------
# Under the same budget the sigmoid network stays at chance: its early layers receive almost
# no gradient. The tanh network and all three rectifier networks train to high test accuracy.
# Dead units are a real cost of ReLU here (a share of its units never activate for any
# example) but not a fatal one at this depth; leaky ReLU and PReLU avoid them by construction.
