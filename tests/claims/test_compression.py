"""Claims of the "Smaller and cheaper networks" chapter (docs/chapters/compression.md and
gallery/compression/), checked with the same library code and budgets no larger than theirs."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from vgexamples.cnn import BilinearCNN, DeepCNN, SmallCNN, separable_conv
from vgexamples.compression import (
    count_macs,
    count_parameters,
    distill,
    iterative_prune,
    low_rank_mlp,
    make_pruning_permanent,
    prune_magnitude,
    prune_neurons,
    saved_bytes,
)
from vgexamples.data import load_digits
from vgexamples.diagnostics import gradient_profile
from vgexamples.models import MLP
from vgexamples.precision import (
    activation_bytes,
    compare_outputs,
    gradient_values,
    model_bytes,
    probe_format,
    train_precision,
    underflow_fraction,
)
from vgexamples.runtime import configure
from vgexamples.textures import load_textures, prototype_images
from vgexamples.train import evaluate, train

pytestmark = pytest.mark.slow
SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def digits():
    configure(0)
    return load_digits(seed=0)


# -- part 1: half precision --------------------------------------------------------------------
def test_fp16_limits_probed():
    fp16, bf16, fp32 = (probe_format(f) for f in ("float16", "bfloat16", "float32"))
    assert torch.tensor(2.0**-24, dtype=torch.float16) != 0
    assert torch.tensor(2.0**-25, dtype=torch.float16) == 0
    assert torch.isinf(torch.tensor(65520.0, dtype=torch.float16))
    assert fp16.smallest_subnormal == 2.0**-24
    # bf16 has fp32's range but fewer fraction bits than fp16
    assert bf16.max == pytest.approx(fp32.max, rel=0.01)
    assert bf16.smallest_normal == fp32.smallest_normal
    assert bf16.mantissa_bits < fp16.mantissa_bits < fp32.mantissa_bits


DEEP = dict(depth=10, width=32, activation="sigmoid", init="xavier")
SHALLOW = dict(depth=2, width=64, activation="relu")


@pytest.mark.parametrize("seed", SEEDS)
def test_underflow_deep_sigmoid_not_shallow_relu(digits, seed):
    x, y = digits.x_train[:256], digits.y_train[:256]
    torch.manual_seed(seed)
    deep = gradient_values(MLP(64, 10, **DEEP), x, y)
    torch.manual_seed(seed)
    shallow = gradient_values(MLP(64, 10, **SHALLOW), x, y)
    assert underflow_fraction(deep, "float16") > 0.1
    assert underflow_fraction(deep, "float16", 2.0**8) < underflow_fraction(deep, "float16") / 3
    assert underflow_fraction(deep, "float16", 2.0**16) < 0.01
    assert underflow_fraction(shallow, "float16") < 0.001
    assert underflow_fraction(deep, "bfloat16") == 0.0


@pytest.mark.parametrize("seed", SEEDS)
def test_training_precisions(digits, seed):
    def run(kwargs, budget, **precision):
        torch.manual_seed(seed)
        h = train_precision(MLP(64, 10, **kwargs), digits, seed=seed, **budget, **precision)
        return h.final_test_accuracy

    shallow_budget = dict(steps=300, lr=0.05, optimizer="sgd", eval_every=300)
    fp32 = run(SHALLOW, shallow_budget)
    assert abs(run(SHALLOW, shallow_budget, dtype="float16") - fp32) < 0.02
    assert abs(run(SHALLOW, shallow_budget, dtype="bfloat16") - fp32) < 0.02

    deep_budget = dict(steps=300, lr=3e-3, optimizer="adam", eval_every=300)
    assert run(DEEP, deep_budget, dtype="float16") < 0.12  # stays at chance
    for precision in (
        dict(dtype="float32"),
        dict(dtype="float16", loss_scale="dynamic"),
        dict(dtype="bfloat16"),
    ):
        assert run(DEEP, deep_budget, **precision) > 0.15


def test_pure_fp16_sgd_trains_adam_breaks(digits):
    torch.manual_seed(0)
    sgd = train_precision(
        MLP(64, 10, **SHALLOW), digits, dtype="float16", mode="pure", steps=300, lr=0.05
    )
    torch.manual_seed(0)
    adam = train_precision(
        MLP(64, 10, **SHALLOW),
        digits,
        dtype="float16",
        mode="pure",
        steps=300,
        lr=1e-3,
        optimizer="adam",
    )
    assert sgd.final_test_accuracy > 0.9
    assert adam.diverged
    assert torch.tensor(1e-8, dtype=torch.float16) == 0


@pytest.fixture(scope="module")
def trained_shallow(digits):
    torch.manual_seed(0)
    net = MLP(64, 10, depth=2, width=64)
    train_precision(net, digits, steps=300, lr=0.05, eval_every=300)
    return net


def test_memory_exactly_halved(digits, trained_shallow):
    x = digits.x_test[:256]
    half = copy.deepcopy(trained_shallow).half()
    assert model_bytes(half) * 2 == model_bytes(trained_shallow)
    assert activation_bytes(half, x.half()) * 2 == activation_bytes(trained_shallow, x)


def test_half_precision_keeps_decisions_not_numbers(digits, trained_shallow):
    for dt in ("float16", "bfloat16"):
        change = compare_outputs(trained_shallow, digits.x_test, dt)
        assert change.argmax_agreement > 0.99
        assert change.max_abs_diff > 1e-4


@pytest.mark.parametrize("seed", SEEDS)
def test_large_activations_break_fp16_not_bf16(digits, seed):
    torch.manual_seed(seed)
    big = MLP(64, 10, depth=8, width=64, init="normal", init_std=0.6)
    assert not compare_outputs(big, digits.x_test, "float16").finite
    assert compare_outputs(big, digits.x_test, "bfloat16").finite


# -- part 2: pruning ---------------------------------------------------------------------------
TRAIN = dict(lr=0.05, optimizer="momentum", batch_size=64, eval_every=1000)


@pytest.fixture(scope="module")
def pruning_base(digits):
    torch.manual_seed(0)
    base = MLP(64, 10, depth=2, width=128)
    train(base, digits, steps=400, **TRAIN)
    return base


def _acc(model, data):
    return evaluate(model, data.x_test, data.y_test)[1]


def test_pruning_accuracy_curve(digits, pruning_base):
    base_acc = _acc(pruning_base, digits)
    at = {
        (m, a): (
            prune_neurons(pruning_base, a)
            if m == "neurons"
            else prune_magnitude(copy.deepcopy(pruning_base), a, scope=m)
        )
        for m in ("layer", "global", "neurons")
        for a in (0.5, 0.8, 0.9, 0.95)
    }
    # magnitude pruning keeps the accuracy at half the weights, then falls without retraining
    for m in ("layer", "global"):
        assert _acc(at[m, 0.5], digits) > base_acc - 0.01
        assert _acc(at[m, 0.95], digits) < base_acc - 0.1
    # neuron pruning falls sooner
    assert _acc(at["neurons", 0.8], digits) < _acc(at["global", 0.8], digits) - 0.1
    # a short fine-tuning recovers almost everything at 90%
    for m in ("layer", "global", "neurons"):
        model = at[m, 0.9]
        train(model, digits, steps=100, **TRAIN)
        assert _acc(model, digits) > base_acc - 0.035


def test_masks_do_not_shrink_neurons_do(pruning_base):
    masked = prune_magnitude(copy.deepcopy(pruning_base), 0.9, scope="global")
    folded = make_pruning_permanent(
        prune_magnitude(copy.deepcopy(pruning_base), 0.9, scope="global")
    )
    small = prune_neurons(pruning_base, 0.9)
    n = count_parameters(pruning_base)
    assert count_parameters(masked) == n
    assert count_parameters(masked, nonzero=True) < 0.15 * n
    assert saved_bytes(masked) > 1.8 * saved_bytes(pruning_base)
    assert abs(saved_bytes(folded) - saved_bytes(pruning_base)) < 0.01 * saved_bytes(pruning_base)
    assert count_parameters(small) < 0.1 * n
    assert saved_bytes(small) < 0.1 * saved_bytes(pruning_base)
    assert count_macs(masked, (64,)) == count_macs(pruning_base, (64,))
    assert count_macs(small, (64,)) < 0.1 * count_macs(pruning_base, (64,))


@pytest.mark.parametrize("seed", SEEDS)
def test_iterative_beats_one_shot(digits, pruning_base, seed):
    scores = {}
    for rounds in (1, 4):
        model = copy.deepcopy(pruning_base)
        iterative_prune(
            model, digits, 0.97, rounds=rounds, steps_per_round=300 // rounds, seed=seed, **TRAIN
        )
        scores[rounds] = _acc(model, digits)
    assert scores[4] > scores[1]


# -- part 3: distillation ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def distillation_runs():
    configure(0)
    data = load_digits(seed=0, n_train=150)
    teacher = MLP(64, 10, depth=2, width=256)
    train(teacher, data, steps=300, lr=0.05, optimizer="momentum", weight_decay=1e-3)
    acc = {}
    for width in (8, 32):
        for t in (None, 1, 4, 8):
            for seed in SEEDS:
                torch.manual_seed(seed)
                h = distill(
                    MLP(64, 10, depth=1, width=width),
                    None if t is None else teacher,
                    data,
                    temperature=t or 1.0,
                    alpha=0.9,
                    steps=200,
                    lr=0.05,
                    optimizer="momentum",
                    seed=seed,
                    eval_every=200,
                )
                acc[width, t, seed] = h.final_test_accuracy
    return acc


def test_distillation_helps_small_student_at_high_temperature(distillation_runs):
    acc = distillation_runs
    for seed in SEEDS:
        for t in (4, 8):
            assert acc[8, t, seed] > acc[8, None, seed] + 0.01
    mean = {t: np.mean([acc[8, t, s] for s in SEEDS]) for t in (None, 1, 4)}
    assert abs(mean[1] - mean[None]) < 0.01
    assert mean[4] > mean[None] + 0.03


def test_distillation_does_not_help_wide_student(distillation_runs):
    acc = distillation_runs
    mean = {t: np.mean([acc[32, t, s] for s in SEEDS]) for t in (None, 1, 4)}
    assert abs(mean[4] - mean[None]) < 0.015


# -- part 4: low rank --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def low_rank_base(digits):
    torch.manual_seed(0)
    base = MLP(64, 10, depth=2, width=256)
    initial = copy.deepcopy(base)
    train(base, digits, steps=400, **TRAIN)
    return base, initial


def test_random_matrix_is_not_low_rank():
    torch.manual_seed(0)
    w = torch.nn.Linear(256, 256).weight.detach()
    s = torch.linalg.svdvals(w)
    relative_error = float(s[64:].square().sum().sqrt() / s.square().sum().sqrt())
    assert relative_error > 0.5


def test_low_rank_claims(digits, low_rank_base):
    low_rank_base, initial = low_rank_base
    base_acc = _acc(low_rank_base, digits)
    s0 = torch.linalg.svdvals(initial.linears[1].weight.detach())
    s = torch.linalg.svdvals(low_rank_base.linears[1].weight.detach())
    assert s[0] > 1.5 * s0[0]  # training lifts the top singular values above the bulk
    energy = torch.cumsum(s**2, 0) / (s**2).sum()
    energy_rank = int((energy < 0.9).sum()) + 1
    assert energy_rank > 64  # far from low rank by energy ...
    assert _acc(low_rank_mlp(low_rank_base, 16), digits) > base_acc - 0.01  # ... yet rank 16 works
    low = low_rank_mlp(low_rank_base, 2)
    before = _acc(low, digits)
    assert before < base_acc - 0.3
    train(low, digits, steps=100, **{**TRAIN, "lr": 0.01})
    assert _acc(low, digits) > before + 0.2
    assert count_parameters(low_rank_mlp(low_rank_base, 16)) < 0.25 * count_parameters(
        low_rank_base
    )


# -- part 5: compact filters and shared weights --------------------------------------------------
def test_separable_cost_matches_formula():
    std = torch.nn.Conv2d(16, 32, 3, padding=1, bias=False)
    sep = separable_conv(16, 32)
    for m in sep:
        m.bias = None
    expected = 1 / 32 + 1 / 9
    assert count_parameters(sep) / count_parameters(std) == pytest.approx(expected)
    assert count_macs(sep, (16, 8, 8)) / count_macs(std, (16, 8, 8)) == pytest.approx(expected)


def test_small_cnns_against_mlp():
    configure(0)
    images, flat = load_digits(seed=0, image=True), load_digits(seed=0)
    builders = {
        "standard": (lambda: SmallCNN(channels=(16, 32)), images),
        "separable": (lambda: SmallCNN(channels=(16, 32), separable=True), images),
        "mlp": (lambda: MLP(64, 10, depth=1, width=64), flat),
    }
    acc, macs, params = {}, {}, {}
    for name, (build, data) in builders.items():
        scores = []
        for seed in SEEDS:
            torch.manual_seed(seed)
            net = build()
            h = train(net, data, steps=300, lr=3e-3, optimizer="adam", seed=seed, eval_every=300)
            scores.append(h.final_test_accuracy)
        acc[name] = np.mean(scores)
        macs[name] = count_macs(net, tuple(data.x_train.shape[1:]))
        params[name] = count_parameters(net)
    assert params["separable"] < 0.3 * params["standard"]
    assert macs["separable"] < 0.3 * macs["standard"]
    assert acc["separable"] < acc["standard"] - 0.01  # some cost in accuracy
    assert abs(acc["mlp"] - acc["standard"]) < 0.03  # similar accuracy ...
    assert macs["mlp"] < macs["separable"] / 2  # ... with the fewest multiply-adds


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("init", ["default", "xavier"])
def test_shared_weights_do_not_stop_vanishing(digits, seed, init):
    images = load_digits(seed=0, image=True)
    torch.manual_seed(seed)
    cnn = DeepCNN(depth=10, channels=16, activation="sigmoid", init=init)
    torch.manual_seed(seed)
    mlp = MLP(64, 10, depth=10, width=16, activation="sigmoid", init=init)
    pc = gradient_profile(cnn, images.x_train[:256], images.y_train[:256])
    pm = gradient_profile(mlp, digits.x_train[:256], digits.y_train[:256])
    assert pc.ratio_first_to_last() < pm.ratio_first_to_last()
    assert pc.ratio_first_to_last("output_grad_norm") < pm.ratio_first_to_last("output_grad_norm")
    assert pc.ratio_first_to_last() < 1e-5  # vanishing in the CNN too


@pytest.mark.parametrize("seed", SEEDS)
def test_relu_he_keeps_gradients_in_both(digits, seed):
    images = load_digits(seed=0, image=True)
    torch.manual_seed(seed)
    cnn = DeepCNN(depth=10, channels=16, activation="relu", init="he")
    torch.manual_seed(seed)
    mlp = MLP(64, 10, depth=10, width=16, activation="relu", init="he")
    assert (
        gradient_profile(cnn, images.x_train[:256], images.y_train[:256]).ratio_first_to_last()
        > 1e-2
    )
    assert (
        gradient_profile(mlp, digits.x_train[:256], digits.y_train[:256]).ratio_first_to_last()
        > 1e-2
    )


# -- part 6: bilinear CNN ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def bilinear_runs():
    configure(0)
    data = load_textures(100, 100, seed=0)
    results = {}
    for seed in SEEDS:
        for name, build in (
            ("bilinear", lambda: BilinearCNN(1, 6, channels_a=(8, 8), channels_b=(8, 8))),
            ("single", lambda: SmallCNN(1, 6, channels=(9, 18), n_pool=0)),
        ):
            torch.manual_seed(seed)
            net = build()
            h = train(net, data, steps=200, lr=3e-3, optimizer="adam", seed=seed, eval_every=100)
            results[name, seed] = (net, h)
    return results


def test_bilinear_beats_single_stream(bilinear_runs):
    for seed in SEEDS:
        bil, single = bilinear_runs["bilinear", seed], bilinear_runs["single", seed]
        assert count_parameters(single[0]) >= 0.95 * count_parameters(bil[0])
        assert bil[1].final_test_accuracy > single[1].final_test_accuracy + 0.05
        # and gets there sooner: better at the first evaluation too
        assert bil[1].test_accuracy[0] > single[1].test_accuracy[0]


def test_bilinear_streams_are_selective(bilinear_runs):
    protos, _ = prototype_images()
    model = bilinear_runs["bilinear", 0][0].eval()
    with torch.no_grad():
        for maps in model.streams(protos):
            response = maps.mean(dim=(2, 3)).T
            active = response.sum(dim=1) > 0
            share = response.max(dim=1).values[active] / response.sum(dim=1)[active]
            assert float(share.median()) > 2 / 8  # uneven: at least twice the uniform share
