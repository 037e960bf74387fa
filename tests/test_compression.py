import copy

import pytest
import torch

from vgexamples.compression import (
    DistillationLoss,
    count_macs,
    distillation_loss,
    factorize_linear,
    iterative_prune,
    low_rank_mlp,
    make_pruning_permanent,
    prunable_layers,
    prune_magnitude,
    prune_neurons,
    saved_bytes,
    sparsity,
    time_inference,
)
from vgexamples.models import MLP, count_parameters
from vgexamples.train import train


def _net(seed=0, width=16):
    torch.manual_seed(seed)
    return MLP(64, 10, depth=2, width=width)


def test_count_macs():
    net = _net()
    assert count_macs(net, (64,)) == 64 * 16 + 16 * 16 + 16 * 10
    conv = torch.nn.Conv2d(2, 3, 3, padding=1)
    assert count_macs(conv, (2, 5, 5)) == 25 * 3 * 2 * 9
    with pytest.raises(ValueError, match="input_shape"):
        count_macs(net, ())
    with pytest.raises(TypeError, match="model"):
        count_macs("net", (64,))


def test_prune_magnitude_layer_and_global():
    net = prune_magnitude(_net(), 0.5, scope="layer")
    for layer in prunable_layers(net):
        assert float((layer.weight == 0).float().mean()) == pytest.approx(0.5, abs=0.01)
    glob = prune_magnitude(_net(), 0.8, scope="global")
    assert sparsity(glob) == pytest.approx(0.8, abs=0.01)
    assert count_parameters(glob) == count_parameters(_net())
    assert count_parameters(glob, nonzero=True) < count_parameters(_net())
    assert len(prunable_layers(_net(), include_head=False)) == 2
    untouched = _net()
    before = [layer.weight.detach().clone() for layer in prunable_layers(untouched)]
    assert prune_magnitude(untouched, 0.0) is untouched
    assert not any(hasattr(layer, "weight_mask") for layer in prunable_layers(untouched))
    for b, layer in zip(before, prunable_layers(untouched), strict=True):
        assert torch.equal(b, layer.weight)
    with pytest.raises(ValueError, match="amount"):
        prune_magnitude(_net(), 1.0)
    with pytest.raises(ValueError, match="scope"):
        prune_magnitude(_net(), 0.5, scope="row")


def test_make_pruning_permanent_keeps_zeros():
    net = prune_magnitude(_net(), 0.5)
    before = [layer.weight.detach().clone() for layer in prunable_layers(net)]
    make_pruning_permanent(net)
    assert not any(hasattr(layer, "weight_orig") for layer in prunable_layers(net))
    for b, layer in zip(before, prunable_layers(net), strict=True):
        assert torch.equal(b, layer.weight)
    assert saved_bytes(net) == pytest.approx(saved_bytes(_net()), rel=0.02)


def test_prune_neurons_keeps_strongest_units(small):
    net = _net()
    smaller = prune_neurons(net, 0.5)
    assert [lin.out_features for lin in smaller.linears] == [8, 8, 10]
    assert prune_neurons(net, 0.99).linears[0].out_features == 1
    # keeping every unit reproduces the network exactly
    same = prune_neurons(net, 0.0)
    assert torch.allclose(same(small.x_test), net(small.x_test), atol=1e-6)
    with pytest.raises(TypeError, match="mlp"):
        prune_neurons(torch.nn.Linear(2, 2), 0.5)
    with pytest.raises(ValueError, match="norm"):
        prune_neurons(MLP(4, 2, depth=2, width=4, norm="batch"), 0.5)


def test_iterative_prune_reaches_target(small):
    net = _net()
    hist = iterative_prune(net, small, 0.9, rounds=3, steps_per_round=5, lr=0.01)
    assert len(hist) == 3
    assert sparsity(net) == pytest.approx(0.9, abs=0.01)


def test_factorize_linear_is_best_low_rank():
    torch.manual_seed(0)
    layer = torch.nn.Linear(12, 9)
    full = factorize_linear(layer, 9)
    x = torch.randn(4, 12)
    assert torch.allclose(full(x), layer(x), atol=1e-5)
    two = factorize_linear(layer, 2)
    s = torch.linalg.svdvals(layer.weight.detach())
    err = torch.linalg.matrix_norm((two[1].weight @ two[0].weight - layer.weight).detach())
    assert float(err) == pytest.approx(float(s[2:].square().sum().sqrt()), rel=1e-4)
    assert count_parameters(two) == 2 * (12 + 9) + 9
    with pytest.raises(ValueError, match="rank"):
        factorize_linear(layer, 10)
    with pytest.raises(TypeError, match="layer"):
        factorize_linear(torch.nn.Conv2d(1, 1, 1), 1)


def test_low_rank_mlp():
    net = _net(width=32)
    low = low_rank_mlp(net, 4)
    assert count_parameters(low) < count_parameters(net)
    assert isinstance(net.blocks[0][0], torch.nn.Linear)  # original untouched
    assert low(torch.zeros(2, 64)).shape == (2, 10)
    assert count_parameters(low_rank_mlp(net, 40)) == count_parameters(net)  # too high: kept
    with pytest.raises(ValueError, match="layers"):
        low_rank_mlp(net, 4, layers=[5])


def test_distillation_loss():
    torch.manual_seed(0)
    s, t, y = torch.randn(5, 10), torch.randn(5, 10), torch.randint(0, 10, (5,))
    ce = torch.nn.functional.cross_entropy(s, y)
    assert torch.allclose(distillation_loss(s, t, y, alpha=0.0), ce)
    assert float(distillation_loss(t, t, y, temperature=3.0, alpha=1.0)) == pytest.approx(
        0.0, abs=1e-6
    )
    with pytest.raises(ValueError, match="alpha"):
        distillation_loss(s, t, y, alpha=1.5)
    with pytest.raises(ValueError, match="temperature"):
        distillation_loss(s, t, y, temperature=0)


def test_distillation_with_hard_labels_equals_plain_training(small):
    teacher = _net(1)
    a, b = _net(), _net()
    ha = train(a, small, loss=DistillationLoss(teacher, alpha=0.0), steps=10, lr=0.05)
    hb = train(b, small, steps=10, lr=0.05)
    assert ha.loss == hb.loss
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_distillation_loss_objective_uses_the_teachers_outputs(small):
    teacher = _net(1)
    objective = DistillationLoss(teacher, temperature=2.0, alpha=0.7)
    with pytest.raises(RuntimeError, match="bind"):
        objective(torch.zeros(2, 10), torch.zeros(2, dtype=torch.long), torch.arange(2))
    teacher.train()
    objective.bind(small)
    assert teacher.training  # the teacher's mode is restored
    idx = torch.tensor([3, 7, 11])
    student_out = _net(2)(small.x_train[idx])
    expected = distillation_loss(
        student_out, teacher.eval()(small.x_train[idx]), small.y_train[idx], 2.0, 0.7
    )
    got = objective(student_out, small.y_train[idx], idx)
    assert float(got.detach()) == pytest.approx(float(expected.detach()), rel=1e-6)
    hist = train(_net(), small, loss=objective, steps=10, eval_every=5)
    assert len(hist.test_accuracy) == 2 and len(hist.grad_norm) == 10
    with pytest.raises(TypeError, match="teacher"):
        DistillationLoss("teacher")
    with pytest.raises(ValueError, match="alpha"):
        DistillationLoss(teacher, alpha=2.0)


def test_time_inference():
    net = _net()
    assert time_inference(net, torch.zeros(4, 64), repeats=3) > 0
    assert net.training
    with pytest.raises(ValueError, match="repeats"):
        time_inference(net, torch.zeros(4, 64), repeats=0)


def test_pruned_model_still_trains_and_copies(small):
    net = prune_magnitude(_net(), 0.7, scope="global")
    train(net, small, steps=5, lr=0.05)
    assert sparsity(net) == pytest.approx(0.7, abs=0.01)
    folded = copy.deepcopy(make_pruning_permanent(net))
    assert sparsity(folded) == pytest.approx(0.7, abs=0.01)
    for a, b in zip(prunable_layers(net), prunable_layers(folded), strict=True):
        assert torch.equal(a.weight, b.weight)
    assert torch.equal(net(small.x_test), folded(small.x_test))


def test_distillation_in_pure_half_precision_uses_an_fp32_teacher(small):
    from vgexamples.train import Precision

    teacher = _net(1)
    hist = train(
        _net(),
        small,
        loss=DistillationLoss(teacher, temperature=2.0),
        steps=3,
        precision=Precision("bfloat16", mode="pure"),
    )
    assert hist.steps_run == 3 and teacher.head.weight.dtype is torch.float32


def test_csr_bytes_counts_values_indices_and_row_pointers():
    from torch import nn

    from vgexamples.compression import csr_bytes

    layer = nn.Linear(4, 3)
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[0, 1] = 1.0
        layer.weight[2, 3] = 2.0
    sizes = csr_bytes(layer)
    bias = 3 * 4
    assert sizes["dense"] == 12 * 4 + bias
    assert sizes["csr"] == 2 * (4 + 4) + (3 + 1) * 4 + bias
    with pytest.raises(TypeError, match="model"):
        csr_bytes("not a model")
