import numpy as np
import pytest
import torch

from vgexamples.runtime import (
    configure,
    get_device,
    median_seconds,
    resolve_device,
    seed_everything,
)


@pytest.fixture
def keep_threads():
    """configure() changes the process-wide thread count: put it back for later tests."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


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


def test_configure_returns_device_and_sets_threads(keep_threads):
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
    with pytest.raises(ValueError, match="device must be None, 'cpu', 'cuda'"):
        get_device("tpu")
    monkeypatch.setenv("VGEXAMPLES_DEVICE", "cpu")
    assert get_device().type == "cpu"


def test_resolve_device_one_error_for_every_bad_value(monkeypatch):
    monkeypatch.delenv("VGEXAMPLES_DEVICE", raising=False)
    assert resolve_device(None) == get_device()
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    for bad in ("gpu", "cpux", 3, torch.device("meta")):
        with pytest.raises(ValueError, match=r"device must be None, 'cpu', 'cuda'.*got"):
            resolve_device(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_without_gpu_is_a_clear_error():
    for name in ("cuda", "cuda:0"):
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device(name)
        with pytest.raises(ValueError, match="no CUDA device"):
            get_device(name)


def test_median_seconds_times_the_call():
    calls = []
    seconds = median_seconds(lambda: calls.append(1), repeats=5, warmup=2)
    assert len(calls) == 7  # warm-up calls are made but not timed
    assert 0 <= seconds < 0.1
    with pytest.raises(ValueError, match="repeats"):
        median_seconds(lambda: None, repeats=0)
    with pytest.raises(TypeError, match="fn"):
        median_seconds(3)
