import pytest
import torch

from vgexamples.data import Split, load_digits, make_split


def test_digits_shapes_types_and_split(digits):
    assert digits.x_train.dtype == torch.float32 and digits.y_train.dtype == torch.int64
    assert len(digits.x_train) + len(digits.x_test) == 1797
    assert digits.x_train.shape[1] == 64 and digits.n_features == 64
    assert digits.n_classes == 10
    # standardized with training statistics
    assert abs(float(digits.x_train.mean())) < 1e-5
    assert abs(float(digits.x_train.std()) - 1) < 1e-4


def test_digits_split_is_seeded_and_stratified():
    a, b, c = load_digits(seed=1), load_digits(seed=1), load_digits(seed=2)
    assert torch.equal(a.x_train, b.x_train)
    assert not torch.equal(a.x_train, c.x_train)
    counts = torch.bincount(a.y_test, minlength=10)
    assert int(counts.min()) >= 40  # each class near 45 of 450


def test_digits_options():
    small = load_digits(n_train=100, image=True, standardize=False)
    assert small.x_train.shape == (100, 1, 8, 8)
    assert float(small.x_train.max()) == 16.0
    assert torch.bincount(small.y_train, minlength=10).min() >= 9


def test_digits_bad_arguments():
    with pytest.raises(ValueError, match="test_size"):
        load_digits(test_size=1.5)
    with pytest.raises(ValueError, match="n_train"):
        load_digits(n_train=3)


def test_make_split_rejects_nan_and_length_mismatch():
    x = torch.randn(20, 3)
    y = torch.arange(20) % 2
    split = make_split(x, y, test_size=0.25, seed=0)
    assert isinstance(split, Split) and len(split.x_test) == 5
    x_bad = x.clone()
    x_bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="x must hold only finite values"):
        make_split(x_bad, y)
    with pytest.raises(ValueError, match="same length"):
        make_split(x, y[:-1])


def test_split_to_device(digits):
    moved = digits.to("cpu")
    assert moved.x_train.device.type == "cpu"
