"""
The adding problem: how far back can each cell remember?
========================================================

The adding problem (Hochreiter & Schmidhuber 1997) is a sequence of random numbers in which two
positions are marked -- one in the first half, one in the second -- and the target is the sum
of the two marked numbers. Solving it requires carrying a number from early in the sequence
to the end. We train a vanilla RNN, an LSTM and a GRU, all with 32 hidden units, on sequences
of length 10, 25 and 50 under one budget, and count a run as a success when its test MSE is
below a tenth of the MSE of always predicting the mean. Length 100 follows in
:ref:`sphx_glr_auto_examples_recurrent_plot_02_long_sequences.py`.
"""

# %%
# Setup
# -----
import matplotlib.pyplot as plt
import numpy as np

from vgexamples.experiments import adding
from vgexamples.plotting import use_style
from vgexamples.runtime import configure
from vgexamples.sequences import (
    ADDING_BASELINE_MSE,
    ADDING_BUDGET,
    CELLS,
    SUCCESS_FRACTION,
    adding_problem,
    baseline_mse,
    make_adding_split,
)

device = configure(seed=0)
use_style()

# %%
# What one example looks like
# ---------------------------
x, y = adding_problem(1, 25, seed=3)
fig, ax = plt.subplots(figsize=(7, 2.6))
ax.bar(np.arange(1, 26), x[0, :, 0], color="#56B4E9", label="value")
marked = np.flatnonzero(x[0, :, 1].numpy()) + 1
ax.bar(marked, x[0, marked - 1, 0], color="#D55E00", label="marked")
ax.set(
    xlabel="time step", ylabel="value", title=f"target = sum of the marked values = {y.item():.3f}"
)
ax.legend()
plt.show()

# %%
# The baseline: always predicting the mean
# ----------------------------------------
# The target is the sum of two independent uniform numbers, with variance
# :math:`2 \times 1/12 = 1/6`, so a model that ignores the input and predicts the mean has MSE
# 1/6. The generator agrees:
for length in (10, 50):
    split = make_adding_split(length, seed=0)
    print(f"T={length}: MSE of the training mean on the test set {baseline_mse(split):.4f}")
threshold = SUCCESS_FRACTION * ADDING_BASELINE_MSE
print(f"1/6 = {ADDING_BASELINE_MSE:.4f}; success threshold {threshold:.4f}")

# %%
# One budget for every cell and length
# ------------------------------------
# :func:`vgexamples.experiments.adding.run_lengths` trains each cell at each length with
# :func:`vgexamples.sequences.train_adding`, on 8,000 training sequences; the test set has
# 1,000. The budget:
print(ADDING_BUDGET)
result = adding.run_lengths(device=device)
lengths = result.lengths
results = {cell: [result.mse[length, cell, 0] for length in lengths] for cell in CELLS}
for length in lengths:
    for cell in CELLS:
        mse = result.mse[length, cell, 0]
        verdict = "solved" if result.solved(length, cell) else "not solved"
        print(
            f"T={length:3d} {cell:>4}: test MSE {mse:.4f} ({verdict}), "
            f"{result.step_ms[length, cell, 0]:.1f} ms/step"
        )

# %%
# How much of the gradient reaches the first step
# -----------------------------------------------
# After training, :func:`vgexamples.sequences.hidden_gradient_norms` measures the norm of the
# loss gradient with respect to every hidden state on 256 test sequences: the ratio of the
# first step's to the last step's tells how much of the error signal travels back through
# the whole sequence.
print(f"{'':>6} | " + " | ".join(f"{cell:>9}" for cell in CELLS))
for length in lengths:
    ratios = [result.after[length, cell, 0].ratio_first_to_last() for cell in CELLS]
    print(f"T={length:>4} | " + " | ".join(f"{r:9.2e}" for r in ratios))

# %%
# Test MSE against sequence length
# --------------------------------
fig, ax = plt.subplots(figsize=(7, 3.8))
for cell, marker in zip(CELLS, "os^", strict=True):
    ax.plot(lengths, results[cell], marker=marker, label=cell.upper())
ax.axhline(ADDING_BASELINE_MSE, color="grey", linestyle=":", label="predict the mean")
ax.axhline(SUCCESS_FRACTION * ADDING_BASELINE_MSE, color="grey", linestyle="--", label="success")
ax.set(xlabel="sequence length T", ylabel="test MSE", yscale="log", xticks=lengths)
ax.legend()
plt.show()


# %%
# Conclusion
# ----------
# The vanilla RNN learns part of the task on the shortest sequences (its test MSE is well
# below the mean predictor's) and nothing from length 25 on: it stays at the mean predictor's
# error. The LSTM and the GRU solve length 25 under the same budget, and after training they
# carry a far larger share of the gradient back to the first step than the RNN does (the
# second table). The first table shows this seed's outcome at length 50, where the budget
# starts to run short.
