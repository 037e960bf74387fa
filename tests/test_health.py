"""Unit tests of vgexamples.health and the claims of docs/diagnose.md."""

import math

import pytest
import torch
from torch import nn

from vgexamples.data import load_digits
from vgexamples.health import THRESHOLDS, Report, default_layers, diagnose, layer_rows
from vgexamples.models import MLP


@pytest.fixture(scope="module")
def images():
    return load_digits(image=True)


def test_diagnose_leaves_the_model_untouched(images):
    torch.manual_seed(0)
    net = MLP(64, 10, depth=3, width=16)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    report = diagnose(net, images, steps=5)
    assert isinstance(report, Report)
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())
    assert all(len(m._forward_hooks) == 0 for m in net.modules())
    assert report.history.steps_run == 5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_deep_sigmoid_mlp_is_flagged_for_vanishing_and_small_updates(images, seed):
    torch.manual_seed(seed)
    sick = MLP(64, 10, depth=12, width=64, activation="sigmoid")
    report = diagnose(sick, images, steps=40, optimizer="sgd", lr=0.1)
    first = report.rows[0]
    assert "vanishing gradient" in first["flags"] and "update too small" in first["flags"]
    assert sum("vanishing" in f for f in report.flags) >= 6


def test_healthy_small_mlp_has_no_gradient_flags(images):
    torch.manual_seed(0)
    report = diagnose(
        MLP(64, 10, depth=3, width=32, activation="relu", init="he"), images, steps=30
    )
    assert not any("vanishing" in f or "exploding" in f for f in report.flags)


def test_recurrent_layer_has_no_update_ratio_and_attention_projection_no_output_grad(images):
    class RowRNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(8, 16, batch_first=True)
            self.head = nn.Linear(16, 10)

        def forward(self, x):
            return self.head(self.rnn(x.reshape(-1, 8, 8))[0][:, -1])

    torch.manual_seed(0)
    rnn = diagnose(RowRNN(), images, steps=5)
    row = next(r for r in rnn.rows if r["layer"] == "rnn")
    assert row["grad / last"] > 0 and math.isnan(row["update ratio"])

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(8, 16)
            self.block = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
            self.head = nn.Linear(16, 10)

        def forward(self, x):
            return self.head(self.block(self.embed(x.reshape(-1, 8, 8))).mean(1))

    torch.manual_seed(0)
    tr = diagnose(Block(), images, steps=5)
    proj = next(r for r in tr.rows if r["layer"] == "block.self_attn.out_proj")
    assert math.isnan(proj["grad / last"]) and proj["weight grad"] > 0


def test_default_layers_includes_recurrent_and_conv():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.LSTM(4, 4))
    assert set(default_layers(model)) == {"0", "2"}


def test_layer_rows_flags_follow_thresholds(images):
    torch.manual_seed(0)
    report = diagnose(MLP(64, 10, depth=2, width=8), images, steps=3)
    rows, flags = layer_rows(report.profile, {"head": 0.5}, thresholds={"update_high": 0.1})
    head = next(r for r in rows if r["layer"] == "head")
    assert head["flags"] == "update too large"
    assert "head: update too large" in flags
    md = report.to_markdown()
    assert md.splitlines()[0].startswith("| layer | kind |")
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert len(table) == 2 + len(report.rows)
    # a value that does not apply is a dash, explained under the table, never "nan"
    missing = any(isinstance(v, float) and math.isnan(v) for r in report.rows for v in r.values())
    assert missing and "| - |" in md and "A dash:" in md
    assert "nan" not in md
    fig = report.plot()
    assert len(fig.axes) == 4


def test_diagnose_bad_arguments(images):
    net = MLP(64, 10, depth=1, width=4)
    with pytest.raises(ValueError, match="thresholds: unknown keys"):
        diagnose(net, images, thresholds={"vanish": 1})
    with pytest.raises(ValueError, match="optimizer"):
        diagnose(net, images, optimizer="lbfgs")
    with pytest.raises(ValueError, match="steps"):
        diagnose(net, images, steps=0)
    assert set(THRESHOLDS) == {
        "vanishing",
        "exploding",
        "saturated",
        "dead",
        "update_low",
        "update_high",
    }
