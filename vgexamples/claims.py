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
    """Sigmoid/tanh as *the* cause: the squashing functions against ReLU, under the default
    and He initializations (first/last weight-gradient ratios at initialization)."""
    sig, tanh = _f(v, "sigmoid_he_ratio"), _f(v, "tanh_he_ratio")
    relu_def, relu_he = _f(v, "relu_default_ratio"), _f(v, "relu_he_ratio")
    criterion = (
        f"A first/last weight-gradient ratio below {_VANISHED:g} counts as vanished, above "
        f"{_HEALTHY:g} as healthy. Holds if the sigmoid and tanh networks both vanish under He "
        "initialization while the ReLU network is healthy under both PyTorch's default and He "
        "initialization; false here if the ReLU network vanishes under He initialization too, "
        "or if neither the sigmoid nor the tanh network vanishes under it; otherwise holds "
        "only under conditions. First seed's networks, 20 layers."
    )
    text = (
        f"At initialization with He's weights the first layer's weight gradient is "
        f"{sig:.1e} times the last layer's with the sigmoid ({_state(sig)}), {tanh:.2g} times "
        f"with tanh ({_state(tanh)}) and {relu_he:.2g} times with ReLU ({_state(relu_he)}); "
        f"under PyTorch's default initialization the ReLU network's ratio is {relu_def:.1e} "
        f"({_state(relu_def)})."
    )
    squashing_vanish = [n for n, r in (("sigmoid", sig), ("tanh", tanh)) if r < _VANISHED]
    if relu_he < _VANISHED:
        return Verdict(
            "false here",
            text + " ReLU vanishes as well under He initialization, so the activation does "
            "not separate the networks that vanish from those that do not.",
            criterion,
        )
    if sig > _HEALTHY and tanh > _HEALTHY:
        return Verdict(
            "false here",
            text + " Neither squashing function vanishes once the weights have He's scale.",
            criterion,
        )
    if len(squashing_vanish) == 2 and relu_he > _HEALTHY and relu_def > _HEALTHY:
        return Verdict(
            "holds",
            text + " Both squashing functions vanish and ReLU does not, under either "
            "initialization: here the activation decides.",
            criterion,
        )
    parts = []
    if squashing_vanish:
        parts.append(
            f"with He's weights the {' and the '.join(squashing_vanish)} still "
            f"{'vanish' if len(squashing_vanish) == 2 else 'vanishes'}, so the activation "
            "matters"
        )
    keeps = [n for n, r in (("sigmoid", sig), ("tanh", tanh)) if r > _HEALTHY]
    if keeps:
        parts.append(f"the {' and the '.join(keeps)} network does not vanish under He's weights")
    if relu_def < _VANISHED:
        parts.append("ReLU vanishes too under the default weights, so the weight scale matters")
    detail = "; ".join(parts)
    detail = detail[:1].upper() + detail[1:]
    return Verdict("holds only under conditions", f"{text} {detail}.", criterion)


#: First/last gradient ratios below this count as vanished, above _HEALTHY as healthy.
_VANISHED, _HEALTHY = 1e-3, 0.1
#: Median saturated fraction per layer above which a network counts as saturated, and below
#: which it counts as unsaturated.
_SATURATED, _UNSATURATED = 0.5, 0.05


def _state(ratio: float) -> str:
    if ratio < _VANISHED:
        return "vanished"
    return "healthy" if ratio > _HEALTHY else "neither vanished nor healthy"


def judge_saturation(v: Values) -> Verdict:
    """Is saturation the mechanism? For every sigmoid and tanh network measured (each
    initialization whose numbers are present), the first/last gradient ratio against the
    median saturated fraction per layer."""
    nets = []
    for act in ("sigmoid", "tanh"):
        for init in ("default", "xavier", "he"):
            if f"{act}_{init}_ratio" in v and f"{act}_{init}_median_saturated" in v:
                ratio = _f(v, f"{act}_{init}_ratio")
                nets.append(
                    (f"{act} ({init} init)", ratio, _f(v, f"{act}_{init}_median_saturated"))
                )
    if not nets:
        raise ValueError(
            "judge_saturation needs at least one pair {act}_{init}_ratio and "
            "{act}_{init}_median_saturated, act in sigmoid/tanh, init in default/xavier/he"
        )
    from .activations import SATURATION_FRACTION

    criterion = (
        f"A first/last weight-gradient ratio below {_VANISHED:g} counts as vanished; a network "
        f"whose median layer has more than {_SATURATED:.0%} of its units saturated (derivative "
        f"below {SATURATION_FRACTION:.0%} of its maximum) counts as saturated, one with less than "
        f"{_UNSATURATED:.0%} as unsaturated. Holds if at least one network vanishes, every "
        f"vanished network is saturated and no network with a ratio above {_HEALTHY:g} is; "
        "false here if at least one network vanishes and every vanished network is "
        "unsaturated; otherwise holds only under conditions. At initialization, first seed."
    )
    vanished = [n for n in nets if n[1] < _VANISHED]
    healthy = [n for n in nets if n[1] > _HEALTHY]

    def listing(group) -> str:
        return "; ".join(
            f"{name}: ratio {r:.1e}, median {sat:.1%} saturated" for name, r, sat in group
        )

    if not vanished:
        text = (
            f"No sigmoid or tanh network measured here vanishes ({listing(nets)}), so the data "
            "can neither show saturation causing a vanishing gradient nor rule it out."
        )
        return Verdict("holds only under conditions", text, criterion)
    text = f"Networks whose gradient vanishes at initialization: {listing(vanished)}."
    if healthy:
        text += f" Networks whose gradient reaches the first layer: {listing(healthy)}."
    saturated_healthy = [n for n in healthy if n[2] > _SATURATED]
    if all(sat < _UNSATURATED for _, _, sat in vanished):
        text += (
            " In every network that vanishes the typical layer has almost no saturated unit: "
            "the gradient vanishes without saturation."
        )
        return Verdict("false here", text, criterion)
    if all(sat > _SATURATED for _, _, sat in vanished) and not saturated_healthy:
        text += " Every network that vanishes has most of its units saturated."
        return Verdict("holds", text, criterion)
    if saturated_healthy:
        text += (
            f" The gradient survives in {', '.join(n[0] for n in saturated_healthy)} although "
            "most of its units are saturated."
        )
    else:
        text += " Saturation accompanies some of the vanishing gradients but not all of them."
    return Verdict("holds only under conditions", text, criterion)


def judge_relu_saturates(v: Values) -> Verdict:
    """ "ReLU is more effective at saturating": ReLU against the same networks with its flat
    region removed (leaky ReLU, PReLU), same initialization, first/last gradient ratios."""
    relu, relu_zero = _f(v, "relu_he_ratio"), _f(v, "relu_he_zero_fraction")
    controls = [
        (name, _f(v, f"{name}_he_ratio"), _f(v, f"{name}_he_zero_fraction"))
        for name in ("leaky_relu", "prelu")
    ]
    criterion = (
        "The flat (zero-derivative) region is what the claim credits; leaky ReLU and PReLU are "
        "the same networks, same He initialization, with that region replaced by a small "
        "slope. Holds if the ReLU network's first/last weight-gradient ratio is healthy (above "
        f"{_HEALTHY:g}) and each control's ratio is at most a tenth of ReLU's; false here if "
        f"ReLU's ratio has vanished (below {_VANISHED:g}), or if it is healthy and each "
        "control's ratio is at least a third of ReLU's; otherwise holds only under conditions. "
        "At initialization, first seed."
    )
    text = (
        f"At initialization ReLU outputs exactly zero, where its derivative is zero, for "
        f"{relu_zero:.0%} of its hidden values, and its first layer's weight gradient is "
        f"{relu:.2g} times the last layer's. With the flat region replaced by a slope, "
        + ", ".join(f"{n} ({z:.0%} zeros) gives {r:.2g}" for n, r, z in controls)
        + "."
    )
    ratios = [r / relu for _, r, _ in controls] if relu > 0 else [math.inf for _ in controls]
    if relu < _VANISHED:
        return Verdict("false here", text + " ReLU's own gradient vanishes here.", criterion)
    if relu > _HEALTHY and all(q <= 0.1 for q in ratios):
        return Verdict(
            "holds",
            text + " Removing the flat region costs the gradient more than a factor of ten.",
            criterion,
        )
    if relu > _HEALTHY and all(q >= 1 / 3 for q in ratios):
        return Verdict(
            "false here",
            text + " Removing the flat region leaves the gradient flow within a factor of "
            f"{max(max(ratios), 1 / min(ratios)):.2g}: the zero region is not what keeps the "
            "gradient flowing.",
            criterion,
        )
    return Verdict(
        "holds only under conditions",
        text + " Removing the flat region changes the gradient flow by a factor between three "
        "and ten, or differently for the two controls.",
        criterion,
    )


def judge_fractions(v: Values) -> Verdict:
    """ "Every factor is a fraction between 0 and 1": measured per-layer factors
    ``||dL/dz_l|| / ||dL/dz_{l+1}||`` of a sigmoid network (default initialization) and of
    ReLU networks (He initialization, and weights 1.5 times larger)."""
    sig_max = _f(v, "sigmoid_default_max_factor")
    relu_med, relu_max = _f(v, "relu_he_median_factor"), _f(v, "relu_he_max_factor")
    relu_big = _f(v, "relu_he_x1_5_median_factor")
    criterion = (
        "Holds if every measured factor is below one (the sigmoid network's largest, the He "
        "ReLU network's largest and the scaled ReLU network's median); false here if even the "
        "sigmoid network with PyTorch's default initialization, the textbook case, has a "
        "factor of one or more; otherwise (the sigmoid's factors are fractions, some ReLU "
        "factors are not) holds only under conditions. 20 layers, 64 units, three seeds pooled."
    )
    text = (
        f"In a sigmoid network with PyTorch's default initialization the largest per-layer "
        f"factor is {sig_max:.2f}"
        + (" (every factor below one)" if sig_max < 1 else " (not every factor is below one)")
        + f"; in a He-initialized ReLU network the median factor is {relu_med:.2f} and the "
        f"largest {relu_max:.2f}; with weights 1.5 times larger the median is {relu_big:.2f}"
        + (", and the gradient grows towards the input." if relu_big > 1 else ".")
    )
    if sig_max >= 1:
        return Verdict("false here", text, criterion)
    if relu_max < 1 and relu_big < 1:
        return Verdict("holds", text, criterion)
    return Verdict("holds only under conditions", text, criterion)


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
    """Clipping against exploding and vanishing gradients: the same threshold sweep on a
    network whose gradient explodes and on one whose gradient vanishes."""
    diverged = _f(v, "unclipped_diverged")
    best = min(_f(v, "norm_best_failed"), _f(v, "value_best_failed"))
    growth = _f(v, "max_norm_growth")
    van_none, van_best = _f(v, "vanishing_unclipped_failed"), _f(v, "vanishing_best_failed")
    van_none_loss = _f(v, "vanishing_unclipped_median_loss")
    van_best_loss = _f(v, "vanishing_best_median_loss")
    criterion = (
        "A run fails if its loss becomes non-finite or ends within 10% of the chance level "
        "ln 10; fractions are over seeds. Clipping helps a network if more than half of its "
        "unclipped runs fail and at some threshold of either kind fewer than half do. Holds if "
        "it helps both the exploding network (gain-1.5 ReLU MLP) and the vanishing one "
        "(20-layer sigmoid MLP, He initialization); false here if it helps neither; holds "
        "only under conditions if it helps one. Same budget and seeds for every run."
    )
    explode_helped = diverged > 0.5 and best < 0.5
    vanish_helped = van_none > 0.5 and van_best < 0.5
    text = (
        f"Without clipping {diverged:.0%} of the exploding network's runs became non-finite; "
        f"at the best threshold of either kind {best:.0%} failed. The vanishing network failed "
        f"on {van_none:.0%} of its runs without clipping (median final loss "
        f"{van_none_loss:.3f}) and on at least {van_best:.0%} at every threshold tried (best "
        f"median final loss {van_best_loss:.3f})."
    )
    if growth <= 1 + 1e-6:
        text += (
            f" Clipping never lengthened a gradient (largest norm after/before {growth:.2f}): "
            "it cannot enlarge a gradient that vanishes."
        )
    else:
        text += f" Clipping lengthened a gradient by up to {growth:.2f} times."
    if not vanish_helped and van_none <= 0.5:
        text += " The vanishing network trained without clipping, so there was nothing to rescue."
    if explode_helped and vanish_helped:
        return Verdict("holds", text, criterion)
    if not explode_helped and not vanish_helped:
        return Verdict("false here", text, criterion)
    return Verdict("holds only under conditions", text, criterion)


def judge_gated(v: Values) -> Verdict:
    """LSTM/GRU against the vanilla RNN on the adding problem."""
    rnn25, lstm25, gru25 = (
        bool(v["rnn_t25_solved"]),
        bool(v["lstm_t25_solved"]),
        bool(v["gru_t25_solved"]),
    )
    length = int(_f(v, "length"))
    lstm_long, gru_long = bool(v[f"lstm_t{length}_solved"]), bool(v[f"gru_t{length}_solved"])

    def word(ok: bool) -> str:
        return "solves" if ok else "does not solve"

    text = (
        f"Under one budget ({v.get('budget', 'the same for every cell')}) the vanilla RNN "
        f"{word(rnn25)} the adding problem at "
        f"length 25, the LSTM {word(lstm25)} it and the GRU {word(gru25)} it. At length "
        f"{length} the GRU {word(gru_long)} it and the LSTM {word(lstm_long)} it; at "
        "initialization all three lose the gradient through time."
    )
    if not rnn25 and lstm25 and gru25:
        verdict = "holds" if (lstm_long and gru_long) else "holds only under conditions"
        return Verdict(verdict, text)
    return Verdict("false here", text)


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

    relu_med, relu_max = factor_stats("relu", init="he", seeds=seeds)
    return {
        "sigmoid_default_max_factor": factor_stats("sigmoid", seeds=seeds)[1],
        "relu_he_median_factor": relu_med,
        "relu_he_max_factor": relu_max,
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
