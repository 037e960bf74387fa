"""Training in fp16 and bf16: which gradient values underflow in fp16 and what a loss scale
does about it (Micikevicius et al. 2018), training in each format with fp32 master weights and
with the weights themselves in fp16, what the formats change in a trained network's outputs,
and memory and speed on the machine that runs it.

The two trained networks: a shallow ReLU net with plain cross-entropy, and a ReLU net whose
loss is weighted by 2**-18 (:data:`LOSS_WEIGHT`), so that every gradient is that much smaller.
Adam's steps do not depend on the gradient's scale, so in fp32 the weighted net trains like an
unweighted one; in fp16 most of its gradient values underflow. A 10-layer sigmoid net is only
probed at initialization (its gradients shrink layer by layer).

Shown by ``gallery/compression/plot_01_half_precision.py``, quoted by
``docs/chapters/compression.md`` and the claims page, asserted by
``tests/claims/test_compression.py``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .._checks import check_seeds
from ..data import load_digits
from ..diagnostics import gradient_values
from ..models import MLP
from ..precision import (
    OutputChange,
    WeightedCrossEntropy,
    activation_bytes,
    compare_outputs,
    cpu_features,
    fp16_rounding_bound,
    half_adam_step,
    model_bytes,
    time_matmul,
    underflow_fraction,
)
from ..results import record
from ..runtime import resolve_device
from ..train import Budget, History, Precision, train

__all__ = ["BUDGETS", "KEY", "LOSS_WEIGHT", "NETS", "PRECISIONS", "HalfPrecision", "run"]

KEY = "compression.half_precision"
#: The weight of the small loss: every gradient of that network is 2**-18 times the usual one.
LOSS_WEIGHT = 2.0**-18
#: label -> MLP settings of the two networks trained in every format.
NETS: dict[str, dict[str, object]] = {
    "shallow ReLU (2 x 64)": {"depth": 2, "width": 64, "activation": "relu"},
    "ReLU (3 x 64), loss x 2**-18": {"depth": 3, "width": 64, "activation": "relu", "init": "he"},
}
SHALLOW, SMALL = NETS
#: Probed at initialization only: gradients that shrink layer by layer.
DEEP = "deep sigmoid (10 x 32)"
DEEP_NET = {"depth": 10, "width": 32, "activation": "sigmoid", "init": "xavier"}
#: Each network's loss (None: plain cross-entropy).
LOSSES = {SHALLOW: None, SMALL: WeightedCrossEntropy(LOSS_WEIGHT)}
#: Each network's budget, the same in every format.
BUDGETS: dict[str, Budget] = {
    SHALLOW: Budget(steps=300, lr=0.05, optimizer="sgd", eval_every=50),
    SMALL: Budget(steps=300, lr=3e-3, optimizer="adam", eval_every=50),
}
#: label -> the precision of a training run (fp32 master weights except in fp32 itself).
PRECISIONS: dict[str, Precision] = {
    "fp32": Precision("float32"),
    "fp16, no scaling": Precision("float16"),
    "fp16, dynamic scaling": Precision("float16", loss_scale="dynamic"),
    "bf16, no scaling": Precision("bfloat16"),
}
#: Pure fp16 (weights, gradients and updates in fp16): optimizer -> learning rate, shallow net.
PURE = {"sgd": 0.05, "adam": 1e-3}
#: A network whose hidden values leave fp16's range: eight layers, weights N(0, 0.6^2).
LARGE = {"depth": 8, "width": 64, "init": "normal", "init_std": 0.6}
SCALES = tuple(2.0**k for k in range(17))


@dataclass
class HalfPrecision:
    """What :func:`run` measured.

    Attributes
    ----------
    seeds
        Seeds of the networks (and of the mini-batch order).
    underflow, bf16_underflow
        ``(net, seed) ->`` fraction of one batch's gradient values (weights and activations,
        each network with its own loss) flushed to zero in fp16 at each loss scale of
        :data:`SCALES`, and in bf16 without scaling; nets are those of :data:`NETS` and
        :data:`DEEP`.
    log2_gradients
        ``net -> log2 |g|`` of the first seed's non-zero gradient values (for histograms).
    histories
        ``(net, precision label, seed) -> History``.
    pure
        ``optimizer -> History`` of the shallow net trained entirely in fp16 (first seed).
    pure_adam_step
        What one pure-fp16 Adam step breaks (:func:`vgexamples.precision.half_adam_step`).
    outputs
        ``(network, format, seed) -> OutputChange`` for the fp32-trained shallow net
        (``"trained"``) and the too-large network (``"large"``).
    rounding_bound
        ``(format, seed) ->`` the logit change that rounding alone explains
        (:func:`vgexamples.precision.fp16_rounding_bound`, one rounding per layer).
    large_layers
        ``seed -> [(largest |pre-activation| in fp32, non-finite in fp16)]`` for each linear
        layer of the too-large network, the head last.
    weight_bytes, activation_bytes
        ``format ->`` bytes of the shallow net's weights and of its activations for a batch
        of 256 (first seed, untrained); ``"mixed"``: activations under fp16 autocast.
    matmul_ms, step_ms
        ``(n, format) ->`` median milliseconds of an ``n x n`` matrix product on the CPU
        (format ``"float16 via fp32"`` etc.: converted to fp32, multiplied, converted back);
        ``precision label ->`` median milliseconds of a training step of the shallow net.
    cpu
        :func:`vgexamples.precision.cpu_features` of the machine.
    """

    seeds: tuple[int, ...]
    underflow: dict[tuple[str, int], list[float]]
    bf16_underflow: dict[tuple[str, int], float]
    log2_gradients: dict[str, np.ndarray]
    histories: dict[tuple[str, str, int], History]
    pure: dict[str, History]
    pure_adam_step: dict[str, float]
    outputs: dict[tuple[str, str, int], OutputChange]
    rounding_bound: dict[tuple[str, int], float]
    large_layers: dict[int, list[tuple[float, bool]]]
    weight_bytes: dict[str, int]
    activation_bytes: dict[str, int]
    matmul_ms: dict[tuple[int, str], float]
    step_ms: dict[str, float]
    cpu: dict[str, object]

    def accuracy(self, net: str, precision: str, seed: int | None = None) -> float:
        """Test accuracy at the last evaluation of one training run (default: first seed); for
        a run stopped by a non-finite loss, the last evaluation before the stop."""
        key = (net, precision, self.seeds[0] if seed is None else seed)
        return self.histories[key].final_test_accuracy

    def overflow_layer(self, seed: int) -> int | None:
        """Index of the first linear layer of the too-large network (the head is the last)
        whose fp16 output is non-finite; None if none is."""
        for i, (_, bad) in enumerate(self.large_layers[seed]):
            if bad:
                return i
        return None

    def memory(self) -> dict[str, int]:
        """Bytes of weights plus stored activations of one training step of the shallow net,
        per scheme: fp32; mixed precision (fp32 master weights, an fp16 copy of each weight
        for the pass, activations as autocast leaves them); pure fp16."""
        w32, w16 = self.weight_bytes["float32"], self.weight_bytes["float16"]
        return {
            "fp32": w32 + self.activation_bytes["float32"],
            "mixed": w32 + w16 + self.activation_bytes["mixed"],
            "pure fp16": w16 + self.activation_bytes["float16"],
        }

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages (first seed unless a key says otherwise)."""
        seed = self.seeds[0]
        trained16 = self.outputs["trained", "float16", seed]
        acc = {net: {label: self.accuracy(net, label) for label in PRECISIONS} for net in NETS}
        memory = self.memory()
        out: dict[str, object] = {
            "budgets": {net: str(b) for net, b in BUDGETS.items()},
            "loss_weight": LOSS_WEIGHT,
            "fp16_agreement": trained16.argmax_agreement,
            "fp16_max_abs_diff": trained16.max_abs_diff,
            "fp16_rounding_bound": self.rounding_bound["float16", seed],
            "fp16_min_agreement_seeds": min(
                self.outputs["trained", "float16", s].argmax_agreement for s in self.seeds
            ),
            "bf16_agreement": self.outputs["trained", "bfloat16", seed].argmax_agreement,
            "bf16_max_abs_diff": self.outputs["trained", "bfloat16", seed].max_abs_diff,
            "bf16_rounding_bound": self.rounding_bound["bfloat16", seed],
            "large_net_fp16_finite": self.outputs["large", "float16", seed].finite,
            "large_net_bf16_finite": self.outputs["large", "bfloat16", seed].finite,
            "large_net_largest_hidden": max(v for v, _ in self.large_layers[seed][:-1]),
            "large_net_largest_logit": self.large_layers[seed][-1][0],
            "large_net_overflow_layer": self.overflow_layer(seed),
            "large_net_layers": len(self.large_layers[seed]),
            "weight_ratio": self.weight_bytes["float16"] / self.weight_bytes["float32"],
            "activation_ratio": self.activation_bytes["float16"] / self.activation_bytes["float32"],
            "mixed_activation_ratio": (
                self.activation_bytes["mixed"] / self.activation_bytes["float32"]
            ),
            "memory_bytes": memory,
            "mixed_memory_ratio": memory["mixed"] / memory["fp32"],
            "pure_memory_ratio": memory["pure fp16"] / memory["fp32"],
            "deep_underflow": self.underflow[DEEP, seed][0],
            "deep_underflow_scaled_2_8": self.underflow[DEEP, seed][8],
            "shallow_underflow": self.underflow[SHALLOW, seed][0],
            "small_loss_underflow": self.underflow[SMALL, seed][0],
            "small_loss_underflow_scaled_2_8": self.underflow[SMALL, seed][8],
            "small_loss_underflow_scaled_2_16": self.underflow[SMALL, seed][16],
            "small_loss_bf16_underflow": self.bf16_underflow[SMALL, seed],
            "small_loss_fp16_stop": self.histories[SMALL, "fp16, no scaling", seed].stop_reason
            or "",
            "small_loss_fp16_best_accuracy": max(
                max(self.histories[SMALL, "fp16, no scaling", s].test_accuracy) for s in self.seeds
            ),
            "pure_adam_stop": self.pure["adam"].stop_reason or "",
            "pure_adam_step": dict(self.pure_adam_step),
            "pure_sgd_accuracy": self.pure["sgd"].final_test_accuracy,
            "cpu_capability": str(self.cpu["capability"]),
            "cpu_half_flags": ", ".join(self.cpu["flags"]) or "none",
        }
        for n in sorted({n for n, _ in self.matmul_ms}):
            for fmt in ("float16", "bfloat16"):
                base = self.matmul_ms[n, "float32"]
                out[f"matmul_{n}_{fmt}_ratio"] = self.matmul_ms[n, fmt] / base
                out[f"matmul_{n}_{fmt}_via_fp32_ratio"] = (
                    self.matmul_ms[n, f"{fmt} via fp32"] / base
                )
        out["accuracy"] = acc
        out["small_loss_accuracy_seeds"] = {
            label: [self.accuracy(SMALL, label, s) for s in self.seeds] for label in PRECISIONS
        }
        return out


def _large_layers(model: MLP, x: torch.Tensor) -> list[tuple[float, bool]]:
    """Per linear layer: largest |output| in fp32 and whether the fp16 copy's is non-finite."""
    half = copy.deepcopy(model).half()
    rows = []
    with torch.no_grad():
        h, hh = x.float(), x.half()
        for block, block16 in zip(model.blocks, half.blocks, strict=True):
            pre, pre16 = block[0](h), block16[0](hh)
            rows.append((float(pre.abs().max()), not bool(torch.isfinite(pre16).all())))
            h, hh = block(h), block16(hh)
        out, out16 = model.head(h), half.head(hh)
        rows.append((float(out.abs().max()), not bool(torch.isfinite(out16).all())))
    return rows


def run(
    *,
    seeds: Sequence[int] = (0,),
    timing_sizes: Sequence[int] = (128, 256),
    device: torch.device | str | None = None,
) -> HalfPrecision:
    """Measure everything above; networks are built after ``torch.manual_seed(seed)``."""
    seeds = check_seeds("seeds", seeds)
    device = resolve_device(device)
    data = load_digits(seed=0)
    underflow, bf16_underflow, log2_gradients = {}, {}, {}
    histories, outputs, rounding, large_layers = {}, {}, {}, {}
    probes = {**NETS, DEEP: DEEP_NET}
    for seed in seeds:
        for label, kwargs in probes.items():
            torch.manual_seed(seed)
            g = gradient_values(MLP(64, 10, **kwargs), data.x_train[:64], data.y_train[:64])
            if LOSSES.get(label) is not None:
                g = g * LOSSES[label].weight
            underflow[label, seed] = [underflow_fraction(g, "float16", s) for s in SCALES]
            bf16_underflow[label, seed] = underflow_fraction(g, "bfloat16")
            if seed == seeds[0]:
                log2_gradients[label] = np.log2(g[g != 0].abs().numpy())
        for label, kwargs in NETS.items():
            for run_label, precision in PRECISIONS.items():
                torch.manual_seed(seed)
                net = MLP(64, 10, **kwargs)
                loss = LOSSES[label] if LOSSES[label] is not None else "cross_entropy"
                histories[label, run_label, seed] = train(
                    net,
                    data,
                    seed=seed,
                    precision=precision,
                    loss=loss,
                    device=device,
                    **BUDGETS[label].train_kwargs(),
                )
                if label == SHALLOW and run_label == "fp32":
                    x = data.x_test.to(device)
                    with torch.no_grad():
                        net.eval()
                        logits = net(x)
                    for fmt in ("float16", "bfloat16"):
                        outputs["trained", fmt, seed] = compare_outputs(net, x, fmt)
                        rounding[fmt, seed] = fp16_rounding_bound(
                            logits, fmt, layers=len(net.linears)
                        )
        torch.manual_seed(seed)
        large = MLP(64, 10, **LARGE)
        for fmt in ("float16", "bfloat16"):
            outputs["large", fmt, seed] = compare_outputs(large, data.x_test, fmt)
        large_layers[seed] = _large_layers(large, data.x_test)
    first = seeds[0]
    pure = {}
    for optimizer, lr in PURE.items():
        torch.manual_seed(first)
        pure[optimizer] = train(
            MLP(64, 10, **NETS[SHALLOW]),
            data,
            steps=300,
            lr=lr,
            optimizer=optimizer,
            seed=first,
            precision=Precision("float16", mode="pure"),
            device=device,
        )
    torch.manual_seed(first)
    net = MLP(64, 10, **NETS[SHALLOW])
    adam_step = half_adam_step(net, data.x_train[:64], data.y_train[:64], lr=PURE["adam"])
    x = data.x_train[:256]
    weight_bytes = {"float32": model_bytes(net)}
    activation_bytes_ = {"float32": activation_bytes(net, x)}
    with torch.autocast(device_type="cpu", dtype=torch.float16):
        activation_bytes_["mixed"] = activation_bytes(net, x)
    half = copy.deepcopy(net).half()
    weight_bytes["float16"] = model_bytes(half)
    activation_bytes_["float16"] = activation_bytes(half, x.half())
    matmul_ms = {}
    for n in timing_sizes:
        matmul_ms[n, "float32"] = 1e3 * time_matmul(n, "float32", "cpu", repeats=10)
        for fmt in ("float16", "bfloat16"):
            matmul_ms[n, fmt] = 1e3 * time_matmul(n, fmt, "cpu", repeats=10)
            matmul_ms[n, f"{fmt} via fp32"] = 1e3 * time_matmul(
                n, fmt, "cpu", repeats=10, via_fp32=True
            )
    step_ms = {
        label: 1e3 * float(np.median(histories[SHALLOW, label, first].step_time))
        for label in PRECISIONS
    }
    result = HalfPrecision(
        seeds,
        underflow,
        bf16_underflow,
        log2_gradients,
        histories,
        pure,
        adam_step,
        outputs,
        rounding,
        large_layers,
        weight_bytes,
        activation_bytes_,
        matmul_ms,
        step_ms,
        cpu_features(),
    )
    record(KEY, **result.summary())
    return result
