"""The downloads extension (docs/_ext/vgdownloads.py): wheel, requirements, zips, run box."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from test_site import CONF, EXT, _build, _project

sys.path.insert(0, str(EXT))

import vgdownloads

SCRIPT = '''"""
Title
=====

Intro.
"""

# %%
# A cell
import math

print(math.pi)
'''


def test_header_goes_after_the_docstring_and_once():
    headed = vgdownloads.script_with_header(SCRIPT, "plot_01_x.py", "3.11")
    assert headed.index('Intro.\n"""') < headed.index(vgdownloads.HEADER_MARK)
    assert headed.index(vgdownloads.HEADER_MARK) < headed.index("# %%")
    assert "#     python plot_01_x.py" in headed and "Python 3.11 or newer" in headed
    assert vgdownloads.script_with_header(headed, "plot_01_x.py", "3.11") == headed
    future = SCRIPT.replace('"""\n\n# %%', '"""\nfrom __future__ import annotations\n\n# %%')
    headed = vgdownloads.script_with_header(future, "plot_01_x.py", "3.11")
    assert headed.index("from __future__") < headed.index(vgdownloads.HEADER_MARK)


def test_a_script_without_its_libraries_names_the_install_command(tmp_path):
    script = tmp_path / "plot_01_x.py"
    script.write_text(vgdownloads.script_with_header(SCRIPT, script.name, "3.11"))
    # -S: no site-packages, so neither torch nor vgexamples can be imported
    result = subprocess.run(
        [sys.executable, "-S", "-I", script.name], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "This example needs torch" in result.stderr
    assert "pip install -r requirements.txt" in result.stderr
    # with its libraries, the guard is silent and the example runs
    result = subprocess.run(
        [sys.executable, script.name], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3.141592653589793"


def test_pinned_closure_follows_requirements_and_leaves_torch_to_its_floor():
    installed = {
        "numpy": ("2.0", []),
        "matplotlib": ("3.9", ["numpy>=1.23", "pillow", 'pytest; extra == "test"']),
        "pillow": ("11.0", []),
        "torch": ("2.5", ["filelock", "numpy"]),
        "filelock": ("3.0", []),
        "colorama": ("0.4", []),
        "tqdm": ("4.0", ['colorama; platform_system == "NoSuchSystem"']),
    }
    pins = vgdownloads.pinned_closure(
        [Requirement(r) for r in ("torch>=2.4", "matplotlib>=3.7", "tqdm")],
        version_of=lambda name: installed[name.lower()][0],
        requires_of=lambda name: installed[name.lower()][1],
    )
    # torch and what only torch needs (filelock) are left out; extras and markers that do
    # not hold here are not followed
    assert pins == {"matplotlib": "3.9", "numpy": "2.0", "pillow": "11.0", "tqdm": "4.0"}


@pytest.mark.parametrize(
    ("specs", "floor"),
    [
        ([">=3.10", ">=3.11", ""], "3.11"),
        ([">=3.9,<3.13", ">=3.8"], "3.9"),
        ([">=3.10.2"], "3.10"),
    ],
)
def test_python_floor_is_the_oldest_release_every_package_accepts(specs, floor):
    assert vgdownloads.python_floor(specs) == floor


def test_python_floor_fails_when_nothing_fits():
    with pytest.raises(ValueError, match="no Python 3 release"):
        vgdownloads.python_floor([">=3.12", "<3.11"])


def test_requirements_install_the_wheel_beside_them_with_a_torch_floor():
    text = vgdownloads.requirements_text(
        "lib-1.0-py3-none-any.whl",
        [Requirement("torch>=2.4")],
        {"numpy": "2.4.6"},
        {"torch": "2.13.0"},
        "3.11",
    )
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines == ["./lib-1.0-py3-none-any.whl", "torch>=2.4  # the site was built with 2.13.0",
                     "numpy==2.4.6"]  # fmt: skip
    assert "Python 3.11 or newer" in text


def test_zips_depend_only_on_their_files():
    files = {"b.txt": b"b", "a.py": b"print(1)\n"}
    first = vgdownloads.zip_bytes(files)
    assert first == vgdownloads.zip_bytes(dict(reversed(list(files.items()))))
    assert first != vgdownloads.zip_bytes({**files, "a.py": b"print(2)\n"})
    with zipfile.ZipFile(__import__("io").BytesIO(first)) as zf:
        assert zf.namelist() == ["a.py", "b.txt"] and zf.read("b.txt") == b"b"


def test_publish_keeps_the_time_of_unchanged_content(tmp_path):
    path, record = tmp_path / "x.zip", {}
    vgdownloads.publish(path, b"one", record)
    published = path.stat().st_mtime_ns
    path.write_bytes(b"rewritten by another tool")
    os.utime(path, ns=(published + 10**9, published + 10**9))  # and a newer time
    vgdownloads.publish(path, b"one", record)
    assert path.read_bytes() == b"one" and path.stat().st_mtime_ns == published
    vgdownloads.publish(path, b"two", record)  # new content: the time of its writing
    assert path.read_bytes() == b"two"
    assert record[path.as_posix()][1] == path.stat().st_mtime_ns != published


FOOTER = """
  .. container:: sphx-glr-footer sphx-glr-footer-example

    .. container:: sphx-glr-download sphx-glr-download-jupyter

      :download:`Download Jupyter notebook: plot_01_x.ipynb <plot_01_x.ipynb>`

    .. container:: sphx-glr-download sphx-glr-download-python

      :download:`Download Python source code: plot_01_x.py <plot_01_x.py>`

    .. container:: sphx-glr-download sphx-glr-download-zip

      :download:`Download zipped: plot_01_x.zip <plot_01_x.zip>`
"""


def test_run_box_goes_before_the_first_code_block_and_is_replaced_when_it_changes():
    rst = (
        ".. rst-class:: sphx-glr-example-title\n\nTitle\n=====\n\nIntro.\n\n"
        ".. GENERATED FROM PYTHON SOURCE LINES 8-10\n\ncode\n"
        ".. GENERATED FROM PYTHON SOURCE LINES 11-12\n" + FOOTER
    )
    boxed = vgdownloads.add_run_box(rst, "plot_01_x.py", 12.345, "3.11", "3.12", "running")
    assert boxed.index("Run this example yourself") < boxed.index("LINES 8-10")
    assert "**12.3 s**" in boxed and "python plot_01_x.py" in boxed
    assert "Python 3.11 or newer (the site is built with Python 3.12)" in boxed
    assert ":class: vgsite-run-cpu" in boxed and ":class: vgsite-run-gpu" in boxed
    assert ":download:`plot_01_x.zip <plot_01_x.zip>`" in boxed and ":doc:`/running`" in boxed
    # the footer offers the zip only: the script or the notebook alone lacks the library
    assert "Download zipped: plot_01_x.zip" in boxed
    assert "Download Jupyter notebook" not in boxed and "Download Python source" not in boxed
    assert vgdownloads.add_run_box(boxed, "plot_01_x.py", 12.345, "3.11", "3.12", "running") == (
        boxed
    )
    again = vgdownloads.add_run_box(boxed, "plot_01_x.py", 2.0, "3.12", "3.12", "running")
    assert again.count("Run this example yourself") == 1 and "**2.0 s**" in again
    assert again == vgdownloads.add_run_box(rst, "plot_01_x.py", 2.0, "3.12", "3.12", "running")
    assert vgdownloads.add_run_box("no markers", "a.py", 1.0, "3.11", "3.11") == "no markers"


# -- the wheel of a tiny project --------------------------------------------------------------

PYPROJECT = """
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "tinylib"
dynamic = ["version"]
requires-python = ">=3.10"
dependencies = ["numpy>=1.24"]

[tool.setuptools.dynamic]
version = {{ attr = "tinylib.__version__" }}

[tool.setuptools.packages.find]
include = [{include}]
"""


def _tiny_library(root: Path, include: str = '"tinylib*"') -> Path:
    (root / "tinylib" / "sub").mkdir(parents=True)
    (root / "tinylib" / "__init__.py").write_text('__version__ = "1.0"\nVALUE = 1\n')
    (root / "tinylib" / "sub" / "__init__.py").write_text("")
    (root / "tinylib" / "sub" / "deep.py").write_text("DEEP = 2\n")
    (root / "pyproject.toml").write_text(PYPROJECT.format(include=include))
    return root


@pytest.mark.slow
def test_wheel_is_reproducible_and_holds_every_module(tmp_path):
    project = _tiny_library(tmp_path / "lib")
    first = vgdownloads.build_wheel(project, tmp_path / "cache")
    assert first.name == "tinylib-1.0-py3-none-any.whl"
    assert vgdownloads.missing_modules(first, project / "tinylib") == []
    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    assert vgdownloads.build_wheel(project, tmp_path / "cache") == first  # cached
    again = vgdownloads.build_wheel(project, tmp_path / "other")
    assert hashlib.sha256(again.read_bytes()).hexdigest() == digest  # byte-identical
    assert not (project / "build").exists() and not list(project.glob("*.egg-info"))
    meta = vgdownloads.wheel_metadata(first)
    assert [str(r) for r in vgdownloads.runtime_requirements(meta)] == ["numpy>=1.24"]


@pytest.mark.slow
def test_a_wheel_without_its_subpackages_is_caught(tmp_path):
    project = _tiny_library(tmp_path / "lib", include='"tinylib"')  # not tinylib.sub
    wheel = vgdownloads.build_wheel(project, tmp_path / "cache")
    assert vgdownloads.missing_modules(wheel, project / "tinylib") == [
        "tinylib/sub/__init__.py",
        "tinylib/sub/deep.py",
    ]


EXAMPLE = '''
"""
A tiny example
==============

Prints a value of the tiny library.
"""
import tinylib

print(f"library value = {tinylib.VALUE}")
'''


@pytest.mark.slow
def test_tiny_site_publishes_self_contained_downloads(tmp_path):
    docs = _project(tmp_path, {"plot_tiny.py": EXAMPLE})
    _tiny_library(tmp_path / "lib", include='"tinylib*"')
    # the tiny library exists already (from _project): give it a version and a subpackage
    conf = CONF.format(ext=str(EXT)).replace('"vgsite"]', '"vgsite", "vgdownloads"]')
    conf += textwrap.dedent(f"""
        release = "1.0"
        vgdownloads_project = {str(tmp_path / "lib")!r}
        vgsite_running_doc = "running"
        myst_enable_extensions = ["substitution"]
    """)
    (docs / "conf.py").write_text(conf)
    (docs / "running.md").write_text("# Running\n\nWith Python {{ python_floor }} or newer.\n")
    index = docs / "index.rst"
    index.write_text(index.read_text() + "   running\n")
    first = _build(docs)
    assert first.returncode == 0, first.stdout + first.stderr
    html = docs / "_build" / "html"

    sums = (html / "dist" / "SHA256SUMS").read_text().split()
    wheel = html / "dist" / sums[1]
    assert sums[1] == "tinylib-1.0-py3-none-any.whl"
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == sums[0]
    requirements = (html / "dist" / "requirements.txt").read_text()
    assert "./tinylib-1.0-py3-none-any.whl" in requirements and "numpy==" in requirements

    page = (html / "auto_examples" / "plot_tiny.html").read_text()
    assert "Run this example yourself" in page and "vgsite-run-cpu" in page
    zips = sorted(html.glob("_downloads/*/plot_tiny.zip"))
    assert len(zips) == 1
    with zipfile.ZipFile(zips[0]) as zf:
        assert sorted(zf.namelist()) == sorted(
            ["plot_tiny.py", "plot_tiny.ipynb", "requirements.txt", sums[1]]
        )
        assert zf.read(sums[1]) == wheel.read_bytes()
        assert vgdownloads.HEADER_MARK in zf.read("plot_tiny.py").decode()
    everything = sorted(html.glob("_downloads/*/auto_examples_jupyter.zip"))
    with zipfile.ZipFile(everything[0]) as zf:  # flat: the notebook beside its requirements
        assert sorted(zf.namelist()) == sorted(["plot_tiny.ipynb", "requirements.txt", sums[1]])
    python = vgdownloads.plan(tmp_path / "lib").python
    assert f"With Python {python} or newer." in (html / "running.html").read_text()

    # nothing changed: no page is read again, although sphinx-gallery rewrote the files
    # that the downloads extension then rewrote again
    second = _build(docs)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "0 added, 0 changed, 0 removed" in second.stdout
