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

from vgexamples.plotting import use_style
from vgexamples.runtime import configure
from vgexamples.sequences import (
    ADDING_BASELINE_MSE,
    CELLS,
    SUCCESS_FRACTION,
    adding_problem,
    baseline_mse,
    make_adding_split,
    solved,
    train_adding,
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
# Adam, learning rate 0.01, 500 steps of 64 sequences drawn from 8,000 training sequences,
# seed 0; the test set has 1,000 sequences.
lengths = [10, 25, 50]
results = {cell: [] for cell in CELLS}
for length in lengths:
    split = make_adding_split(length, seed=0)
    for cell in CELLS:
        _, hist = train_adding(cell, length, data=split, seed=0, device=device)
        mse = hist.test_loss[-1]
        results[cell].append(mse)
        verdict = "solved" if solved(mse) else "not solved"
        print(
            f"T={length:3d} {cell:>4}: test MSE {mse:.4f} ({verdict}), "
            f"{1e3 * np.median(hist.step_time):.1f} ms/step"
        )

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

# sphinx_gallery_start_ignore
# Headline numbers for the site's "Popular claims, tested" page (a no-op outside the docs build).
from vgexamples.results import record

record(
    "recurrent.adding",
    **{
        f"{cell}_t{length}_solved": solved(results[cell][i])
        for cell in CELLS
        for i, length in enumerate(lengths)
    },
)
# sphinx_gallery_end_ignore

# %%
# Conclusion
# ----------
# The vanilla RNN learns part of the task on the shortest sequences (its test MSE is well
# below the mean predictor's) and nothing from length 25 on: it stays at the mean predictor's
# error. The LSTM and the GRU solve length 25 under the same budget. The table above shows this
# seed's outcome at length 50, where the budget starts to run short.
