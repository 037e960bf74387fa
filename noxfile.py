"""Sessions for building, testing and serving the vgexamples site.

    nox -s tests      unit, claim and site tests
    nox -s docs       build the whole site (every example and page executed, warnings = errors)
    nox -s serve      serve the built site on http://127.0.0.1:8000
    nox -s lint       ruff format check + lint
    nox -s docs-live  live-reloading preview while editing
    nox -s browser    every built page checked in headless Chromium
    nox -s downloads  every example's zip fetched from the built site and run in a fresh venv
    nox -s links      every internal link and anchor of the built site (LinkChecker, offline)
    nox -s bench      build-speed, memory and page-weight benchmark

Every session installs from ``constraints.txt``, the one file that pins what the project is
tested with (torch 2.13.0 among them). Virtual environments are reused, and a session skips
``pip install`` entirely when neither ``pyproject.toml`` nor ``constraints.txt`` changed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
CONSTRAINTS = ROOT / "constraints.txt"
BUILD = ROOT / "docs" / "_build"
HTML = BUILD / "html"
# Sphinx's pickled doctrees stay outside the published tree (by default they would land in
# docs/_build/html/.doctrees, 15 MB that nobody should download)
DOCTREES = BUILD / "doctrees"

nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "virtualenv"  # pip honours the configured find-links
nox.options.sessions = ["lint", "tests", "docs"]

# One thread pool per process, sized for a 2-core machine; examples set torch threads too.
RUN_ENV = {"MPLBACKEND": "Agg", "OMP_NUM_THREADS": "2", "PYTHONHASHSEED": "0"}
# Sphinx reads (and myst-nb executes) pages in this many processes. The examples run before,
# in sphinx-gallery's own worker processes, so the forked readers inherit no OpenMP threads;
# set VGEXAMPLES_DOCS_JOBS=1 when running the gallery serially (VGEXAMPLES_GALLERY_PARALLEL=0).
DOCS_JOBS = os.environ.get("VGEXAMPLES_DOCS_JOBS", "2")


def install(session: nox.Session, *extras: str, project: bool = True) -> None:
    """Install the project with ``extras`` from the constraints file, once per change.

    ``project=False`` installs only what the ``extras`` list (a tool such as LinkChecker),
    without the project and its dependencies.
    """
    key = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", CONSTRAINTS):
        key.update(path.read_bytes())
    key.update(",".join(extras).encode() + (b"" if project else b" (extras only)"))
    stamp = Path(session.virtualenv.location) / ".vgexamples-install"
    if stamp.is_file() and stamp.read_text() == key.hexdigest():
        session.log("requirements unchanged since the last install: skipping pip")
        return
    if project:
        spec = f".[{','.join(extras)}]" if extras else "."
        session.install("-c", str(CONSTRAINTS), "-e", spec)
    else:
        import tomllib

        groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
        requirements = [r for e in extras for r in groups["optional-dependencies"][e]]
        session.install("-c", str(CONSTRAINTS), *requirements)
    stamp.write_text(key.hexdigest())


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (unit tests, claim tests, site tests on small throwaway builds).

    Test files are spread over worker processes (pytest-xdist, one per core, at most four; a
    file stays on one worker so its experiments run once). ``VGEXAMPLES_TEST_WORKERS=0`` runs
    everything in one process.
    """
    install(session, "docs", "test", "tensorboard")
    workers = os.environ.get("VGEXAMPLES_TEST_WORKERS", "auto")
    parallel = (
        [] if workers == "0" else ["-n", workers, "--maxprocesses", "4", "--dist", "loadfile"]
    )
    session.run("pytest", *parallel, *session.posargs, env=RUN_ENV)


# the site's build: warnings are errors, doctrees outside the published tree
SPHINX_BUILD = (
    "sphinx-build",
    "-W",
    "--keep-going",
    "-b",
    "html",
    "-d",
    str(DOCTREES),
    "docs",
    str(HTML),
)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the site into docs/_build/html, executing every example and page.

    Extra arguments go to sphinx-build, e.g. build one example only:
    ``nox -s docs -- -D sphinx_gallery_conf.filename_pattern=plot_01_activation``.
    """
    install(session, "docs")
    session.run(*SPHINX_BUILD, "-j", DOCS_JOBS, *session.posargs, env=RUN_ENV)
    session.log(f"site built: open {HTML / 'index.html'} or run `nox -s serve`")


@nox.session
def browser(session: nox.Session) -> None:
    """Open every page of the built site in headless Chromium (Debian's `chromium` package).

    Builds the site first (incremental: fast when it is up to date), serves it on localhost
    and checks each page; screenshots land in test-artifacts/.
    """
    install(session, "docs", "test", "browser")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        session.error("Chromium not found: install Debian's `chromium` package")
    session.run(*SPHINX_BUILD, "-q", env=RUN_ENV)
    session.run(
        "pytest",
        "tests/browser",
        f"--site={HTML}",
        f"--chromium={chromium}",
        *session.posargs,
        env=RUN_ENV,
    )


@nox.session
def downloads(session: nox.Session) -> None:
    """Run every example as a reader who downloads it would, and compare with its page.

    Serves the built site on localhost, fetches every example's zip over HTTP, unpacks it
    into an empty folder outside the checkout, installs into a new virtual environment with
    the commands of the example's "run this example yourself" box (torch, here, from
    ``constraints.txt``), runs the script, executes the notebook in a Jupyter kernel, and
    compares what both print with the output on the page, timings aside. Needs a built site
    (``nox -s docs``). ``nox -s downloads -- --only plot_01`` checks some examples only.
    """
    if not (HTML / "index.html").is_file():
        session.error("no built site: run `nox -s docs` first")
    session.install("-c", str(CONSTRAINTS), "nbclient", "nbformat")
    session.run(
        "python",
        "tests/downloads/check_downloads.py",
        "--site",
        str(HTML),
        "--constraints",
        str(CONSTRAINTS),
        *session.posargs,
    )


# LinkChecker run from Python with three changes to its command line:
# * started as root it switches to the `nobody` user, which could then no longer read a
#   checkout under /root; it only reads local files here, so it keeps the caller's user;
# * it treats every page.html#anchor as a page of its own (239 distinct links point into
#   api/experiments.html): a parsed page is kept and reused, not parsed again per anchor;
# * and it follows a page's own links once, not again for each #anchor pointing to it.
_LINKCHECKER = """
import functools, sys, threading
import linkcheck.command.linkchecker as cli
from linkcheck.checker.urlbase import UrlBase
from linkcheck.htmlutil import htmlsoup
cli.drop_privileges = lambda: None
htmlsoup.make_soup = functools.lru_cache(maxsize=64)(htmlsoup.make_soup)
followed, lock, allows = set(), threading.Lock(), UrlBase.allows_recursion
def allows_once(self):
    page = self.url.split("#", 1)[0]
    with lock:
        if page in followed or not allows(self):
            return False
        followed.add(page)
        return True
UrlBase.allows_recursion = allows_once
sys.exit(cli.linkchecker())
"""


@nox.session
def links(session: nox.Session) -> None:
    """Check every internal link and every anchor (``page.html#id``) of the built site.

    LinkChecker crawls the local tree from ``index.html`` over file:// URLs with its anchor
    check on (settings in ``tests/linkcheckerrc``); links to other hosts are never fetched.
    Any broken link or missing anchor fails the session. Needs a built site (``nox -s docs``).
    """
    if not (HTML / "index.html").is_file():
        session.error("no built site: run `nox -s docs` first")
    install(session, "links", project=False)
    session.run(
        "python",
        "-c",
        _LINKCHECKER,
        "--config",
        str(ROOT / "tests" / "linkcheckerrc"),
        "--no-status",
        (HTML / "index.html").as_uri(),
        *session.posargs,
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmark cold/no-op/incremental builds, examples, memory, watcher overhead, page weight.

    Deletes the build outputs first (the cold build is part of the benchmark). Writes
    benchmarks/results/bench.json and bench.md. Takes several cold builds' time.
    """
    install(session, "docs")
    session.run("python", "benchmarks/bench.py", *session.posargs, env=RUN_ENV)


@nox.session(name="docs-clean", venv_backend="none")
def docs_clean(session: nox.Session) -> None:
    """Delete every build output so that the next `nox -s docs` is a cold build."""
    generated = ("auto_examples", "jupyter_execute", "gen_modules")
    for path in (BUILD, *(ROOT / "docs" / name for name in generated)):
        if path.exists():
            session.log(f"removing {path.relative_to(ROOT)}")
            shutil.rmtree(path)


@nox.session(venv_backend="none")
def serve(session: nox.Session) -> None:
    """Serve the built site on localhost (default port 8000; `nox -s serve -- 8080`)."""
    if not (HTML / "index.html").is_file():
        session.error("no built site: run `nox -s docs` first")
    port = session.posargs[0] if session.posargs else "8000"
    session.log(f"serving {HTML} at http://127.0.0.1:{port}/ (Ctrl+C stops)")
    session.run(
        "python",
        "-m",
        "http.server",
        port,
        "--bind",
        "127.0.0.1",
        "--directory",
        str(HTML),
        external=True,
    )


@nox.session(name="docs-live")
def docs_live(session: nox.Session) -> None:
    """Live-reloading preview on http://127.0.0.1:8000 while you edit pages or examples."""
    install(session, "docs", "live")
    session.run(
        "sphinx-autobuild",
        "-d",
        str(DOCTREES),
        "docs",
        str(BUILD / "live"),
        "--host",
        "127.0.0.1",
        "--port",
        "8000",
        "--watch",
        "gallery",
        "--watch",
        "vgexamples",
        "--ignore",
        "*/auto_examples/*",
        "--ignore",
        "*/jupyter_execute/*",
        "--ignore",
        "*/gen_modules/*",
        *session.posargs,
        env=RUN_ENV,
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: formatting check and lint over the whole project."""
    session.install("-c", str(CONSTRAINTS), "ruff")
    session.run("ruff", "format", "--check", ".")
    session.run("ruff", "check", ".")
