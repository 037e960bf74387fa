import math

import pytest
import torch

from vgexamples.data import Split
from vgexamples.models import MLP
from vgexamples.train import (
    OPTIMIZERS,
    Budget,
    History,
    Precision,
    Stop,
    as_dtype,
    check_budget,
    evaluate,
    global_grad_norm,
    make_optimizer,
    train,
    train_mlp,
)


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


def test_as_dtype():
    assert as_dtype("float16") is torch.float16
    assert as_dtype(torch.bfloat16) is torch.bfloat16
    with pytest.raises(ValueError, match="dtype"):
        as_dtype("float64")
    with pytest.raises(ValueError, match="dtype"):
        as_dtype(torch.int8)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(dtype="float32"),
        dict(dtype="float16", loss_scale="dynamic"),
        dict(dtype="float16", loss_scale=128.0),
        dict(dtype="bfloat16", mode="pure"),
    ],
)
def test_training_in_each_precision_runs(small, kwargs):
    torch.manual_seed(0)
    net = MLP(64, 10, depth=1, width=16)
    h = train(net, small, steps=20, eval_every=10, precision=Precision(**kwargs))
    assert h.steps_run == 20 and len(h.test_accuracy) == 2
    assert h.stop_reason is None
    expected = torch.bfloat16 if kwargs.get("mode") == "pure" else torch.float32
    assert net.head.weight.dtype is expected  # master weights stay fp32 in mixed precision


def test_a_constant_loss_scale_is_undone_before_the_update(small):
    runs = []
    for scale in (None, 1024.0):
        torch.manual_seed(0)
        runs.append(
            train(
                MLP(64, 10, depth=1, width=16),
                small,
                steps=5,
                precision=Precision(loss_scale=scale),
            )
        )
    # in fp32 scaling by a power of two and dividing again is exact
    assert runs[0].loss == runs[1].loss and runs[0].grad_norm == runs[1].grad_norm


def test_precision_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        Precision(mode="half")
    with pytest.raises(ValueError, match="loss_scale"):
        Precision(loss_scale="auto")
    with pytest.raises(ValueError, match="loss_scale"):
        Precision(loss_scale=-1.0)
    with pytest.raises(ValueError, match="dynamic"):
        Precision(dtype="float16", mode="pure", loss_scale="dynamic")
    with pytest.raises(ValueError, match="dtype"):
        Precision(dtype="float64")


def test_budget_prints_what_it_spends_and_validates():
    budget = Budget(steps=2000, lr=0.5, batch_size=32, eval_every=100)
    assert str(budget) == (
        "plain SGD, learning rate 0.5, 2,000 steps of 32 examples, evaluated every 100 steps, "
        "seed 0"
    )
    assert str(
        Budget(steps=300, lr=1e-3, optimizer="momentum", weight_decay=1e-3, seeds=(0, 1))
    ) == (
        "SGD with momentum 0.9, learning rate 0.001, 300 steps of 64 examples, "
        "weight decay 0.001, seeds 0, 1"
    )
    assert budget.train_kwargs()["eval_every"] == 100
    assert Budget(steps=50, lr=0.1).train_kwargs()["eval_every"] == 50  # only at the end
    assert budget.replace(seeds=[3, 4]).seeds == (3, 4)
    with pytest.raises(ValueError, match="has no field 'step'"):
        budget.replace(step=3)
    for kwargs, param in [
        ({"steps": 0}, "steps"),
        ({"lr": 0}, "lr"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"seeds": ()}, "seeds"),
        ({"seeds": (-1,)}, "seeds"),
        ({"eval_every": 0}, "eval_every"),
    ]:
        with pytest.raises(ValueError, match=param):
            Budget(**{"steps": 10, "lr": 0.1} | kwargs)


def test_train_mlp_runs_one_seed_of_a_budget(digits):
    budget = Budget(steps=20, lr=0.1, eval_every=10, seeds=(5, 6))
    net, h1 = train_mlp(digits, 1, budget, depth=2, width=8, device="cpu")
    _, h2 = train_mlp(digits, 1, budget, depth=2, width=8, device="cpu")
    assert h1.loss == h2.loss and h1.steps_run == 20 and h1.eval_step == [10, 20]
    assert net.linears[0].out_features == 8
    with pytest.raises(TypeError, match="budget"):
        train_mlp(digits, 0, {"steps": 3}, depth=1, width=2)


def test_stop_is_structured(digits):
    torch.manual_seed(0)
    net = MLP(64, 10, depth=6, width=32, activation="relu", init="normal", init_std=1.5)
    hist = train(net, _small(digits), steps=200, lr=1.0, device="cpu")
    assert isinstance(hist.stop, Stop) and hist.stop.diverged
    assert hist.stop.step == hist.steps_run + 1
    assert (
        hist.stop_reason
        == str(hist.stop)
        == f"stopped at step {hist.stop.step}: {hist.stop.reason}"
    )
    calm = History(stop=Stop(4, "a reason that happens to mention non-finite", diverged=False))
    assert not calm.diverged  # the flag decides, not the wording
    assert History().stop_reason is None and not History().diverged


def test_objective_is_called_with_the_batch_indices(digits):
    seen = []

    def objective(output, target, index):
        seen.append(index.clone())
        return torch.nn.functional.cross_entropy(output, target)

    data = _small(digits)
    torch.manual_seed(0)
    a = train(MLP(64, 10, depth=1, width=8), data, loss=objective, steps=3, batch_size=16)
    torch.manual_seed(0)
    b = train(MLP(64, 10, depth=1, width=8), data, steps=3, batch_size=16)
    assert a.loss == b.loss
    assert [len(i) for i in seen] == [16, 16, 16]
    with pytest.raises(TypeError, match="loss"):
        train(MLP(64, 10, depth=1, width=8), data, loss=3)


def test_global_grad_norm_is_the_norm_clip_grad_norm_sees():
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(3, 4)), torch.nn.Parameter(torch.randn(5))]
    for p in params:
        p.grad = torch.randn_like(p)
    expected = float(torch.cat([p.grad.flatten() for p in params]).norm())
    assert global_grad_norm(params) == pytest.approx(expected)
    assert float(torch.nn.utils.clip_grad_norm_(params, 1e9)) == pytest.approx(expected)
    assert global_grad_norm([torch.nn.Parameter(torch.zeros(2))]) == 0.0


def test_callbacks_and_clipping_see_unscaled_gradients(digits):
    norms = []

    class Spy:
        def after_backward(self, step, model):
            norms.append(global_grad_norm(model.parameters()))

    torch.manual_seed(0)
    hist = train(
        MLP(64, 10, depth=2, width=16),
        _small(digits),
        steps=3,
        clip_norm=1e-3,
        precision=Precision("float32", loss_scale=2.0**10),
        callbacks=[Spy()],
    )
    assert norms == pytest.approx(hist.grad_norm)  # the callback saw the unscaled gradient
    assert max(hist.grad_norm) > 1e-3  # so clipping had something to cut


def test_train_device_errors_name_the_parameter(digits):
    with pytest.raises(ValueError, match="device must be None, 'cpu', 'cuda'"):
        train(MLP(64, 10, depth=1, width=4), _small(digits), steps=1, device="tpu")


def test_precision_stores_a_dtype_by_its_name():
    assert Precision(torch.float32) == Precision("float32")
    assert not Precision(torch.float32).autocast and not Precision(torch.float32).pure
    assert Precision(torch.bfloat16, mode="pure").pure


def test_bad_budgets_momentum_and_callbacks_name_the_parameter(small):
    net = MLP(64, 10, depth=1, width=4)
    with pytest.raises(ValueError, match=r"momentum must lie in \[0, 1\)"):
        train(net, small, steps=1, optimizer="momentum", momentum=1.0)
    with pytest.raises(ValueError, match="momentum"):
        Budget(steps=1, lr=0.1, momentum=1.5)
    with pytest.raises(TypeError, match="callbacks must be a list"):
        train(net, small, steps=1, callbacks=object())
    with pytest.raises(TypeError, match="callbacks must define start"):
        train(net, small, steps=1, callbacks=[object()])
    with pytest.raises(TypeError, match=r"budget must be a vgexamples\.train\.Budget"):
        check_budget({"steps": 3})
