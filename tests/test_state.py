import pytest
import torch
from torch import nn

from vgexamples.models import MLP
from vgexamples.state import kept_buffers, set_aside_grads, training_mode


def test_training_mode_restores_each_submodule_flag():
    net = MLP(4, 2, depth=2, width=8, norm="batch")
    net.train()
    net.blocks[0].eval()  # a model whose parts are in different modes
    with training_mode(net, False):
        assert not any(m.training for m in net.modules())
    assert net.training and not net.blocks[0].training and net.blocks[1].training
    with pytest.raises(RuntimeError, match="inside"), training_mode(net, True):
        assert all(m.training for m in net.modules())
        raise RuntimeError("inside")
    assert not net.blocks[0].training  # restored on an exception too
    with pytest.raises(TypeError, match="model"), training_mode("net", True):
        pass


def test_set_aside_grads_clears_then_restores():
    net = nn.Linear(3, 2)
    net(torch.ones(1, 3)).sum().backward()
    old = [p.grad.clone() for p in net.parameters()]
    with set_aside_grads(net) as params:
        assert [p is q for p, q in zip(params, net.parameters(), strict=True)] == [True, True]
        assert all(p.grad is None for p in net.parameters())
        net(2 * torch.ones(1, 3)).sum().backward()  # a measurement's own backward pass
    assert all(torch.equal(p.grad, g) for p, g in zip(net.parameters(), old, strict=True))


def test_kept_buffers_undo_a_training_forward_pass():
    net = MLP(4, 2, depth=2, width=8, norm="batch")
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with kept_buffers(net):
        net.train()(torch.randn(16, 4) * 5 + 3)  # moves the running statistics
        assert not torch.equal(net.blocks[0][1].running_mean, before["blocks.0.1.running_mean"])
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
