"""
The adding problem as Hochreiter & Schmidhuber posed it
=======================================================

The adding problem of :ref:`sphx_glr_auto_examples_recurrent_plot_01_adding_problem.py` is the
later variant. The original is Experiment 4 of Hochreiter & Schmidhuber (1997): values
uniform in [-1, 1]; the first marked value :math:`X_1` among the first ten steps, the second
:math:`X_2` among the first :math:`T/2 - 1`; a marker of -1 at the first and last steps; the
target :math:`0.5 + (X_1 + X_2)/4`, in [0, 1]; and a sequence counts as processed correctly
when the absolute error at its end is below 0.04. Both marked values lie in the first half, so
the network must hold them for at least half the sequence. We train the same three cells under
the same budget on this variant, at length 25, and score them by the paper's criterion.
"""

# %%
# Setup
# -----
import matplotlib.pyplot as plt
import numpy as np

from vgexamples.experiments import adding
from vgexamples.plotting import use_style
from vgexamples.runtime import configure
from vgexamples.sequences import ADDING_BUDGET, CELLS, PAPER_TOLERANCE, adding_problem

device = configure(seed=0)
use_style()

# %%
# What one example looks like
# ---------------------------
x, y = adding_problem(1, 25, variant="hochreiter1997", seed=3)
t = np.arange(1, 26)
fig, ax = plt.subplots(figsize=(7, 2.6))
ax.bar(t, x[0, :, 0], color="#56B4E9", label="value")
marked = np.flatnonzero(x[0, :, 1].numpy() == 1) + 1
ax.bar(marked, x[0, marked - 1, 0], color="#D55E00", label="marked")
ax.axhline(0, color="grey", linewidth=0.8)
ax.set(xlabel="time step", ylabel="value", title=f"target = 0.5 + (X1 + X2)/4 = {y.item():.3f}")
ax.legend()
plt.show()

# %%
# Differences from the paper's setup
# ----------------------------------
# Our sequences all have exactly :math:`T` steps (the paper drew lengths between :math:`T` and
# :math:`T + T/10`), the cells have 32 hidden units and are trained with Adam for 500 steps of
# 64 sequences, while the paper trained until its stopping rule was met; and the shortest
# length the paper reports is :math:`T = 100`. Length 25 is where this budget separates the
# cells; it is far from the paper's lengths, and the comparison below is one of setups, not
# of results.
#
# The baselines change with the scale: the target's variance is about
# :math:`2 \times (1/3)/16 = 1/24` (a little less, because a marked value at the first step is
# set to 0), and a model that remembers only the later of the two marked values is left with
# the variance of the earlier one over 16, about :math:`1/48`. Both are measured on the test
# set.
print(ADDING_BUDGET)
result = adding.run_paper(device=device)
(length,) = result.lengths

# %%
# Scored by the paper's criterion
# -------------------------------
# "correct": the fraction of the 1,000 test sequences whose absolute error is below
# 0.04; "solved": this site's criterion, a test MSE below a tenth of the mean predictor's.
header = f"T={length:<3} {'':>18} | {'test MSE':>8} | {'solved':>6} | {'correct':>7}"
print(header)
print("-" * len(header))
rows = [
    ("mean predictor", result.mean_mse[length], None, result.mean_correct[length]),
    ("last marked value", result.last_value_mse[length], None, result.last_value_correct[length]),
]
rows += [
    (
        cell.upper(),
        result.mse[length, cell, 0],
        result.solved(length, cell),
        result.correct[length, cell, 0],
    )
    for cell in CELLS
]
for name, mse, ok, correct in rows:
    solved_col = "-" if ok is None else ("yes" if ok else "no")
    print(f"{'':5} {name:>18} | {mse:8.5f} | {solved_col:>6} | {correct:7.1%}")
print(
    f"solved: MSE < {result.threshold(length):.5f}; correct: |error| < {PAPER_TOLERANCE}; "
    "'-': not a trained run"
)

# %%
# The fraction correct, side by side
# ----------------------------------
names = ["mean", "last value", *(c.upper() for c in CELLS)]
values = [
    result.mean_correct[length],
    result.last_value_correct[length],
    *(result.correct[length, c, 0] for c in CELLS),
]
fig, ax = plt.subplots(figsize=(7, 3.2))
ax.bar(names, values, color=["#999999", "#999999", "#0072B2", "#E69F00", "#009E73"])
ax.set(ylim=(0, 1), ylabel=f"fraction with |error| < {PAPER_TOLERANCE}", title=f"T = {length}")
plt.show()

# %%
# Conclusion
# ----------
# The tables above are this build's outcome; the chapter page states it in words from the
# recorded numbers, and ``tests/claims/test_recurrent.py`` asserts it on three seeds: under
# this budget, at length 25, the GRU solves the original task, with most test sequences
# within the paper's 0.04, while the vanilla RNN and the LSTM stay at the mean predictor's
# error. Hochreiter & Schmidhuber's LSTM, trained until their stopping rule was met, solved
# the task at :math:`T = 100`, 500 and 1,000 (their Table 7); we did not measure the LSTM
# beyond this budget.
