import math

import pytest
import torch

from vgexamples import _checks


def test_check_helpers():
    assert _checks.check_choice("act", "a", ["a", "b"]) == "a"
    with pytest.raises(ValueError, match=r"act must be one of 'a', 'b'; got 'c'"):
        _checks.check_choice("act", "c", ["a", "b"])
    with pytest.raises(TypeError, match="act"):
        _checks.check_choice("act", 3, ["a"])
    assert _checks.check_int("n", 2) == 2
    for bad in (0, -3):
        with pytest.raises(ValueError, match="n must be an integer >= 1"):
            _checks.check_int("n", bad)
    with pytest.raises(TypeError):
        _checks.check_int("n", 2.0)
    with pytest.raises(TypeError):
        _checks.check_int("n", True)
    assert _checks.check_positive("lr", 1) == 1.0
    for bad in (0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="lr"):
            _checks.check_positive("lr", bad)
    assert _checks.check_positive("wd", 0, allow_zero=True) == 0.0
    assert _checks.check_fraction("f", 0.5) == 0.5
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        _checks.check_fraction("f", 1.0)
    x = torch.tensor([1.0, math.nan])
    with pytest.raises(ValueError, match="x must hold only finite values; found 1"):
        _checks.check_finite_tensor("x", x)
    with pytest.raises(TypeError):
        _checks.check_finite_tensor("x", [1.0])


def test_check_seeds():
    assert _checks.check_seeds("seeds", [0, 3]) == (0, 3)
    with pytest.raises(ValueError, match="seeds must hold at least one seed"):
        _checks.check_seeds("seeds", ())
    with pytest.raises(ValueError, match=r"seeds\[i\] must be an integer >= 0"):
        _checks.check_seeds("seeds", (0, -1))
    with pytest.raises(TypeError, match="seeds must be a sequence"):
        _checks.check_seeds("seeds", 3)
