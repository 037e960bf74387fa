import math

import pytest
import torch

from vgexamples.data import load_digits
from vgexamples.models import MLP
from vgexamples.precision import (
    activation_bytes,
    as_dtype,
    compare_outputs,
    format_table,
    gradient_values,
    model_bytes,
    overflow_fraction,
    probe_format,
    smallest_subnormal,
    time_matmul,
    train_precision,
    underflow_fraction,
)


@pytest.fixture(scope="module")
def small():
    return load_digits(seed=0, n_train=100)


def test_as_dtype():
    assert as_dtype("float16") is torch.float16
    assert as_dtype(torch.bfloat16) is torch.bfloat16
    with pytest.raises(ValueError, match="dtype"):
        as_dtype("float64")
    with pytest.raises(ValueError, match="dtype"):
        as_dtype(torch.int8)


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


def test_gradient_values_restores_grads(small):
    net = MLP(64, 10, depth=2, width=8)
    g = gradient_values(net, small.x_train[:16], small.y_train[:16], "weights")
    assert g.numel() == sum(p.numel() for p in net.parameters())
    assert all(p.grad is None for p in net.parameters())
    acts = gradient_values(net, small.x_train[:16], small.y_train[:16], "activations")
    assert acts.numel() == 16 * (8 + 8 + 10)
    with pytest.raises(ValueError, match="which"):
        gradient_values(net, small.x_train[:16], small.y_train[:16], "biases")


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(dtype="float32"),
        dict(dtype="float16", loss_scale="dynamic"),
        dict(dtype="float16", loss_scale=128.0),
        dict(dtype="bfloat16", mode="pure"),
    ],
)
def test_train_precision_runs(small, kwargs):
    torch.manual_seed(0)
    h = train_precision(MLP(64, 10, depth=1, width=16), small, steps=20, eval_every=10, **kwargs)
    assert h.steps_run == 20 and len(h.test_accuracy) == 2
    assert h.stop_reason is None


def test_train_precision_bad_arguments(small):
    net = MLP(64, 10, depth=1, width=4)
    with pytest.raises(ValueError, match="mode"):
        train_precision(net, small, mode="half")
    with pytest.raises(ValueError, match="loss_scale"):
        train_precision(net, small, loss_scale="auto")
    with pytest.raises(ValueError, match="loss_scale"):
        train_precision(net, small, loss_scale=-1.0)
    with pytest.raises(ValueError, match="dynamic"):
        train_precision(net, small, dtype="float16", mode="pure", loss_scale="dynamic")
    with pytest.raises(TypeError, match="data"):
        train_precision(net, (1, 2))


def test_compare_outputs_and_bytes(small):
    torch.manual_seed(0)
    net = MLP(64, 10, depth=1, width=16)
    change = compare_outputs(net, small.x_test, "bfloat16")
    assert change.finite and 0 <= change.argmax_agreement <= 1
    assert net.head.weight.dtype is torch.float32  # the model itself is untouched
    x = small.x_test[:8]
    assert model_bytes(net) == 4 * sum(p.numel() for p in net.parameters())
    assert activation_bytes(net, x) == 4 * 8 * (16 + 16 + 10)


def test_time_matmul():
    assert time_matmul(8, "float32", repeats=2) > 0
    with pytest.raises(ValueError, match="n"):
        time_matmul(0)
