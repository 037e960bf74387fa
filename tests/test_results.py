import json
import math
import os

import numpy as np
import pytest
import torch

from vgexamples.results import ENV_VAR, load, record


def test_record_is_a_no_op_outside_a_docs_build(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert record("chapter.topic", value=1.0) is None


def test_record_and_load_round_trip(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    out = record(
        "chapter.topic", a=np.float32(0.5), b=torch.tensor(2.0), c=True, d=3, e="x", f=float("nan")
    )
    assert out is None  # a record() call ending a notebook cell prints nothing
    path = tmp_path / "chapter.topic.json"
    data = json.loads(path.read_text())
    assert data["a"] == 0.5 and data["b"] == 2.0 and data["c"] is True and data["e"] == "x"
    loaded = load("chapter.topic")
    assert loaded["d"] == 3 and math.isnan(loaded["f"])


def test_record_rejects_bad_names_and_values(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(ValueError, match="name must be a dotted lower-case key"):
        record("Chapter Topic", a=1)
    with pytest.raises(ValueError, match="at least one value"):
        record("chapter.topic")
    with pytest.raises(TypeError, match="a must be a number"):
        record("chapter.topic", a=object())
    with pytest.raises(TypeError, match=r"a\[1\] must be a number"):
        record("chapter.topic", a=[1, None])
    with pytest.raises(TypeError, match="string keys"):
        record("chapter.topic", a={1: 2.0})


def test_record_keeps_curves_and_tables(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    record(
        "chapter.curves",
        curve=np.array([1.0, 0.5, float("inf")]),
        table={"he": {"relu": [0.5, torch.tensor(0.25)]}},
    )
    loaded = load("chapter.curves")
    assert loaded["curve"] == [1.0, 0.5, math.inf]
    assert loaded["table"] == {"he": {"relu": [0.5, 0.25]}}


def test_unchanged_results_are_not_rewritten(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    record("chapter.same", a=1.0)
    path = tmp_path / "chapter.same.json"
    stamp = path.stat().st_mtime_ns
    os.utime(path, ns=(stamp - 10**9, stamp - 10**9))
    record("chapter.same", a=1.0)
    assert path.stat().st_mtime_ns == stamp - 10**9  # same numbers: the file is left alone
    record("chapter.same", a=2.0)
    assert load("chapter.same")["a"] == 2.0


def test_load_names_the_missing_result(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"'chapter\.none'"):
        load("chapter.none", tmp_path)
