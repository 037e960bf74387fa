"""The claims page's judges of the trainable chapter's first two sections (how fast each layer
learns, initialization): every verdict branch reached by plausible numbers, and the verdict
the real experiments give at the page's budget pinned."""

from __future__ import annotations

import math

import pytest

from vgexamples import claims as c

HOLDS, CONDITIONAL, FALSE = c.VERDICTS


# -- learning speed ----------------------------------------------------------------------------
def speed_values(early: float, end: float, proxy: float = 99.0) -> dict[str, object]:
    return {
        "gap_at_init": proxy,
        "depth": 4,
        "movement_ratio_early": early,
        "movement_ratio_end": end,
        "movement_early_step": 100,
    }


@pytest.mark.parametrize(
    ("early", "end", "proxy", "verdict"),
    [
        (20.0, 8.0, 99.0, HOLDS),  # the first layer lags throughout (Nielsen's MNIST picture)
        (5.1, 1.15, 99.0, CONDITIONAL),  # a gap early in training that closes
        (1.2, 1.0, 99.0, FALSE),  # the weights move alike from the start
        (1.1, 4.0, 2.0, CONDITIONAL),  # a gap that opens late
    ],
)
def test_learning_speed_branches(early, end, proxy, verdict):
    v = c.judge_learning_speed(speed_values(early, end, proxy))
    assert v.verdict == verdict
    assert v.criterion and "3" in v.criterion and "1.5" in v.criterion
    assert f"{early:.1f} times" in v.evidence


def test_learning_speed_evidence_follows_the_numbers():
    over = c.judge_learning_speed(speed_values(5.0, 1.1, 99.0)).evidence
    assert "overstates" in over and "only early in training" in over
    agree = c.judge_learning_speed(speed_values(20.0, 8.0, 30.0)).evidence
    assert "agree within a factor of three" in agree and "slowest throughout" in agree
    under = c.judge_learning_speed(speed_values(20.0, 8.0, 2.0)).evidence
    assert "understates" in under


# -- initialization ----------------------------------------------------------------------------
def init_values(**over: float) -> dict[str, object]:
    values: dict[str, object] = {
        "depth": 50,
        "chance_loss": math.log(10),
        "xavier_final_loss": 2.29,
        "he_final_loss": 0.07,
        "relu_he_grad_ratio": 1.7,
        "relu_xavier_grad_ratio": 2e-15,
        "tanh_xavier_grad_ratio": 0.016,
        "tanh_he_grad_ratio": 53.0,
        "tanh_he_gain_mean": 1.09,
        "tanh_he_saturated_median": 0.02,
    }
    values.update(over)
    return values


def test_initialization_conditional_branch():
    v = c.judge_initialization(init_values())
    assert v.verdict == CONDITIONAL
    assert "ReLU under Xavier 0.5" in v.evidence and "(outside)" in v.evidence
    assert "stalls at chance" in v.evidence and "grows towards the input" in v.evidence
    assert "0.8" in v.criterion and "1.25" in v.criterion


def test_initialization_holds_branch():
    # a shallower net where Xavier's halving stays within the band and both train
    v = c.judge_initialization(
        init_values(relu_xavier_grad_ratio=0.5, xavier_final_loss=0.2, tanh_he_gain_mean=1.02)
    )
    assert v.verdict == HOLDS
    assert "Every pairing stays in range" in v.evidence


def test_initialization_false_branch():
    # He with ReLU vanishing (e.g. a badly scaled head) and failing to train
    v = c.judge_initialization(init_values(relu_he_grad_ratio=1e-8, he_final_loss=2.3))
    assert v.verdict == FALSE
    assert "fails even with the activation it was derived for" in v.evidence


def test_initialization_evidence_follows_the_tanh_numbers():
    shrink = c.judge_initialization(init_values(tanh_he_gain_mean=0.95)).evidence
    assert "0.950 per layer" in shrink and "shrinks towards the input" in shrink
    big = c.judge_initialization(init_values(tanh_he_grad_ratio=1e12)).evidence
    assert "tanh under He 1.7" in big and "tanh under He" in big.split("failing:")[1]


# The verdicts the real experiments give are pinned by test_trainable.py's
# test_claims_page_verdicts, which shares those experiments' runs with the chapter's tests.
