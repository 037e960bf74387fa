"""The judges of the claims about batch normalization, residual connections and adaptive
optimizers: every verdict branch with plausible synthetic numbers, and the verdict the real
experiments give at the page's budget."""

from __future__ import annotations

import math

from vgexamples import claims as c

HOLDS, COND, FALSE = c.VERDICTS
INF = math.inf


def _check(verdict: c.Verdict, expected: str) -> None:
    assert verdict.verdict == expected, verdict
    assert verdict.evidence and verdict.criterion


# -- batch norm: the description -----------------------------------------------------------
def _description(sigmoid_post=(0.5, 0.044), relu_post=(0.39, 0.35), pre=(0.0, 1.0)):
    v: dict[str, object] = {"description_activations": ["sigmoid", "relu"]}
    for act, post in (("sigmoid", sigmoid_post), ("relu", relu_post)):
        v[f"{act}_bn_pre_mean"], v[f"{act}_bn_pre_var"] = pre
        v[f"{act}_bn_post_mean"], v[f"{act}_bn_post_var"] = post
    return v


def test_description_false_when_only_the_inputs_of_the_nonlinearity_are_normalized():
    verdict = c.judge_batch_norm_description(_description())
    _check(verdict, FALSE)
    assert "far from normalized" in verdict.evidence and "Section 3.2" in verdict.evidence


def test_description_holds_when_the_outputs_are_normalized():
    verdict = c.judge_batch_norm_description(
        _description(sigmoid_post=(0.02, 1.0), relu_post=(0.05, 0.9))
    )
    _check(verdict, HOLDS)
    assert "far from" not in verdict.evidence


def test_description_conditional_when_the_outputs_are_nearly_normalized():
    # ReLU outputs neither normalized nor far from it
    verdict = c.judge_batch_norm_description(_description(relu_post=(0.2, 0.7)))
    _check(verdict, COND)
    assert "not quite normalized" in verdict.evidence


# -- batch norm: the ordering --------------------------------------------------------------
def _order(cells):
    """cells: (act, lr) -> (after mean, before mean, after wins of 5)."""
    v: dict[str, object] = {
        "seeds": 5,
        "order_activations": sorted({a for a, _ in cells}),
        "order_lrs": sorted({lr for _, lr in cells}),
    }
    for (act, lr), (after, before, wins) in cells.items():
        tag = f"{act}_lr{str(lr).replace('.', '_')}"
        v[f"{tag}_after"], v[f"{tag}_before"], v[f"{tag}_after_wins"] = after, before, wins
    return v


REAL_LIKE_ORDER = {
    ("sigmoid", 0.1): (0.022, 0.240, 5),
    ("sigmoid", 0.5): (0.079, 0.107, 4),
    ("relu", 0.1): (0.031, 0.022, 0),
    ("relu", 0.5): (0.054, 0.042, 1),
}


def test_order_holds_when_after_wins_everywhere_by_the_margin():
    cells = {k: (0.02, 0.2, 5) for k in REAL_LIKE_ORDER}
    _check(c.judge_batch_norm_order(_order(cells)), HOLDS)


def test_order_conditional_when_after_wins_for_one_activation_only():
    verdict = c.judge_batch_norm_order(_order(REAL_LIKE_ORDER))
    _check(verdict, COND)
    assert "only for sigmoid" in verdict.evidence
    assert "relu at learning rate 0.1: after lower on 0 of 5 seeds" in verdict.evidence


def test_order_false_when_after_never_wins_by_the_margin():
    cells = {k: (0.2, 0.02, 0) for k in REAL_LIKE_ORDER}
    _check(c.judge_batch_norm_order(_order(cells)), FALSE)
    # lower on every seed but by less than the margin is not "better"
    cells = {k: (0.19, 0.2, 5) for k in REAL_LIKE_ORDER}
    verdict = c.judge_batch_norm_order(_order(cells))
    _check(verdict, FALSE)
    assert "neither is better by the margin" in verdict.evidence


# -- residual connections ------------------------------------------------------------------
def _residual(plain_bn, res_bn, res, zero, ratio):
    return {
        "deepest": 32,
        "seeds": [0, 1, 2],
        "plain_and_bn_32_losses": plain_bn,
        "residual_and_bn_32_losses": res_bn,
        "residual_32_losses": res,
        "residual_zero_branch_32_losses": zero,
        "plain_and_bn_32_ratio": ratio,
        "residual_32_growth": [3.1, 3.0, 2.8],
        "residual_zero_branch_32_growth": [1.03, 1.04, 1.02],
    }


def test_residual_conditional_on_real_like_numbers():
    verdict = c.judge_residual(
        _residual(
            [1.47, 2.15, 1.63],
            [0.043, 0.079, 0.031],
            [INF] * 3,
            [0.024, 0.023, 0.026],
            [172.0, 207.0, 228.0],
        )
    )
    _check(verdict, COND)
    assert "not vanishing but exploding" in verdict.evidence
    assert "gradients vanish at initialization" not in verdict.evidence
    assert "diverge on every seed" in verdict.evidence
    assert "skips train without normalization when the branches start small" in verdict.evidence


def test_residual_holds_when_plain_gradients_vanish_and_skips_alone_train():
    verdict = c.judge_residual(
        _residual(
            [2.3, 2.3, 2.3], [0.04, 0.05, 0.03], [0.05, 0.06, 0.04], [0.03] * 3, [1e-4, 1e-3, 1e-5]
        )
    )
    _check(verdict, HOLDS)
    assert "gradients vanish at initialization" in verdict.evidence
    assert "exploding" not in verdict.evidence


def test_residual_false_when_the_residual_net_with_bn_does_not_train():
    verdict = c.judge_residual(
        _residual([1.5, 1.6, 1.4], [1.2, INF, 0.9], [INF] * 3, [2.3, 2.3, 2.3], [1.0, 2.0, 3.0])
    )
    _check(verdict, FALSE)
    assert "do not make the difference" in verdict.evidence
    assert "start small" not in verdict.evidence
    assert "neither clearly vanishing nor clearly exploding" in verdict.evidence
    # residual + BN trains, but not three times better than plain + BN
    verdict = c.judge_residual(
        _residual([0.1, 0.1, 0.1], [0.05, 0.05, 0.05], [INF] * 3, [0.03] * 3, [2.0, 2.0, 2.0])
    )
    _check(verdict, FALSE)


# -- adaptive optimizers -------------------------------------------------------------------
def _optimizers(adaptive_ratio=2.0, adaptive_loss=1.85, bn=0.14, sgd=2.31):
    v: dict[str, object] = {
        "sgd_update_first_over_last": 1e-6,
        "sgd_best_loss": sgd,
        "batchnorm_sgd_loss": bn,
        "chance_loss": math.log(10),
    }
    for o in ("adagrad", "rmsprop", "adam"):
        v[f"{o}_update_first_over_last"] = adaptive_ratio
        v[f"{o}_best_loss"] = adaptive_loss
    return v


def test_optimizers_conditional_when_they_escape_but_stay_far_above_batch_norm():
    verdict = c.judge_optimizers(_optimizers())
    _check(verdict, COND)
    assert "equal steps do not make the network as trainable" in verdict.evidence


def test_optimizers_hold_when_they_come_close_to_batch_norm():
    verdict = c.judge_optimizers(_optimizers(adaptive_loss=0.25))
    _check(verdict, HOLDS)
    assert "no better than the adaptive methods" in verdict.evidence


def test_optimizers_false_when_they_do_not_beat_sgd_by_the_margin_or_keep_uneven_steps():
    verdict = c.judge_optimizers(_optimizers(adaptive_loss=2.2))  # 0.11 below SGD: no margin
    _check(verdict, FALSE)
    assert "no adaptive method beats SGD by the margin" in verdict.evidence
    verdict = c.judge_optimizers(_optimizers(adaptive_ratio=1e-4))
    _check(verdict, FALSE)
    assert "do not equalize the steps" in verdict.evidence


# The verdicts the real experiments give are pinned by test_trainable.py's
# test_claims_page_verdicts, which shares those experiments' runs with the chapter's tests.
