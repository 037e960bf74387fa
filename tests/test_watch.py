"""Unit tests for vgexamples.watch: every recorded quantity against a hand computation,
where a run broke, the sampling schedule, exports, and a model left as it was."""

from __future__ import annotations

import copy
import csv
import json
import math
import sys

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from vgexamples.diagnostics import activation_stats
from vgexamples.health import Report
from vgexamples.sequences import RecurrentRegressor, hidden_gradient_norms
from vgexamples.watch import (
    ACTIVATION_SERIES,
    AUTO_INTERVAL,
    HISTOGRAM_VALUES,
    LAYER_SERIES,
    ROOT,
    Break,
    NonFiniteError,
    Watcher,
    auto_due,
    load_json,
)

# -- helpers ---------------------------------------------------------------------------------


def _mlp():
    return nn.Sequential(
        nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3)
    )


def _batch(n=32, features=6, classes=3, scale=1.0):
    return torch.randn(n, features) * scale, torch.randint(0, classes, (n,))


def _capture(model, names):
    """Forward hooks of our own: each named module's output and the gradient reaching it
    (summed over the backward passes of a step, one entry per pass)."""
    outs, grads, handles = {}, {}, []
    modules = dict(model.named_modules())
    for name in names:

        def hook(module, inputs, output, name=name):
            out = output[0] if isinstance(output, tuple) else output
            outs.setdefault(name, []).append(out.detach().clone())
            out.register_hook(lambda g: grads.setdefault(name, []).append(g.detach().clone()))

        handles.append(modules[name].register_forward_hook(hook))
    return outs, grads, handles


def _rms_per_example(grads):
    """sqrt(mean over every example of ||dL/d(output_i)||^2), examples on axis 0."""
    per_example = torch.cat([g.flatten(1).norm(dim=1) for g in grads])
    return float(per_example.pow(2).mean().sqrt())


def _same(a, b):
    """Equal lists of floats, nan equal to nan."""
    np.testing.assert_array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float))


def _no_hooks(model, optimizer):
    for name, m in model.named_modules():
        for attr in (
            "_forward_hooks",
            "_forward_pre_hooks",
            "_backward_hooks",
            "_backward_pre_hooks",
            "_forward_hooks_with_kwargs",
            "_forward_pre_hooks_with_kwargs",
        ):
            assert not getattr(m, attr), (name, attr)
    for name, p in model.named_parameters():
        # None, not an empty dict: autograd would keep calling a hook dict once it was set
        assert p._post_accumulate_grad_hooks is None, name
        assert p._backward_hooks is None, name
    assert not optimizer._optimizer_step_pre_hooks
    assert not optimizer._optimizer_step_post_hooks


# -- 1. each quantity against a hand computation -----------------------------------------------


def test_recorded_quantities_match_hand_computation():
    """Every per-layer and per-activation quantity, and the global norm, by hand."""
    torch.manual_seed(0)
    net = _mlp()
    with torch.no_grad():
        net[0].weight.mul_(3.0)  # some tanh units saturate
        net[2].bias[:2] = -100.0  # two ReLU units are dead for every example
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    x, y = _batch()
    outs, grads, handles = _capture(net, ["0", "1", "2", "3", "4"])
    expected = []
    with Watcher(net, opt, every=1) as w:
        for _ in range(3):
            outs.clear()
            grads.clear()
            opt.zero_grad()
            logits = net(x)
            F.cross_entropy(logits, y).backward()
            grad = {
                n: (net[int(n)].weight.grad.norm(), net[int(n)].bias.grad.norm()) for n in "024"
            }
            total = torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm=0.05)
            assert total > 0.2  # it really clips
            before = {n: net[int(n)].weight.detach().clone() for n in "024"}
            opt.step()
            # dL/dlogits of a mean cross-entropy: (softmax - one hot) / N
            analytic = (logits.detach().softmax(1) - F.one_hot(y, 3)) / len(x)
            expected.append(
                {
                    "grad": {n: (float(a), float(b)) for n, (a, b) in grad.items()},
                    "total": float(total),
                    "ratio": {
                        n: float((net[int(n)].weight.detach() - b).norm() / b.norm())
                        for n, b in before.items()
                    },
                    "size": {n: float(b.norm()) for n, b in before.items()},
                    "outs": {n: v[0] for n, v in outs.items()},
                    "out_grad": {n: _rms_per_example(g) for n, g in grads.items() if n in "024"},
                    "analytic": float(analytic.norm(dim=1).pow(2).mean().sqrt()),
                }
            )
    for h in handles:
        h.remove()
    assert w.steps == [1, 2, 3]
    assert w.layer_names == ["0", "2", "4"] and w.activation_names == ["1", "3"]
    s = w.series
    for i, e in enumerate(expected):
        assert w.grad_norm[i] == pytest.approx(e["total"], rel=1e-6)
        for n in "024":
            wg, bg = e["grad"][n]
            assert s["weight_grad_norm"][n][i] == pytest.approx(wg, rel=1e-6)  # before clipping
            assert s["bias_grad_norm"][n][i] == pytest.approx(bg, rel=1e-6)
            assert s["output_grad_norm"][n][i] == pytest.approx(e["out_grad"][n], rel=1e-5)
            assert s["update_ratio"][n][i] == pytest.approx(e["ratio"][n], rel=1e-5)
            assert s["weight_norm"][n][i] == pytest.approx(e["size"][n], rel=1e-6)
            out = e["outs"][n].double().numpy()
            assert s["output_mean"][n][i] == pytest.approx(out.mean(), rel=1e-5, abs=1e-7)
            assert s["output_std"][n][i] == pytest.approx(out.std(ddof=1), rel=1e-5)
        assert s["output_grad_norm"]["4"][i] == pytest.approx(e["analytic"], rel=1e-5)
        # the global norm is that of every gradient together
        layer_sq = sum(
            s["weight_grad_norm"][n][i] ** 2 + s["bias_grad_norm"][n][i] ** 2 for n in "024"
        )
        assert math.sqrt(layer_sq) == pytest.approx(w.grad_norm[i], rel=1e-6)
        for n in "13":
            out = e["outs"][n]
            ref = activation_stats(net[int(n)], out, spread=False)
            assert s["activation_mean"][n][i] == pytest.approx(ref["mean"], rel=1e-6)
            assert s["activation_std"][n][i] == pytest.approx(ref["std"], rel=1e-6)
            assert s["dead"][n][i] == ref["dead"]
            _same([s["saturated"][n][i]], [ref["saturated"]])
            assert s["activation_mean"][n][i] == pytest.approx(float(out.mean()), rel=1e-6)
        tanh = e["outs"]["1"]
        saturated = float((1 - tanh**2 < 0.1).float().mean())
        assert saturated > 0 and s["saturated"]["1"][i] == saturated
        dead = float((e["outs"]["3"] == 0).all(dim=0).float().mean())
        assert dead >= 2 / 16 and s["dead"]["3"][i] == dead
        assert math.isnan(s["saturated"]["3"][i])  # a ReLU does not saturate


def test_histograms_match_numpy():
    """Each sample's histograms against numpy.histogram of the same values: log10 of
    |dL/d(output)| of every layer in the half-decade bins of the gradient edges, each
    activation's values in 40 equal bins from its minimum to its maximum; outputs of more
    than HISTOGRAM_VALUES values are counted at that many evenly spaced values (the bins still
    spanning all of them)."""
    torch.manual_seed(4)
    # 32 x 50 values > HISTOGRAM_VALUES (spaced), 32 x 20 fewer (every one, the largest too)
    net = nn.Sequential(nn.Linear(6, 50), nn.Tanh(), nn.Linear(50, 20), nn.Tanh(), nn.Linear(20, 3))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = _batch()
    outs, grads, handles = _capture(net, ["0", "1", "2", "3", "4"])
    expected = []
    with Watcher(net, opt, every=1) as w:
        for _ in range(3):
            outs.clear()
            grads.clear()
            opt.zero_grad()
            F.cross_entropy(net(x), y).backward()
            opt.step()
            expected.append(({n: grads[n][0] for n in "024"}, {n: outs[n][0] for n in "13"}))
    for h in handles:
        h.remove()
    edges = np.linspace(-20.0, 5.0, 51)
    for i, (layer_grads, acts) in enumerate(expected):
        for n, g in layer_grads.items():
            flat = g.flatten()
            step = -(-flat.numel() // HISTOGRAM_VALUES)
            assert (step > 1) == (n == "0")
            logs = np.log10(np.abs(flat[::step].double().numpy()))
            counts, _ = np.histogram(logs[np.isfinite(logs)], bins=edges)
            assert w.gradient_histograms[n][i] == counts.tolist(), (n, i)
        for n, act in acts.items():
            every = act.double().numpy().ravel()
            values = every[:: -(-every.size // HISTOGRAM_VALUES)]
            assert (len(values) < every.size) == (n == "1")
            got_edges, got_counts = w.activation_histograms[n][i]
            assert len(got_edges) == 41
            assert got_edges[0] == pytest.approx(every.min(), rel=1e-6)
            assert got_edges[-1] == pytest.approx(every.max(), rel=1e-6)
            counts, _ = np.histogram(values, bins=40, range=(every.min(), every.max()))
            assert got_counts == counts.tolist(), (n, i)
            assert sum(got_counts) == len(values) <= HISTOGRAM_VALUES


class _Shared(nn.Module):
    """One ReLU module after both hidden layers, and one hidden layer called twice."""

    def __init__(self):
        super().__init__()
        self.first = nn.Linear(6, 16)
        self.hidden = nn.Linear(16, 16)
        self.act = nn.ReLU()
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        h = self.act(self.first(x))
        return self.head(self.act(self.hidden(self.hidden(h))))


def test_a_module_called_twice_is_read_over_both_calls():
    """A reused activation: statistics over the values and units of every call (not only the
    first); a layer called twice: its output statistics over both calls, its gradient over
    both outputs."""
    torch.manual_seed(3)
    net = _Shared()
    with torch.no_grad():
        net.hidden.bias[:12] = -100.0  # kills units of the activation's second call
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = _batch()
    outs, grads, handles = _capture(net, ["act", "hidden"])
    with Watcher(net, opt, every=1) as w:
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    for h in handles:
        h.remove()
    s = w.series
    first, second = outs["act"]
    values = torch.cat([first.flatten(), second.flatten()]).double()
    assert s["activation_mean"]["act"][0] == pytest.approx(float(values.mean()), rel=1e-6)
    assert s["activation_std"]["act"][0] == pytest.approx(float(values.std()), rel=1e-5)
    dead_first, dead_second = (int((o == 0).all(dim=0).sum()) for o in (first, second))
    assert dead_second > dead_first  # the first call alone would read fewer dead units
    assert s["dead"]["act"][0] == pytest.approx((dead_first + dead_second) / 32)
    hidden = torch.cat([o.flatten() for o in outs["hidden"]]).double()
    assert s["output_mean"]["hidden"][0] == pytest.approx(float(hidden.mean()), rel=1e-5)
    assert s["output_std"]["hidden"][0] == pytest.approx(float(hidden.std()), rel=1e-5)
    # both calls' gradients, over the examples of the one forward pass
    both = sum(float(g.pow(2).sum()) for g in grads["hidden"])
    assert s["output_grad_norm"]["hidden"][0] == pytest.approx(math.sqrt(both / 32), rel=1e-5)


@pytest.mark.parametrize("batch_first", [True, False])
def test_per_example_is_the_same_count_for_every_layer_of_a_sequence_model(batch_first):
    """PyTorch's transformer layer with either layout, 2 tokens and 32 examples: every row,
    attention or not, is the gradient's norm over the square root of the 32 examples (not of
    the 2 tokens for the layers that do not know the layout)."""
    torch.manual_seed(4)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=batch_first)
    net = nn.Sequential(nn.Linear(3, 8), layer)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x = torch.randn(32, 2, 3) if batch_first else torch.randn(2, 32, 3)
    names = ["0", "1.self_attn", "1.linear1", "1.linear2", "1.norm2"]
    _, grads, handles = _capture(net, names)
    with Watcher(net, opt, every=1) as w:
        opt.zero_grad()
        net(x).pow(2).mean().backward()
        opt.step()
    for h in handles:
        h.remove()
    assert w.batch_dim == (0 if batch_first else 1)
    rows = {n: n for n in names} | {"1.self_attn": "1.self_attn.out_proj"}
    for name, row in rows.items():
        expected = math.sqrt(sum(float(g.pow(2).sum()) for g in grads[name]) / 32)
        assert w.series["output_grad_norm"][row][0] == pytest.approx(expected, rel=1e-5), name
    # the axis can be given: here the tokens' axis, two "examples"
    _, grads, handles = _capture(net, ["1.linear2"])
    with Watcher(net, opt, every=1, batch_dim=1 if batch_first else 0) as w:
        opt.zero_grad()
        net(x).pow(2).mean().backward()
        opt.step()
    for h in handles:
        h.remove()
    expected = math.sqrt(sum(float(g.pow(2).sum()) for g in grads["1.linear2"]) / 2)
    assert w.series["output_grad_norm"]["1.linear2"][0] == pytest.approx(expected, rel=1e-5)


# -- 2. gradient through time ----------------------------------------------------------------


def _cell_states(rnn, x, h0=None, c0=None):
    """The layer's hidden states, computed by hand from its weights, one step at a time
    (inputs ``(N, T, F)``); every ``h_t`` retains its gradient."""
    w_ih, w_hh = rnn.weight_ih_l0, rnn.weight_hh_l0
    b_ih, b_hh = rnn.bias_ih_l0, rnn.bias_hh_l0
    n, hidden = x.shape[0], rnn.hidden_size
    h = torch.zeros(n, hidden) if h0 is None else h0
    c = torch.zeros(n, hidden) if c0 is None else c0
    hs = []
    for t in range(x.shape[1]):
        gi = x[:, t] @ w_ih.T + b_ih
        gh = h @ w_hh.T + b_hh
        if isinstance(rnn, nn.LSTM):
            i, f, g, o = (gi + gh).chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        elif isinstance(rnn, nn.GRU):
            i_r, i_z, i_n = gi.chunk(3, dim=1)
            h_r, h_z, h_n = gh.chunk(3, dim=1)
            r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
            h = (1 - z) * torch.tanh(i_n + r * h_n) + z * h
        else:
            h = torch.tanh(gi + gh)
        h.retain_grad()
        hs.append(h)
    return hs, c


class _SeqNet(nn.Module):
    """A recurrent layer whose outputs all reach the loss: a head on the last output, the
    mean of every output, the final hidden (and cell) state; optional initial states."""

    def __init__(self, kind, batch_first, initial):
        super().__init__()
        self.rnn = getattr(nn, kind)(3, 5, batch_first=batch_first)
        self.head = nn.Linear(5, 2)
        self.initial = initial

    def forward(self, x, h0=None, c0=None):
        bf = self.rnn.batch_first
        state = None
        if self.initial:
            state = (h0.unsqueeze(0), c0.unsqueeze(0)) if c0 is not None else h0.unsqueeze(0)
        out, last = self.rnn(x, state)
        h_n, c_n = last if isinstance(last, tuple) else (last, None)
        pred = self.head(out[:, -1] if bf else out[-1])
        pred = pred + 0.3 * out.mean(dim=1 if bf else 0)[:, :2] + 0.2 * h_n[-1][:, :2]
        if c_n is not None:
            pred = pred + 0.1 * c_n[-1][:, :2]
        return pred


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_through_time_matches_hand_unrolled_cell(kind, batch_first):
    """||dL/dh_t|| per t (batch mean, total derivative) equals a hand-written cell's."""
    torch.manual_seed(1)
    initial = not batch_first  # initial states passed in one layout, zeros in the other
    net = _SeqNet(kind, batch_first, initial)
    x, y = torch.randn(8, 6, 3), torch.randn(8, 2)  # (N, T, F)
    h0 = torch.randn(8, 5) if initial else None
    c0 = torch.randn(8, 5) if initial and kind == "LSTM" else None
    # reference: the hand-written cell with the same weights, before any step
    hs, c_last = _cell_states(net.rnn, x, h0, c0)
    pred = net.head(hs[-1]) + 0.3 * torch.stack(hs).mean(0)[:, :2] + 0.2 * hs[-1][:, :2]
    if kind == "LSTM":
        pred = pred + 0.1 * c_last[:, :2]
    inputs = x if batch_first else x.transpose(0, 1)
    with torch.no_grad():  # the hand-written cell is the layer's
        torch.testing.assert_close(pred, net(inputs, h0, c0))
    F.mse_loss(pred, y).backward()
    expected = [float(h.grad.norm(dim=1).mean()) for h in hs]
    net.zero_grad()

    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    _, grads, handles = _capture(net, ["rnn"])
    with Watcher(net, opt, every=1) as w:
        for _ in range(2):
            opt.zero_grad()
            F.mse_loss(net(inputs, h0, c0), y).backward()
            opt.step()
    for h in handles:
        h.remove()
    # the output gradient per example: examples on the batch axis, whichever it is
    g = grads["rnn"][0] if batch_first else grads["rnn"][0].transpose(0, 1)
    assert w.series["output_grad_norm"]["rnn"][0] == pytest.approx(_rms_per_example([g]), rel=1e-5)
    assert list(w.through_time) == ["rnn"]
    assert len(w.through_time["rnn"]) == 2
    assert w.through_time["rnn"][0] == pytest.approx(expected, rel=1e-5)
    assert w.through_time["rnn"][1] != pytest.approx(expected, rel=1e-5)  # new weights


def test_through_time_of_stacked_layer_is_the_top_layer():
    """A two-layer GRU: the top layer's ||dL/dh_t||, against the layer called one step at a
    time on the carried state."""
    torch.manual_seed(2)
    rnn, head = nn.GRU(3, 4, num_layers=2, batch_first=True), nn.Linear(4, 1)
    net = nn.ModuleDict({"rnn": rnn, "head": head})

    def forward(x):
        out, _ = rnn(x)
        return head(out[:, -1]) + out.sum(dim=(1, 2)).unsqueeze(1) * 0.1

    x, y = torch.randn(6, 5, 3), torch.randn(6, 1)
    state, tops = None, []
    for t in range(5):
        _, state = rnn(x[:, t : t + 1], state)
        state.retain_grad()
        tops.append(state)
    outs = [s[-1] for s in tops]  # the top layer's output is its hidden state
    pred = head(outs[-1]) + torch.stack(outs).sum(dim=(0, 2)).unsqueeze(1) * 0.1
    torch.testing.assert_close(pred, forward(x))
    F.mse_loss(pred, y).backward()
    expected = [float(s.grad[-1].norm(dim=1).mean()) for s in tops]
    net.zero_grad()

    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with Watcher(net, opt, every=1) as w:
        opt.zero_grad()
        F.mse_loss(forward(x), y).backward()
        opt.step()
    assert w.through_time["rnn"][0] == pytest.approx(expected, rel=1e-5)


def test_through_time_matches_hidden_gradient_norms():
    """On a RecurrentRegressor (head on the last output) the watcher agrees with
    vgexamples.sequences.hidden_gradient_norms for the same per-example squared error."""
    torch.manual_seed(3)
    net = RecurrentRegressor("lstm", input_size=2, hidden_size=6)
    x, y = torch.randn(10, 7, 2), torch.randn(10, 1)
    expected = hidden_gradient_norms(net, x, y).hidden
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    with Watcher(net, opt, every=1) as w:
        opt.zero_grad()
        ((net(x) - y) ** 2).sum(dim=1).sum().backward()
        opt.step()
    assert w.through_time["rnn"][0] == pytest.approx(expected, rel=1e-5)
    assert expected[0] < expected[-1]  # a profile, not a constant


# -- 3. loss scaling -------------------------------------------------------------------------


class _GruMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(3, 8, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.mlp(out[:, -1])


def _gradient_record(w):
    grads = ("weight_grad_norm", "bias_grad_norm", "output_grad_norm", "update_ratio")
    return w.steps, w.grad_norm, {q: w.series[q] for q in grads}, w.through_time


@pytest.mark.parametrize("how", ["GradScaler", "constant"])
def test_loss_scaling_is_divided_out(how):
    """With a scaled loss every gradient quantity equals that of the unscaled run."""
    torch.manual_seed(4)
    base = _GruMlp()
    x, y = torch.randn(16, 5, 3), torch.randint(0, 3, (16,))
    records, clips = [], []
    for scaled in (False, True):
        net = copy.deepcopy(base)
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        if not scaled:
            scaler = None
        elif how == "GradScaler":  # the scale doubles after every step: 1024, 2048, 4096
            scaler = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=1)
        else:
            scaler = 1024.0
        with Watcher(net, opt, every=1, scaler=scaler) as w:
            for _ in range(3):
                opt.zero_grad()
                loss = F.cross_entropy(net(x), y)
                if isinstance(scaler, torch.amp.GradScaler):
                    scaler.scale(loss).backward()
                    scaler.unscale_(opt)
                    clips.append(float(torch.nn.utils.clip_grad_norm_(net.parameters(), 0.1)))
                    scaler.step(opt)
                    scaler.update()
                elif scaler is not None:
                    (loss * scaler).backward()
                    for p in net.parameters():
                        p.grad.div_(scaler)
                    clips.append(float(torch.nn.utils.clip_grad_norm_(net.parameters(), 0.1)))
                    opt.step()
                else:
                    loss.backward()
                    clips.append(float(torch.nn.utils.clip_grad_norm_(net.parameters(), 0.1)))
                    opt.step()
        if isinstance(scaler, torch.amp.GradScaler):
            assert scaler.get_scale() == 8192.0
        records.append(_gradient_record(w))
    (steps0, norm0, series0, time0), (steps1, norm1, series1, time1) = records
    assert steps0 == steps1 == [1, 2, 3]
    assert norm1 == pytest.approx(norm0, rel=1e-5)
    assert norm0 == pytest.approx(clips[:3], rel=1e-6) and norm1 == pytest.approx(
        clips[3:], rel=1e-6
    )
    for q, per in series0.items():
        for name, values in per.items():
            assert series1[q][name] == pytest.approx(values, rel=1e-5, nan_ok=True), (q, name)
    assert time1["rnn"] == [pytest.approx(v, rel=1e-5) for v in time0["rnn"]]


def test_grad_scaler_skipped_step_is_not_recorded():
    """A step the GradScaler skips (an inf gradient) is no step: the samples are those of
    the steps taken, each unscaled by the scale of its own backward pass."""
    torch.manual_seed(5)
    net = _mlp()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    x, y = _batch()
    taken = []
    with Watcher(net, opt, every=1, scaler=scaler) as w:
        for i in range(4):
            opt.zero_grad()
            logits = net(x)
            scaler.scale(F.cross_entropy(logits, y)).backward()
            scale = scaler.get_scale()
            norms = [float(net[k].weight.grad.norm()) / scale for k in (0, 2, 4)]
            # dL/dlogits of a mean cross-entropy, whatever the scale: (softmax - one hot) / N
            analytic = (logits.detach().softmax(1) - F.one_hot(y, 3)) / len(x)
            norms.append(float(analytic.norm(dim=1).pow(2).mean().sqrt()))
            if i == 1:
                net[2].weight.grad[0, 0] = math.inf
            else:
                taken.append(norms)
            before = net[0].weight.detach().clone()
            scaler.step(opt)
            scaler.update()
            assert torch.equal(before, net[0].weight) == (i == 1)
    assert scaler.get_scale() == 512.0
    assert w.broken is None
    assert w.steps == [1, 2, 3]
    for i, norms in enumerate(taken):
        recorded = [w.series["weight_grad_norm"][n][i] for n in ("0", "2", "4")]
        recorded.append(w.series["output_grad_norm"]["4"][i])
        assert recorded == pytest.approx(norms, rel=1e-5)


# -- 4. gradient accumulation ----------------------------------------------------------------


def test_gradient_accumulation_combines_both_passes():
    """Two half-batches (each loss / 2) per step record what one full batch records; the
    output gradient is the per-example RMS over both passes, the output and activation
    statistics are over both passes' values."""
    torch.manual_seed(6)
    base = _mlp()
    x, y = _batch()
    results = []
    for halves in (1, 2):
        net = copy.deepcopy(base)
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        outs, grads, handles = _capture(net, ["0", "2", "4"])
        hand = []
        with Watcher(net, opt, every=1) as w:
            for _ in range(2):
                grads.clear()
                opt.zero_grad()
                for xs, ys in zip(x.chunk(halves), y.chunk(halves), strict=True):
                    (F.cross_entropy(net(xs), ys) / halves).backward()
                hand.append({n: _rms_per_example(g) for n, g in grads.items()})
                assert all(len(g) == halves for g in grads.values())
                opt.step()
        for h in handles:
            h.remove()
        results.append((w, hand))
    (full, full_hand), (acc, acc_hand) = results
    assert full.steps == acc.steps == [1, 2]
    assert acc.grad_norm == pytest.approx(full.grad_norm, rel=1e-5)
    layer_q = ("weight_grad_norm", "bias_grad_norm", "output_grad_norm", "update_ratio")
    # the output and activation statistics are over both passes' values: the full batch's
    layer_q += ("weight_norm", "output_mean", "output_std")
    for q in layer_q:
        for n in ("0", "2", "4"):
            assert acc.series[q][n] == pytest.approx(full.series[q][n], rel=1e-5), (q, n)
    for q in ("activation_mean", "activation_std"):
        for n in ("1", "3"):
            assert acc.series[q][n] == pytest.approx(full.series[q][n], rel=1e-5), (q, n)
    assert acc.series["saturated"]["1"] == pytest.approx(full.series["saturated"]["1"])
    for i in range(2):
        for n in ("0", "2", "4"):
            assert acc.series["output_grad_norm"][n][i] == pytest.approx(acc_hand[i][n], rel=1e-5)
            assert acc_hand[i][n] == pytest.approx(full_hand[i][n], rel=1e-5)


# -- 5. the model as it was ------------------------------------------------------------------


class _Restored(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 6, num_layers=2, dropout=0.25, batch_first=True)
        self.body = nn.Sequential(
            nn.Linear(6, 12), nn.BatchNorm1d(12), nn.ReLU(), nn.Dropout(0.3), nn.Linear(12, 3)
        )

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.body(out[:, -1])


def _train_restored(every, watched, steps=8):
    torch.manual_seed(7)
    net = _Restored()
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    x, y = torch.randn(16, 4, 3), torch.randint(0, 3, (16,))
    w = Watcher(net, opt, every=every) if watched else None
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 0.5)
        opt.step()
        losses.append(loss.item())
    if w is not None:
        w.remove()
        _no_hooks(net, opt)
    return net, losses, torch.get_rng_state(), w


def test_watched_run_is_bit_identical_to_unwatched_run():
    """Weights, batch-norm statistics, losses and the RNG state are those of a run without
    a watcher, sampling every step or on the default schedule."""
    ref_net, ref_losses, ref_rng, _ = _train_restored(None, watched=False)
    for every in (1, None):
        net, losses, rng, w = _train_restored(every, watched=True)
        assert w.steps == ([1, 2, 3, 4, 5, 6, 7, 8] if every == 1 else [1, 4])
        assert w.through_time["lstm"] and w.series["dead"]["body.2"]
        assert losses == ref_losses
        assert torch.equal(rng, ref_rng)
        ref_state = ref_net.state_dict()
        for k, v in net.state_dict().items():
            assert torch.equal(v, ref_state[k]), k
        assert net.body[1].num_batches_tracked == 8


def test_remove_and_with_block_leave_no_hooks():
    """While attached there are hooks (sampling ones too); remove() and leaving the with
    block take them all off, even in the middle of a sample."""
    torch.manual_seed(8)
    net = _Restored()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = torch.randn(4, 3, 3), torch.randint(0, 3, (4,))
    w = Watcher(net, opt)
    assert net._forward_hooks and net._forward_hooks_with_kwargs
    assert opt._optimizer_step_pre_hooks and opt._optimizer_step_post_hooks
    F.cross_entropy(net(x), y).backward()  # a sample is half gathered
    w.remove()
    _no_hooks(net, opt)
    w.attach()
    assert opt._optimizer_step_pre_hooks
    w.remove()
    _no_hooks(net, opt)
    with Watcher(net, opt, every=2):
        for _ in range(3):
            opt.zero_grad()
            F.cross_entropy(net(x), y).backward()
            opt.step()
    _no_hooks(net, opt)
    with pytest.raises(RuntimeError, match="inside"):
        with Watcher(net, opt):
            raise RuntimeError("inside")
    _no_hooks(net, opt)


def test_attach_and_remove_without_training_keeps_state():
    """Attaching and removing a watcher (and running forward passes) changes nothing."""
    torch.manual_seed(9)
    net = _Restored()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    state = copy.deepcopy(net.state_dict())
    with Watcher(net, opt, every=1):
        with torch.no_grad():
            net.eval()
            net(torch.randn(4, 3, 3))
            net.train()
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert all(p.grad is None for p in net.parameters())
    assert opt.state_dict()["state"] == {}
    _no_hooks(net, opt)


# -- 6. sampling schedule --------------------------------------------------------------------


def test_auto_due_schedule():
    """Powers of four below AUTO_INTERVAL, then its multiples."""
    assert AUTO_INTERVAL == 256
    due = [s for s in range(1, 2000) if auto_due(s)]
    assert due == [1, 4, 16, 64, 256, 512, 768, 1024, 1280, 1536, 1792]
    for s in (3, 6, 100, 255, 257, 384):
        assert not auto_due(s)


def _drive(steps, **kwargs):
    torch.manual_seed(10)
    net = nn.Sequential(nn.Linear(2, 1))
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    x = torch.randn(4, 2)
    with Watcher(net, opt, **kwargs) as w:
        for _ in range(steps):
            opt.zero_grad()
            net(x).pow(2).mean().backward()
            opt.step()
    return w


def test_sampled_steps_of_a_run():
    """every=3 samples 1, 3, 6, 9; the default schedule 1, 4 of 5 steps and 7 of 1000."""
    assert _drive(10, every=3).steps == [1, 3, 6, 9]
    assert _drive(4, every=1).steps == [1, 2, 3, 4]
    assert _drive(5, every=7).steps == [1]
    assert _drive(5).steps == [1, 4]
    w = _drive(1000)
    assert w.steps == [1, 4, 16, 64, 256, 512, 768]
    assert len(w.grad_norm) == 7
    assert all(len(v) == 7 for per in w.series.values() for v in per.values())


def test_model_that_is_itself_a_layer_is_watched():
    """A bare nn.Linear is a watched type: its gradient is recorded."""
    torch.manual_seed(21)
    net = nn.Linear(3, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with Watcher(net, opt, every=1) as w:
        opt.zero_grad()
        net(torch.randn(5, 3)).pow(2).mean().backward()
        expected = float(net.weight.grad.norm())
        opt.step()
    assert w.steps == [1]
    assert w.layer_names == [ROOT]
    assert w.series["weight_grad_norm"][ROOT] == [pytest.approx(expected)]


def test_sparse_embedding_gradient_norm():
    """An nn.Embedding(sparse=True), trained by SGD beside a dense layer: its weight gradient's
    norm is that of the dense gradient (repeated tokens summed), read from the sparse one."""
    torch.manual_seed(12)
    net = nn.Sequential(nn.Embedding(10, 4, sparse=True), nn.Flatten(), nn.Linear(12, 2))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    tokens, y = torch.tensor([[1, 1, 3], [3, 5, 1]]), torch.tensor([0, 1])
    with Watcher(net, opt, every=1) as w:
        opt.zero_grad()
        F.cross_entropy(net(tokens), y).backward()
        assert net[0].weight.grad.is_sparse
        expected = float(net[0].weight.grad.to_dense().norm())
        dense = float(net[2].weight.grad.norm())
        opt.step()
    assert w.series["weight_grad_norm"]["0"] == [pytest.approx(expected, rel=1e-6)]
    assert w.series["weight_grad_norm"]["2"] == [pytest.approx(dense, rel=1e-6)]


# -- 7. layer coverage -----------------------------------------------------------------------


class _Zoo(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 8)
        self.encoder = nn.TransformerEncoderLayer(
            8, 2, dim_feedforward=16, dropout=0.0, batch_first=True
        )
        self.lstm = nn.LSTM(8, 8, batch_first=True)
        self.ln = nn.LayerNorm(8)
        self.conv = nn.Conv2d(1, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.gn = nn.GroupNorm(2, 4)
        self.head = nn.Linear(8 + 4 * 4 * 4, 3)

    def forward(self, tokens, image):
        s, _ = self.lstm(self.encoder(self.emb(tokens)))
        s = self.ln(s[:, -1])
        c = torch.relu(self.gn(self.bn(self.conv(image)))).flatten(1)
        return self.head(torch.cat([s, c], dim=1))


def test_every_default_layer_kind_gets_gradients():
    """Conv, norms, embedding, attention (out_proj computed functionally) and LSTM: a
    weight gradient and an output gradient on every row; the attention's output gradient on
    its out_proj row, equal to our own hook's."""
    torch.manual_seed(11)
    net = _Zoo()
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    tokens, image = torch.randint(0, 20, (6, 5)), torch.randn(6, 1, 6, 6)
    y = torch.randint(0, 3, (6,))
    _, grads, handles = _capture(net, ["encoder.self_attn"])
    with Watcher(net, opt, every=1) as w:
        opt.zero_grad()
        F.cross_entropy(net(tokens, image), y).backward()
        opt.step()
    for h in handles:
        h.remove()
    attn, proj = "encoder.self_attn", "encoder.self_attn.out_proj"
    assert w.layer_names == [
        "emb",
        attn,
        proj,
        "encoder.norm1",
        "encoder.linear1",
        "encoder.linear2",
        "encoder.norm2",
        "lstm",
        "ln",
        "conv",
        "bn",
        "gn",
        "head",
    ]
    assert w.kinds[attn] == "MultiheadAttention" and w.kinds["gn"] == "GroupNorm"
    s = w.series
    for name in w.layer_names:
        wg, og = s["weight_grad_norm"][name][0], s["output_grad_norm"][name][0]
        assert math.isfinite(wg) and wg > 0, name
        assert math.isfinite(s["update_ratio"][name][0]) and s["update_ratio"][name][0] > 0, name
        if name != attn:
            assert math.isfinite(og) and og > 0, name
    assert math.isnan(s["bias_grad_norm"]["emb"][0])
    assert s["output_grad_norm"][proj][0] == pytest.approx(_rms_per_example(grads[attn]), rel=1e-5)
    assert len(w.through_time["lstm"][0]) == 5
    assert any("out_proj row" in n for n in w.report().notes)


# -- 8. where it broke -----------------------------------------------------------------------


class _LogFromThirdCall(nn.Module):
    """The identity for two calls, then log(x): NaN for a negative input."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return torch.log(x) if self.calls >= 3 else x


class _BadBackward(nn.Module):
    """x + ||x * s|| per row: finite forward; armed (s = 0), the norm of a zero row has a
    NaN gradient."""

    def __init__(self):
        super().__init__()
        self.armed = False

    def forward(self, x):
        s = 0.0 if self.armed else 1.0
        return x + torch.sqrt((x * s).pow(2).sum(-1, keepdim=True))


def _step(net, opt, x, y, loss_fn=None):
    opt.zero_grad()
    out = net(x)
    (loss_fn or (lambda o: F.cross_entropy(o, y)))(out).backward()
    opt.step()


def test_forward_break_names_module_and_step():
    """A NaN made in the middle of a Sequential at step 3: raised by the forward pass,
    module and kind named, no weight changed."""
    torch.manual_seed(12)
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), _LogFromThirdCall(), nn.Linear(8, 3))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = _batch(16, 4)
    w = Watcher(net, opt, every=1)
    _step(net, opt, x, y)
    _step(net, opt, x, y)
    state = copy.deepcopy(net.state_dict())
    opt.zero_grad()
    with pytest.raises(NonFiniteError) as info:
        net(x)
    where = info.value.where
    assert where is w.broken and isinstance(where, Break)
    assert (where.step, where.phase, where.module, where.kind) == (
        3,
        "forward",
        "2",
        "_LogFromThirdCall",
    )
    assert "finite inputs" in where.detail and "'2'" in str(info.value)
    assert w.steps == [1, 2]
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[k]), k
    w.remove()
    _no_hooks(net, opt)


def test_backward_break_names_module_and_raises_from_step():
    """A module with a finite output but a NaN gradient: raised by optimizer.step() before
    any weight changes."""
    torch.manual_seed(13)
    bad = _BadBackward()
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), bad, nn.Linear(8, 3))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = _batch(16, 4)
    w = Watcher(net, opt, every=1)
    _step(net, opt, x, y)
    _step(net, opt, x, y)
    bad.armed = True
    opt.zero_grad()
    out = net(x)
    assert torch.isfinite(out).all()
    F.cross_entropy(out, y).backward()
    assert torch.isnan(net[0].weight.grad).any() and torch.isfinite(net[3].weight.grad).all()
    state = copy.deepcopy(net.state_dict())
    with pytest.raises(NonFiniteError) as info:
        opt.step()
    where = info.value.where
    assert (where.step, where.phase, where.module, where.kind) == (
        3,
        "backward",
        "2",
        "_BadBackward",
    )
    assert "NaN" in where.detail
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert w.steps == [1, 2]
    w.remove()


def test_non_finite_loss_gradient_is_blamed_on_the_loss():
    """A loss whose gradient is NaN though the output is finite: backward, no module."""
    torch.manual_seed(14)
    net = _mlp()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = _batch()
    with Watcher(net, opt) as w:
        _step(net, opt, x, y)
        with pytest.raises(NonFiniteError) as info:
            _step(net, opt, x, y, loss_fn=lambda o: torch.sqrt(o.mean() - 10.0))
    assert info.value.where is w.broken
    assert (w.broken.step, w.broken.phase, w.broken.module, w.broken.kind) == (
        2,
        "backward",
        None,
        None,
    )
    assert "loss" in w.broken.detail


def test_non_finite_input_is_phase_input():
    """A NaN in the batch: phase "input", raised from the forward pass."""
    torch.manual_seed(15)
    net = _mlp()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, _ = _batch()
    x[3, 1] = math.nan
    with Watcher(net, opt) as w:
        with pytest.raises(NonFiniteError):
            net(x)
    assert (w.broken.step, w.broken.phase, w.broken.module) == (1, "input", None)
    assert "1 NaN value" in w.broken.detail


def test_record_mode_keeps_break_and_stops_sampling():
    """on_nonfinite="record": no exception, the first break kept, nothing sampled after."""
    torch.manual_seed(16)
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), _LogFromThirdCall(), nn.Linear(8, 3))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = _batch(16, 4)
    with Watcher(net, opt, every=1, on_nonfinite="record") as w:
        for _ in range(6):
            _step(net, opt, x, y)
    assert torch.isnan(net[0].weight).any()  # the loop did go on
    assert (w.broken.step, w.broken.phase, w.broken.module) == (3, "forward", "2")
    assert w.steps == [1, 2] and len(w.grad_norm) == 2
    assert all(len(v) == 2 for per in w.series.values() for v in per.values())
    assert any("non-finite values at step 3" in f for f in w.report().flags)


def _break_run(where, norm, watched, steps=3):
    torch.manual_seed(22)
    bad = _BadBackward() if where == "backward" else _LogFromThirdCall()
    norm = nn.BatchNorm1d(8) if norm else nn.Identity()
    net = nn.Sequential(nn.Linear(4, 8), norm, nn.Tanh(), nn.Dropout(0.3), bad, nn.Linear(8, 3))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = _batch(16, 4)
    w = Watcher(net, opt, every=1, on_nonfinite="record") if watched else None
    losses = []
    for i in range(steps):
        bad.armed = i == 2
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    if w is not None:
        w.remove()
    return net, losses, torch.get_rng_state(), w


@pytest.mark.parametrize(
    ("where", "norm"),
    [
        ("forward", False),
        ("forward", True),
        ("backward", True),
    ],
)
def test_locating_a_break_leaves_the_run_unchanged(where, norm):
    """Replaying the pass to name the module (record mode) changes no random number,
    running statistic or gradient: the run goes on as an unwatched run does."""
    ref_net, ref_losses, ref_rng, _ = _break_run(where, norm, watched=False)
    net, losses, rng, w = _break_run(where, norm, watched=True)
    assert (w.broken.step, w.broken.phase, w.broken.module) == (3, where, "4")
    assert w.steps == [1, 2]
    np.testing.assert_array_equal(losses, ref_losses)
    assert torch.equal(rng, ref_rng)
    ref_state = ref_net.state_dict()
    for k, v in net.state_dict().items():
        torch.testing.assert_close(v, ref_state[k], rtol=0, atol=0, equal_nan=True, msg=k)
    assert not all(torch.isfinite(v).all() for v in net.state_dict().values())


@pytest.mark.parametrize("check", [True, "all"])
def test_backward_break_between_samples(check):
    """A NaN gradient on a step that is not sampled: check_finite="all" names the module at
    its own step; True catches it at the next forward pass, from the non-finite weights."""
    torch.manual_seed(23)
    bad = _BadBackward()
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), bad, nn.Linear(8, 3))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = _batch(16, 4)
    with Watcher(net, opt, every=100, check_finite=check, on_nonfinite="record") as w:
        for i in range(5):
            bad.armed = i == 2
            _step(net, opt, x, y)
    assert w.steps == [1]
    if check == "all":
        assert (w.broken.step, w.broken.phase, w.broken.module) == (3, "backward", "2")
    else:
        assert (w.broken.step, w.broken.phase, w.broken.module) == (4, "forward", "0")
        assert "non-finite parameters" in w.broken.detail


def test_huge_finite_gradients_are_not_a_break():
    """Gradients near 1e30, whose 2-norm overflows float32, are finite: no break."""
    torch.manual_seed(17)
    net = nn.Sequential(nn.Linear(64, 64))
    opt = torch.optim.SGD(net.parameters(), lr=0.0)
    x = torch.rand(8, 64) + 1.0
    with Watcher(net, opt, every=1) as w:
        for _ in range(2):
            opt.zero_grad()
            (net(x).sum() * 1e30).backward()
            assert torch.isfinite(net[0].weight.grad).all()
            assert torch.isinf(torch.linalg.vector_norm(net[0].weight.grad))  # the overflow
            norm = float(torch.linalg.vector_norm(net[0].weight.grad, dtype=torch.float64))
            opt.step()
    assert w.broken is None and w.steps == [1, 2]
    # the norms are taken in float64: finite, and the exploding ratio can still be read
    assert w.series["weight_grad_norm"]["0"][1] == pytest.approx(norm, rel=1e-6)
    assert math.isfinite(w.series["output_grad_norm"]["0"][1])
    assert math.isfinite(w.grad_norm[1])


# -- 9. exports ------------------------------------------------------------------------------


class _Exported(nn.Module):
    """Registered in one order (head first), called in another (rnn first)."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(4, 2)
        self.act = nn.ReLU()
        self.hidden = nn.Linear(5, 4, bias=False)
        self.rnn = nn.GRU(3, 5, batch_first=True)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(self.act(self.hidden(out[:, -1])))


def _exported(steps=4, **kwargs):
    torch.manual_seed(18)
    net = _Exported()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = torch.randn(8, 6, 3), torch.randint(0, 2, (8,))
    with Watcher(net, opt, every=2, **kwargs) as w:
        for _ in range(steps):
            _step(net, opt, x, y)
    return w


def test_json_round_trip(tmp_path):
    """to_json writes strict JSON (nan as null); load_json gives every number back."""
    w = _exported()
    assert w.steps == [1, 2, 4]
    assert w.layer_names == ["rnn", "hidden", "head"]

    def no_constants(name):
        raise AssertionError(f"{name} in the JSON")

    path = w.to_json(tmp_path / "watch.json")
    raw = json.loads(path.read_text(), parse_constant=no_constants)
    data = load_json(path)
    assert raw["series"]["bias_grad_norm"]["hidden"] == [None, None, None]
    assert raw["series"]["saturated"]["act"] == [None, None, None]
    assert [d["name"] for d in data["layers"]] == ["rnn", "hidden", "head"]
    assert [d["kind"] for d in data["layers"]] == ["GRU", "Linear", "Linear"]
    assert data["activations"] == [{"name": "act", "kind": "ReLU"}]
    assert data["steps"] == [1, 2, 4] and data["every"] == 2 and data["broken"] is None
    assert data["optimizer"] == "SGD" and data["adaptive_optimizer"] is False
    assert data["grad_norm"] == w.grad_norm
    assert set(data["series"]) == set(LAYER_SERIES) | set(ACTIVATION_SERIES)
    for q, per in w.series.items():
        assert set(data["series"][q]) == set(per)
        for name, values in per.items():
            _same(data["series"][q][name], values)
    assert math.isnan(data["series"]["bias_grad_norm"]["hidden"][0])
    assert data["through_time"] == w.through_time and len(data["through_time"]["rnn"][0]) == 6


def test_json_of_broken_run_keeps_break(tmp_path):
    """The break is exported as a dict of its fields."""
    torch.manual_seed(19)
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), _LogFromThirdCall(), nn.Linear(8, 3))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = _batch(16, 4)
    with Watcher(net, opt, on_nonfinite="record") as w:
        for _ in range(4):
            _step(net, opt, x, y)
    data = load_json(w.to_json(tmp_path / "w.json"))
    assert data["broken"] == {
        "step": 3,
        "phase": "forward",
        "module": "2",
        "kind": "_LogFromThirdCall",
        "detail": w.broken.detail,
    }
    assert data["every"] == "auto"


def test_csv_rows(tmp_path):
    """One row per number: count, empty cells for nan, time steps numbered from 1."""
    w = _exported()
    with w.to_csv(tmp_path / "watch.csv").open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    assert header == ["step", "layer", "quantity", "t", "value"]
    per_step = 1 + 3 * len(LAYER_SERIES) + 1 * len(ACTIVATION_SERIES) + 6
    assert len(rows) == 3 * per_step
    by_key = {(r[0], r[1], r[2], r[3]): r[4] for r in rows}
    assert len(by_key) == len(rows)
    for i, step in enumerate(w.steps):
        st = str(step)
        assert float(by_key[st, "", "grad_norm", ""]) == w.grad_norm[i]
        assert (
            float(by_key[st, "head", "weight_grad_norm", ""])
            == w.series["weight_grad_norm"]["head"][i]
        )
        assert by_key[st, "hidden", "bias_grad_norm", ""] == ""
        assert by_key[st, "act", "saturated", ""] == ""
        for t in range(1, 7):
            value = float(by_key[st, "rnn", "through_time", str(t)])
            assert value == w.through_time["rnn"][i][t - 1]
    assert sum(r[4] == "" for r in rows) == 3 * 2


def _read_events(log_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def test_tensorboard_export_and_live_logging(tmp_path):
    """Scalars (steps, values) and histograms read back; live logging writes the same."""
    pytest.importorskip("tensorboard")
    w = _exported(tensorboard=tmp_path / "live")
    w.to_tensorboard(tmp_path / "after")
    live, after = _read_events(tmp_path / "live"), _read_events(tmp_path / "after")
    tags = after.Tags()
    assert set(live.Tags()["scalars"]) == set(tags["scalars"])
    assert "bias_grad_norm/hidden" not in tags["scalars"]  # nan: not written
    assert "saturated/act" not in tags["scalars"]
    for q, name in [
        ("weight_grad_norm", "hidden"),
        ("output_grad_norm", "rnn"),
        ("update_ratio", "head"),
        ("dead", "act"),
    ]:
        tag = f"{q}/{name}"
        for acc in (live, after):
            events = acc.Scalars(tag)
            assert [e.step for e in events] == [1, 2, 4]
            assert [e.value for e in events] == pytest.approx(w.series[q][name], rel=1e-6, abs=0)
    for acc in (live, after):
        events = acc.Scalars("grad_norm/global")
        assert [e.step for e in events] == [1, 2, 4]
        assert [e.value for e in events] == pytest.approx(w.grad_norm, rel=1e-6)
        ratio = [p[0] / p[-1] for p in w.through_time["rnn"]]
        assert [e.value for e in acc.Scalars("through_time_first_to_last/rnn")] == pytest.approx(
            ratio, rel=1e-6
        )
    for tag in ("log10_output_grad/rnn", "log10_output_grad/head", "activation/act"):
        assert tag in tags["histograms"] and tag in live.Tags()["histograms"]
        assert [h.step for h in after.Histograms(tag)] == [1, 2, 4]
    # a histogram of log10 |dL/d(output)|: as many values as the output has elements
    assert after.Histograms("log10_output_grad/head")[0].histogram_value.num == 8 * 2


def test_tensorboard_missing_package_says_how_to_install(tmp_path, monkeypatch):
    """Without tensorboard, a clear ImportError from the export and from the constructor."""
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    w = _exported(steps=1)
    hint = 'pip install "vgexamples[tensorboard]"'
    with pytest.raises(ImportError, match=r"pip install \"vgexamples\[tensorboard\]\""):
        w.to_tensorboard(tmp_path)
    net = _mlp()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(ImportError) as info:
        Watcher(net, opt, tensorboard=tmp_path)
    assert hint in str(info.value)
    _no_hooks(net, opt)


@pytest.mark.parametrize(
    "text",
    [
        '{"format": "something else"}',
        '{"steps": [1]}',
        "[1, 2]",
        "not json",
    ],
)
def test_load_json_rejects_other_files(tmp_path, text):
    """A file that is not a watcher export: ValueError naming path."""
    path = tmp_path / "other.json"
    path.write_text(text)
    with pytest.raises(ValueError, match="path"):
        load_json(path)


# -- 10. bad input ---------------------------------------------------------------------------


def test_bad_arguments():
    """Each bad argument raises, naming it."""
    torch.manual_seed(20)
    net = _mlp()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    other = torch.optim.SGD(_mlp().parameters(), lr=0.1)
    with pytest.raises(TypeError, match="model"):
        Watcher(lambda x: x, opt)
    with pytest.raises(TypeError, match="optimizer"):
        Watcher(net, "sgd")
    with pytest.raises(ValueError, match="optimizer"):
        Watcher(net, other)
    for every in (0, -1):
        with pytest.raises(ValueError, match="every"):
            Watcher(net, opt, every=every)
    for every in (1.5, True, "3"):
        with pytest.raises(TypeError, match="every"):
            Watcher(net, opt, every=every)
    with pytest.raises(ValueError, match=r"layers.*'0', '1', '2', '3', '4'"):
        Watcher(net, opt, layers="nomatch")
    with pytest.raises(ValueError, match=r"layers.*'missing'"):
        Watcher(net, opt, layers=["missing"])
    with pytest.raises(ValueError, match=r"layers.*regular expression"):
        Watcher(net, opt, layers="(")
    with pytest.raises(ValueError, match="layers"):
        Watcher(net, opt, layers=[])
    with pytest.raises(TypeError, match="layers"):
        Watcher(net, opt, layers=3)
    with pytest.raises(ValueError, match=r"activations.*'missing'"):
        Watcher(net, opt, activations=["missing"])
    with pytest.raises(ValueError, match=r"on_nonfinite.*'raise'.*'record'"):
        Watcher(net, opt, on_nonfinite="ignore")
    for scaler in ("1024", True):
        with pytest.raises(TypeError, match="scaler"):
            Watcher(net, opt, scaler=scaler)
    for scaler in (-1, 0, math.inf):
        with pytest.raises(ValueError, match="scaler"):
            Watcher(net, opt, scaler=scaler)
    with pytest.raises(TypeError, match="tensorboard"):
        Watcher(net, opt, tensorboard=123)
    for batch_dim in (-1, 1.0, True):
        with pytest.raises(ValueError, match="batch_dim"):
            Watcher(net, opt, batch_dim=batch_dim)
    with pytest.raises(TypeError, match="adaptive"):
        Watcher(net, opt, adaptive="yes")
    frozen = _mlp().requires_grad_(False)
    with pytest.raises(ValueError, match="trainable"):
        Watcher(frozen, torch.optim.SGD(frozen.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="trainable"):
        Watcher(nn.Sequential(nn.ReLU()), opt)
    _no_hooks(net, opt)  # a failed construction attaches nothing


def test_selection_by_pattern_list_and_mapping():
    """layers= a regex, a list or a mapping; activations=() for none."""
    net = _mlp()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with Watcher(net, opt, layers="^[24]$", activations=()) as w:
        assert list(w.layers) == ["2", "4"] and w.activations == {}
    with Watcher(net, opt, layers=["4", "0"], activations=["3"]) as w:
        assert list(w.layers) == ["4", "0"] and list(w.activations) == ["3"]
    with Watcher(net, opt, layers={"last": net[4]}) as w:
        assert list(w.layers) == ["last"]


# -- 11. matrix, heat map, report ------------------------------------------------------------


def test_matrix_heatmap_and_report():
    """matrix rows in call order with a value, one column per sample; heat map is an image;
    the report's rows are the layers then the activation modules."""
    w = _exported()
    names, values = w.matrix()
    assert names == ["rnn", "hidden", "head"] and values.shape == (3, 3)
    _same(values[1], w.series["output_grad_norm"]["hidden"])
    names, values = w.matrix("bias_grad_norm")  # the bias-free layer's row is all nan: left out
    assert names == ["rnn", "head"] and values.shape == (2, 3)
    names, values = w.matrix("dead")
    assert names == ["act"] and values.shape == (1, 3)
    ax = w.plot_heatmap()
    assert len(ax.images) == 1
    assert ax.images[0].get_array().shape == (3, 3)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["rnn", "hidden", "head"]
    with pytest.raises(ValueError, match="quantity"):
        w.matrix("bogus")
    report = w.report()
    assert isinstance(report, Report)
    assert [r["layer"] for r in report.rows] == ["rnn", "hidden", "head", "act"]
    assert report.rows[1]["weight grad"] == pytest.approx(
        float(np.median(w.series["weight_grad_norm"]["hidden"]))
    )
    markdown = report.to_markdown()
    assert markdown.startswith("| ") and "hidden" in markdown and "h1 / hT" in markdown
    assert isinstance(report.flags, list) and report.notes


def test_heatmap_before_training_raises():
    """Nothing recorded yet: plot_heatmap says so."""
    net = _mlp()
    w = Watcher(net, torch.optim.SGD(net.parameters(), lr=0.1))
    assert w.matrix()[0] == [] and w.matrix()[1].shape == (0, 0)
    with pytest.raises(ValueError, match="nothing recorded"):
        w.plot_heatmap()
    w.remove()


class _Lion(torch.optim.Optimizer):
    """An optimizer of another package: sign of an average, its defaults with ``betas``."""

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99)):
        super().__init__(params, {"lr": lr, "betas": betas})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad.sign(), alpha=-group["lr"])


def test_adaptive_optimizers_are_recognised_and_the_note_names_their_floor():
    """Known adaptive types, Adam-like optimizers of other packages (``betas``) and an
    override; the note gives the eps at which the step follows the gradient again (its
    square root for Adadelta), from the param groups."""
    net = _mlp()
    params = list(net.parameters())

    def watcher(opt, **kwargs):
        w = Watcher(net, opt, **kwargs)
        w.remove()
        return w

    assert not watcher(torch.optim.SGD(params, lr=0.1)).adaptive
    for opt in (torch.optim.Rprop(params), torch.optim.Adam(params), _Lion(params)):
        assert watcher(opt).adaptive, type(opt).__name__
    assert not watcher(torch.optim.Adam(params), adaptive=False).adaptive
    assert watcher(torch.optim.SGD(params, lr=0.1), adaptive=True).adaptive

    def note(opt):
        w = watcher(opt)
        return next(n for n in w.report().notes if "divides each step" in n)

    assert "the optimizer's eps, 1e-06" in note(torch.optim.Adam(params, eps=1e-6))
    assert "square root of the optimizer's eps, 1e-03" in note(torch.optim.Adadelta(params))
    assert "eps" not in note(torch.optim.Rprop(params))
    groups = [{"params": params[:2], "eps": 1e-8}, {"params": params[2:], "eps": 1e-6}]
    assert "eps" not in note(torch.optim.Adam(groups))  # no single value to name
