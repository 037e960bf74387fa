"""Claims of the chapter "Exploding gradients and gradient clipping".

Each test calls the experiment that docs/chapters/exploding.md quotes and gallery/exploding/
shows, at their budget (on more seeds where the outcome is statistical), and asserts the
statement with a margin.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from vgexamples import claims
from vgexamples.clipping import clip_gradient, summarize_sweep
from vgexamples.experiments import cliff, clipping, exploding
from vgexamples.models import count_parameters
from vgexamples.propagation import chain_bias_gradients
from vgexamples.sequences import ADDING_BASELINE_MSE

SEEDS = (0, 1, 2)


@pytest.mark.parametrize("weight", [20.0, 100.0])
def test_chain_multiplies_gradient_by_w_over_4_per_layer(weight):
    grads = chain_bias_gradients(8, weight=weight)
    ratios = np.array(grads[:-1]) / np.array(grads[1:])
    assert np.allclose(ratios, weight / 4, rtol=1e-9)


@pytest.fixture(scope="module")
def gains():
    """The example's experiment on three seeds (the page shows seed 0)."""
    return exploding.run(budget=exploding.BUDGET.replace(seeds=SEEDS), device="cpu")


@pytest.mark.parametrize("seed", SEEDS)
def test_signal_grows_towards_input_but_weight_gradients_inflate_together(seed, gains):
    prof = {g: gains.profile(g, seed) for g in (1.0, 1.5)}
    # back-propagated signal: ~constant at the critical scale, grows towards the input above it
    assert 0.3 < prof[1.0].ratio_first_to_last("output_grad_norm") < 3
    assert prof[1.5].ratio_first_to_last("output_grad_norm") > 10
    # weight gradients: every layer inflated by a large common factor
    assert prof[1.5].weight_grad_norm[0] / prof[1.0].weight_grad_norm[0] > 20
    assert 0.1 < prof[1.5].ratio_first_to_last("weight_grad_norm") < 10


@pytest.mark.parametrize("seed", SEEDS)
def test_exploding_net_diverges_and_stops_cleanly(seed, gains):
    hist = gains.history(1.5, seed)
    assert hist.diverged and hist.steps_run < 10
    assert f"step {hist.steps_run + 1}" in hist.stop_reason
    assert hist.loss[1] > 100 * hist.loss[0]  # the loss jumps before it stops being finite
    assert hist.grad_norm[1] > 1000 * hist.grad_norm[0]
    ok = gains.history(1.0, seed)
    assert not ok.diverged and ok.final_test_accuracy > 0.85


@pytest.mark.parametrize("seed", SEEDS)
def test_norm_clipping_keeps_direction_value_clipping_bends_it(seed):
    one = clipping.clip_one_gradient(clipping.one_gradient(seed, device="cpu"))
    assert min(one.cosine["norm"]) > 0.9999
    for c, norm in zip(one.thresholds, one.norm["value"], strict=True):
        assert norm <= c * math.sqrt(one.n_parameters) * (1 + 1e-6)
    value_cos = one.cosine["value"][:5]  # thresholds 1e-3 .. 10
    # value clipping bends the gradient, more the smaller the threshold
    assert max(value_cos[:4]) < 0.9 and value_cos[1] < 0.6
    assert all(a <= b + 1e-9 for a, b in itertools.pairwise(value_cos))
    assert one.max_norm_growth <= 1 + 1e-6


@pytest.mark.parametrize("seed", SEEDS)
def test_clipping_never_lengthens_a_gradient(seed):
    gen = torch.Generator().manual_seed(seed)
    g = torch.randn(1000, generator=gen) * 1e-6  # a vanishing gradient
    for mode in ("value", "norm"):
        for c in (1e-8, 1e-6, 1.0):
            assert float(clip_gradient(g, mode, c).norm()) <= float(g.norm()) * (1 + 1e-6)


@pytest.fixture(scope="module")
def mlp_result():
    """The example's sweep at its budget."""
    return clipping.run_mlp(device="cpu")


@pytest.fixture(scope="module")
def mlp_sweep(mlp_result):
    return mlp_result.runs, summarize_sweep(mlp_result.runs)


@pytest.mark.slow
def test_claims_page_verdict(mlp_result):
    verdict = claims.judge_clipping(mlp_result.summary())
    assert verdict.verdict == "holds only under conditions"
    assert "never lengthened" in verdict.evidence


@pytest.mark.slow
def test_clipping_does_not_rescue_the_vanishing_network(mlp_result):
    runs = mlp_result.vanishing_runs
    assert {r.mode for r in runs} == {"none", "value", "norm"}
    # every run, clipped or not, ends at the chance level (within 10%)
    assert all(r.failed and not r.diverged for r in runs)
    assert all(r.final_loss > 0.9 * math.log(10) for r in runs)
    # and the clipping did act: norm clipping changed every step at both thresholds
    assert all(r.clipped_share == 1.0 for r in runs if r.mode == "norm")


@pytest.mark.slow
def test_above_the_window_clipping_still_acts_and_most_units_die(mlp_sweep):
    runs, s = mlp_sweep
    for mode in ("value", "norm"):
        failed = s[mode]["failed"]
        inside = s[mode]["threshold"][failed == 0]
        above = [t for t in s[mode]["threshold"] if t > inside.max()]
        assert above, mode
        for r in (r for r in runs if r.mode == mode and r.threshold in above):
            assert r.failed and not r.diverged
            assert 0 < r.clipped_share < 0.5  # it caps some steps, only a minority
            assert r.dead_fraction > 0.5  # most ReLU units output zero for every image
        for r in (r for r in runs if r.mode == mode and r.threshold in inside):
            assert r.dead_fraction < 0.2
    assert all(math.isnan(r.dead_fraction) for r in runs if r.mode == "none")  # diverged


@pytest.mark.slow
def test_mlp_sweep_unclipped_diverges_clipping_has_a_window(mlp_sweep):
    runs, s = mlp_sweep
    assert s["none"]["diverged"][0] == 1.0
    assert not any(r.diverged for r in runs if r.mode != "none")
    for mode in ("value", "norm"):
        failed = s[mode]["failed"]
        assert (failed == 0).any(), mode  # some thresholds train every seed
        assert failed[0] == 1.0 or failed[-1] == 1.0  # and the window is bounded
        ok = s[mode]["median_loss"][failed == 0]
        assert (ok < 0.5 * math.log(10)).all()
    # too small: no progress; too large: the network collapses to the chance level
    assert s["norm"]["failed"][0] == 1.0 and s["norm"]["failed"][-1] == 1.0
    assert (s["value"]["failed"][-3:] == 1.0).all()
    collapsed = [r for r in runs if r.mode == "value" and r.threshold >= 10]
    assert all(abs(r.final_loss - math.log(10)) < 0.05 for r in collapsed)


@pytest.mark.slow
def test_mlp_sweep_windows_line_up_on_the_norm_scale(mlp_sweep):
    _, s = mlp_sweep
    n_params = count_parameters(exploding.build(clipping.GAIN))
    centre = {}
    for mode, scale in (("value", math.sqrt(n_params)), ("norm", 1.0)):
        good = s[mode]["threshold"][s[mode]["failed"] == 0] * scale
        centre[mode] = math.exp(np.mean(np.log(good)))
    raw = {m: math.exp(np.mean(np.log(s[m]["threshold"][s[m]["failed"] == 0]))) for m in centre}
    assert 0.1 < centre["value"] / centre["norm"] < 10
    assert raw["norm"] / raw["value"] > 30  # on the raw threshold scale they are far apart


@pytest.fixture(scope="module")
def rnn_sweep():
    """The example's sweep at its budget."""
    result = clipping.run_rnn(device="cpu")
    assert result.curves["no clipping"].diverged
    assert not result.curves["clip norm 0.1"].diverged
    return result.runs, summarize_sweep(result.runs)


@pytest.mark.slow
def test_rnn_sweep(rnn_sweep):
    runs, s = rnn_sweep
    assert s["none"]["diverged"][0] == 1.0
    assert not any(r.diverged for r in runs if r.mode != "none")
    t = s["value"]["threshold"]
    # large thresholds stop protecting; value clipping gives up at a smaller threshold
    assert (s["value"]["failed"][t >= 1] == 1.0).all()
    assert (s["norm"]["failed"][t >= 10] == 1.0).all()
    assert (s["value"]["failed"] >= s["norm"]["failed"])[t >= 1].all()
    big = [r.final_loss for r in runs if r.mode != "none" and r.threshold >= 10]
    assert min(big) > 2 * ADDING_BASELINE_MSE
    # clipping still acts on most steps at the large thresholds where the runs fail
    assert all(r.clipped_share > 0.5 for r in runs if r.mode != "none" and r.threshold >= 10)
    # small thresholds: stable and a little below the mean predictor
    for mode in ("value", "norm"):
        good = s[mode]["median_loss"][s[mode]["failed"] == 0]
        assert len(good) >= 1 and (good > 0.5 * ADDING_BASELINE_MSE).all()


@pytest.fixture(scope="module")
def cliff_result():
    return cliff.run()


@pytest.mark.parametrize("start", cliff.STARTS)
def test_cliff_throws_unclipped_descent_and_clipping_crosses_it(start, cliff_result):
    free = cliff_result.paths[start, None]
    clipped = cliff_result.paths[start, cliff_result.clip_norm]
    assert free.stop_reason is None and clipped.stop_reason is None
    # a gradient far larger than typical on the path throws the parameters far away ...
    assert max(free.grad_norm) > 20 * np.median(free.grad_norm)
    assert free.max_step > 5
    # ... onto a plateau worse than where clipped descent ends
    assert free.loss[-1] > 0.08
    assert clipped.loss[-1] < 0.01
    assert clipped.max_step <= 0.5 + 1e-9
