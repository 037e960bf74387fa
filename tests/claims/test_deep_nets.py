"""Claims of the chapter "What makes deep feed-forward nets trainable".

Each test runs the library calls the page (docs/chapters/trainable.md) and the gallery
(gallery/deep_nets/) use, on several seeds, and asserts the statement with a margin.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from vgexamples.data import load_digits
from vgexamples.diagnostics import TrainingRecorder, gradient_profile
from vgexamples.monitors import InputQuantiles, PeriodicProfile
from vgexamples.propagation import layer_gains, variance_profile
from vgexamples.runs import seeded_mlp, train_mlp
from vgexamples.runtime import configure
from vgexamples.train import train

SEEDS = (0, 1, 2)
CHANCE = math.log(10)
SIGMOID10 = dict(depth=10, width=64, activation="sigmoid", init="xavier")


@pytest.fixture(scope="module")
def device():
    return configure(0)


@pytest.fixture(scope="module")
def data(device):
    return load_digits(seed=0).to(device)


@pytest.fixture(scope="module")
def batch(data):
    return data.x_train[:512], data.y_train[:512]


# -- 1. speed of learning ------------------------------------------------------------------


def _speeds(data, depth, seed):
    net = seeded_mlp(data, seed, depth=depth, width=30, activation="sigmoid", init="xavier")
    return np.array(gradient_profile(net, data.x_train, data.y_train).bias_grad_norm[:-1])


def test_speed_falls_by_a_roughly_constant_factor_towards_the_input(data):
    for depth in (2, 3, 4):
        for seed in SEEDS:
            s = _speeds(data, depth, seed)
            ratios = s[1:] / s[:-1]
            assert np.all(ratios > 2.5), (depth, seed, ratios)
            assert np.all(ratios < 10.0), (depth, seed, ratios)
            assert ratios.max() / ratios.min() < 2.5, (depth, seed, ratios)


@pytest.fixture(scope="module")
def speed_training(data):
    out = []
    for seed in SEEDS:
        net = seeded_mlp(data, seed, depth=4, width=30, activation="sigmoid", init="xavier")
        mon = PeriodicProfile(data.x_train, data.y_train, every=100)
        mon.record(0, net)
        hist = train(
            net,
            data,
            steps=2000,
            lr=0.5,
            batch_size=32,
            seed=seed,
            eval_every=2000,
            callbacks=[mon],
        )
        out.append((mon.series("bias_grad_norm")[:, :-1], hist))
    return out


def test_speed_gap_holds_on_the_plateau_then_closes(speed_training):
    for sp, hist in speed_training:
        gap = sp[:, -1] / sp[:, 0]
        assert gap[0] > 30  # four hidden layers: orders of magnitude at initialization
        assert gap[1] > gap[0] / 3  # step 100: still on the plateau
        assert gap[-1] < 3 and gap[-1] < gap[0] / 10
        assert sp[-1, 0] > 3 * sp[0, 0]  # the first layer speeds up
        assert sp[-1, -1] < sp[0, -1]  # the last layer slows down
        assert hist.final_train_loss < 0.2


# -- 2. initialization ---------------------------------------------------------------------


def test_predicted_gains_per_scheme():
    assert layer_gains("he", "relu", 128) == pytest.approx((1.0, 1.0), abs=1e-3)
    assert layer_gains("xavier", "relu", 128) == pytest.approx((0.5, 0.5), abs=1e-3)
    assert layer_gains("default", "relu", 128)[0] == pytest.approx(1 / 6, abs=1e-3)
    assert layer_gains("xavier", "tanh", 128, var=1e-4)[0] == pytest.approx(1.0, abs=1e-3)
    assert layer_gains("he", "tanh", 128, var=1e-4)[0] == pytest.approx(2.0, abs=1e-3)


def _vp(data, batch, act, init, seed, std=None, depth=50):
    net = seeded_mlp(data, seed, depth=depth, width=128, activation=act, init=init, init_std=std)
    return variance_profile(net, *batch)


def _grad_ratio(vp):
    g = vp.grad_var[:-1]
    return g[0] / g[-1] if g[-1] > 0 else math.nan


def test_relu_variance_through_50_layers(data, batch):
    for seed in SEEDS:
        he = _vp(data, batch, "relu", "he", seed)
        assert 0.1 < _grad_ratio(he) < 10
        assert 0.05 < he.activation_var[-1] / he.activation_var[0] < 20
        xa = _vp(data, batch, "relu", "xavier", seed)
        factor = np.exp(np.diff(np.log(xa.activation_var))).mean()
        assert 0.4 < factor < 0.6
        assert _grad_ratio(xa) < 1e-10
        default = _vp(data, batch, "relu", "default", seed)
        assert _grad_ratio(default) < 1e-25
        assert default.activation_var[-1] < default.activation_var[0] / 20
        assert _vp(data, batch, "relu", "normal", seed, std=0.2).activation_var[-1] > 1e15
        assert _vp(data, batch, "relu", "normal", seed, std=0.01).activation_var[-1] < 1e-30


def test_tanh_variance_through_50_layers(data, batch):
    for seed in SEEDS:
        xa = _vp(data, batch, "tanh", "xavier", seed)
        shrink = xa.activation_var[-1] / xa.activation_var[0]
        assert 1e-4 < shrink < 0.1  # decays, but far slower than geometrically
        assert _grad_ratio(_vp(data, batch, "tanh", "he", seed)) > 5  # exploding side
        default = _vp(data, batch, "tanh", "default", seed)
        assert _grad_ratio(default) < 1e-15
        assert default.activation_var[-1] < default.activation_var[0] / 20


def test_30_layer_relu_xavier_stalls_he_trains(data, device):
    for seed in SEEDS:
        losses = {
            init: train_mlp(
                data,
                seed,
                depth=30,
                width=64,
                activation="relu",
                init=init,
                steps=300,
                lr=1e-3,
                optimizer="momentum",
                eval_every=300,
                device=device,
            )[1].final_train_loss
            for init in ("xavier", "he")
        }
        assert losses["xavier"] > CHANCE - 0.1, losses
        assert losses["he"] < 1.0, losses


# -- 3. batch normalization ----------------------------------------------------------------


def test_batch_norm_lifts_first_layer_gradients(data, batch):
    for seed in SEEDS:
        ratio = {
            norm: gradient_profile(
                seeded_mlp(data, seed, norm=norm, **SIGMOID10), *batch
            ).ratio_first_to_last()
            for norm in ("none", "batch")
        }
        assert ratio["none"] < 1e-4, ratio
        assert 0.1 < ratio["batch"] < 10, ratio


@pytest.fixture(scope="module")
def bn_runs(data):
    out = {}
    for act in ("sigmoid", "tanh"):
        for norm in ("none", "batch"):
            for seed in SEEDS:
                net = seeded_mlp(data, seed, norm=norm, **{**SIGMOID10, "activation": act})
                quant = InputQuantiles(net.activations[-1], data.x_test, every=400)
                quant.record(0, net)
                hist = train(
                    net, data, steps=400, lr=0.1, seed=seed, eval_every=400, callbacks=[quant]
                )
                out[act, norm, seed] = (hist, quant.as_array())
    return out


def test_batch_norm_trains_the_deep_sigmoid_net(bn_runs):
    for seed in SEEDS:
        assert bn_runs["sigmoid", "none", seed][0].final_train_loss > CHANCE - 0.1
        assert bn_runs["sigmoid", "batch", seed][0].final_train_loss < 0.3
        tanh_none = bn_runs["tanh", "none", seed][0].final_train_loss
        tanh_bn = bn_runs["tanh", "batch", seed][0].final_train_loss
        assert tanh_none < 0.1 and tanh_bn < tanh_none


def test_unit_input_distribution(bn_runs):
    for seed in SEEDS:
        spread = {key: q[:, 2] - q[:, 0] for key, (_, q) in bn_runs.items() if key[2] == seed}
        assert spread["tanh", "none", seed][-1] > 2 * spread["tanh", "none", seed][0]
        assert 0.7 < spread["tanh", "batch", seed][-1] / spread["tanh", "batch", seed][0] < 1.5
        assert np.all(spread["sigmoid", "none", seed] < 1e-3)  # forward signal collapsed


def _order_losses(data, lr, seeds):
    return {
        pos: np.array(
            [
                train_mlp(
                    data,
                    s,
                    norm="batch",
                    norm_position=pos,
                    steps=200,
                    lr=lr,
                    eval_every=200,
                    **SIGMOID10,
                )[1].final_train_loss
                for s in seeds
            ]
        )
        for pos in ("before", "after")
    }


def test_batch_norm_after_the_sigmoid_wins_at_lr_0_1(data):
    losses = _order_losses(data, 0.1, SEEDS)
    assert np.all(losses["after"] < 0.5 * losses["before"]), losses


def test_batch_norm_orderings_end_close_at_lr_0_5(data):
    losses = _order_losses(data, 0.5, SEEDS)
    ratio = losses["after"].mean() / losses["before"].mean()
    assert 1 / 3 < ratio < 3, losses


# -- 4. residual connections ---------------------------------------------------------------


def test_gradients_at_init_plain_vs_residual_with_bn(data, batch):
    for seed in SEEDS:
        r = {
            residual: gradient_profile(
                seeded_mlp(
                    data,
                    seed,
                    depth=32,
                    width=32,
                    activation="relu",
                    init="he",
                    norm="batch",
                    residual=residual,
                ),
                *batch,
            ).ratio_first_to_last()
            for residual in (False, True)
        }
        assert r[False] > 10, r  # plain + BN: larger gradients near the input
        assert 0.01 < r[True] < 5, r


def test_residual_without_norm_more_than_doubles_the_variance(data, batch):
    for seed in SEEDS:
        vp = variance_profile(
            seeded_mlp(data, seed, depth=32, width=32, activation="relu", init="he", residual=True),
            *batch,
        )
        assert np.exp(np.diff(np.log(vp.preactivation_var[1:-1]))).mean() > 2.0


def _final(data, device, seed, depth, norm, residual):
    hist = train_mlp(
        data,
        seed,
        depth=depth,
        width=32,
        activation="relu",
        init="he",
        norm=norm,
        residual=residual,
        steps=200,
        lr=0.01,
        optimizer="momentum",
        eval_every=200,
        device=device,
    )[1]
    return math.inf if hist.diverged else hist.final_train_loss


def test_degradation_with_bn_and_residual_fix(data, device):
    for seed in SEEDS:
        plain8 = _final(data, device, seed, 8, "batch", False)
        plain32 = _final(data, device, seed, 32, "batch", False)
        res32 = _final(data, device, seed, 32, "batch", True)
        assert plain32 > 5 * plain8, (plain8, plain32)
        assert res32 < 0.5 and res32 < plain32 / 3, (res32, plain32)


def test_without_norm_plain_degrades_and_residual_diverges(data, device):
    for seed in SEEDS:
        plain4 = _final(data, device, seed, 4, "none", False)
        plain32 = _final(data, device, seed, 32, "none", False)
        assert plain32 > 5 * plain4, (plain4, plain32)
        assert _final(data, device, seed, 16, "none", True) == math.inf
        assert _final(data, device, seed, 32, "none", True) == math.inf


# -- 5. optimizers -------------------------------------------------------------------------


def _opt_loss(data, seed, opt, lr):
    return train_mlp(data, seed, steps=300, lr=lr, optimizer=opt, eval_every=300, **SIGMOID10)[
        1
    ].final_train_loss


def test_sgd_and_momentum_stay_at_chance(data):
    grid = {"sgd": (0.1, 0.3, 1.0), "momentum": (0.01, 0.03, 0.1)}
    for opt, lrs in grid.items():
        for lr in lrs:
            for seed in (0, 1):
                assert _opt_loss(data, seed, opt, lr) > CHANCE - 0.1, (opt, lr, seed)


def test_adaptive_methods_escape_but_stay_far_above_batch_norm(data):
    best = {"adagrad": 0.01, "rmsprop": 1e-3, "adam": 1e-3}
    bn = [
        train_mlp(data, s, norm="batch", steps=300, lr=0.1, eval_every=300, **SIGMOID10)[
            1
        ].final_train_loss
        for s in SEEDS
    ]
    for opt, lr in best.items():
        for seed in SEEDS:
            loss = _opt_loss(data, seed, opt, lr)
            assert loss < CHANCE - 0.3, (opt, seed, loss)
            assert loss > 5 * max(bn), (opt, seed, loss, bn)


def test_adaptive_methods_flatten_the_update_ratio(data):
    settings = (
        ("sgd", 1.0),
        ("momentum", 0.01),
        ("adagrad", 0.01),
        ("rmsprop", 1e-3),
        ("adam", 1e-3),
    )
    for seed in SEEDS:
        ratio = {}
        for opt, lr in settings:
            net = seeded_mlp(data, seed, **SIGMOID10)
            rec = TrainingRecorder(net, every=10)
            train(
                net, data, steps=50, lr=lr, optimizer=opt, seed=seed, eval_every=50, callbacks=[rec]
            )
            rec.remove()
            r = [float(np.mean(v)) for v in rec.update_ratio.values()]
            ratio[opt] = r[0] / r[-1]
        assert ratio["sgd"] < 1e-3 and ratio["momentum"] < 1e-3, ratio
        for opt in ("adagrad", "rmsprop", "adam"):
            assert 0.1 < ratio[opt] < 10, ratio
