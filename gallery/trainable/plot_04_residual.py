"""
Residual connections and the degradation problem
================================================

He et al. (2016) observed that adding layers to a plain network (with batch normalization,
so not obviously a vanishing-gradient case) can make its *training* error worse, which
over-fitting cannot explain: they called it the degradation problem, and residual blocks
:math:`h \\leftarrow h + F(h)` removed it. We build plain and residual ReLU MLPs with 4, 8, 16
and 32 hidden blocks of 32 units, with and without batch normalization, and residual MLPs
without normalization whose branches start at zero -- the idea behind Fixup (Zhang et al. 2019)
and SkipInit (De & Smith 2020); we look at their gradients at initialization and train every
one of them with the same budget on several seeds.
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
# :func:`vgexamples.experiments.residual.run` builds every variant at every depth from each
# seed with He initialization, measures it at initialization and trains it; the sections below
# look at its result. The small-branch variant multiplies each residual branch by a learned
# scalar (``branch_scale`` of :class:`vgexamples.models.MLP`) that starts at zero, as in
# SkipInit, so that every block starts as the identity.
result = residual.run(device=device)
DEPTHS, SEEDS = result.depths, result.seeds
print(f"hidden blocks {', '.join(map(str, DEPTHS))}, {result.width} units each")
print(f"variants: {', '.join(VARIANTS)}; seeds {', '.join(map(str, SEEDS))}")

# %%
# Gradients at initialization, 32 blocks
# --------------------------------------
# :func:`vgexamples.diagnostics.gradient_profile` gives the weight-gradient norm of each
# linear layer for one batch of 512 images (seed 0).
profiles = {label: result.profiles[label, SEEDS[0]] for label in VARIANTS}
fig, ax = plt.subplots(figsize=(7, 4))
plot_layer_values(
    ax, {k: p.weight_grad_norm for k, p in profiles.items()}, ylabel="||dL/dW||", markers=False
)
ax.set_title("32 hidden blocks, He init, at initialization")
plt.show()
deepest = max(DEPTHS)
print(f"first/last layer weight gradient at {deepest} blocks, seeds {', '.join(map(str, SEEDS))}:")
for label in VARIANTS:
    cells = ", ".join(f"{result.at_init[label, deepest, s][1]:.2g}" for s in SEEDS)
    print(f"{label:>26}: {cells}")

# %%
# Why the residual network without normalization blows up
# -------------------------------------------------------
# He initialization makes each branch :math:`F(h) = \mathrm{ReLU}(Wh)` pass on the second
# moment of its input. Adding it to the identity path therefore at least doubles the second
# moment of the stream at every block -- more, because the stream and the branch are both
# sums of non-negative ReLU outputs, so their cross term is positive. The variance of each
# linear layer's output, which is proportional to its input's second moment, shows it. A
# branch that starts at zero leaves the stream unchanged at initialization. Mean per-block
# growth of Var(z) at each depth (mean over the seeds):
print(f"{'':>26} | " + " | ".join(f"{d:>4}" for d in DEPTHS))
for label in VARIANTS:
    cells = [np.mean([result.at_init[label, d, s][0] for s in SEEDS]) for d in DEPTHS]
    print(f"{label:>26} | " + " | ".join(f"{g:4.2f}" for g in cells))
vp = result.growth[SEEDS[0]]
print(f"residual, no BN, {deepest} blocks: Var(z) at the head {vp.preactivation_var[-1]:.2e}")

# %%
# Training every depth with one budget
# ------------------------------------
# Every variant and depth trains with :func:`vgexamples.train.train_mlp` under one budget.
# We report the loss on the full *training* set: the degradation problem is about
# optimization, not generalization. A run whose loss becomes NaN stops and is marked as
# diverged (the table gives the median over the seeds and how many diverged). The budget:
print(result.budget)
print(f"{'':>26} | " + " | ".join(f"{d:>3} blocks" for d in DEPTHS))
for label in VARIANTS:
    cells = []
    for depth in DEPTHS:
        losses = np.array(result.losses(label, depth))
        bad = int(np.isinf(losses).sum())
        if bad == len(losses):
            cells.append("  diverged")
        else:
            note = f"({bad}x div)" if bad else ""
            cells.append(f"{note:>2}{np.median(losses[np.isfinite(losses)]):.3f}".rjust(10))
    print(f"{label:>26} | " + " | ".join(cells))
print("median over the seeds that did not diverge; (kx div): k seeds diverged")

fig, ax = plt.subplots(figsize=(6.5, 4))
for label in VARIANTS:
    losses = [np.median(result.losses(label, d)) for d in DEPTHS]
    losses = [v if np.isfinite(v) else np.nan for v in losses]
    ax.plot(DEPTHS, losses, marker="o", label=label)
ax.set_xscale("log", base=2)
ax.set_xticks(DEPTHS, [str(d) for d in DEPTHS])
ax.set_yscale("log")
ax.set_xlabel("hidden blocks")
ax.set_ylabel(f"median training loss after {result.budget.steps} steps")
ax.set_title(f"{len(SEEDS)} seeds; missing points: the median run diverged")
ax.legend()
plt.show()


# %%
# Conclusion
# ----------
# With batch normalization the plain network degrades: under the same budget the 32-block
# plain network ends with a far *higher* training loss than the 8-block one. Its first
# layers' gradients are not vanishing at initialization; they are larger than the last
# layer's, by the printed factor -- on the exploding side. The residual network with batch
# normalization keeps a low training loss at every depth, as He et al. found. Without
# normalization the plain He-initialized network degrades as well, and the residual one with
# full branches is no remedy at all here: with identity skips and variance-preserving branches
# the forward signal about triples at every block, so the deeper residual networks diverge.
# Start each branch at zero and the same unnormalized residual network trains at every depth,
# on every seed. Residual connections need a way to keep the stream's scale in check --
# normalization inside the branch, as in the paper, or a branch that starts small.

# sphinx_gallery_thumbnail_number = 2
