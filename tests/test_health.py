"""Unit tests of vgexamples.health and the claims of docs/diagnose.md."""

import math

import pytest
import torch
from torch import nn

from vgexamples.data import load_digits
from vgexamples.health import THRESHOLDS, Report, default_layers, diagnose, judge, report_from
from vgexamples.models import MLP
from vgexamples.watch import Watcher


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


def test_recurrent_layer_reports_gradient_through_time_and_attention_its_output(images):
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
    # the recurrent weights are watched, and the gradient through its 8 steps measured
    assert row["grad / last"] > 0 and row["update ratio"] > 0
    assert 0 < row["h1 / hT"] < 1
    assert "h1 / hT" in rnn.to_markdown().splitlines()[0]

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
    # the functional output projection: its row carries the attention's output gradient
    proj = next(r for r in tr.rows if r["layer"] == "block.self_attn.out_proj")
    attn = next(r for r in tr.rows if r["layer"] == "block.self_attn")
    assert proj["grad / last"] > 0 and proj["weight grad"] > 0
    assert attn["weight grad"] > 0
    assert "h1 / hT" not in tr.to_markdown().splitlines()[0]
    assert any("block.self_attn.out_proj row" in n for n in tr.notes)


def test_default_layers_includes_recurrent_and_conv():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.LSTM(4, 4))
    assert set(default_layers(model)) == {"0", "2"}


def test_flags_follow_thresholds_and_markdown_has_dashes(images):
    torch.manual_seed(0)
    report = diagnose(MLP(64, 10, depth=2, width=8), images, steps=3)
    head = next(r for r in report.rows if r["layer"] == "head")
    rows, flags, _ = judge(report.watcher, thresholds={"update_high": head["update ratio"] / 2})
    assert "update too large" in next(r for r in rows if r["layer"] == "head")["flags"]
    assert "head: update too large" in flags
    rows, flags, _ = judge(report.watcher, thresholds={"update_high": head["update ratio"] * 2})
    assert "update too large" not in next(r for r in rows if r["layer"] == "head")["flags"]
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
    heat = report.plot_heatmap()
    assert heat.axes[0].get_title().startswith("back-propagated gradient")


def test_vanishing_is_judged_against_the_last_layer_called():
    """A toy watcher: the flags read the median ratio to the last layer in call order."""
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 2))
    w = Watcher(net, torch.optim.SGD(net.parameters(), lr=0.1))
    w.remove()
    w.steps = [1, 2, 3]
    w.order = ["0", "1", "2"]
    w.grad_norm = [1.0, 1.0, 1.0]
    nan = [math.nan] * 3
    for q in w.series:
        for name in w.series[q]:
            w.series[q][name] = list(nan)
    w.series["output_grad_norm"] = {
        "0": [1e-5, 1e-5, 1.0],  # median ratio 1e-5: vanishing
        "1": [1e4, 1e4, 1.0],  # median ratio 1e4: exploding
        "2": [1.0, 1.0, 1.0],
    }
    rows, flags, notes = judge(w)
    assert flags == ["0: vanishing gradient", "1: exploding gradient"]
    assert [r["grad / last"] for r in rows] == [1e-5, 1e4, 1.0]
    # a global norm that grew more than 1e3-fold is flagged for the model
    w.grad_norm = [1.0, 10.0, 2e3]
    assert any(f.startswith("model: gradient norm grew") for f in judge(w)[1])
    assert notes[0] == "Read from 3 sampled steps (steps 1 to 3) under SGD."


def test_report_from_rejects_other_objects():
    with pytest.raises(TypeError, match="watcher"):
        report_from(object())


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
