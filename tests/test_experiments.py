"""The experiments package: one home per experiment, each recording what its pages read.

The science of each experiment is asserted by the claim tests in ``tests/claims/``; here the
package's contract is checked: every module has a ``run`` and unique result keys, the
package's ``__init__`` imports none of its modules (so an edit to one experiment re-runs only
the example that uses it), every experiment is run by exactly one gallery example, and a run
records its summary during a docs build.
"""

import ast
import importlib
import json
import pkgutil
from pathlib import Path

import pytest

import vgexamples.experiments
from vgexamples.experiments import cliff
from vgexamples.results import ENV_VAR

ROOT = Path(__file__).resolve().parents[1]
MODULES = [
    importlib.import_module(f"vgexamples.experiments.{info.name}")
    for info in pkgutil.iter_modules(vgexamples.experiments.__path__)
]


def test_every_experiment_has_a_run_function_and_unique_keys():
    keys = []
    for module in MODULES:
        runs = [name for name in vars(module) if name == "run" or name.startswith("run_")]
        assert runs, f"{module.__name__} has no run function"
        keys += [v for k, v in vars(module).items() if k.endswith("KEY") and isinstance(v, str)]
    assert len(keys) == len(set(keys))


def test_the_package_imports_none_of_its_modules():
    tree = ast.parse(Path(vgexamples.experiments.__file__).read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]


def test_every_recorded_experiment_has_one_example():
    users: dict[str, list[str]] = {}
    for script in sorted((ROOT / "gallery").glob("*/plot_*.py")):
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "vgexamples.experiments":
                for alias in node.names:
                    users.setdefault(alias.name, []).append(script.name)
    for module in MODULES:
        name = module.__name__.rsplit(".", 1)[1]
        if any(k.endswith("KEY") for k in vars(module)):
            assert name in users, f"no example runs vgexamples.experiments.{name}"


def test_a_run_records_its_summary_in_a_docs_build(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    result = cliff.run(steps=5, grid=(5, 4))
    recorded = json.loads((tmp_path / f"{cliff.KEY}.json").read_text())
    assert recorded["steps"] == 5
    assert recorded["paths_clipped"] == [result.paths[s, 0.5].params.tolist() for s in cliff.STARTS]


def test_a_run_records_nothing_outside_a_docs_build(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    cliff.run(steps=2, grid=(3, 3))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_budgets_print_as_sentences(module):
    from vgexamples.train import Budget

    for value in vars(module).values():
        if isinstance(value, Budget):
            text = str(value)
            assert "learning rate" in text and "steps of" in text
