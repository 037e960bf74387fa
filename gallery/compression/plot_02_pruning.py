"""
Pruning weights and pruning neurons
===================================

Han et al. (2015) showed that most weights of a trained network can be set to zero, with the
accuracy recovered by retraining the survivors. We prune a trained network in three ways:
the smallest weights of each layer, the smallest weights of the whole network, and whole
hidden units. For each we measure accuracy from 0 to 98% of the weights removed, with and
without fine-tuning, and then what the pruned model really costs: parameters, bytes on disk
and inference time.
"""

# %%
# Setup
# -----
import matplotlib.pyplot as plt

from vgexamples.experiments import pruning
from vgexamples.plotting import use_style
from vgexamples.runtime import configure

device = configure(seed=0)
use_style()

# %%
# A trained network to prune
# --------------------------
# :func:`vgexamples.experiments.pruning.run` trains a 64-128-128-10 network, prunes it every
# way and measures the results; the sections below read them. The dense network's budget:
print(pruning.BASE_BUDGET)
result = pruning.run(device=device)
print(f"dense network: {result.n_base} parameters, test accuracy {result.base_accuracy:.3f}")

# %%
# Three ways to prune, with and without fine-tuning
# -------------------------------------------------
# :func:`vgexamples.compression.prune_magnitude` with ``scope="layer"`` and ``"global"``
# calls ``torch.nn.utils.prune``'s ``l1_unstructured`` and ``global_unstructured``: a mask
# multiplies the weights, and masked weights get no gradient during fine-tuning.
# :func:`vgexamples.compression.prune_neurons` removes the least important fraction of every
# hidden layer's units and returns a smaller dense network. For neuron pruning the x
# coordinate is the fraction of weights that went away with the removed units. The
# fine-tuning budget, the same in every case:
print(pruning.FINE_TUNE)
amounts = sorted({amount for _, amount in result.curve})
results = result.curve

fig, axes = plt.subplots(1, 2, figsize=(8.8, 4), sharey=True)
labels = {"layer": "weights, per layer", "global": "weights, global", "neurons": "neurons"}
for ax, column, title in [(axes[0], 1, "no fine-tuning"), (axes[1], 2, "after fine-tuning")]:
    for method, label in labels.items():
        xs = [results[method, a][0] for a in amounts]
        ys = [results[method, a][column] for a in amounts]
        ax.plot(xs, ys, marker="o", markersize=3, label=label)
    ax.set_xlabel("fraction of parameters removed")
    ax.set_title(title)
axes[0].set_ylabel("test accuracy")
axes[0].legend()
plt.show()

print(f"{'method':>8} | amount | removed | no fine-tune | fine-tuned")
for (method, amount), (removed, acc, tuned) in results.items():
    print(f"{method:>8} | {amount:6.2f} | {removed:7.3f} | {acc:12.3f} | {tuned:10.3f}")

# %%
# What a mask buys, and what removing neurons buys
# ------------------------------------------------
# At 90% a masked network computes with a tenth of its weights, but it still stores and
# multiplies dense matrices of the original shape. ``torch.save`` of a model with live masks
# even writes both the original weights and the masks; folding the masks in
# (:func:`vgexamples.compression.make_pruning_permanent`) brings the file back to the dense
# size, zeros included. Stored as compressed sparse rows (CSR: each kept value with a 32-bit
# column index, plus row pointers; :func:`vgexamples.compression.csr_bytes`) the weights do
# shrink, and ``torch.sparse.mm`` multiplies them without the zeros. Removing 90% of the
# neurons instead leaves a dense network that is smaller in every sense.
print(f"{'model':>15} | params | non-zero | sparsity | saved bytes | inference (ms)")
for name, size in result.sizes.items():
    print(
        f"{name:>15} | {size['params']:6d} | {size['nonzero']:8d} "
        f"| {size['sparsity']:8.3f} | {size['bytes']:11d} | {size['ms']:14.3f}"
    )
summary = result.summary()
print(
    f"90% masked weights: {summary['dense_weight_bytes']} B dense, "
    f"{summary['masked_csr_bytes']} B as CSR ({summary['csr_ratio']:.1f}x smaller)\n"
    f"inference with sparse CSR products {summary['csr_ms']:.3f} ms "
    f"(dense network {summary['dense_ms']:.3f} ms)"
)

# %%
# Iterative pruning against one shot
# ----------------------------------
# Han et al. prune in several rounds, retraining in between
# (:func:`vgexamples.compression.iterative_prune`). We reach 97% global sparsity in four
# rounds or in one round followed by fine-tuning, with the same number of training steps
# for both, starting from three dense networks trained from different seeds. A difference
# counts as a win or a loss only beyond the margin printed. The budget, split over the rounds:
print(pruning.ITERATIVE, "; margin", pruning.MARGIN)
for seed, scores in result.iterative.items():
    print(
        f"base net {seed} (dense {result.base_accuracies[seed]:.3f}): one-shot "
        f"{scores[1][0]:.3f}, iterative (4 rounds) {scores[4][0]:.3f}, "
        f"sparsity {scores[4][1]:.3f}"
    )
print(
    f"iterative better on {summary['iterative_wins']}, worse on "
    f"{summary['iterative_losses']} of {summary['iterative_nets']} base nets"
)

# %%
# Conclusion
# ----------
# Without fine-tuning, magnitude pruning keeps most of the accuracy well past half of the
# weights removed (the table above has the values) and then falls; pruning whole neurons
# falls sooner. A short fine-tuning recovers
# almost all the accuracy for every method at 90% sparsity. Whether four prune-and-retrain
# rounds beat one-shot pruning with the same number of training steps is counted above, per
# base network, against the margin: at this budget the counts decide, not the method's
# reputation. The masks do not make the model smaller: the masked network has the dense
# parameter count and does the dense amount of arithmetic, its saved file is larger while
# masks are attached and the same size once they are folded in. CSR storage shrinks the
# weights by less than the fraction removed, since every kept value carries an index.
# Removing neurons yields a network whose parameters and file shrink with the units; compare
# the printed inference times for what each buys in speed.
