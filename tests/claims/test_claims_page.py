"""The judges behind docs/claims.md.

Each judge turns an experiment's numbers into a verdict. The tests below (1) feed the judges
the summaries of the very experiments the examples run and record (:mod:`vgexamples.
experiments`) where they are cheap or shared with a chapter's claim tests, and check the
verdict the page will show; (2) check every judge's branches on hand-made numbers, so a change
in the experiments' outcome changes the verdict instead of being ignored; (3) check that every
result a claim reads is recorded by an experiment that a gallery example runs. The
training-heavy facts behind the other verdicts are asserted by the chapters' own claim tests.
"""

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import vgexamples.experiments
from vgexamples import claims as c

ROOT = Path(__file__).resolve().parents[2]


def test_activation_verdicts_from_the_real_experiment(at_init):
    values = at_init.summary()
    assert c.judge_activation_cause(values).verdict == "holds only under conditions"
    assert c.judge_saturation(values).verdict == "false here"
    assert c.judge_relu_saturates(values).verdict == "false here"


def test_fraction_verdict_from_measured_factors():
    values = c.factor_numbers()
    assert c.judge_fractions(values).verdict == "holds only under conditions"


def test_verdict_rejects_unknown_words():
    with pytest.raises(ValueError, match="verdict must be one of"):
        c.Verdict("mostly true", "")


def _recorded_keys() -> dict[str, str]:
    """Recorded result name -> experiment module, from the modules' key constants."""
    keys = {}
    for info in pkgutil.iter_modules(vgexamples.experiments.__path__):
        module = importlib.import_module(f"vgexamples.experiments.{info.name}")
        for name, value in vars(module).items():
            if name.endswith("KEY") and isinstance(value, str):
                keys[value] = module.__name__
    return keys


def _experiments_run_by_examples() -> set[str]:
    used = set()
    for script in (ROOT / "gallery").glob("*/plot_*.py"):
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "vgexamples.experiments":
                used |= {f"vgexamples.experiments.{alias.name}" for alias in node.names}
    return used


def test_every_result_a_claim_reads_is_recorded_by_an_experiment_an_example_runs():
    keys, used = _recorded_keys(), _experiments_run_by_examples()
    for claim in c.CLAIMS:
        assert claim.compute is not None or claim.results, claim.key
        for name in claim.results:
            assert name in keys, f"{claim.key} reads {name!r}, which no experiment records"
            assert keys[name] in used, f"{keys[name]} records {name!r} but no example runs it"
    assert len({claim.key for claim in c.CLAIMS}) == len(c.CLAIMS)


def test_every_result_a_paper_row_reads_is_recorded_by_an_experiment_an_example_runs():
    from vgexamples.papers import PAPERS

    keys, used = _recorded_keys(), _experiments_run_by_examples()
    for paper in PAPERS:
        for name in paper.results:
            assert name in keys, f"{paper.key} reads {name!r}, which no experiment records"
            assert keys[name] in used, f"{keys[name]} records {name!r} but no example runs it"
    assert len({paper.key for paper in PAPERS}) == len(PAPERS)


def test_every_verdict_the_judges_can_return_states_its_criterion():
    tree = ast.parse((ROOT / "vgexamples" / "claims.py").read_text())
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Verdict"
    ]
    assert calls
    for call in calls:
        has_criterion = len(call.args) >= 3 or any(k.arg == "criterion" for k in call.keywords)
        assert has_criterion, f"Verdict(...) at line {call.lineno} gives no criterion"
