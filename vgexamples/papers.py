"""The papers this site cites, reproduced: each paper's headline result as the paper states it,
beside this build's number for the closest experiment on the site.

Each :class:`Reproduction` quotes the paper's result (with the table, figure or section it comes
from) and the differences in setup, names the recorded results it reads (see
:mod:`vgexamples.results`) or a cheap computation, and a *comparison*: a function that turns
this build's numbers into an :class:`Outcome` -- one of :data:`STATUSES`, our result in words,
and the criterion it was held to. The papers' numbers are quotations and are typed here with
their source; ours are computed. The "papers, reproduced" page runs every comparison during the
build; ``tests/claims/test_papers.py`` reaches every branch of each comparison.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import pairwise

from ._checks import check_choice

__all__ = ["NIELSEN_SPEEDS", "PAPERS", "STATUSES", "Outcome", "Reproduction", "glorot_numbers"]

#: The three possible outcomes of a comparison.
STATUSES = ("reproduces", "reproduces qualitatively", "differs")

Values = Mapping[str, object]


@dataclass(frozen=True)
class Outcome:
    """A comparison's answer: one of :data:`STATUSES`, this build's result in words, and the
    criterion the numbers were held to."""

    status: str
    ours: str
    criterion: str

    def __post_init__(self) -> None:
        check_choice("status", self.status, STATUSES)


@dataclass(frozen=True)
class Reproduction:
    """One cited paper's headline result and how this site's experiment compares.

    Attributes
    ----------
    key
        The paper's key in ``docs/references.bib``.
    topic
        A few words on what the result is about.
    paper
        The result as the paper states it, with its table, figure or section (MyST markup).
    setup
        How this site's experiment differs from the paper's.
    results
        Names of recorded results the comparison reads, merged in order; empty when
        ``compute`` supplies the numbers.
    experiment
        Sphinx cross-reference target of the experiment (a label, or ``chapters/...``).
    compare
        ``values -> Outcome``.
    compute
        Optional cheap computation returning the values (used instead of ``results``).
    """

    key: str
    topic: str
    paper: str
    setup: str
    results: tuple[str, ...]
    experiment: str
    compare: Callable[[Values], Outcome]
    compute: Callable[[], Values] | None = None


def _f(values: Values, key: str) -> float:
    return float(values[key])  # type: ignore[arg-type]


# -- Glorot & Bengio (2010): a cheap computation ---------------------------------------------------
def glorot_numbers(
    seeds: tuple[int, ...] = (0, 1, 2), depth: int = 5, width: int = 1000
) -> dict[str, float]:
    """Back-propagated gradient variance of the first hidden layer over the last's, in a tanh
    network with ``depth`` hidden layers of ``width`` units at initialization, under Glorot &
    Bengio's "standard" initialization (uniform with bound :math:`1/\\sqrt{n_\\text{in}}`, which
    is PyTorch's default for ``nn.Linear``) and their "normalized" one (Xavier), biases zero,
    on a batch of 256 training digits; the median over ``seeds``."""
    import statistics

    import torch

    from .data import load_digits
    from .models import MLP
    from .propagation import variance_profile

    data = load_digits(seed=0)
    x, y = data.x_train[:256], data.y_train[:256]
    out: dict[str, float] = {"depth": depth, "width": width}
    for name, init in (("standard", "default"), ("normalized", "xavier")):
        ratios = []
        for seed in seeds:
            torch.manual_seed(seed)
            net = MLP(64, 10, depth=depth, width=width, activation="tanh", init=init)
            with torch.no_grad():
                for layer in net.linears:
                    layer.bias.zero_()
            grad_var = variance_profile(net, x, y).grad_var
            ratios.append(grad_var[0] / grad_var[depth - 1])
        out[f"{name}_grad_ratio"] = statistics.median(ratios)
    return out


#: Nielsen (2015), chapter 5, "The vanishing gradient problem": the norm of dC/db of each hidden
#: layer (input side first) for networks of 30-unit hidden layers at initialization, by number
#: of hidden layers -- quoted from the book.
NIELSEN_SPEEDS = {
    "2": (0.07, 0.31),
    "3": (0.012, 0.060, 0.283),
    "4": (0.003, 0.017, 0.070, 0.285),
}


# -- comparisons ---------------------------------------------------------------------------------
def compare_nielsen(v: Values) -> Outcome:
    ours_by_depth: Mapping[str, list[float]] = v["nielsen_speeds"]  # type: ignore[assignment]
    parts, within, rising = [], True, True
    for depth, his in NIELSEN_SPEEDS.items():
        ours = [float(x) for x in ours_by_depth[depth]]
        parts.append(f"{depth} hidden layers: " + ", ".join(f"{x:.3g}" for x in ours))
        within &= len(ours) == len(his) and all(
            0.5 <= a / b <= 2 for a, b in zip(ours, his, strict=True)
        )
        rising &= all(a < b for a, b in pairwise(ours))
    ours_text = (
        "In the same setup on digits, averaged over "
        f"{int(_f(v, 'nielsen_seeds'))} initializations: " + "; ".join(parts) + "."
    )
    criterion = (
        "Reproduces if every layer's number is within a factor of 2 of the book's; "
        "qualitatively if at every depth the numbers rise from the input side to the output "
        "side; differs otherwise."
    )
    if within:
        return Outcome("reproduces", ours_text, criterion)
    if rising:
        return Outcome("reproduces qualitatively", ours_text, criterion)
    return Outcome("differs", ours_text, criterion)


def compare_glorot(v: Values) -> Outcome:
    standard, normalized = _f(v, "standard_grad_ratio"), _f(v, "normalized_grad_ratio")
    depth = int(_f(v, "depth"))
    ours = (
        f"With {depth} tanh layers of {int(_f(v, 'width')):,} units, the first hidden layer's "
        f"back-propagated gradient variance is {standard:.3f} times the last one's under the "
        f"standard initialization and {normalized:.2f} times under the normalized one."
    )
    criterion = (
        "Reproduces if the ratio is below 0.1 under the standard initialization and within a "
        "factor of 3 of one (between 1/3 and 3) under the normalized one; qualitatively if the "
        "normalized ratio is at least 10 times the standard one; differs otherwise."
    )
    if standard < 0.1 and 1 / 3 <= normalized <= 3:
        return Outcome("reproduces", ours, criterion)
    if normalized >= 10 * standard:
        return Outcome("reproduces qualitatively", ours, criterion)
    return Outcome("differs", ours, criterion)


def compare_he2015(v: Values) -> Outcome:
    xavier, he, chance = _f(v, "xavier_final_loss"), _f(v, "he_final_loss"), _f(v, "chance_loss")
    ours = (
        f"A 30-layer ReLU network reaches a training loss of {he:.3f} from He initialization "
        f"and {xavier:.3f} from Xavier initialization (chance: {chance:.3f})."
    )
    criterion = (
        "Reproduces if He initialization gets below half the chance loss while Xavier stays "
        "above 90% of it; qualitatively if both train but He ends at least twice as low; "
        "differs otherwise."
    )
    if he < 0.5 * chance and xavier > 0.9 * chance:
        return Outcome("reproduces", ours, criterion)
    if he < 0.5 * chance and 2 * he <= xavier:
        return Outcome("reproduces qualitatively", ours, criterion)
    return Outcome("differs", ours, criterion)


def compare_he2016(v: Values) -> Outcome:
    depths = [int(d) for d in v["depths"]]  # type: ignore[union-attr]
    shallow, deep = depths[1], depths[-1]

    def median(key: str) -> float:
        losses = v.get(f"{key}_losses", [v[key]])
        return float(statistics.median(float(x) for x in losses))  # type: ignore[union-attr]

    plain_s, plain_d = median(f"plain_and_bn_{shallow}"), median(f"plain_and_bn_{deep}")
    res_s, res_d = median(f"residual_and_bn_{shallow}"), median(f"residual_and_bn_{deep}")
    ours = (
        "With batch normalization (medians over seeds), going from "
        f"{shallow} to {deep} blocks takes the plain "
        f"network's training loss from {plain_s:.3f} to {plain_d:.3f} and the residual "
        f"network's from {res_s:.3f} to {res_d:.3f}."
    )
    criterion = (
        "Reproduces if the deeper plain network ends at least 0.1 higher (degradation) and the "
        "deeper residual network lower than the shallower one; qualitatively if the plain "
        "network degrades and the residual one degrades by less than a tenth as much; differs "
        "otherwise."
    )
    plain_gap, res_gap = plain_d - plain_s, res_d - res_s
    if plain_gap > 0.1 and res_gap < 0:
        return Outcome("reproduces", ours, criterion)
    if plain_gap > 0.1 and res_gap < 0.1 * plain_gap:
        return Outcome("reproduces qualitatively", ours, criterion)
    return Outcome("differs", ours, criterion)


def compare_ioffe(v: Values) -> Outcome:
    sgd, bn, chance = _f(v, "sgd_best_loss"), _f(v, "batchnorm_sgd_loss"), _f(v, "chance_loss")
    with_bn, without = _f(v, "sigmoid_batch_steps_to_target"), _f(v, "sigmoid_none_steps_to_target")
    target, steps = _f(v, "target_loss"), int(_f(v, "steps"))
    never = f"never within {steps:,} steps" if math.isinf(without) else f"after {without:.0f} steps"
    ours = (
        f"A 10-layer sigmoid network trained with plain SGD ends at a loss of {sgd:.2f} at its "
        f"best learning rate (chance: {chance:.2f}); with batch normalization before each "
        f"sigmoid it reaches {bn:.2f}. In the batch-norm example the normalized network's "
        f"training loss falls below {target:g} after {with_bn:.0f} steps, the plain one's {never}."
    )
    criterion = (
        "Reproduces if the plain network stays above 90% of the chance loss, the normalized one "
        "gets below half of it and reaches the target loss at least 14 times sooner (never "
        "counts as later than the budget); qualitatively if only the first two hold; differs "
        "otherwise."
    )
    trains = bn < 0.5 * chance and sgd > 0.9 * chance
    if trains and (without if not math.isinf(without) else steps + 1) >= 14 * with_bn:
        return Outcome("reproduces", ours, criterion)
    if trains:
        return Outcome("reproduces qualitatively", ours, criterion)
    return Outcome("differs", ours, criterion)


def compare_pascanu(v: Values) -> Outcome:
    biggest = _f(v, "max_grad")
    plain, clipped = _f(v, "unclipped_best_final"), _f(v, "clipped_worst_final")
    ours = (
        f"On the one-unit network's loss surface the gradient reaches a norm of {biggest:.0f} at "
        f"the wall; the best unclipped descent ends at a loss of {plain:.3g} and the worst "
        f"clipped one at {clipped:.3g}."
    )
    criterion = (
        "Reproduces qualitatively if the wall's gradient norm exceeds 10 and every clipped "
        "descent ends lower than the best unclipped one; differs otherwise (the paper's "
        "figure is a picture, so there is no number to match exactly)."
    )
    if biggest > 10 and clipped < plain:
        return Outcome("reproduces qualitatively", ours, criterion)
    return Outcome("differs", ours, criterion)


def compare_lin(v: Values) -> Outcome:
    bi, single = _f(v, "bilinear_accuracy"), _f(v, "single_stream_accuracy")
    bi_p, single_p = int(_f(v, "bilinear_params")), int(_f(v, "single_stream_params"))
    ours = (
        f"On the site's synthetic textures a small bilinear CNN ({bi_p:,} parameters) reaches "
        f"{bi:.1%} test accuracy against {single:.1%} for a single-stream CNN with average "
        f"pooling ({single_p:,} parameters)."
    )
    criterion = (
        "Reproduces qualitatively if the bilinear network beats the first-order one by at least "
        "5 points with no more than 1.2 times its parameters; differs otherwise (the paper's "
        "84.1% on birds is not a number a synthetic task can match)."
    )
    if bi >= single + 0.05 and bi_p <= 1.2 * single_p:
        return Outcome("reproduces qualitatively", ours, criterion)
    return Outcome("differs", ours, criterion)


def compare_denton(v: Values) -> Outcome:
    base = _f(v, "base_accuracy")
    ranks = [int(r) for r in v["ranks"]]  # type: ignore[union-attr]
    tuned = [float(a) for a in v["fine_tuned"]]  # type: ignore[union-attr]
    macs = [int(m) for m in v["macs"]]  # type: ignore[union-attr]
    dense_macs, dense_ms = _f(v, "dense_macs"), _f(v, "dense_ms")
    timed_ranks = [int(r) for r in v["timed_ranks"]]  # type: ignore[union-attr]
    timed = dict(zip(timed_ranks, v["timed_ms"], strict=True))  # type: ignore[call-overload]
    ok = [i for i, acc in enumerate(tuned) if acc >= base - 0.01]
    criterion = (
        "Reproduces if some rank keeps the fine-tuned accuracy within 1 point of the dense "
        "network's with at least 2 times fewer multiply-adds and a measured speed-up of at least "
        "2; qualitatively if the multiply-adds fall by 2 but the measured time does not; "
        "differs if no rank within 1 point saves half the multiply-adds."
    )
    if not ok:
        ours = f"No rank keeps the accuracy within 1 point of the dense network's {base:.1%}."
        return Outcome("differs", ours, criterion)
    i = ok[0]
    saving = dense_macs / macs[i]
    timed_ok = [r for r in timed if r >= ranks[i]]
    speedup = dense_ms / float(timed[timed_ok[0]]) if timed_ok else None
    speed_text = (
        f"; at rank {timed_ok[0]} the measured inference is {speedup:.1f} times as fast"
        if speedup is not None
        else ""
    )
    ours = (
        f"Rank {ranks[i]} keeps a fine-tuned accuracy of {tuned[i]:.1%} (dense: {base:.1%}) with "
        f"{saving:.1f} times fewer multiply-adds{speed_text}."
    )
    if saving >= 2 and speedup is not None and speedup >= 2:
        return Outcome("reproduces", ours, criterion)
    if saving >= 2:
        return Outcome("reproduces qualitatively", ours, criterion)
    return Outcome("differs", ours, criterion)


def compare_hinton(v: Values) -> Outcome:
    by_size: Mapping[str, Mapping[str, object]] = v["by_size"]  # type: ignore[assignment]
    size = max(by_size, key=int)
    row = by_size[size]
    teacher, plain = _f(row, "teacher"), _f(row, "unregularized")
    baseline, distilled = _f(row, "baseline"), _f(row, "distilled")
    gain_min = _f(row, "gain_min")
    recovered = (distilled - plain) / (teacher - plain) if teacher > plain else float("nan")
    ours = (
        f"With {int(size):,} training digits the teacher reaches {teacher:.1%} test accuracy, "
        f"the small student trained on labels alone {plain:.1%}, the best regularized student "
        f"{baseline:.1%} and the distilled student {distilled:.1%}: distillation recovers "
        f"{recovered:.0%} of the gap between student and teacher (the paper: 91%, from 146 to "
        f"74 errors against the teacher's 67), and beats the best regularized baseline by "
        f"{distilled - baseline:+.1%} on average and by at least {gain_min:+.1%} on every seed."
    )
    criterion = (
        "Reproduces if, at the largest training set, distillation recovers at least two thirds "
        "of the gap between the unregularized student and the teacher and beats the best "
        "regularized baseline on every seed; qualitatively if it beats that baseline on average "
        "but recovers less; differs otherwise."
    )
    if recovered >= 2 / 3 and gain_min > 0:
        return Outcome("reproduces", ours, criterion)
    if distilled > baseline:
        return Outcome("reproduces qualitatively", ours, criterion)
    return Outcome("differs", ours, criterion)


def compare_micikevicius(v: Values) -> Outcome:
    seeds: Mapping[str, list[float]] = v["small_loss_accuracy_seeds"]  # type: ignore[assignment]
    fp32 = [float(a) for a in seeds["fp32"]]
    scaled = [float(a) for a in seeds["fp16, dynamic scaling"]]
    unscaled_best = _f(v, "small_loss_fp16_best_accuracy")
    gap = max(abs(a - b) for a, b in zip(scaled, fp32, strict=True))
    ours = (
        f"A network whose loss is weighted by {_f(v, 'loss_weight'):.2g} reaches "
        f"{min(fp32):.1%} to {max(fp32):.1%} test accuracy in fp32 over {len(fp32)} seeds; in "
        f"mixed precision with fp16 and no loss scaling {_f(v, 'small_loss_underflow'):.0%} of "
        f"its gradient values underflow to zero and no seed gets above {unscaled_best:.1%}; "
        f"with dynamic loss scaling every seed is within {gap:.1%} of fp32."
    )
    criterion = (
        "Reproduces if fp32 reaches 90% on every seed, loss-scaled fp16 is within 2 points of "
        "it on every seed and unscaled fp16 stays at least 30 points below; qualitatively if "
        "scaling closes the gap to within 2 points but unscaled fp16 is less than 30 points "
        "(and more than 5) behind; differs otherwise."
    )
    worst = min(fp32)
    if worst >= 0.9 and gap <= 0.02 and unscaled_best <= worst - 0.3:
        return Outcome("reproduces", ours, criterion)
    if gap <= 0.02 and unscaled_best <= worst - 0.05:
        return Outcome("reproduces qualitatively", ours, criterion)
    return Outcome("differs", ours, criterion)


def compare_han(v: Values) -> Outcome:
    kept, csr = _f(v, "masked_nonzero_fraction"), _f(v, "csr_ratio")
    base, pruned = _f(v, "base_accuracy"), _f(v, "accuracy_90_global_tuned")
    ours = (
        f"Pruning the smallest weights of the site's MLP and fine-tuning keeps {kept:.1%} of its "
        f"parameters ({1 / kept:.1f} times fewer) at {pruned:.1%} test accuracy (dense: "
        f"{base:.1%}); stored as CSR with 32-bit indices the weights take {csr:.1f} times less "
        "space than dense."
    )
    criterion = (
        "Reproduces if the pruned network has at least 9 times fewer parameters and loses at "
        "most 1 point of accuracy; qualitatively if at least 5 times fewer and at most 3 points; "
        "differs otherwise."
    )
    drop = base - pruned
    if 1 / kept >= 9 and drop <= 0.01:
        return Outcome("reproduces", ours, criterion)
    if 1 / kept >= 5 and drop <= 0.03:
        return Outcome("reproduces qualitatively", ours, criterion)
    return Outcome("differs", ours, criterion)


def compare_hochreiter(v: Values) -> Outcome:
    length = max(int(t) for t in v["lengths"])  # type: ignore[union-attr]
    correct = {cell: _f(v, f"{cell}_t{length}_correct") for cell in ("rnn", "lstm", "gru")}
    short = _f(v, f"last_value_correct_t{length}")
    ours = (
        f"On the paper's variant of the task at T = {length}, the fraction of test sequences "
        f"within 0.04 of the target is {correct['lstm']:.0%} for the LSTM, {correct['gru']:.0%} "
        f"for the GRU and {correct['rnn']:.0%} for the vanilla RNN; predicting from the last "
        f"marked value alone gets {short:.0%}."
    )
    criterion = (
        "Reproduces if the LSTM gets at least 95% of the test sequences right at T >= 100; "
        "qualitatively if a gated cell (LSTM or GRU) gets at least 90% right at the length run "
        "here while the vanilla RNN does no better than the short-memory baseline plus 10 "
        "points; differs otherwise."
    )
    if length >= 100 and correct["lstm"] >= 0.95:
        return Outcome("reproduces", ours, criterion)
    if max(correct["lstm"], correct["gru"]) >= 0.9 and correct["rnn"] <= short + 0.1:
        return Outcome("reproduces qualitatively", ours, criterion)
    return Outcome("differs", ours, criterion)


# -- the list --------------------------------------------------------------------------------------
PAPERS: tuple[Reproduction, ...] = (
    Reproduction(
        "nielsen2015",
        "the speed of learning of each hidden layer",
        "At initialization, the norms of the bias gradients over 1,000 MNIST training images "
        "are 0.07 and 0.31 for a network with two hidden layers of 30 units, 0.012, 0.060 and "
        "0.283 with three, and 0.003, 0.017, 0.070 and 0.285 with four, input side first "
        "(chapter 5, 'The vanishing gradient problem').",
        "The book's setup -- weights drawn from N(0, 1/n_in), biases from N(0, 1), sigmoid "
        "output units, the cross-entropy cost, 1,000 training images with pixels in [0, 1] -- "
        "on digits, whose images have 64 pixels instead of 784; we average several "
        "initializations where the book shows one.",
        ("trainable.learning_speed",),
        "sphx_glr_auto_examples_trainable_plot_01_learning_speed.py",
        compare_nielsen,
    ),
    Reproduction(
        "glorot2010",
        "gradient variance per layer, standard against normalized initialization",
        "With the standard initialization, uniform with bound $1/\\sqrt{n}$, the variance of the "
        "back-propagated gradients shrinks from the output layer towards the input; with the "
        "normalized initialization it stays about the same from layer to layer (Section 4.2.2 "
        "and Figure 7: tanh networks, five hidden layers of 1,000 units).",
        "Digits (64 inputs) instead of the paper's Shapeset images; the variances are measured "
        "at initialization on one batch of 256 examples, over three seeds, biases zero as in "
        "the paper. The paper shows histograms; we compare first-layer and last-layer "
        "variances.",
        (),
        "chapters/trainable",
        compare_glorot,
        compute=glorot_numbers,
    ),
    Reproduction(
        "he2015",
        "a 30-layer ReLU network, Xavier against He initialization",
        "A 30-layer ReLU network initialized with Xavier's variance stalls and does not "
        "converge, while the same network with He initialization converges (Figure 3; the "
        "22-layer network converges either way, faster with He's, Figure 2).",
        "A 30-layer MLP of the site's width on digits instead of a 30-layer convolutional "
        "network on ImageNet; training loss after the site's budget instead of top-1 error "
        "over epochs.",
        ("trainable.initialization",),
        "sphx_glr_auto_examples_trainable_plot_02_initialization.py",
        compare_he2015,
    ),
    Reproduction(
        "he2016",
        "plain and residual networks, shallow against deep",
        "The deeper plain network has the higher training error (the degradation problem) and "
        "the deeper residual network the lower: top-1 validation error 27.94% for plain-18, "
        "28.54% for plain-34, 27.88% for ResNet-18 and 25.03% for ResNet-34 on ImageNet "
        "(Table 2; training curves in Figure 4).",
        "MLP blocks of the site's width on digits, all with batch normalization as in the "
        "paper; training loss after the site's budget instead of error after full training.",
        ("trainable.residual",),
        "sphx_glr_auto_examples_trainable_plot_04_residual.py",
        compare_he2016,
    ),
    Reproduction(
        "ioffe2015",
        "batch normalization and sigmoid networks",
        "Batch normalization reaches the original Inception network's accuracy with 14 times "
        "fewer training steps (abstract; Figure 3). With sigmoid units, the batch-normalized "
        "Inception reaches 69.8% accuracy, while without batch normalization it never does "
        "better than 1/1000 (Section 4.2.2).",
        "A 10-layer sigmoid MLP on digits trained with plain SGD instead of Inception on "
        "ImageNet; the training loss after the site's budget, and the steps to a training "
        "loss instead of a validation accuracy.",
        ("trainable.optimizers", "trainable.batch_norm"),
        "sphx_glr_auto_examples_trainable_plot_03_batch_norm.py",
        compare_ioffe,
    ),
    Reproduction(
        "pascanu2013",
        "the cliff of a one-unit recurrent network, and clipping",
        "The loss surface of a recurrent network with a single hidden unit has a steep wall "
        "where the gradient is huge; a plain gradient step there throws the parameters far "
        "away, and rescaling the gradient when its norm exceeds a threshold keeps the step "
        "short (Section 3, Figure 6).",
        "The site's one-unit network and sequence length (see the example); descents from "
        "three starting points with and without norm clipping.",
        ("exploding.cliff",),
        "sphx_glr_auto_examples_exploding_plot_04_cliff.py",
        compare_pascanu,
    ),
    Reproduction(
        "hochreiter1997",
        "the adding problem",
        "LSTM learns the adding problem for minimal time lags of T = 100, 500 and 1,000 steps "
        "(Experiment 4, Table 7); a test sequence counts as processed correctly when the "
        "absolute error of the output at its end is below 0.04.",
        "The paper's task (values in [-1, 1], the first marker among the first ten steps, "
        "target 0.5 + (X1 + X2)/4) at a single length T = 25 with sequences of exactly T "
        "steps, trained for the site's budget with Adam, far fewer sequences than the paper "
        "used; the LSTM is PyTorch's, with a forget gate the 1997 cell did not have.",
        ("recurrent.adding1997",),
        "sphx_glr_auto_examples_recurrent_plot_03_adding_1997.py",
        compare_hochreiter,
    ),
    Reproduction(
        "micikevicius2018",
        "mixed precision and loss scaling",
        "Training Multibox SSD in mixed precision without loss scaling diverges; with loss "
        "scaling it reaches 77.1% mAP against 76.9% in fp32 (Table 2), many of its "
        "activation-gradient values being below fp16's range (Figure 3); scaling the loss by 8 "
        "is enough to match fp32 (Section 3.2).",
        "A three-layer ReLU MLP on digits whose cross-entropy is multiplied by a small weight, "
        "so that its gradients fall below fp16's range as SSD's do; dynamic loss scaling "
        "instead of a fixed factor; fp16 arithmetic emulated on a CPU.",
        ("compression.half_precision",),
        "sphx_glr_auto_examples_compression_plot_01_half_precision.py",
        compare_micikevicius,
    ),
    Reproduction(
        "han2015",
        "pruning small weights",
        "Pruning the smallest weights and retraining cuts the parameters of AlexNet 9 times "
        "(61 million to 6.7 million) and of VGG-16 13 times (138 million to 10.3 million) "
        "without loss of accuracy on ImageNet; LeNet-300-100 and LeNet-5 on MNIST 12 times "
        "(Table 1).",
        "A two-hidden-layer MLP on digits, pruned once to 90% by global magnitude and "
        "fine-tuned, instead of several prune-retrain rounds per layer; storage in CSR with "
        "32-bit indices, as sparse formats need, measured beside the parameter count.",
        ("compression.pruning",),
        "sphx_glr_auto_examples_compression_plot_02_pruning.py",
        compare_han,
    ),
    Reproduction(
        "hinton2015",
        "knowledge distillation",
        "On MNIST, a large net (two hidden layers of 1,200 units, trained with dropout, weight "
        "constraints and jittered inputs) makes 67 test errors; a small net (two hidden layers "
        "of 800 units, no regularization) makes 146; the same small net trained to match the "
        "large net's soft targets at temperature 20 makes 74 (Section 3).",
        "Digits instead of MNIST, a student of 8 hidden units, temperature and mixing weight "
        "chosen on a validation split; we also compare with hard-label students regularized "
        "by weight decay and label smoothing, which the paper does not.",
        ("compression.distillation",),
        "sphx_glr_auto_examples_compression_plot_03_distillation.py",
        compare_hinton,
    ),
    Reproduction(
        "lin2015",
        "bilinear pooling against first-order pooling",
        "A bilinear CNN built from two ImageNet networks and fine-tuned end to end classifies "
        "CUB-200-2011 birds with 84.1% accuracy, above the fine-tuned single networks with "
        "first-order pooling (Table 2).",
        "Two tiny convolutional streams trained from scratch on the site's synthetic "
        "textures, against one stream with average pooling of about the same size; no "
        "pre-training.",
        ("compression.bilinear",),
        "sphx_glr_auto_examples_compression_plot_06_bilinear_cnn.py",
        compare_lin,
    ),
    Reproduction(
        "denton2014",
        "low-rank factorization",
        "Low-rank approximations of a large CNN's convolutional layers speed them up by a "
        "factor of about 2 on CPU and GPU while keeping the accuracy within 1% of the original "
        "model (abstract; Section 5).",
        "Truncated SVD of a two-hidden-layer MLP's hidden layers on digits, fine-tuned for "
        "100 steps, instead of tensor decompositions of convolutional filters; the time is "
        "measured on the build machine.",
        ("compression.low_rank",),
        "sphx_glr_auto_examples_compression_plot_04_low_rank.py",
        compare_denton,
    ),
)
