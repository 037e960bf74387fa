"""
Training in fp16 and bf16
=========================

Half-precision formats store a number in 16 bits instead of 32. We first measure what fp16 and
bf16 can hold, then ask which gradient values of a real network survive the conversion, how a
loss scale rescues the ones that do not (Micikevicius et al. 2018), and what training in each
format gives in accuracy, memory and speed on the machine that built this page.
"""

# %%
# Setup
# -----
import matplotlib.pyplot as plt
import numpy as np
import torch

from vgexamples.experiments import half_precision
from vgexamples.plotting import plot_training_curves, use_style
from vgexamples.precision import format_table, probe_format, time_matmul
from vgexamples.runtime import configure

device = configure(seed=0)
use_style()
print("device:", device)

# %%
# What each format can hold
# -------------------------
# :func:`vgexamples.precision.probe_format` reads ``torch.finfo`` and checks it by probing:
# the mantissa width is the largest :math:`k` with :math:`1 + 2^{-k} \neq 1`, the smallest
# subnormal is found by halving until the value rounds to zero.
print(
    f"{'format':>9} | mantissa bits | eps      | max       | smallest normal | smallest subnormal"
)
for f in format_table():
    print(
        f"{f.name:>9} | {f.mantissa_bits:13d} | {f.eps:.2e} | {f.max:.3e} | "
        f"{f.smallest_normal:15.3e} | {f.smallest_subnormal:.3e}"
    )
half = torch.float16
# rounding is to the nearest value, ties to even: 2**-25 (halfway to 2**-24) goes to zero,
# anything above it to 2**-24; 65519 rounds down to 65504 and 65520 overflows
for x in (2.0**-24, 2.0**-25, 1.5 * 2.0**-25, 65504.0, 65519.0, 65520.0):
    print(f"{x:.6g} in fp16: {torch.tensor(x, dtype=half).item():.6g}")
print("1 + 2**-11 in fp16:", torch.tensor(1 + 2.0**-11, dtype=half).item())
print("2**-25 in bf16:", torch.tensor(2.0**-25, dtype=torch.bfloat16).item())

# %%
# Run the experiment
# ------------------
# :func:`vgexamples.experiments.half_precision.run` trains two networks on the digits: a
# shallow ReLU net, and a 3-layer ReLU net whose cross-entropy is weighted by 2**-18, as a
# loss can be when it is one term of a weighted sum or a mean over many positions. Every
# gradient of that network is 2**-18 times the usual one; Adam's steps do not depend on the
# gradient's scale, so in fp32 it trains as usual. A 10-layer sigmoid net, whose gradients
# shrink layer by layer, is probed at initialization only. The sections below read the
# result. Each trained network's budget, the same in every format:
for label, budget in half_precision.BUDGETS.items():
    print(f"{label}:\n    {budget}")
result = half_precision.run(device=device)
nets, runs = half_precision.NETS, half_precision.PRECISIONS

# %%
# Where a network's gradients lie
# -------------------------------
# Every weight gradient and every back-propagated activation gradient of one fp32 batch
# (:func:`vgexamples.diagnostics.gradient_values`), as a histogram of :math:`\log_2|g|` with
# fp16's limits: left of the smallest subnormal a value becomes zero, between it and the
# smallest normal it keeps fewer mantissa bits.
fp16 = probe_format("float16")
fig, ax = plt.subplots()
for label, log2g in result.log2_gradients.items():
    ax.hist(log2g, bins=80, histtype="step", density=True, label=label)
ax.axvline(np.log2(fp16.smallest_subnormal), color="k", ls="--", label="fp16 smallest subnormal")
ax.axvline(np.log2(fp16.smallest_normal), color="k", ls=":", label="fp16 smallest normal")
ax.set_xlabel("log2 |gradient value|")
ax.set_ylabel("density")
ax.legend()
plt.show()

# %%
# How much underflows, and what a loss scale does
# -----------------------------------------------
# Multiplying the loss by :math:`S` multiplies every gradient by :math:`S`; dividing the
# fp32 master gradient by :math:`S` afterwards undoes it. We count the fraction of non-zero
# gradient values that become exactly zero in fp16
# (:func:`vgexamples.precision.underflow_fraction`) for :math:`S = 1, 2, \dots, 2^{16}`.
fig, ax = plt.subplots()
for label in result.log2_gradients:
    fractions = result.underflow[label, 0]
    ax.plot(range(len(fractions)), fractions, marker="o", markersize=3, label=label)
    print(f"{label}: underflow at S=1: {fractions[0]:.2%}, at S=2**8: {fractions[8]:.2%}")
    print(f"{'':>{len(label)}}  in bf16 at S=1: {result.bf16_underflow[label, 0]:.2%}")
ax.set_xlabel("log2 of the loss scale S")
ax.set_ylabel("fraction of gradient values flushed to 0 in fp16")
ax.legend()
plt.show()

# %%
# Training in each format
# -----------------------
# :func:`vgexamples.train.train` with a :class:`~vgexamples.train.Precision` runs the forward
# and backward passes under ``torch.autocast`` in fp16 or bf16 while the optimizer updates
# fp32 master weights; with ``loss_scale="dynamic"`` it uses ``torch.amp.GradScaler``. Every
# run sees the same mini-batches.
histories = {(label, run): result.histories[label, run, 0] for label in nets for run in runs}
widths = [max(5, len(run)) for run in runs]  # each column as wide as its heading
print(
    f"{'network':>28} | " + " | ".join(f"{run:>{w}}" for run, w in zip(runs, widths, strict=True))
)
for label in nets:
    accs = [result.accuracy(label, run) for run in runs]
    print(f"{label:>28} | " + " | ".join(f"{a:{w}.3f}" for a, w in zip(accs, widths, strict=True)))

# %%
# The small-loss net: which runs learn
# ------------------------------------
# Test accuracy during training. Chance level is 0.1. A run whose loss became non-finite
# stops there; its curve ends early.
fig, ax = plt.subplots()
plot_training_curves(
    ax,
    {run: histories[half_precision.SMALL, run] for run in runs},
    metric="test_accuracy",
)
ax.set_title(half_precision.SMALL + ", Adam")
plt.show()
for run in runs:
    h = histories[half_precision.SMALL, run]
    print(f"{run:>21}: best {max(h.test_accuracy):.3f}, {h.stop_reason or 'full budget'}")

# %%
# Weights in fp16 too
# -------------------
# With ``mode="pure"`` the model itself is converted: weights, gradients and updates are all
# fp16. Plain SGD still trains the shallow net. Adam breaks at once: its default
# :math:`\epsilon = 10^{-8}` rounds to zero in fp16, so a parameter with a zero gradient gets
# :math:`0/0` (NaN), and one whose second moment :math:`(1-\beta_2)g^2` underflows gets a
# non-zero number divided by zero (infinite). We count both after one step
# (:func:`vgexamples.precision.half_adam_step`).
print("1e-8 stored in fp16:", torch.tensor(1e-8, dtype=half).item())
step = result.pure_adam_step
print(
    f"after one pure-fp16 Adam step, of {step['params']} parameters:\n"
    f"  {step['nan']} NaN ({step['zero_grad']} had a zero gradient)\n"
    f"  {step['inf']} infinite ({step['second_moment_underflow']} had a second moment "
    "that underflowed)"
)
for optimizer, h in result.pure.items():
    accuracy = "-" if h.diverged else f"{h.final_test_accuracy:.3f}"
    print(f"pure fp16, {optimizer}: accuracy {accuracy}; {h.stop_reason or 'full budget'}")

# %%
# Does halving the precision change the output?
# ---------------------------------------------
# :func:`vgexamples.precision.compare_outputs` runs a network in fp32 and a copy of it
# entirely in the small format: first the shallow net trained in fp32 above, then an 8-layer
# network whose weights are too large, so that its hidden values grow layer by layer.
for fmt in ("float16", "bfloat16"):
    change = result.outputs["trained", fmt, 0]
    print(
        f"trained shallow net in {fmt}: same class for {change.argmax_agreement:.1%} "
        f"of test images, logits move by up to {change.max_abs_diff:.2g}"
    )
    print(
        f"  fp{'16' if fmt == 'float16' else 'bf16'} rounding alone explains about "
        f"{result.rounding_bound[fmt, 0]:.2g}"
    )
print("too-large network, largest |value| per linear layer in fp32 (head last):")
for i, (value, bad) in enumerate(result.large_layers[0]):
    print(f"  layer {i + 1}: {value:10.4g}  {'non-finite in fp16' if bad else ''}")
for fmt in ("float16", "bfloat16"):
    finite = result.outputs["large", fmt, 0].finite
    print(f"  in {fmt}: outputs {'finite' if finite else 'infinite or NaN'}")

# %%
# Memory
# ------
# Every stored value takes 2 bytes instead of 4. Mixed-precision training keeps fp32 master
# weights and makes an fp16 copy of each for the pass, so it saves on the activations only;
# pure fp16 halves everything.
w32, w16 = result.weight_bytes["float32"], result.weight_bytes["float16"]
a32, a16 = result.activation_bytes["float32"], result.activation_bytes["float16"]
print(f"weights: {w32} B in fp32, {w16} B in fp16 (ratio {w16 / w32})")
print(f"activations of a 256-example batch: {a32} B vs {a16} B (ratio {a16 / a32})")
for scheme, nbytes in result.memory().items():
    print(
        f"weights + activations, {scheme:>9}: {nbytes} B ({nbytes / result.memory()['fp32']:.2f})"
    )

# %%
# Speed, measured here
# --------------------
# The median time of one square matrix product, and the median time of one training step of
# the shallow net from the runs above, beside the same product computed by converting both
# factors to fp32 and the result back: a format much slower than that detour has no fast
# kernel on this CPU. The processor's half-precision instruction sets are listed first. GPUs
# with tensor cores
# run both half formats natively (Micikevicius et al. 2018); the CUDA line is printed only when
# a GPU is present.
print(
    f"PyTorch CPU capability: {result.cpu['capability']}; "
    f"half-precision flags: {', '.join(result.cpu['flags']) or 'none'}"
)
for n in sorted({n for n, _ in result.matmul_ms}):
    t = result.matmul_ms
    print(f"cpu {n}x{n} matmul: fp32 {t[n, 'float32']:.3f} ms")
    for f in ("float16", "bfloat16"):
        print(
            f"  {f}: {t[n, f]:.3f} ms ({t[n, f] / t[n, 'float32']:.2f}x), via fp32 "
            f"{t[n, f + ' via fp32']:.3f} ms ({t[n, f + ' via fp32'] / t[n, 'float32']:.2f}x)"
        )
if torch.cuda.is_available():
    for n in (1024, 4096):
        t = {f: time_matmul(n, f, "cuda") for f in ("float32", "float16", "bfloat16")}
        print(
            f"cuda {n}x{n} matmul: fp32 {t['float32'] * 1e3:.3f} ms, "
            f"fp16 {t['float16'] * 1e3:.3f} ms, bf16 {t['bfloat16'] * 1e3:.3f} ms"
        )
else:
    print("no CUDA device here: GPU timings not measured")
for run, ms in result.step_ms.items():
    print(f"training step, shallow net, {run:>21}: {ms:.2f} ms")

# %%
# Conclusion
# ----------
# fp16 keeps about three decimal digits and nothing below 2**-25; bf16 keeps fp32's range
# with fewer digits. For the shallow ReLU net no gradient underflows and every format reaches
# the same accuracy (the table above). When the loss is small, most gradient values underflow
# in fp16: the printed accuracies and curves show the unscaled fp16 run against fp32, and
# dynamic loss scaling against both. A trained network's decisions and logits move in fp16
# and bf16 by what the printed rounding bound explains, and a network whose values pass
# fp16's range gives no finite output in fp16 at all: the layer table shows where the first
# infinity appears. Mixed precision saves memory on activations, pure fp16 on everything.
# Speed is a property of the hardware: the printed timings and flags say what half precision
# costs or saves on the machine that built this page.

# sphinx_gallery_thumbnail_number = 2
