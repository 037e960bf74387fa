"""The claims page's judges for half precision and pruning: every verdict reachable from
plausible numbers, and the verdict the real experiments give at the page's budget."""

from __future__ import annotations

import pytest

from vgexamples import claims as c
from vgexamples.experiments import pruning

PRECISION = {
    "fp16_agreement": 1.0,
    "fp16_min_agreement_seeds": 1.0,
    "fp16_max_abs_diff": 0.007,
    "fp16_rounding_bound": 0.016,
    "large_net_fp16_finite": True,
}
PRUNING = {
    "dense_params": 26122,
    "masked_params": 26122,
    "masked_nonzero_fraction": 0.11,
    "masked_bytes": 211401,
    "dense_bytes": 107285,
    "csr_ratio": 4.6,
    "masked_speedup": 0.92,
    "csr_speedup": 1.48,
    "base_accuracy": 0.978,
    "accuracy_90_global_tuned": 0.969,
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, "holds"),
        ({"large_net_fp16_finite": False}, "holds only under conditions"),
        ({"fp16_max_abs_diff": 0.05}, "holds only under conditions"),
        ({"fp16_min_agreement_seeds": 0.97}, "false here"),
        ({"fp16_max_abs_diff": 0.5}, "false here"),
        ({"fp16_max_abs_diff": float("nan")}, "false here"),
    ],
)
def test_precision_judge_branches(change, expected):
    verdict = c.judge_precision({**PRECISION, **change})
    assert verdict.verdict == expected
    assert verdict.criterion
    finite = {**PRECISION, **change}["large_net_fp16_finite"]
    assert ("infinite or NaN" in verdict.evidence) is not finite


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, "holds only under conditions"),
        ({"masked_bytes": 40000, "masked_speedup": 2.0}, "holds"),
        ({"accuracy_90_global_tuned": 0.9}, "false here"),
        ({"csr_ratio": 1.2, "csr_speedup": 0.8}, "false here"),
    ],
)
def test_pruning_judge_branches(change, expected):
    verdict = c.judge_pruning({**PRUNING, **change})
    assert verdict.verdict == expected
    assert verdict.criterion


@pytest.mark.slow
def test_precision_verdict_from_the_real_experiment(half):
    verdict = c.judge_precision(half.summary())
    # decisions and logits as rounding explains, but the too-large network overflows
    assert verdict.verdict == "holds only under conditions"
    assert "infinite or NaN" in verdict.evidence


@pytest.mark.slow
def test_pruning_verdict_from_the_real_experiment():
    verdict = c.judge_pruning(pruning.run(device="cpu").summary())
    # masks shrink nothing; CSR storage and sparse kernels do
    assert verdict.verdict == "holds only under conditions"
