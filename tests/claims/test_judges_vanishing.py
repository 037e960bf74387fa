"""The claims page's judges for the vanishing and exploding chapters.

For each judge: one test per verdict with plausible hand-made numbers (so every branch is
reachable and a change in the experiments' outcome changes the verdict), a check that the
evidence follows the numbers and that the criterion is stated, and one test feeding the judge
the real numbers of its experiment at the page's budget, pinning the verdict those data give.
"""

from __future__ import annotations

import pytest

from vgexamples import claims as c


def _activation(sig_he, tanh_he, relu_default, relu_he):
    return {
        "sigmoid_he_ratio": sig_he,
        "tanh_he_ratio": tanh_he,
        "relu_default_ratio": relu_default,
        "relu_he_ratio": relu_he,
    }


def _saturation(**nets):
    """``name=(ratio, median saturated)`` with name ``{act}_{init}``."""
    out = {}
    for name, (ratio, sat) in nets.items():
        out[f"{name}_ratio"] = ratio
        out[f"{name}_median_saturated"] = sat
    return out


def _relu(relu, leaky, prelu, zero=0.5):
    return {
        "relu_he_ratio": relu,
        "relu_he_zero_fraction": zero,
        "leaky_relu_he_ratio": leaky,
        "leaky_relu_he_zero_fraction": 0.0,
        "prelu_he_ratio": prelu,
        "prelu_he_zero_fraction": 0.0,
    }


def _fractions(sig_max, relu_med, relu_max, relu_big):
    return {
        "sigmoid_default_max_factor": sig_max,
        "relu_he_median_factor": relu_med,
        "relu_he_max_factor": relu_max,
        "relu_he_x1_5_median_factor": relu_big,
    }


def _clipping(diverged, norm_best, value_best, van_none, van_best, growth=1.0):
    return {
        "unclipped_diverged": diverged,
        "norm_best_failed": norm_best,
        "value_best_failed": value_best,
        "max_norm_growth": growth,
        "vanishing_unclipped_failed": van_none,
        "vanishing_best_failed": van_best,
        "vanishing_unclipped_median_loss": 2.30 if van_none > 0.5 else 0.2,
        "vanishing_best_median_loss": 2.30 if van_best > 0.5 else 0.3,
    }


CASES = [
    # activation-cause: both squashing functions vanish, ReLU never does
    (c.judge_activation_cause, _activation(1e-10, 1e-6, 0.5, 0.6), "holds"),
    # sigmoid vanishes under He, tanh does not, ReLU vanishes under the default weights
    (c.judge_activation_cause, _activation(1e-10, 1.6, 1e-7, 0.6), "holds only under conditions"),
    # neither squashing function vanishes under He
    (c.judge_activation_cause, _activation(0.5, 1.6, 1e-7, 0.6), "false here"),
    # ReLU vanishes under He too
    (c.judge_activation_cause, _activation(1e-10, 1e-6, 1e-7, 1e-5), "false here"),
    # saturation: the vanishing networks are saturated, the healthy one is not
    (
        c.judge_saturation,
        _saturation(sigmoid_he=(1e-10, 0.9), tanh_he=(1.5, 0.02)),
        "holds",
    ),
    # one vanishing network saturated, one not
    (
        c.judge_saturation,
        _saturation(sigmoid_he=(1e-10, 0.9), sigmoid_default=(1e-15, 0.0), tanh_he=(1.5, 0.02)),
        "holds only under conditions",
    ),
    # a healthy network with most units saturated spoils "holds"
    (
        c.judge_saturation,
        _saturation(sigmoid_he=(1e-10, 0.9), tanh_he=(1.5, 0.8)),
        "holds only under conditions",
    ),
    # nothing vanishes
    (
        c.judge_saturation,
        _saturation(sigmoid_he=(0.5, 0.0), tanh_he=(1.5, 0.02)),
        "holds only under conditions",
    ),
    # every vanishing network unsaturated
    (
        c.judge_saturation,
        _saturation(sigmoid_he=(1e-10, 0.0), tanh_default=(5e-4, 0.01), tanh_he=(1.5, 0.02)),
        "false here",
    ),
    # relu-saturates: without the flat region the gradient vanishes
    (c.judge_relu_saturates, _relu(0.6, 1e-3, 0.05), "holds"),
    # without the flat region the gradient drops by a factor of 5
    (c.judge_relu_saturates, _relu(0.6, 0.12, 0.12), "holds only under conditions"),
    # without the flat region nothing changes
    (c.judge_relu_saturates, _relu(0.6, 0.6, 0.55), "false here"),
    # ReLU's own gradient vanishes
    (c.judge_relu_saturates, _relu(1e-7, 1e-7, 1e-6), "false here"),
    # fractions: every factor below one
    (c.judge_fractions, _fractions(0.17, 0.7, 0.9, 0.95), "holds"),
    # sigmoid below one, ReLU above
    (c.judge_fractions, _fractions(0.17, 1.03, 1.22, 1.55), "holds only under conditions"),
    # even the sigmoid network has factors above one
    (c.judge_fractions, _fractions(1.4, 1.03, 1.22, 1.55), "false here"),
    # clipping rescues both networks
    (c.judge_clipping, _clipping(1.0, 0.0, 0.0, 1.0, 0.0), "holds"),
    # clipping rescues the exploding network only
    (c.judge_clipping, _clipping(1.0, 0.0, 0.0, 1.0, 1.0), "holds only under conditions"),
    # clipping rescues the vanishing network only
    (c.judge_clipping, _clipping(1.0, 1.0, 1.0, 1.0, 0.0), "holds only under conditions"),
    # clipping rescues neither (the exploding network did not even diverge without it)
    (c.judge_clipping, _clipping(0.0, 0.0, 0.0, 1.0, 1.0), "false here"),
]


@pytest.mark.parametrize(("judge", "values", "expected"), CASES)
def test_every_branch_is_reachable(judge, values, expected):
    verdict = judge(values)
    assert verdict.verdict == expected
    assert verdict.criterion  # the thresholds are written out
    assert verdict.evidence


@pytest.mark.parametrize(
    "judge",
    [
        c.judge_activation_cause,
        c.judge_saturation,
        c.judge_relu_saturates,
        c.judge_fractions,
        c.judge_clipping,
    ],
)
def test_evidence_differs_with_the_numbers(judge):
    values = [v for j, v, _ in CASES if j is judge]
    assert len({judge(v).evidence for v in values}) == len(values)


def test_saturation_evidence_says_survives_only_with_saturation():
    few = c.judge_saturation(_saturation(sigmoid_he=(1e-10, 0.0), tanh_he=(1.6, 0.02)))
    many = c.judge_saturation(_saturation(sigmoid_he=(1e-10, 0.9), tanh_he=(1.6, 0.8)))
    assert "survives" not in few.evidence
    assert "survives" in many.evidence and "most of its units are saturated" in many.evidence


def test_clipping_evidence_follows_the_norm_growth():
    assert "never lengthened" in c.judge_clipping(_clipping(1.0, 0.0, 0.0, 1.0, 1.0)).evidence
    longer = c.judge_clipping(_clipping(1.0, 0.0, 0.0, 1.0, 1.0, growth=2.0))
    assert "never lengthened" not in longer.evidence


def test_saturation_needs_some_network():
    with pytest.raises(ValueError, match="median_saturated"):
        c.judge_saturation({"relu_he_ratio": 0.5})


# -- the real numbers -----------------------------------------------------------------------
def test_activation_judges_on_the_real_experiment(at_init):
    values = at_init.summary()
    assert c.judge_activation_cause(values).verdict == "holds only under conditions"
    saturation = c.judge_saturation(values)
    assert saturation.verdict == "false here"
    assert "survives" not in saturation.evidence
    assert c.judge_relu_saturates(values).verdict == "false here"


def test_fraction_judge_on_the_measured_factors():
    values = c.factor_numbers()
    assert values["sigmoid_default_max_factor"] < 1 < values["relu_he_max_factor"]
    assert c.judge_fractions(values).verdict == "holds only under conditions"


# The clipping judge on the real sweeps is pinned in tests/claims/test_exploding.py
# (test_claims_page_verdict), which already runs the example's sweeps at their budget.
