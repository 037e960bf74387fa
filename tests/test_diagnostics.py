import math

import pytest
import torch
from torch import nn

from vgexamples.diagnostics import (
    FLOAT32_EPS,
    Recorder,
    activation_stats,
    example_spread,
    gradient_profile,
    gradient_values,
)
from vgexamples.models import MLP


def _hook_count(model):
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        for m in model.modules()
    )


def test_profile_matches_autograd_by_hand():
    torch.manual_seed(0)
    net = MLP(6, 3, depth=3, width=5, activation="tanh")
    x, y = torch.randn(7, 6), torch.tensor([0, 1, 2, 0, 1, 2, 0])
    prof = gradient_profile(net, x, y)
    assert prof.layer_names == ["blocks.0.0", "blocks.1.0", "blocks.2.0", "head"]
    nn.functional.cross_entropy(net(x), y).backward()
    expected = [float(lin.weight.grad.norm()) for lin in net.linears]
    assert prof.weight_grad_norm == pytest.approx(expected, rel=1e-5)
    # dL/dz of the head is softmax - onehot, divided by the batch size (mean loss)
    logits = net(x).detach()
    g = (torch.softmax(logits, 1) - nn.functional.one_hot(y, 3)) / len(y)
    assert prof.output_grad_norm[-1] == pytest.approx(float(g.norm() / math.sqrt(7)), rel=1e-5)
    assert len(prof.saturated) == 3 and len(prof.activations) == 3


@pytest.mark.parametrize("training", [False, True])
def test_profile_leaves_the_model_unchanged(training):
    # in train mode batch norm's forward pass would move its running statistics
    torch.manual_seed(0)
    net = MLP(4, 2, depth=3, width=8, activation="relu", norm="batch")
    net.train(training)
    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    with torch.no_grad():
        out_before = net.eval()(x)
    net.train(training)
    before_state = {k: v.clone() for k, v in net.state_dict().items()}
    hooks_before = _hook_count(net)
    gradient_profile(net, x, y)
    gradient_values(net, x, y)
    assert all(torch.equal(before_state[k], v) for k, v in net.state_dict().items())
    assert _hook_count(net) == hooks_before
    assert all(p.grad is None for p in net.parameters())
    assert net.training == training
    with torch.no_grad():
        assert torch.equal(net.eval()(x), out_before)


def test_recorder_remove_restores_model_exactly():
    net = MLP(4, 2, depth=2, width=8, activation="sigmoid")
    x = torch.randn(3, 4)
    ref = net(x)
    with Recorder(net) as rec:
        assert _hook_count(net) == 3 + 2  # three linears, two activations
        net(x).sum().backward()
        assert set(rec.output_grad) == set(rec.layers)
    assert _hook_count(net) == 0
    assert torch.equal(net(x), ref)


def test_recorder_selection_and_errors():
    net = MLP(4, 2, depth=2, width=8)
    rec = Recorder(net, layers=["head"], activations=[])
    assert list(rec.layers) == ["head"]
    rec.remove()
    with pytest.raises(ValueError, match="'nope' is not a submodule"):
        Recorder(net, layers=["nope"])
    with pytest.raises(TypeError, match=r"torch.nn.Module"):
        Recorder("not a model")
    with pytest.raises(ValueError, match="nothing to watch"):
        Recorder(nn.Sequential(nn.Flatten()))
    with pytest.raises(TypeError, match="single string"):
        Recorder(net, layers="head")


def test_recorder_on_conv_and_rnn_outputs():
    cnn = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 64, 10)
    )
    prof = gradient_profile(cnn, torch.randn(5, 1, 8, 8), torch.randint(0, 10, (5,)))
    assert len(prof.layer_names) == 2 and all(v > 0 for v in prof.weight_grad_norm)

    class Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(3, 6, batch_first=True)
            self.out = nn.Linear(6, 2)

        def forward(self, x):
            h, _ = self.rnn(x)
            return self.out(h[:, -1])

    seq = Seq()
    prof = gradient_profile(
        seq, torch.randn(4, 5, 3), torch.randint(0, 2, (4,)), layers=["rnn", "out"], activations=[]
    )
    assert prof.output_grad_norm[0] > 0  # the tuple output's first tensor was used
    assert math.isnan(prof.weight_grad_norm[0])  # nn.RNN has no .weight attribute


def test_activation_stats_saturation_and_dead_units():
    sig = activation_stats("Sigmoid", torch.tensor([[0.5, 0.999], [0.5, 0.001]]))
    assert sig["saturated"] == pytest.approx(0.5)
    tanh = activation_stats(nn.Tanh(), torch.tensor([[0.0, 0.99, -0.99, 0.5]]))
    assert tanh["saturated"] == pytest.approx(0.5)
    relu = activation_stats(nn.ReLU(), torch.tensor([[0.0, 1.0, 0.0], [0.0, 2.0, 3.0]]))
    assert relu["dead"] == pytest.approx(1 / 3)
    assert math.isnan(relu["saturated"])
    conv = activation_stats("ReLU", torch.zeros(2, 3, 4, 4))
    assert conv["dead"] == 1.0


def test_profile_ratio_and_bad_loss():
    net = MLP(4, 2, depth=2, width=4)
    prof = gradient_profile(net, torch.randn(8, 4), torch.randint(0, 2, (8,)))
    assert prof.ratio_first_to_last() == pytest.approx(
        prof.weight_grad_norm[0] / prof.weight_grad_norm[-1]
    )
    with pytest.raises(ValueError, match="which"):
        prof.ratio_first_to_last("loss")
    with pytest.raises(ValueError, match="loss"):
        gradient_profile(net, torch.randn(8, 4), torch.zeros(8), loss="l1")


def test_gradient_values_are_the_flattened_gradients():
    torch.manual_seed(0)
    net = MLP(6, 3, depth=2, width=8)
    x, y = torch.randn(16, 6), torch.randint(0, 3, (16,))
    g = gradient_values(net, x, y, "weights")
    assert all(p.grad is None for p in net.parameters())  # left as before
    nn.functional.cross_entropy(net(x), y).backward()
    assert torch.equal(g, torch.cat([p.grad.flatten() for p in net.parameters()]))
    acts = gradient_values(net, x, y, "activations")
    assert acts.numel() == 16 * (8 + 8 + 3)  # dL/dz of every linear layer's output
    both = gradient_values(net, x, y)
    assert torch.equal(both, torch.cat([g, acts]))
    with pytest.raises(ValueError, match="which"):
        gradient_values(net, x, y, "biases")


def test_example_spread_measures_differences_between_examples():
    same = torch.tensor([[0.5, 0.25, 3.0]]).repeat(8, 1)
    assert example_spread(same) == 0.0
    assert example_spread(torch.zeros(4, 3)) == 0.0
    # one unit, values +-1: std 1, root-mean-square 1
    assert example_spread(torch.tensor([[1.0], [-1.0]])) == pytest.approx(1.0)
    # a constant offset shrinks the relative spread: values 10 +- 1
    assert example_spread(torch.tensor([[11.0], [9.0]])) == pytest.approx(1 / math.sqrt(101))
    # conv maps: channels are the units
    conv = torch.zeros(2, 3, 2, 2)
    conv[0, 1] = 1.0
    assert example_spread(conv) > 0


def test_example_spread_resolves_float32_rounding():
    base = torch.full((6, 4), 0.5)
    one_step = base.clone()
    one_step[::2] = torch.nextafter(one_step[::2], torch.tensor(1.0))  # one float32 step up
    assert 0 < example_spread(one_step) < FLOAT32_EPS
    assert example_spread(base + 1e-3 * torch.arange(6.0)[:, None]) > 100 * FLOAT32_EPS


def test_example_spread_bad_input():
    with pytest.raises(TypeError, match="output"):
        example_spread([[1.0], [2.0]])
    with pytest.raises(ValueError, match="two examples"):
        example_spread(torch.ones(1, 3))
    with pytest.raises(ValueError, match="two examples"):
        example_spread(torch.ones(5))
    with pytest.raises(ValueError, match="finite"):
        example_spread(torch.tensor([[1.0], [math.nan]]))


def test_profile_records_the_spread_per_activation_layer():
    torch.manual_seed(0)
    net = MLP(6, 3, depth=3, width=5, activation="tanh")
    x, y = torch.randn(7, 6), torch.tensor([0, 1, 2, 0, 1, 2, 0])
    prof = gradient_profile(net, x, y)
    assert len(prof.spread) == 3
    assert prof.spread == [example_spread(a) for a in prof.activations.values()]
    assert math.isnan(activation_stats("Tanh", torch.ones(1, 3))["spread"])
