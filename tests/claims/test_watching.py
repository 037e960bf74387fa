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

from vgexamples.experiments.watching import CASES, first_row, run
from vgexamples.health import THRESHOLDS
from vgexamples.sequences import ADDING_BASELINE_MSE

SEEDS = (0, 1, 2)


@functools.cache
def watched(name: str, seed: int):
    return run(name, seed=seed)


def rows(w, kind: str):
    return [r for r in w.report.rows if r["kind"] == kind]


def flagged(w, flag: str) -> list[str]:
    return [r["layer"] for r in w.report.rows if flag in r["flags"]]


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
    # ... whose whole weight gradient is below the optimizer's eps, so that the step is
    # about lr * g / eps: far below 1e-4 of the weights
    assert first_row(adamw)["weight grad"] < 1e-8
    assert first_row(adamw)["update ratio"] < 1e-5
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
    assert first["update ratio"] > 1  # the first updates are larger than the weights
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
    # and the clipped steps are tiny against the weights
    assert "update too small" in first["flags"]
    assert first["update ratio"] < THRESHOLDS["update_low"]


@pytest.mark.parametrize("seed", SEEDS)
def test_negative_biases_kill_units_and_the_gradient_below_them(seed):
    w = watched("dead", seed)
    relus = rows(w, "ReLU")
    assert len(relus) == 6
    assert relus[-1]["dead"] == 1.0  # blocks every gradient below it
    assert len(flagged(w, "dead units")) >= 4
    hidden = rows(w, "Linear")[:-1]
    assert all(r["weight grad"] == 0 for r in hidden)
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
    rnn, lstm, opened = (watched(n, seed) for n in ("rnn", "lstm", "lstm_forget"))
    for w in (rnn, lstm):
        row = first_row(w)
        assert row["h1 / hT"] < THRESHOLDS["vanishing"]
        assert row["flags"] == "gradient vanishes through time"
    row = first_row(opened)
    # the control changes only the forget gate's bias, and the flag goes
    assert row["h1 / hT"] > THRESHOLDS["vanishing"] and opened.report.flags == []
    assert row["h1 / hT"] > 1e4 * first_row(lstm)["h1 / hT"]

    # the figure: the first sample's profile, last step to first
    def first_ratio(w):
        p = w.watcher.through_time["rnn"][0]
        return p[0] / p[-1]

    assert first_ratio(rnn) < 1e-8 and first_ratio(lstm) < 1e-8 and first_ratio(opened) > 1e-2
    # the profile is recorded at every sample, over all 50 steps
    assert all(len(p) == 50 for p in opened.watcher.through_time["rnn"])
    # none learns the task in this budget: about the mean predictor's error
    for w in (rnn, lstm, opened):
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
        "lstm_forget",
    }
    assert set(CASES) == tested


def test_run_rejects_unknown_case_and_bad_epochs():
    with pytest.raises(ValueError, match="name"):
        run("sick")
    with pytest.raises(ValueError, match="epochs"):
        run("healthy", epochs=0)
