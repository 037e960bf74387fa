import math

import pytest
import torch

from vgexamples.models import MLP
from vgexamples.precision import (
    activation_bytes,
    compare_outputs,
    format_table,
    model_bytes,
    overflow_fraction,
    probe_format,
    smallest_subnormal,
    time_matmul,
    underflow_fraction,
)


def test_probe_format_matches_ieee():
    f = probe_format("float16")
    assert (f.bits, f.mantissa_bits, f.max) == (16, 10, 65504.0)
    assert f.smallest_subnormal == smallest_subnormal("float16") == 2.0**-24
    assert probe_format("float32").mantissa_bits == 23
    assert probe_format("bfloat16").mantissa_bits == 7
    assert [t.name for t in format_table()] == ["float32", "float16", "bfloat16"]


def test_underflow_and_overflow_fractions():
    v = torch.tensor([1.0, 2.0**-26, 0.0, 1e5])
    assert underflow_fraction(v) == pytest.approx(1 / 3)
    assert underflow_fraction(v, scale=2.0**4) == 0.0
    assert overflow_fraction(v) == pytest.approx(1 / 3)
    assert underflow_fraction(torch.zeros(3)) == 0.0
    with pytest.raises(ValueError, match="scale"):
        underflow_fraction(v, scale=0)
    with pytest.raises(ValueError, match="values"):
        underflow_fraction(torch.tensor([math.nan]))


def test_compare_outputs_and_bytes(small):
    torch.manual_seed(0)
    net = MLP(64, 10, depth=1, width=16)
    change = compare_outputs(net, small.x_test, "bfloat16")
    with torch.no_grad():
        ref = net(small.x_test)
        low = net.to(torch.bfloat16)(small.x_test.to(torch.bfloat16)).float()
        net.float()
    agreement = float((ref.argmax(1) == low.argmax(1)).float().mean())
    assert change.finite and change.argmax_agreement == agreement
    assert change.max_abs_diff == pytest.approx(float((low - ref).abs().max()))
    assert net.head.weight.dtype is torch.float32  # the model itself is untouched
    x = small.x_test[:8]
    assert model_bytes(net) == 4 * sum(p.numel() for p in net.parameters())
    assert activation_bytes(net, x) == 4 * 8 * (16 + 16 + 10)


def test_time_matmul():
    assert time_matmul(8, "float32", repeats=2) > 0
    with pytest.raises(ValueError, match="n"):
        time_matmul(0)


def test_half_adam_step_counts_nan_and_inf(small):
    from vgexamples.precision import half_adam_step

    torch.manual_seed(0)
    net = MLP(64, 10, depth=1, width=16)
    step = half_adam_step(net, small.x_train[:32], small.y_train[:32])
    assert step["eps_in_fp16"] == 0
    assert step["nan"] + step["inf"] <= step["params"]
    assert net.head.weight.dtype is torch.float32  # the model itself is untouched
    with pytest.raises(ValueError, match="lr"):
        half_adam_step(net, small.x_train[:4], small.y_train[:4], lr=0)


def test_rounding_bound_cpu_features_and_weighted_loss():
    from vgexamples.precision import WeightedCrossEntropy, cpu_features, fp16_rounding_bound

    assert fp16_rounding_bound(torch.tensor([2.0, -4.0]), "float16", layers=2) == 4 * 2.0**-10
    with pytest.raises(ValueError, match="layers"):
        fp16_rounding_bound(torch.ones(2), layers=0)
    info = cpu_features()
    assert isinstance(info["capability"], str) and isinstance(info["flags"], list)
    out, y = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    loss = WeightedCrossEntropy(0.25)(out, y, torch.arange(4))
    assert loss == pytest.approx(0.25 * float(torch.nn.functional.cross_entropy(out, y)))
    with pytest.raises(ValueError, match="weight"):
        WeightedCrossEntropy(0)
    assert time_matmul(8, "bfloat16", repeats=2, via_fp32=True) > 0
