"""Downloads that run anywhere: the library's wheel and self-contained example zips.

A Sphinx extension beside :mod:`vgsite`. When ``vgdownloads_project`` names the directory
of the library's ``pyproject.toml``, every HTML build

* builds the library's wheel from the same tree (:func:`build_wheel`: reproducible, cached by
  the content of the files that go into it) and checks that it holds every module of the
  package (:func:`missing_modules`);
* writes a ``requirements.txt`` (:func:`requirements_text`): the wheel, torch as the floor the
  library declares, and every other package the library needs (transitively) pinned at the
  version this build ran with;
* gives each example's script a header that says how to run it and a guard that names the
  install command when the library is missing (:func:`script_with_header`);
* makes each example's zip hold the script, the notebook, the wheel and the requirements
  (:func:`zip_bytes`), and the download-all zips likewise;
* puts a "run this example yourself" box on each example page (:func:`add_run_box`): the
  commands for a CPU laptop and for a GPU machine, and the measured run time;
* publishes the wheel, its ``SHA256SUMS`` and the requirements under ``dist/`` in the output,
  and provides the ``vgdownloads-wheel`` directive that shows them on a page.

Files that sphinx-gallery regenerates on every build and this extension then rewrites keep
their modification time when their final content did not change (:func:`publish`), so an
unchanged tree still rebuilds no page.
"""

from __future__ import annotations

import ast
import email.parser
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import tomllib
import vgsite
from docutils import nodes
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

#: Zip entries carry this date, so the same files always make the same bytes (and checksum).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
#: ``SOURCE_DATE_EPOCH`` for the wheel build: 1980-01-01, the earliest date a zip can hold.
SOURCE_DATE_EPOCH = "315532800"
#: The packages a reader already has, or which the floor in the wheel's metadata covers.
FLOOR_ONLY = ("torch",)
REQUIREMENTS = "requirements.txt"
DIST = "dist"
BOX_MARK = ".. vgdownloads-run-box"
BOX_END = ".. vgdownloads-run-box-end"
HEADER_MARK = "# -- How to run this example"


# -- the wheel -----------------------------------------------------------------------------


def _project_files(project: Path) -> list[Path]:
    """The files a wheel build of ``project`` reads: pyproject, its readme, the packages."""
    config = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    files = [project / "pyproject.toml"]
    readme = config.get("project", {}).get("readme")
    if isinstance(readme, str):
        files.append(project / readme)
    name = config["project"]["name"].replace("-", "_")
    files += sorted(
        p for p in (project / name).rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    return files


def _tree_digest(project: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(project).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    digest.update(sys.version.encode())
    return digest.hexdigest()[:16]


def build_wheel(project: Path, cache: Path) -> Path:
    """Build ``project``'s wheel into ``cache`` and return it; reuse it if the tree is unchanged.

    The build runs setuptools' PEP 517 hook in a subprocess, on a copy of the files that go
    into the wheel (so it leaves no ``build/`` or ``*.egg-info`` behind in the project), with
    ``SOURCE_DATE_EPOCH`` fixed: the same tree gives a byte-identical wheel.
    """
    files = _project_files(project)
    out = cache / _tree_digest(project, files)
    built = sorted(out.glob("*.whl"))
    if len(built) == 1:
        return built[0]
    if cache.is_dir():
        shutil.rmtree(cache)  # wheels of older trees
    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            target = Path(tmp) / path.relative_to(project)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from setuptools import build_meta; "
                "print(build_meta.build_wheel(sys.argv[1]))",
                str(out),
            ],
            cwd=tmp,
            env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH},
            capture_output=True,
            text=True,
        )
    if result.returncode != 0:
        shutil.rmtree(out)
        raise ExtensionError(f"building the library's wheel failed:\n{result.stderr[-3000:]}")
    return out / result.stdout.strip().splitlines()[-1]


def missing_modules(wheel: Path, package_dir: Path) -> list[str]:
    """The modules of ``package_dir`` (``.py`` files, subpackages included) not in ``wheel``."""
    with zipfile.ZipFile(wheel) as zf:
        held = set(zf.namelist())
    root = package_dir.parent
    return sorted(
        p.relative_to(root).as_posix()
        for p in package_dir.rglob("*.py")
        if "__pycache__" not in p.parts and p.relative_to(root).as_posix() not in held
    )


def wheel_metadata(wheel: Path) -> email.message.Message:
    """The ``METADATA`` of ``wheel`` (name, version, Requires-Dist, Requires-Python)."""
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(zf.read(name).decode("utf-8"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- requirements ---------------------------------------------------------------------------


def runtime_requirements(meta: email.message.Message) -> list[Requirement]:
    """The wheel's own requirements (``Requires-Dist`` without an extra)."""
    reqs = [Requirement(line) for line in meta.get_all("Requires-Dist") or []]
    return [r for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})]


def pinned_closure(
    requirements: list[Requirement],
    skip: tuple[str, ...] = FLOOR_ONLY,
    version_of=metadata.version,
    requires_of=metadata.requires,
) -> dict[str, str]:
    """Every distribution ``requirements`` need, transitively, with the version installed here.

    Distributions in ``skip`` are left out together with what only they need.
    ``version_of`` and ``requires_of`` read the installed metadata (replaceable in tests).
    """
    skipped = {canonicalize_name(s) for s in skip}
    pins: dict[str, str] = {}
    todo = [r for r in requirements if canonicalize_name(r.name) not in skipped]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in pins or name in skipped:
            continue
        pins[name] = version_of(req.name)
        for line in requires_of(req.name) or []:
            dep = Requirement(line)
            if dep.marker is None or dep.marker.evaluate({"extra": ""}):
                todo.append(dep)
    return dict(sorted(pins.items()))


def python_floor(specifiers: list[str]) -> str:
    """The lowest ``major.minor`` Python that satisfies every ``Requires-Python`` given."""
    combined = SpecifierSet(",".join(s for s in specifiers if s))
    for minor in range(8, 30):
        if Version(f"3.{minor}.0") in combined or Version(f"3.{minor}.99") in combined:
            return f"3.{minor}"
    raise ValueError(f"no Python 3 release satisfies {combined}")


def requirements_text(
    wheel_name: str,
    floors: list[Requirement],
    pins: dict[str, str],
    built_with: dict[str, str],
    python: str,
) -> str:
    """The ``requirements.txt`` that goes beside an example: one ``pip install -r`` away."""
    lines = [
        f"# What the examples of this site need, from the files beside this one (Python {python}"
        " or newer):",
        "#     pip install -r requirements.txt",
        "# The library itself, from the wheel in this folder:",
        f"./{wheel_name}",
        "# A floor, not a pin, so that a build for your platform or your GPU can be used (releases",
        "# older than the one the site was built with are not tested):",
    ]
    for req in floors:
        built = built_with.get(canonicalize_name(req.name))
        lines.append(f"{req}" + (f"  # the site was built with {built}" if built else ""))
    lines.append("# The versions the site was built and tested with:")
    lines += [f"{name}=={version}" for name, version in pins.items()]
    return "\n".join(lines) + "\n"


# -- what a download holds -------------------------------------------------------------------


def script_with_header(code: str, script: str, python: str) -> str:
    """``code`` with a how-to-run header and a missing-library guard after its docstring.

    The guard turns a missing ``vgexamples`` (or PyTorch) into a one-line message naming
    the install command, instead of a traceback. Applied twice, it changes nothing.
    """
    if HEADER_MARK in code:
        return code
    tree = ast.parse(code)
    after = 0
    for node in tree.body:
        is_docstring = (
            node is tree.body[0]
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        )
        if is_docstring or (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
            after = node.end_lineno or after
        else:
            break
    header = (
        f"\n{HEADER_MARK} (Python {python} or newer) --\n"
        "# Unpack the example's zip (this script, its notebook, requirements.txt and the\n"
        "# vgexamples wheel), then, in that folder:\n"
        "#     pip install -r requirements.txt\n"
        f"#     python {script}\n"
        "try:\n"
        "    import torch  # noqa: F401\n"
        "    import vgexamples  # noqa: F401\n"
        "except ModuleNotFoundError as missing:\n"
        "    raise SystemExit(\n"
        '        f"This example needs {missing.name}, which is not installed. In the folder "\n'
        '        "of the example\'s zip (from its page on the site: it holds requirements.txt "\n'
        '        "and the vgexamples wheel) run:\\n    pip install -r requirements.txt"\n'
        "    ) from None\n"
        "# --\n"
    )
    lines = code.splitlines(keepends=True)
    return "".join(lines[:after]) + header + "".join(lines[after:])


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A zip of ``files`` (name -> content) whose bytes depend on nothing else."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name])
    return buffer.getvalue()


def publish(path: Path, data: bytes, record: dict[str, list]) -> None:
    """Write ``data`` to ``path``, keeping the file's modification time when ``data`` is what
    was published there last (even if another tool rewrote the file in between).

    Sphinx re-reads a page when a file it links for download is newer than the page, and
    sphinx-gallery rewrites some of them on every build; ``record`` (path -> [sha256,
    mtime_ns]) remembers what this extension last published.
    """
    digest = hashlib.sha256(data).hexdigest()
    if not path.is_file() or path.read_bytes() != data:
        path.write_bytes(data)
    key = path.as_posix()
    last = record.get(key)
    if last and last[0] == digest:
        os.utime(path, ns=(last[1], last[1]))
    else:
        record[key] = [digest, path.stat().st_mtime_ns]


# -- the run box -----------------------------------------------------------------------------


def add_run_box(
    rst: str, script: str, seconds: float, python: str, built_with: str, running_doc: str = ""
) -> str:
    """Put a "run this example yourself" box into a generated example page.

    The box goes after the example's introduction, before its first code block, and shows
    the commands for a CPU laptop and for a GPU machine (classes ``vgsite-run-cpu`` and
    ``vgsite-run-gpu``, which ``nox -s downloads`` runs) with the measured run time. A box
    already there is replaced, so a page always shows the current one. The page's footer
    keeps only the zip: the script or the notebook alone lacks the library.
    """
    rst = _drop_single_file_downloads(rst)
    marker = ".. GENERATED FROM PYTHON SOURCE LINES"
    start = rst.find(BOX_MARK + "\n")
    if start >= 0:  # the box ends at its end mark, or (an older box) at the first code block
        end = rst.find(BOX_END, start)
        end = end + len(BOX_END) if end >= 0 else rst.find(marker, start)
        rst = rst[:start] + rst[end:].lstrip("\n")
    anchor = rst.find(marker, rst.find("sphx-glr-example-title"))
    if anchor < 0:
        return rst
    stem = Path(script).stem
    more = f" More in :doc:`/{running_doc}`." if running_doc else ""
    box = f"""{BOX_MARK}

.. admonition:: Run this example yourself
   :class: tip vgsite-run

   Download :download:`{stem}.zip <{stem}.zip>` (this script, its notebook,
   ``requirements.txt`` and the ``vgexamples`` wheel), unpack it, and in that folder,
   with Python {python} or newer (the site is built with Python {built_with}):

   .. tab-set::

      .. tab-item:: CPU laptop

         .. code-block:: bash
            :class: vgsite-run-cpu

            python -m venv .venv && source .venv/bin/activate
            pip install torch --index-url https://download.pytorch.org/whl/cpu
            pip install -r requirements.txt
            python {script}

         It took **{seconds:.1f} s** when this site was built, on one CPU thread. The second
         line fetches PyTorch's CPU-only build for Linux; on macOS and Windows PyPI's
         ``torch`` is that build already, and the line can go.

      .. tab-item:: GPU machine

         .. code-block:: bash
            :class: vgsite-run-gpu

            python -m venv .venv && source .venv/bin/activate
            pip install -r requirements.txt
            VGEXAMPLES_DEVICE=cuda python {script}

         On Linux, PyPI's ``torch`` is a CUDA build. With ``VGEXAMPLES_DEVICE=cuda`` the
         script stops with an error if PyTorch finds no GPU; without it, it uses one when
         there is one. GPU run times are not measured: the site is built on a CPU.

   Or open ``{stem}.ipynb`` in Jupyter from that folder: its first cell installs the same
   requirements. On Windows, activate with ``.venv\\Scripts\\activate``.{more}

{BOX_END}

"""
    return rst[:anchor] + box + rst[anchor:]


_SINGLE_FILE_DOWNLOAD = re.compile(
    r"^    \.\. container:: sphx-glr-download sphx-glr-download-(?:jupyter|python)\n\n"
    r"      :download:`[^`]*`\n\n?",
    re.MULTILINE,
)


def _drop_single_file_downloads(rst: str) -> str:
    """Remove sphinx-gallery's links to the script and the notebook alone (the zip stays)."""
    return _SINGLE_FILE_DOWNLOAD.sub("", rst)


# -- the build ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Distribution:
    """What this build publishes for download."""

    wheel: Path
    sha256: str
    requirements: str
    python: str

    @property
    def checksums(self) -> str:
        return f"{self.sha256}  {self.wheel.name}\n"


@dataclass(frozen=True)
class Plan:
    """What the downloads will need, known from ``pyproject.toml`` before anything is built."""

    project: Path
    requirements: list[Requirement]
    pins: dict[str, str]
    python: str


def plan(project: Path) -> Plan:
    """Read the library's requirements from ``pyproject.toml``; pin what they need here."""
    config = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = [Requirement(line) for line in config.get("dependencies", [])]
    pins = pinned_closure(reqs)
    specs = [config.get("requires-python", "")]
    specs += [metadata.metadata(name).get("Requires-Python", "") for name in pins]
    return Plan(project, reqs, pins, python_floor(specs))


def _configure(app: Sphinx, config) -> None:
    """Pages may write ``{{ python_floor }}``, the oldest Python the downloads install on, and
    ``{{ python_built }}``, the Python this build runs."""
    if not config.vgdownloads_project:
        return
    app._vgdownloads_plan = plan(Path(config.vgdownloads_project))  # type: ignore[attr-defined]
    config.myst_substitutions = {
        **config.myst_substitutions,
        "python_floor": app._vgdownloads_plan.python,  # type: ignore[attr-defined]
        "python_built": f"{sys.version_info.major}.{sys.version_info.minor}",
    }


#: What this build publishes (set when the builder starts; forked readers inherit it).
_current: Distribution | None = None


def _build_distribution(app: Sphinx) -> None:
    global _current
    planned: Plan | None = getattr(app, "_vgdownloads_plan", None)
    _current = None
    if planned is None or app.builder.format != "html":
        return
    wheel = build_wheel(planned.project, Path(app.outdir).parent / "wheel")
    name = wheel.name.split("-")[0]
    missing = missing_modules(wheel, planned.project / name)
    if missing:
        raise ExtensionError(
            f"the wheel {wheel.name} lacks modules of the package: {', '.join(missing)} "
            "(list the subpackages in pyproject.toml)"
        )
    meta = wheel_metadata(wheel)
    if meta["Version"] != app.config.release:
        raise ExtensionError(
            f"the wheel's version {meta['Version']} differs from the site's release "
            f"{app.config.release}: both must come from one place"
        )
    reqs = runtime_requirements(meta)
    if [str(r) for r in reqs] != [str(r) for r in planned.requirements]:
        raise ExtensionError(
            f"the wheel {wheel.name} requires {reqs}, pyproject.toml says "
            f"{planned.requirements}: reinstall the project"
        )
    floors = [r for r in reqs if canonicalize_name(r.name) in FLOOR_ONLY]
    built_with = {canonicalize_name(r.name): metadata.version(r.name) for r in floors}
    text = requirements_text(wheel.name, floors, planned.pins, built_with, planned.python)
    _current = Distribution(wheel, sha256(wheel), text, planned.python)
    logger.info(
        f"vgdownloads: {wheel.name} ({wheel.stat().st_size // 1024} KiB), "
        f"Python {planned.python} or newer"
    )


def _record_path(app: Sphinx) -> Path:
    return Path(app.srcdir) / app.config.sphinx_gallery_conf["gallery_dirs"][0] / ".published.json"


def _bundle_examples(app: Sphinx) -> None:
    """After the gallery ran: run boxes, script headers, example zips, download-all zips.

    Every example the gallery holds is bundled, also those a partial build (a narrower
    ``filename_pattern``) did not run, so no zip keeps an older wheel.
    """
    dist: Distribution | None = _current
    if dist is None:
        return
    record_file = _record_path(app)
    record = json.loads(record_file.read_text()) if record_file.is_file() else {}
    extra = {dist.wheel.name: dist.wheel.read_bytes(), REQUIREMENTS: dist.requirements.encode()}
    times = {row["example"]: row["seconds"] for row in vgsite._gallery_times(app)}
    srcdir = Path(app.srcdir)
    built_with = f"{sys.version_info.major}.{sys.version_info.minor}"
    for gallery in (srcdir / g for g in app.config.sphinx_gallery_conf["gallery_dirs"]):
        # the download-all zips are flat: each file sits beside requirements.txt and the wheel
        everything: dict[str, bytes] = {}
        for rst in sorted(gallery.rglob("plot_*.rst")):
            target, notebook = rst.with_suffix(".py"), rst.with_suffix(".ipynb")
            seconds = times.get(rst.relative_to(srcdir).with_suffix("").as_posix())
            if seconds is None or not (target.is_file() and notebook.is_file()):
                continue  # the example did not run: sphinx-gallery reports it
            if target.name in everything:
                raise ExtensionError(f"two examples are named {target.name}: names must differ")
            script = script_with_header(
                target.read_text(encoding="utf-8"), target.name, dist.python
            )
            files = {target.name: script.encode(), notebook.name: notebook.read_bytes()}
            everything.update(files)
            publish(target, files[target.name], record)
            publish(target.with_suffix(".zip"), zip_bytes({**files, **extra}), record)
            text = rst.read_text(encoding="utf-8")
            boxed = add_run_box(
                text, target.name, seconds, dist.python, built_with, app.config.vgsite_running_doc
            )
            if boxed != text:
                rst.write_text(boxed, encoding="utf-8")
        for suffix, kind in ((".py", "python"), (".ipynb", "jupyter")):
            chosen = {n: b for n, b in everything.items() if n.endswith(suffix)}
            if chosen:
                zipped = zip_bytes({**chosen, **extra})
                publish(gallery / f"{gallery.name}_{kind}.zip", zipped, record)
    record_file.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")


def _publish_dist(app: Sphinx, exception: Exception | None) -> None:
    dist: Distribution | None = _current
    if exception is not None or dist is None:
        return
    out = Path(app.outdir) / DIST
    if out.is_dir():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copyfile(dist.wheel, out / dist.wheel.name)
    (out / "SHA256SUMS").write_text(dist.checksums)
    (out / REQUIREMENTS).write_text(dist.requirements)


# -- the directive that shows the wheel --------------------------------------------------------


class WheelDirective(SphinxDirective):
    """``.. vgdownloads-wheel::``: the wheel's link, size and SHA-256, and the install commands."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        dist: Distribution | None = _current
        if dist is None:
            raise self.error(
                "vgdownloads-wheel needs the HTML builder and vgdownloads_project in conf.py"
            )
        self.env.vgdownloads_docs = getattr(self.env, "vgdownloads_docs", set())
        self.env.vgdownloads_docs.add(self.env.docname)
        depth = self.env.docname.count("/")
        base = "../" * depth + DIST + "/"
        size = dist.wheel.stat().st_size / 1024
        items = nodes.bullet_list()
        for label, target, note in (
            (dist.wheel.name, dist.wheel.name, f"{size:.0f} KiB"),
            ("SHA256SUMS", "SHA256SUMS", f"SHA-256 {dist.sha256}"),
            (REQUIREMENTS, REQUIREMENTS, f"pins for Python {dist.python} or newer"),
        ):
            para = nodes.paragraph()
            para += nodes.reference("", "", nodes.literal(label, label), refuri=base + target)
            para += nodes.Text(": ")
            para += nodes.literal(note, note) if note.startswith("SHA") else nodes.Text(note)
            items += nodes.list_item("", para)
        container = nodes.container(classes=["vgdownloads-wheel"])
        container += items
        return [container]


def _outdated(app: Sphinx, env, added, changed, removed) -> list[str]:
    """Pages that show the wheel are rebuilt when its checksum changes."""
    current = _current.sha256 if _current else None
    if getattr(env, "vgdownloads_sha256", None) == current:
        return []
    env.vgdownloads_sha256 = current
    return sorted(getattr(env, "vgdownloads_docs", set()) & set(env.found_docs))


def _purge(app: Sphinx, env, docname: str) -> None:
    getattr(env, "vgdownloads_docs", set()).discard(docname)


def _merge(app: Sphinx, env, docnames, other) -> None:
    env.vgdownloads_docs = getattr(env, "vgdownloads_docs", set()) | (
        getattr(other, "vgdownloads_docs", set()) & set(docnames)
    )


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx_design")  # the run box's tabs
    # the directory holding the library's pyproject.toml; empty: no downloads are made
    app.add_config_value("vgdownloads_project", "", "env")
    app.add_directive("vgdownloads-wheel", WheelDirective)
    # before sphinx-gallery (priority 500) generates the examples, after it for the bundles
    app.connect("config-inited", _configure)
    app.connect("builder-inited", _build_distribution, priority=300)
    app.connect("builder-inited", _bundle_examples, priority=920)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("build-finished", _publish_dist)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
