"""The gallery's image scraper (docs/_ext/vgfigures.py): legible text, whole-number ticks on
counting axes, and the card thumbnail drawn without text."""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import vgfigures

from vgexamples.plotting import MAX_FIGURE_WIDTH, plot_layer_values, use_style


@pytest.fixture(autouse=True)
def _style():
    use_style()
    yield
    plt.close("all")


def test_the_site_style_is_legible_up_to_the_widest_figure():
    fig, ax = plt.subplots(figsize=(MAX_FIGURE_WIDTH, 4))
    plot_layer_values(ax, {"a": [1.0, 0.5, 0.2]}, ylabel="gradient")
    ax.set_title("a title")
    assert vgfigures.shown_scale(fig) == 1.0
    assert vgfigures.small_text(fig) == []
    vgfigures.check_legible(fig, "here")


def test_a_wide_figure_shrinks_its_text_below_the_small_print():
    fig, ax = plt.subplots(figsize=(13, 4))
    ax.plot([1, 2], [1, 2], label="line")
    ax.legend()
    assert vgfigures.shown_scale(fig) == pytest.approx(vgfigures.COLUMN_PX / 1300)
    small = dict(vgfigures.small_text(fig))
    assert "line" in small and small["line"] < vgfigures.MIN_TEXT_PX
    with pytest.raises(vgfigures.IllegibleFigure, match=r"example\.py, figure 2.*'line'"):
        vgfigures.check_legible(fig, "example.py, figure 2")


def test_small_explicit_font_sizes_are_caught_even_in_a_narrow_figure():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([1, 2], [1, 2], label="tiny")
    ax.legend(fontsize=7)
    assert [text for text, _ in vgfigures.small_text(fig)] == ["tiny"]
    ax.get_legend().set_visible(False)  # hidden text is not shown, so not checked
    assert vgfigures.small_text(fig) == []


def test_counting_axes_must_tick_whole_numbers():
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6])
    ax.set_xlabel("hidden layer")
    ax.set_xticks([1, 2.5, 4])
    assert vgfigures.fractional_ticks(fig) == [("hidden layer", [2.5])]
    with pytest.raises(vgfigures.IllegibleFigure, match="counts whole things"):
        vgfigures.check_legible(fig, "here")
    ax.set_xlabel("weight value")  # not a count: fractional ticks are right
    assert vgfigures.fractional_ticks(fig) == []


def test_textless_hides_every_text_and_restores_it():
    fig, ax = plt.subplots()
    (line,) = ax.plot([1, 2], [1, 2], label="a")
    ax.legend()
    ax.set_title("title")
    width = line.get_linewidth()
    before = sorted(t.get_text() for t in vgfigures._texts(fig))
    with vgfigures.textless(fig):
        assert list(vgfigures._texts(fig)) == []
        assert not ax.get_legend().get_visible()
        assert line.get_linewidth() == pytest.approx(width * vgfigures.CARD_LINE_SCALE)
    assert sorted(t.get_text() for t in vgfigures._texts(fig)) == before
    assert ax.get_legend().get_visible() and line.get_linewidth() == width


class _Paths:
    def __init__(self, template):
        self.image_path = str(template)
        self.paths = []

    def __iter__(self):
        while True:
            path = self.image_path.format(len(self.paths) + 1)
            self.paths.append(path)
            yield path


def _run_scraper(tmp_path, file_conf, figures=2):
    images = tmp_path / "auto_examples" / "ch" / "images"
    images.mkdir(parents=True)
    iterator = _Paths(images / "sphx_glr_plot_01_x_{0:03}.png")
    for i in range(figures):
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.plot([0, 1], [i, i + 1], label=f"figure {i + 1}")
        ax.legend()
    block_vars = {
        "image_path_iterator": iterator,
        "file_conf": file_conf,
        "src_file": str(tmp_path / "plot_01_x.py"),
    }
    gallery_conf = {
        "src_dir": str(tmp_path),
        "image_srcset": [],
        "matplotlib_animations": (False, None),
        "compress_images": (),
    }
    rst = vgfigures.scraper(None, block_vars, gallery_conf)
    return images, rst


def test_the_scraper_draws_the_chosen_figure_as_the_card(tmp_path):
    file_conf = {"thumbnail_number": 2}
    images, rst = _run_scraper(tmp_path, file_conf)
    card = images / "sphx_glr_plot_01_x_card.png"
    assert card.is_file()
    assert file_conf["thumbnail_path"] == "auto_examples/ch/images/sphx_glr_plot_01_x_card.png"
    assert "thumbnail_number" not in file_conf  # or sphinx-gallery would use the figure
    # the figures themselves are saved as usual, text and all
    assert (images / "sphx_glr_plot_01_x_001.png").is_file()
    assert (images / "sphx_glr_plot_01_x_002.png").is_file()
    assert "sphx_glr_plot_01_x_002.png" in rst


def test_the_scraper_leaves_a_named_thumbnail_file_alone(tmp_path):
    file_conf = {"thumbnail_path": "_static/drawn.png"}
    images, _ = _run_scraper(tmp_path, file_conf)
    assert not (images / "sphx_glr_plot_01_x_card.png").exists()
    assert file_conf["thumbnail_path"] == "_static/drawn.png"


def test_the_scraper_fails_the_example_on_illegible_text(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    fig, ax = plt.subplots(figsize=(14, 3))
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("x")
    block_vars = {
        "image_path_iterator": _Paths(images / "sphx_glr_plot_02_y_{0:03}.png"),
        "file_conf": {},
        "src_file": "plot_02_y.py",
    }
    with pytest.raises(vgfigures.IllegibleFigure, match=r"plot_02_y\.py, figure 1"):
        vgfigures.scraper(None, block_vars, {"src_dir": str(tmp_path), "image_srcset": []})


def _two_panels():
    fig, axes = plt.subplots(1, 2, figsize=(6, 3), sharey=True)
    for ax in axes:
        ax.plot([1, 2, 3], [3, 1, 2], label="a")
        ax.set_xlabel("step")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper center")
    return fig


def test_the_card_has_no_tick_labels_and_leaves_the_figure_as_it_was(tmp_path):
    from matplotlib.image import imread

    fig = _two_panels()
    fig.savefig(tmp_path / "before.png")  # the first draw settles the layout
    fig.savefig(tmp_path / "before.png")
    assert vgfigures.draw_card(fig, tmp_path / "card.png")
    fig.savefig(tmp_path / "after.png")
    before, after = imread(tmp_path / "before.png"), imread(tmp_path / "after.png")
    assert before.shape == after.shape and abs(before - after).max() == 0
    # the card is the same figure drawn with every text and tick label switched off
    bare = _two_panels()
    with vgfigures.textless(bare):
        for ax in bare.axes:
            ax.tick_params(labelbottom=False, labelleft=False)
        bare.savefig(tmp_path / "bare.png")
        bare.savefig(tmp_path / "bare.png")
    card = imread(tmp_path / "card.png")
    assert card.shape == before.shape
    assert abs(card - imread(tmp_path / "bare.png")).max() == 0
    assert abs(card - before).max() > 0
