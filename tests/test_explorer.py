"""The explorer's grid (vgexamples.experiments.explorer) and its Bokeh page fragment
(vgexamples.interactive): what each point holds, its reading, bad input, the data the page
carries."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from vgexamples.data import load_digits
from vgexamples.diagnostics import gradient_profile
from vgexamples.experiments import explorer
from vgexamples.experiments.explorer import COLLAPSED_SPREAD, Point, key
from vgexamples.health import THRESHOLDS
from vgexamples.train import Budget, train

pytest.importorskip("bokeh")  # the docs extra

from vgexamples import interactive

TINY = Budget(steps=4, lr=0.1, optimizer="sgd", batch_size=32, eval_every=4)


def _point(grad_first, grad_last, spread_last=0.5, loss=(2.3, 1.0), stop=None, acc=0.9):
    grad = np.array([[g0, 1.0, gl] for g0, gl in zip(grad_first, grad_last, strict=True)])
    spread = np.array([[0.9, spread_last] for _ in grad_first])
    return Point("relu", "he", 2, "plain", grad, grad.copy(), spread, list(loss), stop, acc)


TINY_GRID = {
    "activations": ("relu", "tanh"),
    "inits": ("he",),
    "depths": (2, 3),
    "architectures": ("plain", "batch_norm"),
    "seeds": (0, 1),
    "budget": TINY,
}


@pytest.fixture(scope="module")
def tiny():
    return explorer.run(**TINY_GRID, workers=1)


# -- readings -----------------------------------------------------------------------------------


def test_key_is_the_four_settings_joined():
    assert key("relu", "he", 20, "plain") == "relu.he.20.plain"
    assert _point([1.0], [1.0]).key == "relu.he.2.plain"


def test_ratio_is_the_median_over_seeds_of_first_over_last():
    p = _point([1e-6, 4e-6, 1e-3], [1.0, 2.0, 1.0])
    assert p.grad_ratios() == pytest.approx([1e-6, 2e-6, 1e-3])
    assert p.grad_ratio() == pytest.approx(2e-6)


@pytest.mark.parametrize(
    ("first", "verdict"),
    [
        (THRESHOLDS["vanishing"] / 2, "vanishing"),
        (THRESHOLDS["vanishing"] * 2, "steady"),
        (1.0, "steady"),
        (THRESHOLDS["exploding"] / 2, "steady"),
        (THRESHOLDS["exploding"] * 2, "exploding"),
        (math.inf, "exploding"),
    ],
)
def test_verdict_follows_the_documented_thresholds(first, verdict):
    p = _point([first], [1.0])
    assert p.gradient_verdict() == verdict
    assert p.reading().startswith("first/last gradient ratio")
    assert f": {verdict}" in p.reading()


def test_reading_names_underflow_collapse_and_divergence():
    p = _point([0.0], [1.0], spread_last=COLLAPSED_SPREAD / 10, loss=[2.3, 2.4], stop=3)
    text = p.reading()
    assert text.startswith("the first layer's gradient underflows to 0: vanishing")
    assert "nearly the same for every image" in text
    assert text.endswith("training diverged at step 3")
    healthy = _point([1.0], [1.0], spread_last=0.5, loss=[2.3] + [0.5] * 12, acc=0.875)
    assert "nearly the same" not in healthy.reading()
    assert healthy.reading().endswith("after 13 steps: test accuracy 88%, loss 2.30 to 0.50")


# -- the grid -----------------------------------------------------------------------------------


def test_grid_holds_every_setting_with_per_layer_shapes(tiny):
    assert len(tiny) == 2 * 1 * 2 * 2
    for p in tiny.points.values():
        assert p.grad.shape == p.weight_grad.shape == (2, p.depth + 1)
        assert p.spread.shape == (2, p.depth)
        assert p.stop_step is not None or len(p.loss) == TINY.steps
        assert 0.0 <= p.accuracy <= 1.0 or math.isnan(p.accuracy)
    assert tiny.seconds > 0


def test_points_are_the_library_profile_and_training_of_a_seeded_network(tiny):
    data = load_digits(seed=0)
    x, y = data.x_train[: explorer.BATCH], data.y_train[: explorer.BATCH]
    p = tiny.point("tanh", "he", 3, "batch_norm")
    for i, seed in enumerate((0, 1)):
        net = explorer.network(data, seed, "tanh", "he", 3, "batch_norm")
        prof = gradient_profile(
            net,
            x,
            y,
            layers={str(j): m for j, m in enumerate(net.linears)},
            activations={str(j): m for j, m in enumerate(net.activations)},
        )
        np.testing.assert_allclose(p.grad[i], prof.output_grad_norm, rtol=1e-6)
        np.testing.assert_allclose(p.weight_grad[i], prof.weight_grad_norm, rtol=1e-6)
        np.testing.assert_allclose(p.spread[i], prof.spread, rtol=1e-6)
        if seed == 0:
            history = train(net, data, seed=0, **TINY.train_kwargs())
            assert p.loss == pytest.approx(history.loss)
            assert p.accuracy == pytest.approx(history.final_test_accuracy)


def test_worker_processes_give_the_same_grid(tiny):
    spread = explorer.run(**TINY_GRID, workers=2)
    assert list(spread.points) == list(tiny.points)
    for k, p in tiny.points.items():
        q = spread.points[k]
        assert np.array_equal(p.grad, q.grad) and np.array_equal(p.spread, q.spread)
        assert p.loss == q.loss and p.stop_step == q.stop_step


def test_default_workers_is_one_per_core_at_most_four():
    assert 1 <= explorer.default_workers("cpu") <= 4


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"activations": "relu"}, "activations"),
        ({"activations": ("relu", "swish")}, "activations"),
        ({"inits": ()}, "inits"),
        ({"inits": ("orthogonal",)}, "inits"),
        ({"architectures": ("dense",)}, "architectures"),
        ({"depths": 5}, "depths"),
        ({"depths": (5, 0)}, "depths"),
        ({"depths": (2.5,)}, "depths"),
        ({"seeds": ()}, "seeds"),
        ({"seeds": (-1,)}, "seeds"),
        ({"workers": 0}, "workers"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        explorer.run(**kwargs)


# -- the page's data and fragment -------------------------------------------------------------


def test_page_data_rounds_to_three_digits_and_drops_zeros():
    assert interactive._round([1.23456e-7, 0.0, -1.0, math.inf, 987654.0]) == pytest.approx(
        [1.23e-7, math.nan, math.nan, math.nan, 988000.0], nan_ok=True
    )


def test_page_data_has_bands_that_hold_the_median(tiny):
    store = interactive.explorer_data(tiny)
    assert set(store) == set(tiny.points)
    for k, entry in store.items():
        p = tiny.points[k]
        assert entry["reading"] == p.reading()
        assert len(entry["grad"]["mid"]) == p.depth + 1
        assert len(entry["spread"]["mid"]) == p.depth
        assert len(entry["loss"]) == len(p.loss)
        for band in (entry["grad"], entry["spread"]):
            for lo, mid, hi in zip(band["lo"], band["mid"], band["hi"], strict=True):
                assert lo <= mid <= hi


def test_fragment_carries_every_setting_controls_and_links(tiny):
    html = interactive.explorer_html(
        tiny, root="../", initial={"activation": "tanh", "depth": 3, "architecture": "plain"}
    )
    assert 'data-root-id="' in html
    for name in ("select-activation", "select-initialization", "select-depth"):
        assert f'"name":"{name}"' in html.replace(" ", "")
    for k in tiny.points:
        assert html.count(f'"{k}"') == 1  # the data once: not again in the URL callback
    start = tiny.point("tanh", "he", 3, "plain")
    assert interactive._html(start.reading()) in html
    links = re.findall(r'<a data-knob="(\w+)" href="([^"]+)">', html)
    assert [k for k, _ in links] == ["activation", "init", "depth", "architecture"]
    assert all(h.startswith(("../chapters/", "../auto_examples/")) for _, h in links)
    assert "<script src=" not in html  # BokehJS comes from the site's pages, not the fragment


def test_fragment_rejects_a_setting_outside_the_grid(tiny):
    with pytest.raises(ValueError, match="initial"):
        interactive.explorer_html(tiny, initial={"depth": 40})
    with pytest.raises(ValueError, match="initial"):
        interactive.explorer_html(tiny, initial={"width": 3})


def test_every_link_target_is_a_site_page():
    for knob, targets in interactive.LINKS.items():
        for target in targets.values():
            page = target.split("#")[0]
            assert page.endswith(".html"), (knob, target)
            assert page.startswith(("chapters/", "auto_examples/")), (knob, target)


def test_bokeh_bundles_exist_in_the_installed_package():
    files = interactive.bokeh_js_files()
    assert [f.name for f in files] == ["bokeh.min.js", "bokeh-widgets.min.js"]
    assert all(f.is_file() and f.stat().st_size > 10_000 for f in files)
