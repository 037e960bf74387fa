"""Training in fp16 and bf16: which gradient values of a shallow and a deep network underflow
in fp16 and what a loss scale does about it (Micikevicius et al. 2018), training in each format
with fp32 master weights and with the weights themselves in fp16, what the formats change in
a trained network's outputs, and memory and speed on the machine that runs it.

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
    activation_bytes,
    compare_outputs,
    model_bytes,
    time_matmul,
    underflow_fraction,
)
from ..results import record
from ..runtime import resolve_device
from ..train import Budget, History, Precision, train

__all__ = ["BUDGETS", "KEY", "NETS", "PRECISIONS", "HalfPrecision", "run"]

KEY = "compression.half_precision"
#: label -> MLP settings of the two networks compared.
NETS: dict[str, dict[str, object]] = {
    "shallow ReLU (2 x 64)": {"depth": 2, "width": 64, "activation": "relu"},
    "deep sigmoid (10 x 32)": {
        "depth": 10,
        "width": 32,
        "activation": "sigmoid",
        "init": "xavier",
    },
}
SHALLOW, DEEP = NETS
#: Each network's budget, the same in every format.
BUDGETS: dict[str, Budget] = {
    SHALLOW: Budget(steps=300, lr=0.05, optimizer="sgd", eval_every=50),
    DEEP: Budget(steps=500, lr=3e-3, optimizer="adam", eval_every=50),
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
        ``(net, seed) ->`` fraction of one batch's gradient values flushed to zero in fp16 at
        each loss scale of :data:`SCALES`, and in bf16 without scaling.
    log2_gradients
        ``net -> log2 |g|`` of the first seed's non-zero gradient values (for histograms).
    histories
        ``(net, precision label, seed) -> History``.
    pure
        ``optimizer -> History`` of the shallow net trained entirely in fp16 (first seed).
    outputs
        ``(network, format, seed) -> OutputChange`` for the fp32-trained shallow net
        (``"trained"``) and the too-large network (``"large"``).
    largest_hidden
        ``seed ->`` the largest hidden value of the too-large network on the test images.
    weight_bytes, activation_bytes
        ``format ->`` bytes of the shallow net's weights and of its activations for a batch
        of 256 (first seed, untrained).
    matmul_ms, step_ms
        ``(n, format) ->`` median milliseconds of an ``n x n`` matrix product on the CPU;
        ``precision label ->`` median milliseconds of a training step of the shallow net.
    """

    seeds: tuple[int, ...]
    underflow: dict[tuple[str, int], list[float]]
    bf16_underflow: dict[tuple[str, int], float]
    log2_gradients: dict[str, np.ndarray]
    histories: dict[tuple[str, str, int], History]
    pure: dict[str, History]
    outputs: dict[tuple[str, str, int], OutputChange]
    largest_hidden: dict[int, float]
    weight_bytes: dict[str, int]
    activation_bytes: dict[str, int]
    matmul_ms: dict[tuple[int, str], float]
    step_ms: dict[str, float]

    def accuracy(self, net: str, precision: str, seed: int | None = None) -> float:
        """Final test accuracy of one training run (default: first seed)."""
        key = (net, precision, self.seeds[0] if seed is None else seed)
        return self.histories[key].final_test_accuracy

    def summary(self) -> dict[str, object]:
        """The numbers recorded for the pages (first seed)."""
        seed = self.seeds[0]
        out: dict[str, object] = {
            "budgets": {net: str(b) for net, b in BUDGETS.items()},
            "fp16_agreement": self.outputs["trained", "float16", seed].argmax_agreement,
            "fp16_max_abs_diff": self.outputs["trained", "float16", seed].max_abs_diff,
            "bf16_agreement": self.outputs["trained", "bfloat16", seed].argmax_agreement,
            "bf16_max_abs_diff": self.outputs["trained", "bfloat16", seed].max_abs_diff,
            "large_net_fp16_finite": self.outputs["large", "float16", seed].finite,
            "large_net_bf16_finite": self.outputs["large", "bfloat16", seed].finite,
            "large_net_largest_hidden": self.largest_hidden[seed],
            "weight_ratio": self.weight_bytes["float16"] / self.weight_bytes["float32"],
            "activation_ratio": self.activation_bytes["float16"] / self.activation_bytes["float32"],
            "deep_underflow": self.underflow[DEEP, seed][0],
            "deep_underflow_scaled_2_8": self.underflow[DEEP, seed][8],
            "shallow_underflow": self.underflow[SHALLOW, seed][0],
            "pure_adam_stop": self.pure["adam"].stop_reason or "",
            "pure_sgd_accuracy": self.pure["sgd"].final_test_accuracy,
        }
        for n in sorted({n for n, _ in self.matmul_ms}):
            for fmt in ("float16", "bfloat16"):
                out[f"matmul_{n}_{fmt}_ratio"] = (
                    self.matmul_ms[n, fmt] / self.matmul_ms[n, "float32"]
                )
        out["accuracy"] = {
            net: {label: self.accuracy(net, label) for label in PRECISIONS} for net in NETS
        }
        return out


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
    histories, outputs, largest_hidden = {}, {}, {}
    for seed in seeds:
        for label, kwargs in NETS.items():
            torch.manual_seed(seed)
            g = gradient_values(MLP(64, 10, **kwargs), data.x_train[:256], data.y_train[:256])
            underflow[label, seed] = [underflow_fraction(g, "float16", s) for s in SCALES]
            bf16_underflow[label, seed] = underflow_fraction(g, "bfloat16")
            if seed == seeds[0]:
                log2_gradients[label] = np.log2(g[g != 0].abs().numpy())
            for run_label, precision in PRECISIONS.items():
                torch.manual_seed(seed)
                net = MLP(64, 10, **kwargs)
                histories[label, run_label, seed] = train(
                    net,
                    data,
                    seed=seed,
                    precision=precision,
                    device=device,
                    **BUDGETS[label].train_kwargs(),
                )
                if label == SHALLOW and run_label == "fp32":
                    for fmt in ("float16", "bfloat16"):
                        outputs["trained", fmt, seed] = compare_outputs(
                            net, data.x_test.to(device), fmt
                        )
        torch.manual_seed(seed)
        large = MLP(64, 10, **LARGE)
        for fmt in ("float16", "bfloat16"):
            outputs["large", fmt, seed] = compare_outputs(large, data.x_test, fmt)
        with torch.no_grad():
            h, largest = data.x_test, 0.0
            for block in large.blocks:
                h = block(h)
                largest = max(largest, float(h.abs().max()))
        largest_hidden[seed] = largest
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
    x = data.x_train[:256]
    weight_bytes = {"float32": model_bytes(net)}
    activation_bytes_ = {"float32": activation_bytes(net, x)}
    half = copy.deepcopy(net).half()
    weight_bytes["float16"] = model_bytes(half)
    activation_bytes_["float16"] = activation_bytes(half, x.half())
    matmul_ms = {
        (n, fmt): 1e3 * time_matmul(n, fmt, "cpu", repeats=10)
        for n in timing_sizes
        for fmt in ("float32", "float16", "bfloat16")
    }
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
        outputs,
        largest_hidden,
        weight_bytes,
        activation_bytes_,
        matmul_ms,
        step_ms,
    )
    record(KEY, **result.summary())
    return result
