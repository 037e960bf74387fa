"""Popular statements about vanishing and exploding gradients, judged by this site's
experiments.

Each :class:`Claim` names the numbers it needs -- recorded during the build by the gallery
example that runs the experiment (:mod:`vgexamples.experiments`, :mod:`vgexamples.results`),
or computed here by a cheap library call -- and a *judge*: a function that turns those numbers
into a :class:`Verdict` (one of :data:`VERDICTS`) with the evidence written out. The claims
page runs every judge during the build, so no verdict is typed by hand;
``tests/claims/test_claims_page.py`` feeds the judges the same experiments' numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ._checks import check_choice

__all__ = ["CLAIMS", "VERDICTS", "Claim", "Verdict", "factor_numbers"]

#: The three possible verdicts.
VERDICTS = ("holds", "holds only under conditions", "false here")

Values = Mapping[str, object]


@dataclass(frozen=True)
class Verdict:
    """A judge's answer: one of :data:`VERDICTS`, the evidence in words and numbers, and the
    criterion -- the thresholds the numbers were held to, written out for the reader."""

    verdict: str
    evidence: str
    criterion: str = ""

    def __post_init__(self) -> None:
        check_choice("verdict", self.verdict, VERDICTS)


@dataclass(frozen=True)
class Claim:
    """One popular statement and how the site judges it.

    Attributes
    ----------
    key
        Short identifier.
    statement
        The claim as it is commonly made.
    results
        Names of recorded results (see :mod:`vgexamples.results`) the judge reads, merged in
        order; empty when ``compute`` supplies the numbers.
    experiment
        Sphinx cross-reference target of the experiment behind the verdict.
    judge
        ``values -> Verdict``.
    compute
        Optional cheap computation returning the values (used instead of ``results``).
    """

    key: str
    statement: str
    results: tuple[str, ...]
    experiment: str
    judge: Callable[[Values], Verdict]
    compute: Callable[[], Values] | None = None


def _f(values: Values, key: str) -> float:
    return float(values[key])  # type: ignore[arg-type]


# -- judges ----------------------------------------------------------------------------------
def judge_activation_cause(v: Values) -> Verdict:
    """Sigmoid/tanh as *the* cause: compare sigmoid and ReLU under two initializations."""
    sig_he, relu_def, relu_he = (
        _f(v, "sigmoid_he_ratio"),
        _f(v, "relu_default_ratio"),
        _f(v, "relu_he_ratio"),
    )
    text = (
        f"In a 20-layer network the sigmoid's first-layer gradient is {sig_he:.1e} times the "
        f"last layer's even under He initialization. But a ReLU network of the same depth "
        f"vanishes too under PyTorch's default initialization ({relu_def:.1e}) and is healthy "
        f"only under He initialization ({relu_he:.2f}): the weight scale matters as much as "
        "the activation."
    )
    if sig_he < 1e-3 and relu_def < 1e-3 and relu_he > 0.1:
        return Verdict("holds only under conditions", text)
    if sig_he < 1e-3 and relu_def > 0.1:
        return Verdict("holds", text)
    return Verdict("false here", text)


def judge_saturation(v: Values) -> Verdict:
    """Is saturation the mechanism? Saturated fractions against gradient ratios."""
    ratio, sat = _f(v, "sigmoid_he_ratio"), _f(v, "sigmoid_he_max_saturated")
    t_ratio, t_sat = _f(v, "tanh_he_ratio"), _f(v, "tanh_he_max_saturated")
    text = (
        f"With He initialization at most {sat:.1%} of any layer's sigmoid units are saturated, "
        f"yet the first layer's gradient is {ratio:.1e} times the last layer's; the tanh network "
        f"has up to {t_sat:.0%} saturated units in a layer and a ratio of {t_ratio:.2f}. Here "
        "the gradient vanishes without saturation (the sigmoid's derivative is at most 1/4 "
        "even where it is steepest) and survives with it. Saturation does block the gradient "
        "when most units are saturated, for instance with much larger weights."
    )
    if ratio < 1e-3 and sat < 0.05 and t_ratio > 0.1:
        return Verdict("false here", text)
    if ratio < 1e-3 and sat > 0.5:
        return Verdict("holds", text)
    return Verdict("holds only under conditions", text)


def judge_relu_saturates(v: Values) -> Verdict:
    """ "ReLU is more effective at saturating": ReLU's flat fraction against its gradient flow."""
    zero, ratio, sat = (
        _f(v, "relu_he_zero_fraction"),
        _f(v, "relu_he_ratio"),
        _f(v, "sigmoid_he_max_saturated"),
    )
    text = (
        f"ReLU is flat (zero derivative) for {zero:.0%} of its inputs at initialization, far "
        f"more than the sigmoid's {sat:.1%} saturated units, and its gradient still reaches the "
        f"first layer ({ratio:.2f} of the last layer's): what helps is the derivative of exactly "
        "1 on the active side, not saturation, which only blocks the gradient."
    )
    if zero > sat and ratio > 0.1:
        return Verdict("false here", text)
    return Verdict("holds only under conditions", text)


def judge_fractions(v: Values) -> Verdict:
    """ "Every factor is a fraction between 0 and 1": measured per-layer factors."""
    sig_max, relu_big = _f(v, "sigmoid_default_max_factor"), _f(v, "relu_he_x1_5_median_factor")
    text = (
        f"In a sigmoid network with PyTorch's default initialization every measured per-layer "
        f"factor is below one (largest {sig_max:.2f}); in a He-initialized ReLU network whose "
        f"weights are 1.5 times larger the median factor is {relu_big:.2f}, and the gradient "
        "grows towards the input instead."
    )
    if sig_max < 1 and relu_big > 1:
        return Verdict("holds only under conditions", text)
    return Verdict("holds" if relu_big < 1 else "false here", text)


def judge_learning_speed(v: Values) -> Verdict:
    """Early layers learn slowest: the last/first speed gap at initialization and at the end."""
    start, end, depth = _f(v, "gap_at_init"), _f(v, "gap_at_end"), int(_f(v, "depth"))
    text = (
        f"In a sigmoid network with {depth} hidden layers the last hidden layer starts out "
        f"learning {start:.0f} times faster than the first; by the end of training the ratio is "
        f"{end:.2f}."
    )
    if start > 10 and end < 3:
        return Verdict(
            "holds only under conditions",
            text + " The gap lasts only while the loss is on its initial plateau.",
        )
    if start > 10:
        return Verdict("holds", text)
    return Verdict("false here", text)


def judge_initialization(v: Values) -> Verdict:
    """Xavier/He keep gradients in range: each scheme with its own activation and the other."""
    xavier, he, chance = _f(v, "xavier_final_loss"), _f(v, "he_final_loss"), _f(v, "chance_loss")
    tanh_he = _f(v, "tanh_he_grad_ratio")
    text = (
        f"A 30-layer ReLU network trained from He initialization reaches a training loss of "
        f"{he:.3f}, while from Xavier initialization it stays at {xavier:.3f} (chance: "
        f"{chance:.3f}); He's variance on a 50-layer tanh network makes the first layer's "
        f"gradient variance {tanh_he:.0f} times the last layer's. Each scheme keeps the "
        "gradient in range for the activation it was derived for."
    )
    if he < 0.5 * chance and xavier > 0.9 * chance:
        return Verdict("holds only under conditions", text)
    return Verdict("holds" if he < 0.5 * chance else "false here", text)


def judge_batch_norm_order(v: Values) -> Verdict:
    """Batch norm after the activation: wins of 'after' over 'before' at two learning rates."""
    seeds = int(_f(v, "seeds"))
    low, high = int(_f(v, "after_wins_lr0_1")), int(_f(v, "after_wins_lr0_5"))
    text = (
        f"Normalizing after the sigmoid reached a lower training loss on {low} of {seeds} seeds "
        f"at learning rate 0.1 (mean {_f(v, 'after_lr0_1'):.3f} against "
        f"{_f(v, 'before_lr0_1'):.3f} before), and on {high} of {seeds} at 0.5 (mean "
        f"{_f(v, 'after_lr0_5'):.3f} against {_f(v, 'before_lr0_5'):.3f}). Ioffe and Szegedy "
        "placed it before the nonlinearity."
    )
    if low == seeds and high == seeds:
        return Verdict("holds", text)
    if low == 0 and high == 0:
        return Verdict("false here", text)
    return Verdict("holds only under conditions", text)


def judge_residual(v: Values) -> Verdict:
    """Skip connections let deep nets train: 32 blocks with and without normalization."""
    plain_bn, res_bn, res = (
        _f(v, "plain_and_bn_32"),
        _f(v, "residual_and_bn_32"),
        _f(v, "residual_32"),
    )
    res_text = "diverged" if math.isinf(res) else f"reached {res:.3f}"
    text = (
        f"With batch normalization, 32 residual blocks reach a training loss of {res_bn:.3f} "
        f"against {plain_bn:.3f} for 32 plain blocks under the same budget; without "
        f"normalization the 32-block residual network {res_text}."
    )
    if res_bn < 0.5 * plain_bn and (math.isinf(res) or res > 2 * res_bn):
        return Verdict("holds only under conditions", text)
    if res_bn < 0.5 * plain_bn:
        return Verdict("holds", text)
    return Verdict("false here", text)


def judge_optimizers(v: Values) -> Verdict:
    """Adaptive optimizers against vanishing gradients: step sizes and the loss reached."""
    adam_ratio, sgd_ratio = (
        _f(v, "adam_update_first_over_last"),
        _f(v, "sgd_update_first_over_last"),
    )
    adam, sgd, bn, chance = (
        _f(v, "adam_best_loss"),
        _f(v, "sgd_best_loss"),
        _f(v, "batchnorm_sgd_loss"),
        _f(v, "chance_loss"),
    )
    text = (
        f"On a 10-layer sigmoid network Adam gives the first layer a relative step "
        f"{adam_ratio:.1f} times the last layer's, against {sgd_ratio:.0e} for plain SGD, and "
        f"leaves the plateau (loss {adam:.2f}; SGD {sgd:.2f}, chance {chance:.2f}). The same "
        f"network with batch normalization and plain SGD reaches {bn:.2f}: equal step sizes do "
        "not repair the squashed forward signal."
    )
    if adam < sgd and bn < 0.5 * adam:
        return Verdict("holds only under conditions", text)
    return Verdict("holds" if adam < sgd else "false here", text)


def judge_clipping(v: Values) -> Verdict:
    """Clipping against exploding and vanishing gradients."""
    diverged, best = _f(v, "unclipped_diverged"), _f(v, "norm_best_failed")
    growth = _f(v, "max_norm_growth")
    text = (
        f"Without clipping {diverged:.0%} of the exploding network's runs became non-finite; "
        f"with norm clipping at a good threshold {best:.0%} failed. Clipping never lengthens a "
        f"gradient (largest norm ratio after/before: {growth:.2f}), so it cannot help a "
        "gradient that vanishes."
    )
    if diverged > 0.5 and best < 0.5 and growth <= 1.0 + 1e-6:
        return Verdict("holds only under conditions", text)
    return Verdict("false here", text)


def judge_gated(v: Values) -> Verdict:
    """LSTM/GRU against the vanilla RNN on the adding problem, at length 25 and a longer one.

    Reads ``{cell}_t{L}_solved`` and ``{cell}_t{L}_mse`` for the three cells at ``L = 25`` and
    ``L = length``; optionally ``threshold_t{L}`` (the solved-MSE threshold), ``budget``,
    ``{cell}_t{L}_correct`` (the 1997 criterion), ``{cell}_t{length}_ratio_at_init`` and
    ``{cell}_t{length}_ratio_trained`` (first-to-last gradient ratios through time).
    """
    length = int(_f(v, "length"))
    lengths = (25, length) if length != 25 else (25,)
    cells = ("rnn", "lstm", "gru")
    ok = {(n, c): bool(v[f"{c}_t{n}_solved"]) for n in lengths for c in cells}
    mse = {(n, c): _f(v, f"{c}_t{n}_mse") for n in lengths for c in cells}
    names = {"rnn": "the vanilla RNN", "lstm": "the LSTM", "gru": "the GRU"}

    def word(solved: bool) -> str:
        return "solves" if solved else "does not solve"

    budget = v.get("budget")
    sentences = [f"Under one budget ({budget})." if budget else "Under one budget for all cells."]
    for n in lengths:
        parts = []
        for c in cells:
            extra = ""
            if f"{c}_t{n}_correct" in v:
                share = _f(v, f"{c}_t{n}_correct")
                extra = f", {share:.0%} correct"
            parts.append(f"{names[c]} {word(ok[n, c])} it (test MSE {mse[n, c]:.3g}{extra})")
        sentences.append(f"At length {n}, " + "; ".join(parts) + ".")
    init = [v.get(f"{c}_t{length}_ratio_at_init") for c in cells]
    if all(r is not None for r in init):
        ratios = [float(r) for r in init]  # type: ignore[arg-type]
        listed = ", ".join(f"{c.upper()} {r:.1e}" for c, r in zip(cells, ratios, strict=True))
        if max(ratios) < 1e-4:
            sentences.append(
                f"At initialization, at length {length}, all three lose the gradient through "
                f"time: |dL/dh_1| / |dL/dh_T| is {listed}, every one below 1e-4."
            )
        else:
            sentences.append(
                f"At initialization, at length {length}, |dL/dh_1| / |dL/dh_T| is {listed}: "
                "not every cell starts with a vanishing gradient through time (below 1e-4)."
            )
    trained = {c: v.get(f"{c}_t{length}_ratio_trained") for c in cells}
    solved_long = [c for c in cells if ok[length, c] and trained[c] is not None]
    failed_long = [c for c in cells if not ok[length, c] and trained[c] is not None]
    if solved_long and failed_long:
        lo = min(float(trained[c]) for c in solved_long)  # type: ignore[arg-type]
        hi = max(float(trained[c]) for c in failed_long)  # type: ignore[arg-type]
        relation = "more" if lo > hi else "not consistently more"
        sentences.append(
            f"After training, the runs that solve length {length} carry {relation} of the "
            f"gradient back to the first step (ratio at least {lo:.1e}) than those that do not "
            f"(at most {hi:.1e})."
        )

    def gated_advantage(n: int) -> bool:
        return not ok[n, "rnn"] and (ok[n, "lstm"] or ok[n, "gru"])

    def both_gated(n: int) -> bool:
        return not ok[n, "rnn"] and ok[n, "lstm"] and ok[n, "gru"]

    threshold = v.get("threshold_t25")
    rule = (
        f"test MSE is below {float(threshold):.3g} (a tenth of the mean predictor's)"  # type: ignore[arg-type]
        if threshold is not None
        else "test MSE is below a tenth of the mean predictor's"
    )
    at = " and ".join(str(n) for n in lengths)
    criterion = (
        f"A run solves the task when its {rule}, one seed per cell ('correct': the share of "
        "test sequences within the 1997 paper's absolute error of 0.04 on the target scaled "
        f"to [0, 1], reported but not judged). Holds if, at length {at}, "
        "the vanilla RNN does not solve it while the LSTM and the GRU both do; false here if at "
        "no length a gated cell solves it without the vanilla RNN solving it too; otherwise "
        "holds only under conditions (some gated cell, at some length, within this budget)."
    )
    if all(both_gated(n) for n in lengths):
        verdict = "holds"
    elif not any(gated_advantage(n) for n in lengths):
        verdict = "false here"
    else:
        verdict = "holds only under conditions"
        missing = [
            f"{names[c]} at length {n}"
            for n in lengths
            for c in ("lstm", "gru")
            if not ok[n, c] or ok[n, "rnn"]
        ]
        sentences.append(
            "The claim fails for " + ", ".join(missing) + " (within this budget; a longer "
            "budget was not measured)."
        )
    return Verdict(verdict, " ".join(sentences), criterion)


def judge_shared_weights(v: Values) -> Verdict:
    """CNNs and shared weights: first/last gradient ratio of a deep CNN against an MLP."""
    cnn, mlp = _f(v, "cnn_sigmoid_default"), _f(v, "mlp_sigmoid_default")
    text = (
        f"With ten sigmoid layers the CNN's first-layer weight gradient is {cnn:.1e} times its "
        f"last layer's, the MLP's {mlp:.1e} times: sharing weights does not stop the product of "
        "derivatives from shrinking."
    )
    if cnn >= 10 * mlp:
        return Verdict("holds", text)
    if cnn <= mlp:
        return Verdict("false here", text)
    return Verdict("holds only under conditions", text)


def judge_precision(v: Values) -> Verdict:
    """fp16 does not change the output: prediction agreement, logit change, range."""
    agree, diff, finite = (
        _f(v, "fp16_agreement"),
        _f(v, "fp16_max_abs_diff"),
        bool(v["large_net_fp16_finite"]),
    )
    text = (
        f"A trained network run in fp16 predicts the same class for {agree:.1%} of test images, "
        f"but its logits move by up to {diff:.2g}; a network whose hidden values exceed fp16's "
        f"largest number (65504) gives {'finite' if finite else 'infinite or NaN'} outputs in "
        "fp16."
    )
    if agree == 1.0 and diff > 0 and not finite:
        return Verdict("holds only under conditions", text)
    if agree == 1.0 and diff == 0 and finite:
        return Verdict("holds", text)
    return Verdict("false here" if agree < 0.99 else "holds only under conditions", text)


def judge_pruning(v: Values) -> Verdict:
    """Pruning weights shrinks the model: parameter counts and file sizes."""
    dense, masked, nonzero = (
        int(_f(v, "dense_params")),
        int(_f(v, "masked_params")),
        int(_f(v, "masked_nonzero")),
    )
    dense_b, folded_b, masked_b = (
        _f(v, "dense_bytes"),
        _f(v, "folded_bytes"),
        _f(v, "masked_bytes"),
    )
    neurons, neurons_b = int(_f(v, "neurons_params")), _f(v, "neurons_bytes")
    text = (
        f"Masking 90% of the weights leaves {masked:,} parameters in dense matrices ({nonzero:,} "
        f"non-zero, of {dense:,}); the saved file is {masked_b / dense_b:.1f} times the dense one "
        f"with masks attached and {folded_b / dense_b:.2f} times once they are folded in. "
        f"Removing 90% of the neurons leaves {neurons:,} parameters and a file "
        f"{neurons_b / dense_b:.2f} times the size."
    )
    if masked == dense and folded_b >= 0.95 * dense_b and neurons < 0.5 * dense:
        return Verdict("holds only under conditions", text)
    return Verdict("holds" if masked < dense else "false here", text)


# -- cheap computations --------------------------------------------------------------------------
def factor_numbers(seeds: tuple[int, ...] = (0, 1, 2)) -> dict[str, float]:
    """Measured back-propagation factors, as the vanishing-gradients chapter quotes them
    (:func:`vgexamples.propagation.factor_stats`)."""
    from .propagation import factor_stats

    return {
        "sigmoid_default_max_factor": factor_stats("sigmoid", seeds=seeds)[1],
        "relu_he_x1_5_median_factor": factor_stats(
            "relu", init="he", weight_scale=1.5, seeds=seeds
        )[0],
    }


# -- the list --------------------------------------------------------------------------------------
_ACT = ("vanishing.gradients_at_init",)
CLAIMS: tuple[Claim, ...] = (
    Claim(
        "activation-cause",
        "The cause of vanishing gradients is the sigmoid and tanh activation functions.",
        _ACT,
        "sphx_glr_auto_examples_vanishing_plot_02_gradients_at_init.py",
        judge_activation_cause,
    ),
    Claim(
        "saturation",
        "Gradients vanish because sigmoid and tanh units saturate, where their derivative is "
        "close to zero.",
        _ACT,
        "sphx_glr_auto_examples_vanishing_plot_02_gradients_at_init.py",
        judge_saturation,
    ),
    Claim(
        "relu-saturates",
        "ReLU works better because it is more effective at saturating.",
        _ACT,
        "sphx_glr_auto_examples_vanishing_plot_02_gradients_at_init.py",
        judge_relu_saturates,
    ),
    Claim(
        "fractions",
        "Back-propagation multiplies fractions between 0 and 1, so the gradient can only shrink.",
        (),
        "chapters/vanishing",
        judge_fractions,
        compute=factor_numbers,
    ),
    Claim(
        "learning-speed",
        "The layers near the input learn slowest.",
        ("trainable.learning_speed",),
        "sphx_glr_auto_examples_trainable_plot_01_learning_speed.py",
        judge_learning_speed,
    ),
    Claim(
        "initialization",
        "Xavier and He initialization keep the gradients in a reasonable range.",
        ("trainable.initialization",),
        "sphx_glr_auto_examples_trainable_plot_02_initialization.py",
        judge_initialization,
    ),
    Claim(
        "batch-norm-order",
        "Batch normalization normalizes the data after every activation function.",
        ("trainable.batch_norm",),
        "sphx_glr_auto_examples_trainable_plot_03_batch_norm.py",
        judge_batch_norm_order,
    ),
    Claim(
        "residual",
        "Skip connections (ResNets) solve the vanishing gradient problem and let very deep "
        "networks train.",
        ("trainable.residual",),
        "sphx_glr_auto_examples_trainable_plot_04_residual.py",
        judge_residual,
    ),
    Claim(
        "optimizers",
        "Optimizers such as AdaGrad and Adam mitigate the vanishing gradient problem.",
        ("trainable.optimizers",),
        "sphx_glr_auto_examples_trainable_plot_05_optimizers.py",
        judge_optimizers,
    ),
    Claim(
        "clipping",
        "Gradient clipping helps solve exploding and vanishing gradients.",
        ("exploding.clipping",),
        "sphx_glr_auto_examples_exploding_plot_02_clipping.py",
        judge_clipping,
    ),
    Claim(
        "gated-rnn",
        "LSTMs and GRUs learn long-term dependencies that a vanilla RNN cannot.",
        ("recurrent.adding", "recurrent.long"),
        "sphx_glr_auto_examples_recurrent_plot_02_long_sequences.py",
        judge_gated,
    ),
    Claim(
        "shared-weights",
        "CNNs are less affected by vanishing gradients because of their shared weights.",
        ("compression.shared_weights",),
        "sphx_glr_auto_examples_compression_plot_05_compact_filters.py",
        judge_shared_weights,
    ),
    Claim(
        "fp16-output",
        "Halving the precision (fp16) does not change the model's output.",
        ("compression.half_precision",),
        "sphx_glr_auto_examples_compression_plot_01_half_precision.py",
        judge_precision,
    ),
    Claim(
        "pruning-size",
        "Pruning by weights reduces the size of the network and makes it more efficient.",
        ("compression.pruning",),
        "sphx_glr_auto_examples_compression_plot_02_pruning.py",
        judge_pruning,
    ),
)
