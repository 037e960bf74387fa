"""Claims of the page "Diagnose your own model" (docs/diagnose.md).

Each test trains the page's cases with :func:`vgexamples.experiments.watching.run`, at the
page's budget, on three seeds (the page shows seed 0), and asserts what the page says about
them: every flag it shows and every cause it names.
"""

from __future__ import annotations

import functools
import itertools
import math

import pytest
import torch
from torch import nn

from vgexamples.experiments import watching
from vgexamples.experiments.watching import CASES, first_row, rows_of, run
from vgexamples.health import THRESHOLDS
from vgexamples.sequences import ADDING_BASELINE_MSE

SEEDS = (0, 1, 2)


@functools.cache
def watched(name: str, seed: int):
    return run(name, seed=seed)


rows = rows_of


def flagged(w, flag: str) -> list[str]:
    return [r["layer"] for r in w.report.rows if flag in r["flags"]]


def flag_kinds(w) -> set[str]:
    """Every kind of layer flag the report raises (the table's flags column)."""
    return {f for r in w.report.rows for f in r["flags"].split(", ") if f}


def layers(w, kind: str) -> list[str]:
    return [r["layer"] for r in rows(w, kind)]


@pytest.mark.parametrize("seed", SEEDS)
def test_healthy_model_has_no_flags_and_even_gradients(seed):
    w = watched("healthy", seed)
    assert w.report.flags == []
    assert w.watcher.broken is None
    # "every layer receives a gradient of the same order as the last one's"
    for r in rows(w, "Linear")[:-1]:
        assert 0.1 < r["grad / last"] < 10
        assert THRESHOLDS["update_low"] < r["update ratio"] < THRESHOLDS["update_high"]
    assert max(r["dead"] for r in rows(w, "ReLU")) < THRESHOLDS["dead"]
    # it learns: the loss falls well below chance (log 10 = 2.3)
    assert w.final_loss < 0.5 * w.losses[0] and w.final_loss < 1.0
    # the default schedule sampled a short run: 1, 4, 16, 64 of its 110 steps
    assert len(w.losses) == 110 and w.watcher.steps == [1, 4, 16, 64]


@pytest.mark.parametrize("seed", SEEDS)
def test_vanishing_sigmoid_net_is_flagged_without_saturation(seed):
    w = watched("vanishing", seed)
    first, linear = first_row(w), rows(w, "Linear")
    assert "vanishing gradient" in first["flags"] and "update too small" in first["flags"]
    assert first["grad / last"] < 1e-6
    assert len(flagged(w, "vanishing gradient")) >= 6
    # the back-propagated gradient falls monotonically towards the input
    rel = [r["grad / last"] for r in linear]
    assert all(a < b for a, b in itertools.pairwise(rel))
    # under SGD the first layer's step shrinks with its gradient (a zero ratio: the weights
    # did not change although the gradient is not zero, i.e. the step is below float32's
    # resolution)
    assert first["update ratio"] < 1e-4 * linear[-2]["update ratio"]
    if first["update ratio"] == 0:
        assert first["weight grad"] > 0
    # the heat map: the first layer's row is over six orders of magnitude below the last
    # layer's at every sample, the healthy net's within one
    names, grid = w.watcher.matrix()
    linear_rows = [names.index(r["layer"]) for r in linear]
    assert (grid[linear_rows[0]] < 1e-6 * grid[linear_rows[-1]]).all()
    healthy = watched("healthy", seed)
    names, grid = healthy.watcher.matrix()
    heal = [names.index(r["layer"]) for r in rows(healthy, "Linear")]
    ratio = grid[heal] / grid[heal[-1]]
    assert ((ratio > 0.1) & (ratio < 10)).all()
    # not from saturation: no sigmoid layer is saturated
    assert max(r["saturated"] for r in rows(w, "Sigmoid")) < THRESHOLDS["saturated"]
    # each layer passes back less than the quarter a sigmoid allows, and the factor splits
    # into the sigmoid's mean derivative (near its ceiling) and the default weights' gain
    factors = watching.layer_factors(w)
    derivatives = watching.sigmoid_derivatives(w)
    assert len(factors) == len(derivatives) == 12
    assert max(factors) < 0.25
    assert all(0.2 < d <= 0.25 for d in derivatives)
    gain = math.sqrt(1 / 3)
    rest = [f / d for f, d in zip(factors, derivatives, strict=True)]
    assert all(0.85 * gain < g < 1.15 * gain for g in rest)
    # ... which is the weights' own gain, measured from their norms
    weight_gains = watching.weight_gains(w)
    assert all(0.9 * gain < g < 1.1 * gain for g in weight_gains)
    for g, own in zip(rest, weight_gains[1:], strict=True):
        assert g == pytest.approx(own, rel=0.15)
    # every flag of the table: vanishing and small updates from the input side, and the
    # output layer's update too large
    lin = layers(w, "Linear")
    assert flag_kinds(w) == {"vanishing gradient", "update too small", "update too large"}
    vanishing, small = flagged(w, "vanishing gradient"), flagged(w, "update too small")
    assert vanishing == lin[: len(vanishing)] and small == lin[: len(small)]
    assert len(small) >= len(vanishing)
    assert flagged(w, "update too large") == [lin[-1]]
    assert linear[-1]["update ratio"] > THRESHOLDS["update_high"]
    assert first["update ratio"] < THRESHOLDS["update_low"]  # both ends flagged at once


@pytest.mark.parametrize("seed", SEEDS)
def test_under_adamw_the_update_flags_follow_eps_not_the_gradient(seed):
    sgd, adamw, eps = (
        watched(n, seed) for n in ("vanishing", "vanishing_adamw", "vanishing_adamw_eps")
    )
    # the back-propagated gradient vanishes as under SGD, and is flagged
    assert first_row(adamw)["grad / last"] < 1e-6
    assert flagged(adamw, "vanishing gradient") == flagged(sgd, "vanishing gradient")
    # the update flags remain only on the layers nearest the input (a prefix, fewer than SGD's)
    small = flagged(adamw, "update too small")
    names = [r["layer"] for r in rows(adamw, "Linear")]
    assert small and small == names[: len(small)]
    assert len(small) < len(flagged(sgd, "update too small"))
    assert len(small) < len(names) / 2  # "most layers' update flags" are cleared
    assert flag_kinds(adamw) == {"vanishing gradient", "update too small"}
    # ... whose gradient per weight is below the optimizer's eps, so that the step is about
    # lr * g / eps: every layer's update ratio is that of the layers far above eps scaled by
    # rms / (rms + eps), within a factor of 3, here and in the control
    eps_value = adamw.watcher.optimizer.defaults["eps"]
    fit = {r["layer"]: r for r in watching.eps_model(adamw)}
    assert all(fit[n]["rms"] < eps_value for n in small)
    assert fit[names[0]]["rms"] < 1e-3 * eps_value
    assert first_row(adamw)["update ratio"] < 1e-5
    control = watching.eps_model(eps)
    for model in (fit.values(), control):
        for r in model:
            assert 1 / 3 < r["ratio"] / r["predicted"] < 3, r
    # in the control every layer's gradient is far above eps, and still vanishes
    assert all(r["eps_multiple"] > 100 for r in control)
    assert flagged(eps, "vanishing gradient") == flagged(adamw, "vanishing gradient")
    # weight decay is off in both runs
    for w in (adamw, eps):
        assert all(g["weight_decay"] == 0 for g in w.watcher.optimizer.param_groups)
    # the note says why the update flags cannot read a vanishing gradient
    assert any("eps" in n and "AdamW" in n for n in adamw.report.notes)
    assert not any("AdamW" in n for n in sgd.report.notes)
    # the control: only eps changed, and the first layer's step is like every other layer's
    a, e = first_row(adamw)["update ratio"], first_row(eps)["update ratio"]
    assert e > 100 * a
    others = sorted(r["update ratio"] for r in rows(eps, "Linear")[1:])
    median = others[len(others) // 2]
    assert median / 5 < e < median * 5
    assert flagged(eps, "update too small") == []


@pytest.mark.parametrize("seed", SEEDS)
def test_exploding_net_is_flagged_and_breaks_in_the_forward_pass(seed):
    w = watched("exploding", seed)
    first = first_row(w)
    assert "exploding gradient" in first["flags"]
    assert first["grad / last"] > 3e3
    # every layer's update is larger than its weights, and flagged
    lin = layers(w, "Linear")
    assert min(r["update ratio"] for r in rows(w, "Linear")) > 1
    assert flagged(w, "update too large") == lin
    exploding = flagged(w, "exploding gradient")
    assert exploding == lin[: len(exploding)]
    assert flag_kinds(w) <= {"exploding gradient", "update too large", "dead units"}
    # the back-propagated gradient grows towards the input at every hidden layer (the
    # output layer's weights are not doubled)
    assert all(f > 1.2 for f in watching.layer_factors(w)[:-1])
    broken = w.watcher.broken
    assert broken is not None and broken.phase == "forward"
    assert broken.step <= 5 and broken.kind == "Linear"
    assert any(f.startswith("model: non-finite values at step") for f in w.report.flags)
    # nothing after the break is read as a measurement
    assert w.watcher.steps and max(w.watcher.steps) < broken.step


@pytest.mark.parametrize("seed", SEEDS)
def test_clipping_keeps_the_exploding_run_finite_but_not_trained(seed):
    w = watched("exploding_clipped", seed)
    assert w.watcher.broken is None
    assert all(math.isfinite(v) for v in w.losses)
    assert w.final_loss > math.log(10)  # worse than guessing uniformly
    # one factor for the whole gradient: the first layer still gets far more than the last
    first = first_row(w)
    assert first["grad / last"] > THRESHOLDS["exploding"]
    assert "exploding gradient" in first["flags"]
    exploding = flagged(w, "exploding gradient")
    lin = layers(w, "Linear")
    assert exploding == lin[: len(exploding)]
    # clipping leaves the back-propagated signal as it was: at step 1, before the runs part,
    # the same per-layer gradient as the unclipped run's
    plain = watched("exploding", seed)
    for n in lin:
        a = w.watcher.series["output_grad_norm"][n][0]
        assert a == pytest.approx(plain.watcher.series["output_grad_norm"][n][0], rel=1e-6)
    # one factor for every parameter: each layer's step is lr * clip / (global norm) times
    # its own gradient (recorded before clipping), the same factor for every layer
    lr = w.watcher.optimizer.defaults["lr"]
    series = w.watcher.series
    for n, steps in watching.step_sizes(w).items():
        for k, step in enumerate(steps):
            factor = step / series["weight_grad_norm"][n][k]
            assert factor == pytest.approx(lr * w.case.clip / w.watcher.grad_norm[k], rel=1e-3)
    # it bounds the step: all the weights together move by at most lr * clip, and by nearly
    # that (the gradient is far above the threshold)
    bound = lr * w.case.clip
    moved = watching.weight_steps(w)
    assert all(0.9 * bound < step <= bound * (1 + 1e-5) for step in moved)
    assert min(watching.weight_norms(w)[:-1]) > 10  # against weights of norm above 10
    # the output layer takes most of the step's length
    head = watching.step_sizes(w)[lin[-1]]
    assert all(h / total > 0.5 for h, total in zip(head, moved, strict=True))
    # so every hidden layer's update is flagged as too small
    assert flagged(w, "update too small") == lin[:-1]
    assert first["update ratio"] < THRESHOLDS["update_low"]
    # the only other flag: dead units, in the ReLU layers nearest the output
    assert flag_kinds(w) <= {"exploding gradient", "update too small", "dead units"}
    relus = layers(w, "ReLU")
    assert set(flagged(w, "dead units")) <= set(relus[-len(relus) // 3 :])


@pytest.mark.parametrize("seed", SEEDS)
def test_negative_biases_kill_units_and_the_gradient_below_them(seed):
    w = watched("dead", seed)
    relus = rows(w, "ReLU")
    assert len(relus) == 6
    assert relus[-1]["dead"] == 1.0  # blocks every gradient below it
    assert len(flagged(w, "dead units")) >= 4
    # the dead units are the layers nearest the output; the entirely dead ones too, and
    # they are entirely dead from the first step
    dead = flagged(w, "dead units")
    assert dead == layers(w, "ReLU")[-len(dead) :]
    full = [r["layer"] for r in relus if r["dead"] == 1.0]
    assert full and full == layers(w, "ReLU")[-len(full) :]
    assert all(w.watcher.series["dead"][n][0] == 1.0 for n in full)
    assert all(r["grad / last"] == 0 for r in rows(w, "Linear")[:-1])
    # no gradient below them: every hidden layer's weight gradient is exactly zero at every
    # sample, flagged as vanishing; the output layer's weights get none either (their input
    # is all zeros), only its bias, and its update is flagged as too small
    lin = layers(w, "Linear")
    series = w.watcher.series
    for n in lin:
        assert all(v == 0 for v in series["weight_grad_norm"][n]), n
    assert all(v > 0 for v in series["bias_grad_norm"][lin[-1]])
    assert flagged(w, "vanishing gradient") == lin[:-1]
    assert flagged(w, "update too small") == lin
    assert flag_kinds(w) == {"vanishing gradient", "update too small", "dead units"}
    assert w.final_loss > 0.9 * w.losses[0]  # the loss barely moves


@pytest.mark.parametrize("seed", SEEDS)
def test_nan_is_traced_to_the_standardizing_layer(seed):
    w = watched("nan", seed)
    broken = w.watcher.broken
    assert (broken.step, broken.phase, broken.module, broken.kind) == (
        1,
        "forward",
        "0",
        "Standardize",
    )
    assert "turned finite inputs into non-finite outputs" in str(broken)
    assert w.watcher.steps == []
    assert any("the run broke at step 1" in n for n in w.report.notes)


@pytest.mark.parametrize("seed", SEEDS)
def test_transformer_encoder_is_watched_without_flags(seed):
    w = watched("transformer", seed)
    assert w.report.flags == []
    kinds = {r["kind"] for r in w.report.rows}
    assert {"Linear", "LayerNorm", "MultiheadAttention"} <= kinds
    proj = next(r for r in w.report.rows if r["layer"] == "encoder.layers.0.self_attn.out_proj")
    assert math.isfinite(proj["grad / last"]) and proj["grad / last"] > 0
    assert any("out_proj" in n for n in w.report.notes)
    assert w.final_loss < w.losses[0]


@pytest.mark.parametrize("seed", SEEDS)
def test_gradient_through_time_vanishes_unless_the_forget_gate_starts_open(seed):
    cases = ("rnn", "lstm", "lstm_forget1", "lstm_forget")
    rnn, lstm, bias1, opened = (watched(n, seed) for n in cases)
    for w in (rnn, lstm, bias1):
        row = first_row(w)
        assert row["h1 / hT"] < THRESHOLDS["vanishing"]
        assert w.report.flags == ["rnn: gradient vanishes through time"]
    row = first_row(opened)
    # the controls change only the forget gate's bias: the more open the gate, the more
    # gradient reaches the first step; at 3 the flag goes
    assert row["h1 / hT"] > THRESHOLDS["vanishing"] and opened.report.flags == []
    assert row["h1 / hT"] > 1e2 * first_row(bias1)["h1 / hT"]
    assert first_row(bias1)["h1 / hT"] > 1e2 * first_row(lstm)["h1 / hT"]
    # the controls change only the forget gate's bias: every other parameter is the same
    models = {n: watching.fresh_model(n, seed=seed) for n in cases[1:]}
    hidden = models["lstm"].rnn.hidden_size
    base = models["lstm"].state_dict()
    for name in cases[2:]:
        other = models[name].state_dict()
        for key, value in base.items():
            if key.startswith("rnn.bias_"):
                rows_ = torch.ones(len(value), dtype=torch.bool)
                rows_[hidden : 2 * hidden] = False
                assert torch.equal(value[rows_], other[key][rows_]), (name, key)
                assert not torch.equal(value[~rows_], other[key][~rows_]), (name, key)
            else:
                assert torch.equal(value, other[key]), (name, key)
    # the gate's mean value before training is the sigmoid of its bias (near 0 by default)
    batch = next(iter(watching.loader("adding", seed=seed)))[0]
    for name, bias in (("lstm", 0.0), ("lstm_forget1", 1.0), ("lstm_forget", 3.0)):
        gate = watching.forget_gate_mean(watching.fresh_model(name, seed=seed).rnn, batch)
        assert gate == pytest.approx(1 / (1 + math.exp(-bias)), abs=0.03), name

    # the figure: the first sample's profile, last step to first
    def first_ratio(w):
        p = w.watcher.through_time["rnn"][0]
        return p[0] / p[-1]

    assert first_ratio(rnn) < 1e-8 and first_ratio(lstm) < 1e-8 and first_ratio(opened) > 1e-2
    assert 1e2 * first_ratio(lstm) < first_ratio(bias1) < 1e-2 * first_ratio(opened)
    # the profile is recorded at every sample, over all 50 steps
    assert all(len(p) == 50 for p in opened.watcher.through_time["rnn"])
    # none learns the task in this budget: about the mean predictor's error
    for w in (rnn, lstm, bias1, opened):
        assert 0.9 * ADDING_BASELINE_MSE < w.final_loss < 1.1 * ADDING_BASELINE_MSE


def test_every_case_on_the_page_is_tested():
    tested = {
        "healthy",
        "vanishing",
        "vanishing_adamw",
        "vanishing_adamw_eps",
        "exploding",
        "exploding_clipped",
        "dead",
        "nan",
        "transformer",
        "rnn",
        "lstm",
        "lstm_forget1",
        "lstm_forget",
    }
    assert set(CASES) == tested


def test_run_rejects_unknown_case_and_bad_epochs():
    with pytest.raises(ValueError, match="name"):
        run("sick")
    with pytest.raises(ValueError, match="epochs"):
        run("healthy", epochs=0)


def test_forget_gate_mean_by_hand_and_bad_input():
    """With the forget rows' weights at zero, the gate is the sigmoid of its bias exactly."""
    torch.manual_seed(5)
    lstm = nn.LSTM(2, 4, batch_first=True)
    with torch.no_grad():
        lstm.weight_ih_l0[4:8].zero_()
        lstm.weight_hh_l0[4:8].zero_()
        lstm.bias_ih_l0[4:8].fill_(0.5)
        lstm.bias_hh_l0[4:8].fill_(0.25)
    x = torch.randn(3, 6, 2)
    assert watching.forget_gate_mean(lstm, x) == pytest.approx(1 / (1 + math.exp(-0.75)))
    with pytest.raises(ValueError, match="lstm"):
        watching.forget_gate_mean(nn.LSTM(2, 4), x)  # not batch-first
    with pytest.raises(ValueError, match="x"):
        watching.forget_gate_mean(lstm, torch.randn(3, 6))
