"""
The cliff: one recurrent unit
=============================

Pascanu, Mikolov & Bengio (2013) explain exploding gradients in recurrent networks with a
network of a single unit, :math:`x_t = w\\,\\sigma(x_{t-1}) + b`, started at :math:`x_0 = 0.5`
and run for 50 steps, with the loss :math:`(\\sigma(x_{50}) - 0.7)^2`. We evaluate its loss
surface over :math:`(w, b)` on a grid and run gradient descent across it with and without
norm clipping.
"""

# %%
# Setup
# -----
import matplotlib.pyplot as plt

from vgexamples.experiments import cliff
from vgexamples.plotting import use_style
from vgexamples.runtime import configure

configure(seed=0)
use_style()

# %%
# Run the experiment
# ------------------
# :func:`vgexamples.experiments.cliff.run` evaluates the surface
# (:func:`vgexamples.cliff.loss_grid`) and runs the descents
# (:func:`vgexamples.cliff.descent_path`); the sections below read its result.
result = cliff.run()

# %%
# The loss surface
# ----------------
# The recurrence is evaluated for the whole grid at once (every grid point is one entry of a
# tensor). Along a line in the :math:`(w, b)` plane the loss jumps from about 0.49 (the state
# settles near a fixed point with :math:`\sigma(x) \approx 0`) to about 0.09 (a fixed point with
# :math:`\sigma(x) \approx 1`): the map has two stable fixed points there, and which one
# :math:`x_{50}` ends near depends on the side of the border.
w_values, b_values, surface = result.w_values, result.b_values, result.surface
summary = result.summary()
print(f"loss range on the grid: {summary['loss_min']:.4f} .. {summary['loss_max']:.4f}")
print(f"largest change of the loss between neighbouring grid points: {summary['largest_jump']:.3f}")

# %%
# Gradient descent, with and without clipping
# -------------------------------------------
# Three starting points; clipping rescales the gradient with
# ``torch.nn.utils.clip_grad_norm_``. The descents' settings:
print(f"{result.steps} steps of learning rate {result.lr:g}; clipping at norm {result.clip_norm:g}")
starts, paths = cliff.STARTS, result.paths
for start in starts:
    for clip in (None, result.clip_norm):
        p = paths[start, clip]
        label = "no clipping" if clip is None else f"clip norm {clip}"
        print(
            f"start {start}, {label:>14}: largest gradient norm {max(p.grad_norm):8.3g}, "
            f"largest step {p.max_step:8.3g}\n{'':>34}final loss {p.loss[-1]:.4f}, "
            f"end (w, b) = ({p.params[-1, 0]:.2f}, {p.params[-1, 1]:.2f})"
        )

fig, axes = plt.subplots(1, 2, figsize=(8.8, 4.4), sharex=True, sharey=True)
for ax, clip in zip(axes, (None, result.clip_norm), strict=True):
    cs = ax.contourf(w_values, b_values, surface, levels=30, cmap="viridis")
    for start, colour in zip(starts, ("#E69F00", "#D55E00", "#FFFFFF"), strict=True):
        xy = paths[start, clip].params
        ax.plot(xy[:, 0], xy[:, 1], ".-", color=colour, markersize=3, linewidth=1)
        ax.plot(*start, "o", color=colour, markeredgecolor="black")
    ax.set(xlim=(w_values[0], w_values[-1]), ylim=(b_values[0], b_values[-1]), xlabel="w")
    ax.set_title("no clipping" if clip is None else f"norm clipping at {clip}")
# Unclipped paths that are thrown off the grid leave the picture; their end points are printed.
axes[0].set_ylabel("b")
fig.colorbar(cs, ax=axes, label="loss")
plt.show()

# %%
# Along each path
# ---------------
fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(8.8, 3.6))
for start in starts:
    for clip, style in ((None, "-"), (result.clip_norm, "--")):
        p = paths[start, clip]
        label = f"{start}, " + ("no clipping" if clip is None else "clipped")
        ax_loss.plot(p.loss, style, label=label)
        ax_grad.plot(p.grad_norm, style, label=label)
ax_loss.set(xlabel="step", ylabel="loss", yscale="log")
ax_grad.set(xlabel="step", ylabel="gradient norm (before clipping)", yscale="log")
ax_loss.legend()
plt.show()

# %%
# Conclusion
# ----------
# The loss surface is flat on both sides of a narrow wall. A gradient step that lands on the
# wall meets a gradient far larger than anywhere else on the path, and without clipping it
# throws the parameters far away -- onto a plateau where the loss is worse than it was and the
# gradient is too small to come back. Norm clipping keeps the direction of that gradient but
# caps the step, so the clipped paths cross the region and end at a low loss.
