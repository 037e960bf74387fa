"""Claims of the chapter "What makes deep feed-forward nets trainable".

Each test calls the experiment that the page (docs/chapters/trainable.md) quotes and the
gallery (gallery/trainable/) shows, at their budget (on more seeds where the result is
statistical), and asserts the statement with a margin.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from vgexamples import claims as c
from vgexamples.experiments import (
    batch_norm,
    initialization,
    learning_speed,
    optimizers,
    residual,
)
from vgexamples.propagation import layer_gains

SEEDS = (0, 1, 2)
CHANCE = math.log(10)
pytestmark = pytest.mark.slow


# -- 1. speed of learning ------------------------------------------------------------------
@pytest.fixture(scope="module")
def speed():
    """The example's experiment, training the deepest network on three seeds (the page trains
    every depth on seed 0)."""
    return learning_speed.run(budget=learning_speed.BUDGET.replace(seeds=SEEDS), device="cpu")


def test_speed_falls_by_a_roughly_constant_factor_towards_the_input(speed):
    for (depth, seed), s in speed.at_init.items():
        ratios = s[1:] / s[:-1]
        assert np.all(ratios > 2.5), (depth, seed, ratios)
        assert np.all(ratios < 10.0), (depth, seed, ratios)
        assert ratios.max() / ratios.min() < 2.5, (depth, seed, ratios)


def test_speed_gap_holds_on_the_plateau_then_closes(speed):
    assert speed.steps[:2] == [0, 100]
    for seed in SEEDS:
        sp = speed.speeds[4, seed]
        gap = speed.gap(4, seed)
        assert gap[0] > 30  # four hidden layers: orders of magnitude at initialization
        assert gap[1] > gap[0] / 3  # step 100: still on the plateau
        assert gap[-1] < 3 and gap[-1] < gap[0] / 10
        assert sp[-1, 0] > 3 * sp[0, 0]  # the first layer speeds up
        assert sp[-1, -1] < sp[0, -1]  # the last layer slows down
        assert speed.histories[4, seed].final_train_loss < 0.2


#: Nielsen (2015), chapter 5, section "The vanishing gradient problem": norms of dC/db per
#: hidden layer at initialization, over 1,000 MNIST training images (quoted).
NIELSEN_2015 = {
    2: (0.07, 0.31),
    3: (0.012, 0.060, 0.283),
    4: (0.003, 0.017, 0.070, 0.285),
}


def test_nielsen_setup_reproduces_his_numbers(speed):
    """His exact setup on the digits, averaged over ten initializations: every layer within a
    factor of 1.6 of his number, the same ordering and a per-layer factor of 4 to 6."""
    for depth, his in NIELSEN_2015.items():
        ours = speed.nielsen_mean(depth)
        assert len(ours) == len(his)
        ratio = ours / np.array(his)
        assert np.all((ratio > 1 / 1.6) & (ratio < 1.6)), (depth, ours, his)
        assert np.all(np.diff(ours) > 0)
    assert 4.0 < speed.summary()["nielsen_median_layer_factor"] < 6.0


def test_weight_movement_gap_is_early_and_far_smaller_than_the_proxy(speed):
    """How far the weights move: the last hidden layer moves more than three times as far as
    the first during the first interval, the ratio falls below 1.5 by the end, and the
    bias-gradient proxy's gap at initialization overstates the early movement gap five-fold."""
    for seed in SEEDS:
        ratio = speed.movement_ratio(4, seed)
        assert ratio[0] > 3, (seed, ratio)
        assert ratio[-1] < 1.5, (seed, ratio)
        assert ratio[-1] < ratio[0] / 2
        proxy = speed.gap(4, seed)[0]
        assert proxy > 5 * ratio[0], (seed, proxy, ratio[0])
        moved = speed.movement[4, seed]
        assert np.all(moved[-1] > 1.0)  # every layer's weights changed by more than their size
        early = moved[1, :3]  # the first three hidden layers move about alike
        assert early.max() / early.min() < 2.2, moved[1]
        assert moved[-1].max() / moved[-1].min() < 1.6, moved[-1]  # all alike at the end


# -- 2. initialization ---------------------------------------------------------------------
def test_predicted_gains_per_scheme():
    assert layer_gains("he", "relu", 128) == pytest.approx((1.0, 1.0), abs=1e-3)
    assert layer_gains("xavier", "relu", 128) == pytest.approx((0.5, 0.5), abs=1e-3)
    assert layer_gains("default", "relu", 128)[0] == pytest.approx(1 / 6, abs=1e-3)
    assert layer_gains("xavier", "tanh", 128, var=1e-4)[0] == pytest.approx(1.0, abs=1e-3)
    assert layer_gains("he", "tanh", 128, var=1e-4)[0] == pytest.approx(2.0, abs=1e-3)


@pytest.fixture(scope="module")
def init():
    """The example's experiment on three seeds of profiles and of training runs."""
    return initialization.run(
        seeds=SEEDS, budget=initialization.BUDGET.replace(seeds=SEEDS), device="cpu"
    )


def test_relu_variance_through_50_layers(init):
    ratio = initialization.grad_ratio
    for seed in SEEDS:
        he = init.profile("relu", "He", seed)
        assert 0.1 < ratio(he) < 10
        assert 0.05 < he.activation_var[-1] / he.activation_var[0] < 20
        xa = init.profile("relu", "Xavier", seed)
        assert 0.4 < initialization.layer_factor(xa.activation_var) < 0.6
        assert ratio(xa) < 1e-10
        default = init.profile("relu", "PyTorch default", seed)
        assert ratio(default) < 1e-25
        assert default.activation_var[-1] < default.activation_var[0] / 20
        assert init.profile("relu", "normal, std 0.2", seed).activation_var[-1] > 1e15
        assert init.profile("relu", "normal, std 0.01", seed).activation_var[-1] < 1e-30


def test_tanh_variance_through_50_layers(init):
    ratio = initialization.grad_ratio
    for seed in SEEDS:
        xa = init.profile("tanh", "Xavier", seed)
        shrink = xa.activation_var[-1] / xa.activation_var[0]
        assert 1e-4 < shrink < 0.1
        # slow rather than geometric decay: the per-layer factor rises towards 1 with depth
        # (a geometric decay keeps it constant)
        first = initialization.layer_factor(xa.activation_var[:11])  # layers 1 to 11
        second_half = initialization.layer_factor(xa.activation_var[25:])  # layers 26 to 50
        assert first < 0.87 and second_half > 0.92, (first, second_half)
        assert second_half - first > 0.08, (first, second_half)
        assert shrink > 100 * first ** (len(xa.activation_var) - 1)  # far above geometric
        assert ratio(init.profile("tanh", "He", seed)) > 5  # exploding side
        default = init.profile("tanh", "PyTorch default", seed)
        assert ratio(default) < 1e-15
        assert default.activation_var[-1] < default.activation_var[0] / 20


def test_tanh_under_he_grows_by_its_gain_not_by_saturation(init):
    """The gradient of the 50-layer tanh network under He grows towards the input because each
    layer's gain n Var(w) E[tanh'(z)^2] is above one, not because units saturate: the gains
    predict the growth; the median layer has few saturated units; the same weights with the
    identity in place of tanh (no saturation at all) grow the gradient by more than 10^10 times
    as much; a linear network with the tanh network's mean gain grows it as much as tanh."""
    ratio = initialization.grad_ratio
    for seed in SEEDS:
        measured = ratio(init.profile("tanh", "He", seed))
        g = init.gains["He", seed]
        assert np.median(g.gain) > 1.05 and g.mean_gain() > 1.05, g.gain
        assert 1.9 < np.mean(g.weight_term) < 2.1
        assert max(g.predicted_ratio(), measured) / min(g.predicted_ratio(), measured) < 2
        assert np.median(g.saturated) < 0.05, g.saturated
        assert g.saturated[0] == max(g.saturated)  # the input layer is the most saturated
        same = ratio(init.controls["identity, same weights", seed])
        assert same > 1e10 * measured  # removing saturation speeds the growth: a brake
        matched = ratio(init.controls["identity, matched gain", seed])
        assert 0.5 < matched / measured < 2, (matched, measured)


def test_tanh_under_xavier_gain_below_one_predicts_the_decay(init):
    ratio = initialization.grad_ratio
    for seed in SEEDS:
        g = init.gains["Xavier", seed]
        measured = ratio(init.profile("tanh", "Xavier", seed))
        assert 0.85 < g.mean_gain() < 0.97 and measured < 0.1  # ordered, close to the edge
        assert max(g.predicted_ratio(), measured) / min(g.predicted_ratio(), measured) < 2


def test_30_layer_relu_xavier_stalls_he_trains(init):
    for seed in SEEDS:
        assert init.history("xavier", seed).final_train_loss > CHANCE - 0.1
        assert init.history("he", seed).final_train_loss < 1.0


# -- 3. batch normalization ----------------------------------------------------------------
@pytest.fixture(scope="module")
def bn():
    """The example's experiment: the with/without runs on three seeds, the ordering runs at
    the page's budgets (five seeds, two learning rates)."""
    return batch_norm.run(budget=batch_norm.BUDGET.replace(seeds=SEEDS), device="cpu")


def test_batch_norm_lifts_first_layer_gradients(bn):
    for seed in SEEDS:
        assert bn.ratio_at_init["sigmoid", "none", seed] < 1e-4
        assert 0.1 < bn.ratio_at_init["sigmoid", "batch", seed] < 10


def test_batch_norm_trains_the_deep_sigmoid_net(bn):
    for seed in SEEDS:
        loss = {
            (act, norm): bn.run_of(act, norm, seed)[0].final_train_loss
            for act in ("sigmoid", "tanh")
            for norm in ("none", "batch")
        }
        assert loss["sigmoid", "none"] > CHANCE - 0.1
        assert loss["sigmoid", "batch"] < 0.3
        assert loss["tanh", "none"] < 0.1 and loss["tanh", "batch"] < loss["tanh", "none"]


def test_unit_input_distribution(bn):
    for seed in SEEDS:
        spread = {
            (act, norm): (lambda q: q[:, 2] - q[:, 0])(bn.run_of(act, norm, seed)[2][1])
            for act in ("sigmoid", "tanh")
            for norm in ("none", "batch")
        }
        assert spread["tanh", "none"][-1] > 2 * spread["tanh", "none"][0]
        assert 0.7 < spread["tanh", "batch"][-1] / spread["tanh", "batch"][0] < 1.5
        assert np.all(spread["sigmoid", "none"] < 1e-3)  # forward signal collapsed


def test_batch_norm_lets_the_sigmoid_net_reach_the_target_loss(bn):
    for seed in SEEDS:
        assert bn.steps_to("sigmoid", "batch", seed=seed) <= 200
        assert bn.steps_to("sigmoid", "none", seed=seed) == math.inf


def test_paper_placement_normalizes_the_input_of_the_nonlinearity_not_its_output(bn):
    for seed in batch_norm.ORDER_BUDGETS[0].seeds:
        for act in batch_norm.ORDER_ACTIVATIONS:
            st = bn.stats[act, seed]
            assert st["pre_mean"] < 0.01 and abs(st["pre_var"] - 1) < 0.01, (act, st)
        sig, relu = bn.stats["sigmoid", seed], bn.stats["relu", seed]
        assert 0.45 < sig["post_mean"] < 0.55 and sig["post_var"] < 0.1, sig
        assert relu["post_mean"] > 0.3 and relu["post_var"] < 0.5, relu


def test_batch_norm_after_the_sigmoid_wins_at_the_smaller_learning_rate(bn):
    lr = batch_norm.ORDER_BUDGETS[0].lr
    after, before = (
        np.array(bn.order["sigmoid", lr, "after"]),
        np.array(bn.order["sigmoid", lr, "before"]),
    )
    assert np.all(after < 0.5 * before), (after, before)


def test_batch_norm_orderings_end_close_at_the_larger_learning_rate(bn):
    lr = batch_norm.ORDER_BUDGETS[1].lr
    ratio = np.mean(bn.order["sigmoid", lr, "after"]) / np.mean(bn.order["sigmoid", lr, "before"])
    assert 1 / 3 < ratio < 3, bn.order


def test_with_relu_the_papers_placement_trains_better(bn):
    n = len(batch_norm.ORDER_BUDGETS[0].seeds)
    for budget in batch_norm.ORDER_BUDGETS:
        after = np.mean(bn.order["relu", budget.lr, "after"])
        before = np.mean(bn.order["relu", budget.lr, "before"])
        assert bn.after_wins("relu", budget.lr) <= n // 5, bn.order
        assert after > 1.1 * before, (budget.lr, after, before)


# -- 4. residual connections ---------------------------------------------------------------
@pytest.fixture(scope="module")
def res():
    """The example's experiment at its budget (three seeds)."""
    return residual.run(device="cpu")


def test_gradients_at_init_plain_vs_residual_with_bn(res):
    assert res.seeds == SEEDS
    for seed in SEEDS:
        # exploding, not vanishing: the first layer's gradient is the larger
        assert res.profiles["plain + BN", seed].ratio_first_to_last() > 50
        assert res.at_init["plain + BN", 32, seed][1] > 50
        assert 0.01 < res.profiles["residual + BN", seed].ratio_first_to_last() < 5


def test_residual_without_norm_more_than_doubles_the_variance(res):
    for seed in SEEDS:
        assert residual.per_block_growth(res.growth[seed]) > 2.0
        for depth in res.depths:
            assert res.at_init["residual", depth, seed][0] > 2.0


def test_degradation_with_bn_and_residual_fix(res):
    for seed in SEEDS:
        plain8 = res.final_loss("plain + BN", 8, seed)
        plain32 = res.final_loss("plain + BN", 32, seed)
        res32 = res.final_loss("residual + BN", 32, seed)
        assert plain32 > 5 * plain8, (plain8, plain32)
        assert res32 < 0.5 and res32 < plain32 / 3, (res32, plain32)


def test_without_norm_plain_degrades_and_residual_diverges(res):
    for seed in SEEDS:
        assert res.final_loss("plain", 32, seed) > 5 * res.final_loss("plain", 4, seed)
        assert res.final_loss("residual", 16, seed) == math.inf
        assert res.final_loss("residual", 32, seed) == math.inf


def test_residual_branches_that_start_at_zero_train_without_normalization(res):
    for seed in SEEDS:
        for depth in res.depths:
            growth, ratio = res.at_init[residual.SMALL_BRANCH, depth, seed]
            assert 0.8 < growth < 1.25, (depth, seed, growth)
            assert 0.1 < ratio < 10, (depth, seed, ratio)
            assert res.final_loss(residual.SMALL_BRANCH, depth, seed) < 0.2, (depth, seed)
        assert (
            res.final_loss(residual.SMALL_BRANCH, 32, seed)
            < res.final_loss("plain + BN", 32, seed) / 3
        )


# -- 5. optimizers -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def opt():
    """The example's grid on three seeds; the best learning rates are chosen on seed 0, as
    on the page."""
    return optimizers.run(budget=optimizers.BUDGET.replace(seeds=SEEDS), device="cpu")


def test_sgd_and_momentum_stay_at_chance(opt):
    for name in ("sgd", "momentum"):
        for lr in optimizers.GRID[name]:
            for seed in SEEDS:
                assert opt.final_loss(name, lr, seed) > CHANCE - 0.1, (name, lr, seed)


def test_adaptive_methods_escape_but_stay_far_above_batch_norm(opt):
    bn_losses = [opt.batch_norm[s].final_train_loss for s in SEEDS]
    for name in ("adagrad", "rmsprop", "adam"):
        for seed in SEEDS:
            loss = opt.final_loss(name, seed=seed)
            assert loss < CHANCE - 0.3, (name, seed, loss)
            assert loss > 5 * max(bn_losses), (name, seed, loss, bn_losses)


def test_batch_norm_reaches_the_target_loss_and_adam_does_not(opt):
    for seed in SEEDS:
        assert optimizers.steps_to(opt.batch_norm[seed]) <= 100
        assert optimizers.steps_to(opt.runs["adam", opt.best["adam"], seed][0]) == math.inf


def test_adaptive_methods_flatten_the_update_ratio(opt):
    for seed in SEEDS:
        ratio = {name: opt.first_over_last(name, seed) for name in optimizers.GRID}
        assert ratio["sgd"] < 1e-3 and ratio["momentum"] < 1e-3, ratio
        for name in ("adagrad", "rmsprop", "adam"):
            assert 0.1 < ratio[name] < 10, ratio


# -- the claims page's verdicts, from the same summaries -----------------------------------
def test_claims_page_verdicts(speed, init, bn, res, opt):
    conditional = "holds only under conditions"
    speed_verdict = c.judge_learning_speed(speed.summary())
    assert speed_verdict.verdict == conditional
    assert "overstates" in speed_verdict.evidence
    init_verdict = c.judge_initialization(init.summary())
    assert init_verdict.verdict == conditional
    assert "ReLU under Xavier" in init_verdict.evidence.split("failing:")[1]
    assert c.judge_batch_norm_description(bn.summary()).verdict == "false here"
    assert c.judge_batch_norm_order(bn.summary()).verdict == conditional
    assert c.judge_residual(res.summary()).verdict == conditional
    assert c.judge_optimizers(opt.summary()).verdict == conditional
