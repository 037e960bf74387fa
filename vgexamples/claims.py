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
    """Early layers learn slowest: how far each layer's weights move, with Nielsen's proxy shown
    beside it."""
    proxy, depth = _f(v, "gap_at_init"), int(_f(v, "depth"))
    early, end, step = (
        _f(v, "movement_ratio_early"),
        _f(v, "movement_ratio_end"),
        int(_f(v, "movement_early_step")),
    )
    slow, even = 3.0, 1.5
    text = (
        f"In a sigmoid network with {depth} hidden layers, Nielsen's proxy (the bias-gradient "
        f"norm at initialization) makes the last hidden layer {proxy:.0f} times faster than the "
        f"first. Measured by how far the weights actually move from their initial values "
        f"(relative change), the last hidden layer had moved {early:.1f} times as far as the "
        f"first after {step} steps and {end:.2f} times as far at the end of training."
    )
    if proxy > slow * early:
        text += f" The proxy overstates the early gap in movement {proxy / early:.0f}-fold."
    elif early > slow * proxy:
        text += f" The proxy understates the early gap in movement {early / proxy:.0f}-fold."
    else:
        text += " The proxy and the movement agree within a factor of three."
    criterion = (
        "Judged by the ratio of the last hidden layer's relative weight change "
        "||W_t - W_0|| / ||W_0|| to the first's in the deepest network: holds if it is above "
        f"{slow:g} both after the first measured interval and at the end of training; false "
        f"here if it is at most {even:g} at both; otherwise holds only under conditions. The "
        "bias-gradient proxy is reported beside it, not judged."
    )
    if early > slow and end > slow:
        return Verdict("holds", text + " The first layer stays the slowest throughout.", criterion)
    if early <= even and end <= even:
        return Verdict(
            "false here",
            text + " The first layer moves about as far as the last from the start.",
            criterion,
        )
    if early > end:
        text += " The first layer is the slowest only early in training; the gap then closes."
    else:
        text += " The gap in movement is larger at the end of training than at the start."
    return Verdict("holds only under conditions", text, criterion)


def judge_initialization(v: Values) -> Verdict:
    """Xavier/He keep gradients in range: each scheme with its own activation and the other."""
    xavier, he, chance = _f(v, "xavier_final_loss"), _f(v, "he_final_loss"), _f(v, "chance_loss")
    depth = int(_f(v, "depth"))
    lo, hi = 0.8, 1.25  # per-layer factor of the gradient variance counted as "in range"

    def per_layer(key: str) -> float:
        ratio = _f(v, key)
        return ratio ** (1 / (depth - 1)) if ratio > 0 else 0.0

    pairs = {
        "ReLU under He": per_layer("relu_he_grad_ratio"),
        "tanh under Xavier": per_layer("tanh_xavier_grad_ratio"),
        "ReLU under Xavier": per_layer("relu_xavier_grad_ratio"),
        "tanh under He": per_layer("tanh_he_grad_ratio"),
    }
    inside = {k: lo <= f <= hi for k, f in pairs.items()}
    gain, sat = _f(v, "tanh_he_gain_mean"), _f(v, "tanh_he_saturated_median")
    own = inside["ReLU under He"] and inside["tanh under Xavier"] and he < 0.5 * chance
    cross = inside["ReLU under Xavier"] and inside["tanh under He"] and xavier < 0.5 * chance
    listed = "; ".join(
        f"{k} {f:.3f} ({'inside' if inside[k] else 'outside'})" for k, f in pairs.items()
    )
    text = (
        f"Per-layer factor of the back-propagated gradient variance through {depth} layers: "
        f"{listed}. A 30-layer ReLU network trained from He initialization reaches a training "
        f"loss of {he:.3f} and from Xavier initialization {xavier:.3f} (chance: {chance:.3f})."
    )
    direction = "grows" if gain > 1 else "shrinks"
    text += (
        f" Under He's variance the measured tanh gain n Var(w) E[tanh'(z)^2] is {gain:.3f} per "
        f"layer, so the gradient {direction} towards the input; the median layer has "
        f"{sat:.1%} of its units saturated."
    )
    criterion = (
        "A pairing is in range if its gradient variance changes by a factor between "
        f"{lo:g} and {hi:g} per layer (first/last ratio over the depth, geometric mean); a "
        "ReLU network trains if its loss ends below half the chance loss and stalls if above "
        "90% of it. Holds if every pairing is in range and both initializations train; false "
        "here if a scheme with its own activation (He with ReLU, Xavier with tanh) is out of "
        "range or He fails to train; otherwise holds only under conditions."
    )
    if own and cross:
        return Verdict("holds", text + " Every pairing stays in range.", criterion)
    if not own:
        return Verdict(
            "false here",
            text + " A scheme fails even with the activation it was derived for.",
            criterion,
        )
    failing = [k for k in ("ReLU under Xavier", "tanh under He") if not inside[k]]
    if xavier > 0.9 * chance:
        failing.append("training from Xavier (stalls at chance)")
    elif xavier >= 0.5 * chance:
        failing.append("training from Xavier (slow)")
    text += (
        " Each scheme keeps the gradient in range for the activation it was derived for; out of "
        "range or failing: " + ", ".join(failing) + "."
    )
    return Verdict("holds only under conditions", text, criterion)


def _seed_list(v: Values, key: str) -> list[float]:
    """A recorded per-seed list (or a single number) as floats."""
    raw = v[key]
    items = raw if isinstance(raw, (list, tuple)) else [raw]
    return [float(x) for x in items]  # type: ignore[arg-type]


def _losses_text(values: list[float]) -> str:
    """``"diverge on every seed"`` or ``"end at a training loss of 0.031, 0.043 and
    diverged"`` (one cell per seed, in order)."""
    if not any(math.isfinite(x) for x in values):
        return "diverge on every seed"
    cells = ["diverged" if not math.isfinite(x) else f"{x:.3f}" for x in values]
    joined = cells[0] if len(cells) == 1 else ", ".join(cells[:-1]) + " and " + cells[-1]
    return "end at a training loss of " + joined


def judge_batch_norm_description(v: Values) -> Verdict:
    """Where batch normalization puts its statistics, in the paper's own placement: are the
    activation outputs normalized (per-unit mean 0, variance 1), or the pre-activations?"""
    acts = [str(a) for a in v["description_activations"]]  # type: ignore[union-attr]

    def normalized(mean_abs: float, var: float) -> bool:
        return mean_abs < 0.1 and 0.8 < var < 1.25

    def far(mean_abs: float, var: float) -> bool:
        return mean_abs > 0.3 or not 0.5 < var < 2.0

    parts, pre_ok, post_ok, post_far = [], [], [], []
    for act in acts:
        pm, pv = _f(v, f"{act}_bn_pre_mean"), _f(v, f"{act}_bn_pre_var")
        am, av = _f(v, f"{act}_bn_post_mean"), _f(v, f"{act}_bn_post_var")
        pre_ok.append(normalized(pm, pv))
        post_ok.append(normalized(am, av))
        post_far.append(far(am, av))
        pre_word = "normalized" if pre_ok[-1] else "not normalized"
        post_word = (
            "normalized"
            if post_ok[-1]
            else ("far from normalized" if post_far[-1] else "not quite normalized")
        )
        parts.append(
            f"with {act} units the inputs of the nonlinearity have per-unit |mean| {pm:.2f} and "
            f"variance {pv:.2f} ({pre_word}), its outputs |mean| {am:.2f} and variance "
            f"{av:.2f} ({post_word})"
        )
    text = (
        "In networks built as Ioffe and Szegedy place the transform (before the nonlinearity), "
        "measured at initialization on one batch: " + "; ".join(parts) + "."
    )
    criterion = (
        "A layer's units count as normalized if their mean |per-unit mean| is below 0.1 and "
        "their mean per-unit variance lies in (0.8, 1.25); as far from normalized if the "
        "|mean| exceeds 0.3 or the variance lies outside (0.5, 2). False here if, for every "
        "activation measured, the pre-activations are normalized and the activation outputs "
        "far from it; holds if the activation outputs are normalized for every activation; "
        "otherwise holds only under conditions."
    )
    if all(post_ok):
        return Verdict("holds", text, criterion)
    if all(pre_ok) and all(post_far):
        return Verdict(
            "false here",
            text + " The paper adds the transform immediately before the nonlinearity "
            "(Section 3.2); what comes out of the activation is not normalized.",
            criterion,
        )
    return Verdict("holds only under conditions", text, criterion)


def judge_batch_norm_order(v: Values) -> Verdict:
    """'Batch norm after the activation trains better': wins of 'after' over 'before' for
    each activation and learning rate, with a margin on the mean loss."""
    seeds = int(_f(v, "seeds"))
    acts = [str(a) for a in v["order_activations"]]  # type: ignore[union-attr]
    lrs = [float(x) for x in v["order_lrs"]]  # type: ignore[union-attr]
    need = math.ceil(0.8 * seeds)
    after_better, before_better, parts = [], [], []
    for act in acts:
        for lr in lrs:
            tag = f"{act}_lr{str(lr).replace('.', '_')}"
            wins = int(_f(v, f"{tag}_after_wins"))
            after, before = _f(v, f"{tag}_after"), _f(v, f"{tag}_before")
            a_better = wins >= need and after < 0.8 * before
            b_better = seeds - wins >= need and before < 0.8 * after
            after_better.append(a_better)
            before_better.append(b_better)
            word = (
                "after is better"
                if a_better
                else ("before is better" if b_better else "neither is better by the margin")
            )
            parts.append(
                f"{act} at learning rate {lr:g}: after lower on {wins} of {seeds} seeds, mean "
                f"{after:.3f} after against {before:.3f} before ({word})"
            )
    text = "Final training loss, batch normalization after vs before the nonlinearity -- " + (
        "; ".join(parts) + "."
    )
    criterion = (
        f"In each setting (activation, learning rate), 'after' counts as better if it reaches "
        f"the lower final training loss on at least {need} of {seeds} seeds and its mean loss "
        "is below 0.8 times the mean loss before; holds if 'after' is better in every setting, "
        "false here if it is better in none, otherwise holds only under conditions."
    )
    if all(after_better):
        return Verdict("holds", text, criterion)
    if not any(after_better):
        return Verdict("false here", text, criterion)
    better = [p.split(":")[0] for p, ok in zip(parts, after_better, strict=True) if ok]
    return Verdict(
        "holds only under conditions",
        text + " 'After' is better only for " + ", ".join(better) + ".",
        criterion,
    )


def judge_residual(v: Values) -> Verdict:
    """Skip connections against vanishing gradients: the deepest plain and residual nets with
    batch normalization, the plain+BN net's gradient ratio at initialization, and residual nets
    without normalization with full and small branches."""
    depth = int(_f(v, "deepest"))
    seeds = len(_seed_list(v, "seeds"))
    plain_bn = _seed_list(v, f"plain_and_bn_{depth}_losses")
    res_bn = _seed_list(v, f"residual_and_bn_{depth}_losses")
    res = _seed_list(v, f"residual_{depth}_losses")
    zero = _seed_list(v, f"residual_zero_branch_{depth}_losses")
    ratio = _seed_list(v, f"plain_and_bn_{depth}_ratio")
    growth = _seed_list(v, f"residual_{depth}_growth")
    zero_growth = _seed_list(v, f"residual_zero_branch_{depth}_growth")

    from statistics import fmean, median

    def trains(losses: list[float]) -> bool:
        return all(math.isfinite(x) and x < 0.5 for x in losses)

    med = median(plain_bn), median(res_bn)
    skips_help = trains(res_bn) and med[0] > 3 * med[1]
    vanishing = all(r < 0.1 for r in ratio)
    exploding = all(r > 10 for r in ratio)
    text = (
        f"At {depth} hidden blocks ({seeds} seeds), with batch normalization the residual "
        f"networks {_losses_text(res_bn)} and the plain ones {_losses_text(plain_bn)}"
        + (
            "; the skips make the difference."
            if skips_help
            else "; the skips do not make the difference required."
        )
    )
    ratios = ", ".join(f"{r:.3g}" for r in ratio)
    if exploding:
        text += (
            f" The plain network's gradients are not vanishing but exploding at "
            f"initialization: first/last layer weight-gradient ratio {ratios}."
        )
    elif vanishing:
        text += f" The plain network's gradients vanish at initialization (first/last {ratios})."
    else:
        text += (
            f" The plain network's first/last gradient ratio at initialization ({ratios}) is "
            "neither clearly vanishing nor clearly exploding."
        )
    text += (
        f" Without normalization, residual networks with full branches grow the signal by "
        f"{fmean(growth):.2f} per block and {_losses_text(res)}"
        + ("" if trains(res) else ", so skips alone do not let them train")
        + f"; with each branch's multiplier starting at zero (growth {fmean(zero_growth):.2f} "
        f"per block) they {_losses_text(zero)}"
        + (
            ": skips train without normalization when the branches start small."
            if trains(zero)
            else "."
        )
    )
    criterion = (
        "A net trains if its final training loss is below 0.5 on every seed. Holds if the "
        "residual+BN net trains at the largest depth with a median loss under a third of the "
        "plain+BN net's, the plain+BN net's first/last gradient ratio is below 0.1 on every seed "
        "(vanishing), and the residual net with full branches trains without normalization. "
        "False here if the residual+BN net does not train or is not 3 times better. Otherwise "
        "(the skips help, but the plain nets' trouble is not vanishing gradients or the skips "
        "need normalization or small branches) holds only under conditions."
    )
    if skips_help and vanishing and trains(res):
        return Verdict("holds", text, criterion)
    if not skips_help:
        return Verdict("false here", text, criterion)
    return Verdict("holds only under conditions", text, criterion)


def judge_optimizers(v: Values) -> Verdict:
    """Adaptive optimizers against vanishing gradients: each layer's step and the loss reached,
    against SGD and against the same network with batch normalization and SGD."""
    adaptive = ("adagrad", "rmsprop", "adam")
    ratios = {o: _f(v, f"{o}_update_first_over_last") for o in adaptive}
    losses = {o: _f(v, f"{o}_best_loss") for o in adaptive}
    sgd_ratio, sgd, bn, chance = (
        _f(v, "sgd_update_first_over_last"),
        _f(v, "sgd_best_loss"),
        _f(v, "batchnorm_sgd_loss"),
        _f(v, "chance_loss"),
    )
    flat = all(0.1 < r < 10 for r in ratios.values())
    best = min(losses.values())
    escapes = best < sgd - 0.3
    close_to_bn = max(losses.values()) < 2 * bn + 0.05
    steps = ", ".join(f"{o} {ratios[o]:.2g}" for o in adaptive)
    loss_text = ", ".join(f"{o} {losses[o]:.3f}" for o in adaptive)
    text = (
        f"On the 10-layer sigmoid network the first layer's relative step is, as a multiple "
        f"of the last layer's: {steps}; plain SGD {sgd_ratio:.1e}. "
        + (
            "The adaptive methods give every layer a step of similar size. "
            if flat
            else "The adaptive methods do not equalize the steps. "
        )
        + f"Best training loss: {loss_text}; SGD {sgd:.3f} (chance {chance:.3f})"
        + (
            ", so an adaptive method leaves the plateau SGD stays on."
            if escapes
            else ", so no adaptive method beats SGD by the margin."
        )
        + f" The same network with batch normalization and plain SGD reaches {bn:.3f}"
        + (
            ", no better than the adaptive methods by the margin."
            if close_to_bn
            else ": equal steps do not make the network as trainable as normalization does."
        )
    )
    criterion = (
        "Steps count as equalized if every adaptive method's first/last update ratio lies in "
        "(0.1, 10). Holds if they are equalized, the best adaptive loss is at least 0.3 below "
        "SGD's, and every adaptive method ends within 2 x (batch-norm SGD loss) + 0.05. False "
        "here if the steps are not equalized or no adaptive method beats SGD by 0.3. Otherwise "
        "(steps equalized and the plateau left, but far above the batch-normalized network) "
        "holds only under conditions."
    )
    if flat and escapes and close_to_bn:
        return Verdict("holds", text, criterion)
    if not (flat and escapes):
        return Verdict("false here", text, criterion)
    return Verdict("holds only under conditions", text, criterion)


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
    """CNNs and shared weights: the deep CNN against its untied twin (same layers, a separate
    filter at every position), in every setting where the twin's gradients vanish.

    Reads ``ratios`` (``kind -> "activation_init" -> {"weight": [...], "output": [...]}``,
    first/last ratios per seed, for the kinds ``"CNN"`` and ``"untied CNN"``; ``"MLP"``
    optional, as context) and ``depth``.
    """

    def _span(values: object) -> str:
        vs = [float(x) for x in values]  # type: ignore[union-attr]
        lo, hi = min(vs), max(vs)
        return f"{lo:.1e}" if lo == hi else f"{lo:.1e} to {hi:.1e}"

    ratios = v["ratios"]
    tied_all, untied_all = ratios["CNN"], ratios["untied CNN"]  # type: ignore[index]
    vanish, helps, neutral = 1e-3, 10.0, 5.0
    criterion = (
        f"Judged in the settings where the untied twin's first/last weight-gradient ratio is "
        f"below {vanish:g} on every seed (gradients vanish without sharing). Holds if the CNN's "
        f"ratio is at least {helps:g} times its untied twin's, for the weight gradient and for "
        f"the back-propagated gradient, on every seed of every such setting; false here if it "
        f"is below {neutral:g} times on both measures everywhere (sharing buys less than that "
        f"against a decay of {vanish:g} or more); otherwise holds only under conditions."
    )
    settings = [
        name
        for name, untied in untied_all.items()  # type: ignore[union-attr]
        if max(untied["weight"]) < vanish
    ]
    if not settings:
        return Verdict(
            "holds only under conditions",
            "In no setting measured do the untied twin's gradients vanish (first/last "
            f"weight-gradient ratio below {vanish:g} on every seed), so there is nothing for "
            "sharing to protect against here.",
            criterion,
        )
    gains = {"weight": [], "output": []}
    parts = []
    for name in settings:
        tied, untied = tied_all[name], untied_all[name]  # type: ignore[index]
        for which in gains:
            gains[which] += [t / u for t, u in zip(tied[which], untied[which], strict=True)]
        parts.append(
            f"{name.replace('_', ', ')}: CNN {_span(tied['weight'])}, untied twin "
            f"{_span(untied['weight'])} (weight gradient); CNN {_span(tied['output'])}, untied "
            f"twin {_span(untied['output'])} (back-propagated gradient)"
        )
    low = min(min(g) for g in gains.values())
    high = max(max(g) for g in gains.values())
    depth = int(_f(v, "depth"))
    text = (
        f"First/last gradient ratios of {depth} layers at initialization, over the seeds, "
        f"where the untied twin's gradients vanish: {'; '.join(parts)}. The CNN's ratio is "
        f"{low:.2g} to {high:.2g} times its twin's."
    )
    if low >= helps:
        verdict = "holds"
        text += " Sharing the filters keeps the first layer's gradient markedly larger."
    elif high < neutral:
        verdict = "false here"
        text += (
            f" With the sharing as the only difference, the CNN's ratio stays within a factor "
            f"{neutral:g} of its twin's while both are below {vanish:g}: sharing does not "
            "protect against the vanishing."
        )
    else:
        verdict = "holds only under conditions"
        text += (
            f" Sharing lifts the ratio by a factor of {neutral:g} or more on some measure or "
            f"seed, but not by {helps:g} on all of them."
        )
    mlp = ratios.get("MLP", {}).get(settings[0]) if isinstance(ratios, Mapping) else None
    if mlp is not None:
        text += (
            f" For context, an MLP of the same depth ({settings[0].replace('_', ', ')}): "
            f"{_span(mlp['weight'])}; it differs from the CNN in width, fan-in and padding as "
            "well as sharing, so it cannot isolate the sharing."
        )
    return Verdict(verdict, text, criterion)


def judge_precision(v: Values) -> Verdict:
    """fp16 does not change the output: prediction agreement, logit change against the change
    fp16 rounding alone explains, and whether a network with large values stays finite."""
    agree = (
        _f(v, "fp16_min_agreement_seeds")
        if "fp16_min_agreement_seeds" in v
        else _f(v, "fp16_agreement")
    )
    diff, bound = _f(v, "fp16_max_abs_diff"), _f(v, "fp16_rounding_bound")
    finite = bool(v["large_net_fp16_finite"])
    criterion = (
        "Holds if at least 99.5% of test predictions agree with fp32 on every seed, the largest "
        "logit change stays within twice the change one fp16 rounding per layer explains, and a "
        "network with large hidden values stays finite; false here if fewer than 99% of "
        "predictions agree or the change exceeds ten times that bound; otherwise holds only "
        "under conditions."
    )
    within = math.isfinite(diff) and diff <= 2 * bound
    far = not math.isfinite(diff) or diff > 10 * bound
    text = (
        f"A trained network run in fp16 predicts the same class as in fp32 for {agree:.1%} of "
        f"test images (lowest seed); its logits move by up to {diff:.2g}, "
        + (
            f"within the {bound:.2g} that fp16 rounding alone explains. "
            if within
            else f"beyond the {bound:.2g} that fp16 rounding alone explains. "
        )
        + (
            "A network whose values exceed fp16's range still gives finite outputs."
            if finite
            else "A network whose values exceed fp16's largest number (65504) gives infinite or "
            "NaN outputs in fp16."
        )
    )
    if agree < 0.99 or far:
        return Verdict("false here", text, criterion)
    if agree >= 0.995 and within and finite:
        return Verdict("holds", text, criterion)
    return Verdict("holds only under conditions", text, criterion)


def judge_pruning(v: Values) -> Verdict:
    """Pruning weights shrinks the model and makes it faster: storage as masks and as CSR,
    inference time as masks and with sparse kernels, accuracy after fine-tuning."""
    dense, masked = int(_f(v, "dense_params")), int(_f(v, "masked_params"))
    nz = _f(v, "masked_nonzero_fraction")
    mask_bytes = _f(v, "masked_bytes") / _f(v, "dense_bytes")
    csr_ratio = _f(v, "csr_ratio")
    mask_speed, csr_speed = _f(v, "masked_speedup"), _f(v, "csr_speedup")
    drop = _f(v, "base_accuracy") - _f(v, "accuracy_90_global_tuned")
    criterion = (
        "Holds if the masked model as PyTorch stores it is at most half the dense size, runs at "
        "least 1.5 times faster and loses at most 2 points of accuracy after fine-tuning; false "
        "here if it loses more than 5 points, or if neither CSR storage (dense/CSR bytes above "
        "1.5) nor any inference path (speed-up above 1.2) gains; otherwise holds only under "
        "conditions."
    )
    text = (
        f"Keeping {nz:.1%} of the weights costs {drop * 100:.1f} points of accuracy after "
        f"fine-tuning. With masks the model still holds {masked:,} of {dense:,} parameters and "
        f"saves to {mask_bytes:.2f} times the dense file; its inference takes "
        f"{1 / mask_speed:.2f} times the dense time. Stored as CSR with 32-bit indices the "
        f"weights take 1/{csr_ratio:.1f} of their dense bytes, and sparse products run "
        f"{csr_speed:.2f} times as fast as the dense network."
    )
    if drop > 0.05 or (csr_ratio <= 1.5 and max(mask_speed, csr_speed) <= 1.2):
        return Verdict("false here", text, criterion)
    if mask_bytes <= 0.5 and mask_speed >= 1.5 and drop <= 0.02:
        return Verdict("holds", text, criterion)
    return Verdict("holds only under conditions", text, criterion)


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
        "batch-norm-description",
        "Batch normalization normalizes the data after every activation function.",
        ("trainable.batch_norm",),
        "sphx_glr_auto_examples_trainable_plot_03_batch_norm.py",
        judge_batch_norm_description,
    ),
    Claim(
        "batch-norm-order",
        "Batch normalization trains better placed after the activation function than before it.",
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
