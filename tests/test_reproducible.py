"""Two runs of the same example print the same numbers (timings aside).

Examples seed everything through ``vgexamples.runtime.configure``; this test runs two of
them twice each, in fresh interpreters, and compares their printed output line by line.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = [
    "gallery/vanishing/plot_01_activation_functions.py",
    "gallery/vanishing/plot_02_gradients_at_init.py",
]
# wall-clock measurements legitimately differ between runs
TIMING = re.compile(r"\d+(?:\.\d+)?(?:e[+-]?\d+)?\s*(?:ms|µs|us|ns|s|seconds|sec)\b", re.I)


def _printed(script: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, str(ROOT / script)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "MPLBACKEND": "Agg"},
        timeout=300,
    ).stdout
    return [TIMING.sub("<time>", line) for line in out.splitlines()]


def test_timing_filter_only_removes_durations():
    assert TIMING.sub("<time>", "1.4 ms/step, ratio 5.95e-01, 12 s") == (
        "<time>/step, ratio 5.95e-01, <time>"
    )


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES)
def test_example_prints_the_same_numbers_twice(script):
    first, second = _printed(script), _printed(script)
    assert first, f"{script} printed nothing"
    assert first == second
