"""
Residual connections and the degradation problem
================================================

He et al. (2016) observed that adding layers to a plain network (with batch normalization,
so not obviously a vanishing-gradient case) can make its *training* error worse, which
over-fitting cannot explain: they called it the degradation problem, and residual blocks
:math:`h \\leftarrow h + F(h)` removed it. We build plain and residual ReLU MLPs with 4, 8, 16
and 32 hidden blocks of 32 units, with and without batch normalization, look at their
per-layer gradients at initialization, and train every one of them with the same budget.
"""

# %%
# Setup
# -----
import matplotlib.pyplot as plt
import numpy as np

from vgexamples.experiments import residual
from vgexamples.plotting import plot_layer_values, use_style
from vgexamples.runtime import configure

device = configure(seed=0)
use_style()
VARIANTS = residual.VARIANTS

# %%
# Run the experiment
# ------------------
# :func:`vgexamples.experiments.residual.run` builds every variant from seed 0 with He
# initialization, measures the deepest ones at initialization and trains every variant at
# every depth; the sections below look at its result.
result = residual.run(device=device)
DEPTHS = result.depths
print(f"hidden blocks {', '.join(map(str, DEPTHS))}, {result.width} units each")

# %%
# Gradients at initialization, 32 blocks
# --------------------------------------
# :func:`vgexamples.diagnostics.gradient_profile` gives the weight-gradient norm of each
# linear layer for one batch of 512 images.
profiles = {label: result.profiles[label, 0] for label in VARIANTS}
fig, ax = plt.subplots(figsize=(7, 4))
plot_layer_values(
    ax, {k: p.weight_grad_norm for k, p in profiles.items()}, ylabel="||dL/dW||", markers=False
)
ax.set_title("32 hidden blocks, He init, at initialization")
plt.show()
for label, p in profiles.items():
    print(
        f"{label:>14}: first/last layer gradient {p.ratio_first_to_last():.2e}, "
        f"loss at init {p.loss:.3g}"
    )

# %%
# Why the residual network without normalization blows up
# -------------------------------------------------------
# He initialization makes each branch :math:`F(h) = \mathrm{ReLU}(Wh)` pass on the second
# moment of its input. Adding it to the identity path therefore at least doubles the second
# moment of the stream at every block -- more, because the stream and the branch are both
# sums of non-negative ReLU outputs, so their cross term is positive. The variance of each
# linear layer's output, which is proportional to its input's second moment, shows it.
vp = result.growth[0]
growth = residual.per_block_growth(vp)
print(
    f"residual, no BN: per-block growth of Var(z) {growth:.2f}; "
    f"Var(z) at the head {vp.preactivation_var[-1]:.2e}"
)

# %%
# Training every depth with one budget
# ------------------------------------
# Every variant and depth trains with :func:`vgexamples.train.train_mlp` under one budget.
# We report the loss on the full *training* set: the degradation problem is about
# optimization, not generalization. A run whose loss becomes NaN stops and is marked as
# diverged. The budget:
print(result.budget)
results = {(label, d): result.histories[label, d, 0] for label in VARIANTS for d in DEPTHS}
print(f"{'':>14} | " + " | ".join(f"{d:>3} blocks" for d in DEPTHS))
for label in VARIANTS:
    cells = []
    for depth in DEPTHS:
        h = results[label, depth]
        cells.append("  diverged" if h.diverged else f"{h.final_train_loss:10.3f}")
    print(f"{label:>14} | " + " | ".join(cells))

fig, ax = plt.subplots(figsize=(6.5, 4))
for label in VARIANTS:
    losses = [
        results[label, d].final_train_loss if not results[label, d].diverged else np.nan
        for d in DEPTHS
    ]
    ax.plot(DEPTHS, losses, marker="o", label=label)
ax.set_xscale("log", base=2)
ax.set_xticks(DEPTHS, [str(d) for d in DEPTHS])
ax.set_yscale("log")
ax.set_xlabel("hidden blocks")
ax.set_ylabel(f"training loss after {result.budget.steps} steps")
ax.set_title("missing points: the run diverged")
ax.legend()
plt.show()


# %%
# Conclusion
# ----------
# With batch normalization the plain network degrades: under the same budget the 32-block
# plain network ends with a far *higher* training loss than the 8-block one. Its first
# layers' gradients are not vanishing at initialization; they are larger than the last
# layer's, by the printed factor. The residual network with batch normalization keeps a low
# training loss at every depth, as He et al. found. Without normalization the plain
# He-initialized network degrades as well, and the residual one is no remedy at all here:
# with identity skips and variance-preserving branches the forward signal more than doubles
# at every block, so the deeper residual networks diverge. Residual connections need a way to
# keep the stream's scale in check -- normalization inside the branch, as in the paper, or a
# smaller initial branch.

# sphinx_gallery_thumbnail_number = 2
