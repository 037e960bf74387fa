import numpy as np
import pytest
import torch

from vgexamples.textures import (
    class_rules,
    draw_cell,
    load_textures,
    make_textures,
    prototype_images,
)


def test_class_rules_balanced():
    rules = class_rules()
    assert len(rules) == len(set(rules)) == 6
    assert all(sum(r) == 2 for r in rules)


def test_draw_cell():
    solid = draw_cell(0, 0, 4)
    assert solid.sum() == 4 and solid[2].sum() == 4
    assert draw_cell(1, 1, 4, phase=0).sum() == 2
    assert np.array_equal(draw_cell(2, 0, 4), np.eye(4))
    with pytest.raises(ValueError, match="orientation"):
        draw_cell(4, 0)


def test_make_textures_shapes_and_balance():
    x, y = make_textures(5, size=8, cell=4, noise=0.0, seed=1)
    assert x.shape == (30, 1, 8, 8) and x.dtype == torch.float32
    assert torch.bincount(y).tolist() == [5] * 6
    x2, _ = make_textures(5, size=8, cell=4, noise=0.0, seed=1)
    assert torch.equal(x, x2)
    with pytest.raises(ValueError, match="multiple"):
        make_textures(2, size=10, cell=4)
    with pytest.raises(ValueError, match="flip"):
        make_textures(2, flip=1.0)
    with pytest.raises(ValueError, match="fill"):
        make_textures(2, fill=0.0)


def test_load_textures_and_prototypes():
    split = load_textures(3, 2, seed=0)
    assert len(split.x_train) == 18 and len(split.x_test) == 12
    assert not torch.equal(split.x_train[:12], split.x_test)
    protos, names = prototype_images()
    assert protos.shape == (8, 1, 16, 16) and len(names) == 8
