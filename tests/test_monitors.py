"""Unit tests for vgexamples.monitors (and the bias-gradient norms they read)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from vgexamples.data import load_digits
from vgexamples.diagnostics import Recorder, gradient_profile
from vgexamples.models import MLP, seeded_mlp
from vgexamples.monitors import InputQuantiles, PeriodicProfile, TrainingRecorder
from vgexamples.train import train


def _hook_count(model):
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        for m in model.modules()
    )


@pytest.fixture
def batch():
    torch.manual_seed(0)
    return torch.randn(40, 6), torch.randint(0, 3, (40,))


def test_bias_grad_norms_match_autograd(batch):
    x, y = batch
    torch.manual_seed(0)
    net = MLP(6, 3, depth=3, width=5, activation="sigmoid")
    prof = gradient_profile(net, x, y)
    nn.functional.cross_entropy(net(x), y).backward()
    expected = [float(lin.bias.grad.norm()) for lin in net.linears]
    assert prof.bias_grad_norm == pytest.approx(expected, rel=1e-5)


def test_bias_grad_norm_is_nan_without_bias(batch):
    x, y = batch
    net = nn.Sequential(nn.Linear(6, 4, bias=False), nn.Tanh(), nn.Linear(4, 3))
    prof = gradient_profile(net, x, y)
    assert math.isnan(prof.bias_grad_norm[0]) and prof.bias_grad_norm[1] > 0
    with Recorder(net) as rec:
        assert all(math.isnan(v) for v in rec.bias_grad_norms().values())  # no grads yet


def test_training_recorder_keeps_bias_grad_norms():
    data = load_digits(seed=0)
    net = seeded_mlp(data, 0, depth=2, width=8, device="cpu")
    rec = TrainingRecorder(net, every=5)
    train(net, data, steps=10, device="cpu", callbacks=[rec])
    rec.remove()
    assert rec.steps == [1, 5, 10]
    assert all(len(v) == 3 and all(g > 0 for g in v) for v in rec.bias_grad_norm.values())


def test_periodic_profile_records_and_leaves_model_unchanged(batch):
    x, y = batch
    torch.manual_seed(0)
    net = MLP(6, 3, depth=2, width=5, activation="tanh", norm="batch")
    state = {k: v.clone() for k, v in net.state_dict().items()}
    mon = PeriodicProfile(x, y, every=2)
    mon.record(0, net)
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[k]), k  # running statistics restored
    for p in net.parameters():
        assert p.grad is None
    mon.after_step(1, net)
    mon.after_step(2, net)
    assert mon.steps == [0, 2]
    assert mon.series("bias_grad_norm").shape == (2, 3)
    assert mon.series("weight_grad_norm").shape == (2, 3)


def test_periodic_profile_bad_arguments(batch):
    x, y = batch
    with pytest.raises(ValueError, match="every"):
        PeriodicProfile(x, y, every=0)
    with pytest.raises(ValueError, match="same length"):
        PeriodicProfile(x, y[:-1])
    with pytest.raises(ValueError, match="loss"):
        PeriodicProfile(x, y, loss="hinge")
    with pytest.raises(ValueError, match="x must hold only finite"):
        PeriodicProfile(torch.full((2, 6), float("nan")), y[:2])
    mon = PeriodicProfile(x, y)
    with pytest.raises(ValueError, match="nothing recorded"):
        mon.series()
    mon.record(0, MLP(6, 3, depth=1, width=4))
    with pytest.raises(ValueError, match="attribute"):
        mon.series("loss")


def test_input_quantiles_match_numpy(batch):
    x, _ = batch
    torch.manual_seed(0)
    net = MLP(6, 3, depth=2, width=5, activation="sigmoid")
    q = InputQuantiles(net.activations[-1], x, unit=2, every=3)
    q.record(0, net)
    q.after_step(1, net)
    q.after_step(3, net)
    assert q.steps == [0, 3]
    with torch.no_grad():
        z = net.blocks[1][0](net.blocks[0](x))[:, 2].numpy()
    expected = np.quantile(z, [0.15, 0.5, 0.85])
    assert q.as_array().shape == (2, 3)
    assert q.as_array()[0] == pytest.approx(expected, rel=1e-5)


def test_input_quantiles_modes_and_buffers(batch):
    x, _ = batch
    torch.manual_seed(0)
    net = MLP(6, 3, depth=2, width=5, activation="tanh", norm="batch")
    state = {k: v.clone() for k, v in net.state_dict().items()}
    train_q = InputQuantiles(net.activations[0], x, mode="train")
    eval_q = InputQuantiles(net.activations[0], x, mode="eval")
    train_q.record(0, net)
    eval_q.record(0, net)
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert net.training
    # batch statistics normalize the input; fresh running statistics leave it as it is
    assert train_q.values[0] != pytest.approx(eval_q.values[0])


def test_input_quantiles_bad_arguments(batch):
    x, _ = batch
    net = MLP(6, 3, depth=2, width=5)
    with pytest.raises(TypeError, match="module"):
        InputQuantiles("relu", x)
    with pytest.raises(ValueError, match="quantiles"):
        InputQuantiles(net.activations[0], x, quantiles=(0.5, 1.0))
    with pytest.raises(ValueError, match="quantiles"):
        InputQuantiles(net.activations[0], x, quantiles=())
    with pytest.raises(ValueError, match="unit"):
        InputQuantiles(net.activations[0], x, unit=-1)
    with pytest.raises(ValueError, match="mode"):
        InputQuantiles(net.activations[0], x, mode="test")
    q = InputQuantiles(net.activations[0], x, unit=5)
    with pytest.raises(ValueError, match="unit must be < 5"):
        q.record(0, net)
    other = nn.Tanh()
    with pytest.raises(ValueError, match="not called"):
        InputQuantiles(other, x).record(0, net)


def test_training_recorder_collects_update_ratios(digits):
    torch.manual_seed(0)
    net = MLP(64, 10, depth=3, width=16, activation="tanh", init="xavier")
    rec = TrainingRecorder(net, every=5)
    data = digits
    train(net, data, steps=20, lr=0.1, callbacks=[rec], device="cpu")
    rec.remove()
    assert rec.steps == [1, 5, 10, 15, 20]
    for name in rec.layers:
        assert len(rec.update_ratio[name]) == 5
        assert all(0 < r < 1 for r in rec.update_ratio[name])
        assert len(rec.weight_grad_norm[name]) == 5
    assert all(len(v) == 5 for v in rec.saturated.values())
    assert _hook_count(net) == 0
    with pytest.raises(ValueError, match="every"):
        TrainingRecorder(net, every=0)


def test_training_recorder_update_ratio_by_hand(digits):
    torch.manual_seed(0)
    net = MLP(64, 10, depth=2, width=16)
    before = net.linears[0].weight.detach().clone()
    rec = TrainingRecorder(net, every=1)
    train(net, digits, steps=1, lr=0.1, callbacks=[rec], device="cpu")
    rec.remove()
    after = net.linears[0].weight.detach()
    expected = float((after - before).norm() / before.norm())
    assert rec.update_ratio["blocks.0.0"] == [pytest.approx(expected, rel=1e-5)]
