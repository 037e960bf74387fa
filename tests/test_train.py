import math

import pytest
import torch

from vgexamples.data import Split
from vgexamples.models import MLP
from vgexamples.train import OPTIMIZERS, History, evaluate, make_optimizer, train


def _small(digits, n=256):
    return Split(digits.x_train[:n], digits.y_train[:n], digits.x_test[:100], digits.y_test[:100])


def test_train_learns_and_records_history(digits):
    torch.manual_seed(0)
    net = MLP(64, 10, depth=2, width=32, activation="relu", init="he")
    hist = train(net, _small(digits), steps=150, lr=0.1, eval_every=50, seed=0, device="cpu")
    assert isinstance(hist, History)
    assert hist.steps_run == 150 and len(hist.loss) == 150 and len(hist.grad_norm) == 150
    assert hist.eval_step == [50, 100, 150]
    assert hist.stop_reason is None and not hist.diverged
    assert hist.loss[-1] < hist.loss[0] / 3
    assert hist.final_test_accuracy > 0.8
    assert all(t > 0 for t in hist.step_time)


def test_train_is_reproducible(digits):
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        net = MLP(64, 10, depth=2, width=16)
        runs.append(train(net, _small(digits), steps=30, lr=0.05, seed=3, device="cpu").loss)
    assert runs[0] == runs[1]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_runs(digits, optimizer):
    torch.manual_seed(0)
    net = MLP(64, 10, depth=2, width=16)
    lr = 0.01 if optimizer in ("adam", "rmsprop") else 0.1
    hist = train(net, _small(digits), steps=40, lr=lr, optimizer=optimizer, device="cpu")
    assert hist.loss[-1] < hist.loss[0]


def test_non_finite_loss_stops_cleanly_and_reports_the_step(digits):
    torch.manual_seed(0)
    net = MLP(64, 10, depth=6, width=32, activation="relu", init="normal", init_std=1.5)
    hist = train(net, _small(digits), steps=200, lr=1.0, device="cpu")
    assert hist.diverged
    assert hist.steps_run < 200
    assert f"step {hist.steps_run + 1}" in hist.stop_reason
    assert "non-finite" in hist.stop_reason


def test_clipping_bounds_the_update(digits):
    torch.manual_seed(0)
    net = MLP(64, 10, depth=6, width=32, activation="relu", init="normal", init_std=1.5)
    hist = train(net, _small(digits), steps=50, lr=0.01, clip_norm=1.0, device="cpu")
    # the recorded norm is taken before clipping, so it can exceed the threshold
    assert max(hist.grad_norm) > 1.0
    assert not hist.diverged


def test_callbacks_are_called_in_order(digits):
    calls = []

    class Spy:
        def after_backward(self, step, model):
            grads = [p.grad is not None for p in model.parameters()]
            calls.append(("backward", step, all(grads)))

        def after_step(self, step, model):
            calls.append(("step", step, True))

    net = MLP(64, 10, depth=1, width=8)
    train(net, _small(digits), steps=2, callbacks=[Spy()], device="cpu")
    assert calls == [
        ("backward", 1, True),
        ("step", 1, True),
        ("backward", 2, True),
        ("step", 2, True),
    ]


def test_mse_regression_and_evaluate(digits):
    x = torch.randn(64, 3)
    y = x.sum(1, keepdim=True)
    data = Split(x[:48], y[:48], x[48:], y[48:])
    net = torch.nn.Linear(3, 1)
    hist = train(net, data, steps=100, lr=0.1, loss="mse", batch_size=16, device="cpu")
    assert math.isnan(hist.final_test_accuracy)
    loss, acc = evaluate(net, data.x_test, data.y_test, loss="mse")
    assert loss < 0.05 and math.isnan(acc)
    assert net.training  # evaluate restores the mode


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"lr": 0.0}, "lr"),
        ({"lr": -1.0}, "lr"),
        ({"steps": 0}, "steps"),
        ({"batch_size": 0}, "batch_size"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"loss": "hinge"}, "loss"),
        ({"clip_norm": 0.0}, "clip_norm"),
        ({"clip_value": -1.0}, "clip_value"),
    ],
)
def test_train_bad_arguments(digits, kwargs, param):
    with pytest.raises(ValueError, match=param):
        train(MLP(64, 10, depth=1, width=4), _small(digits), **kwargs)


def test_train_rejects_nan_data_and_wrong_type(digits):
    x = digits.x_train[:32].clone()
    x[3, 3] = float("nan")
    bad = Split(x, digits.y_train[:32], digits.x_test[:8], digits.y_test[:8])
    with pytest.raises(ValueError, match=r"data\.x_train must hold only finite values"):
        train(MLP(64, 10, depth=1, width=4), bad)
    with pytest.raises(TypeError, match="Split"):
        train(MLP(64, 10, depth=1, width=4), (x, x))


def test_make_optimizer_types():
    params = [torch.nn.Parameter(torch.zeros(2))]
    assert isinstance(make_optimizer("adam", params, 0.1), torch.optim.Adam)
    assert make_optimizer("momentum", params, 0.1).defaults["momentum"] == 0.9
    with pytest.raises(ValueError, match="lr"):
        make_optimizer("sgd", params, 0)


def test_minibatches_cover_each_epoch_and_repeat_with_the_seed():
    from vgexamples.train import minibatches

    batches = list(minibatches(10, 3, 7, seed=4))
    assert [s for s, _ in batches] == list(range(1, 8))
    first_epoch = torch.cat([idx for _, idx in batches[:3]])
    assert len(set(first_epoch.tolist())) == 9  # no repeats within an epoch
    again = [idx for _, idx in minibatches(10, 3, 7, seed=4)]
    assert all(torch.equal(a, b) for (_, a), b in zip(batches, again, strict=True))
    with pytest.raises(ValueError, match="batch_size"):
        next(minibatches(10, 0, 1))
