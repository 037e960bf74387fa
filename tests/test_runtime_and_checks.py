import math

import numpy as np
import pytest
import torch

from vgexamples import _checks
from vgexamples.runtime import configure, get_device, seed_everything


def test_seed_everything_makes_draws_repeat():
    seed_everything(3)
    a = (torch.rand(3), np.random.rand(3))
    seed_everything(3)
    b = (torch.rand(3), np.random.rand(3))
    assert torch.equal(a[0], b[0])
    assert np.array_equal(a[1], b[1])


def test_seed_rejects_negative():
    with pytest.raises(ValueError, match="seed"):
        seed_everything(-1)


def test_configure_returns_device_and_sets_threads():
    device = configure(seed=0)
    assert device == get_device()
    assert torch.get_num_threads() == 1
    configure(seed=0, threads=2)
    assert torch.get_num_threads() == 2


def test_configure_rejects_zero_threads():
    with pytest.raises(ValueError, match="threads"):
        configure(threads=0)


def test_get_device_cpu_and_bad_name(monkeypatch):
    monkeypatch.delenv("VGEXAMPLES_DEVICE", raising=False)
    assert get_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="prefer"):
        get_device("tpu")
    monkeypatch.setenv("VGEXAMPLES_DEVICE", "cpu")
    assert get_device().type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_get_device_cuda_without_gpu():
    with pytest.raises(ValueError, match="CUDA"):
        get_device("cuda")


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
