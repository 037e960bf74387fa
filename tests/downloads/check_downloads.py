"""Check that every gallery example's download runs on a fresh machine and prints its numbers.

Usage (the ``downloads`` nox session runs it after ``nox -s docs``)::

    python tests/downloads/check_downloads.py --site docs/_build/html --constraints constraints.txt

The built site is served over HTTP on 127.0.0.1 and every file is fetched from there, as a
reader's browser would. For each example page the check downloads the example's zip, unpacks
it into an empty temporary folder, installs it by running the commands of the page's "run this
example yourself" box (CPU variant), then runs the script and executes the notebook in a Jupyter
kernel of that environment. Both must print what the page shows, timings aside. Examples whose
``requirements.txt`` and wheel are identical share one environment.

Besides, it checks the published wheel against ``dist/SHA256SUMS``, that a script run without
the libraries fails with a message that says how to install them (not a traceback), and the
contents of the two download-all zips of the gallery index.

Only the standard library, ``nbformat``, ``nbclient`` and ``jupyter_client`` are needed. The
functions at module level that parse, rewrite or compare text are pure and unit-tested
(``tests/test_downloads_check.py``); :class:`Checker` does the work that needs a network,
processes and time.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import difflib
import functools
import hashlib
import http.server
import io
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath

INDEX = "auto_examples/index.html"
TIMES = "_static/execution_times.json"
SUMS = "dist/SHA256SUMS"
DIST_REQUIREMENTS = "dist/requirements.txt"
INSTALL_LINE = "%pip install -r requirements.txt"
MISSING_LIBRARY_HINT = "pip install -r requirements.txt"
KERNEL_NAME = "vgdl"
# The variables the site is built with: the runs here must see the same.
RUN_VARIABLES = {"MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "2"}
WHEEL_PATTERN = re.compile(r"vgexamples-[^/\\\s]+-py3-none-any\.whl")
TAIL_LINES = 30


class CheckError(Exception):
    """Something the check cannot go on without (an unreadable page, a missing file)."""


class EnvironmentFailure(CheckError):
    """An environment could not be installed or is not isolated: every later run would fail."""


# -- HTML -----------------------------------------------------------------------------------

_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())


class _PageParser(HTMLParser):
    """Collect every ``<pre>`` text and ``<a href>`` with the classes of the elements around it.

    Each entry is ``(classes, value)`` where ``classes`` is the union of the ``class`` tokens of
    the element itself and of all its open ancestors. Character references are decoded; tags
    inside a ``<pre>`` are dropped, their text kept.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._open: list[tuple[str, frozenset[str]]] = []
        self._pre: list[str] | None = None
        self._pre_at = 0
        self._pre_classes: frozenset[str] = frozenset()
        self.pres: list[tuple[frozenset[str], str]] = []
        self.links: list[tuple[frozenset[str], str]] = []

    def _classes(self, own: frozenset[str] = frozenset()) -> frozenset[str]:
        return own.union(*(classes for _, classes in self._open))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        own = frozenset((values.get("class") or "").split())
        if tag == "a" and values.get("href") is not None:
            self.links.append((self._classes(own), values["href"] or ""))
        if tag in _VOID:
            return
        self._open.append((tag, own))
        if tag == "pre" and self._pre is None:
            self._pre = []
            self._pre_at = len(self._open) - 1
            self._pre_classes = self._classes()

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                if self._pre is not None and i <= self._pre_at:
                    self.pres.append((self._pre_classes, "".join(self._pre)))
                    self._pre = None
                del self._open[i:]
                return

    def handle_data(self, data: str) -> None:
        if self._pre is not None:
            self._pre.append(data)


def _parse(page_html: str) -> _PageParser:
    parser = _PageParser()
    parser.feed(page_html)
    parser.close()
    return parser


def parse_output_text(page_html: str) -> str:
    """The text of a gallery page's output blocks (``div.sphx-glr-script-out``), in page order.

    Tags are stripped and character references decoded; every block ends with a newline. The
    result is what the example's script wrote to stdout, as the page shows it ("" when the page
    has no output block).
    """
    blocks = [text for classes, text in _parse(page_html).pres if "sphx-glr-script-out" in classes]
    return "".join(block if block.endswith("\n") else block + "\n" for block in blocks)


def parse_download_link(page_html: str, kind: str = "zip") -> str:
    """The ``href`` of an example page's download link of ``kind`` (``zip``, ``jupyter``,
    ``python``): the link inside ``div.sphx-glr-download-<kind>``, as written (relative).

    Raises :class:`CheckError` when the page has no such link or several different ones.
    """
    marker = f"sphx-glr-download-{kind}"
    hrefs = list(dict.fromkeys(href for cls, href in _parse(page_html).links if marker in cls))
    if len(hrefs) != 1:
        found = "no" if not hrefs else f"{len(hrefs)} different"
        raise CheckError(f"{found} download links in div.{marker}")
    return hrefs[0]


def parse_run_commands(page_html: str, variant: str = "cpu") -> list[str]:
    """The shell commands of the page's "run this example yourself" box, ``variant`` block.

    The block is the ``<pre>`` inside ``div.vgsite-run-<variant>`` inside ``div.vgsite-run``.
    Its lines are returned with comments stripped (:func:`strip_comment`), a leading ``$``
    prompt removed, backslash continuations joined and empty lines dropped. Raises
    :class:`CheckError` when the page has no such block or several.
    """
    wanted = {"vgsite-run", f"vgsite-run-{variant}"}
    blocks = [text for classes, text in _parse(page_html).pres if wanted <= classes]
    if len(blocks) != 1:
        found = "no" if not blocks else f"{len(blocks)}"
        raise CheckError(
            f"{found} code blocks in div.vgsite-run > div.vgsite-run-{variant} "
            "(the 'run this example yourself' box)"
        )
    lines: list[str] = []
    pending = ""
    for raw in blocks[0].splitlines():
        line = strip_comment(raw).strip()
        if line.startswith("$ "):
            line = line[2:].lstrip()
        line = pending + line
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        pending = ""
        if line:
            lines.append(line)
    if pending.strip():
        lines.append(pending.strip())
    return lines


def parse_example_links(index_html: str) -> list[str]:
    """The example pages a gallery index links to: relative hrefs whose file name starts with
    ``plot_`` and ends with ``.html`` (fragment and query dropped), deduplicated, in page order.
    """
    found: dict[str, None] = {}
    for _, href in _parse(index_html).links:
        path = urllib.parse.urlsplit(href).path
        name = PurePosixPath(path).name
        if name.startswith("plot_") and name.endswith(".html"):
            found.setdefault(path, None)
    return list(found)


def parse_download_all_links(index_html: str) -> dict[str, str]:
    """The gallery index's download-all links: ``{"python": href, "jupyter": href}`` for the
    hrefs ending ``auto_examples_python.zip`` and ``auto_examples_jupyter.zip`` (a kind missing
    from the page is missing from the result)."""
    found: dict[str, str] = {}
    for _, href in _parse(index_html).links:
        for kind in ("python", "jupyter"):
            if href.endswith(f"auto_examples_{kind}.zip"):
                found.setdefault(kind, href)
    return found


# -- shell commands -------------------------------------------------------------------------


def strip_comment(line: str) -> str:
    """``line`` without its shell comment: a ``#`` that starts a word outside quotes begins a
    comment that runs to the end of the line. Trailing whitespace is removed."""
    quote = ""
    escaped = False
    word_start = True  # at the start of the line or after unquoted, unescaped whitespace
    for i, char in enumerate(line):
        at_start, word_start = word_start, False
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and at_start:
            return line[:i].rstrip()
        elif char.isspace():
            word_start = True
    return line.rstrip()


def split_shell(line: str) -> list[tuple[str, str]]:
    """Split a shell line into simple commands: ``[(command text, operator after it), ...]``.

    Operators are ``&&``, ``||``, ``;``, ``|`` and ``&`` outside quotes; the last command's
    operator is "". Joining every text and operator gives ``line`` back.
    """
    parts: list[tuple[str, str]] = []
    quote = ""
    escaped = False
    start = i = 0
    while i < len(line):
        char = line[i]
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "&|;":
            op = line[i : i + 2] if line[i : i + 2] in ("&&", "||") else char
            parts.append((line[start:i], op))
            i += len(op)
            start = i
            continue
        i += 1
    parts.append((line[start:], ""))
    return parts


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def _is_pip_install(words: Sequence[str]) -> bool:
    if words[:2] in (["pip", "install"], ["pip3", "install"]):
        return True
    return (
        bool(words)
        and re.fullmatch(r"python3?", words[0]) is not None
        and (list(words[1:4]) == ["-m", "pip", "install"])
    )


_INDEX_OPTION = re.compile(
    r"\s+(?:--index-url|--extra-index-url|-i)(?:=|\s+)(?:\"[^\"]*\"|'[^']*'|\S+)"
)


def substitute_pip(line: str, constraints: str) -> str:
    """Rewrite the ``pip install`` commands of a shell line to install from ``constraints``.

    Every ``pip install`` (also ``pip3`` and ``python -m pip``) gets ``-c <constraints>`` right
    after ``install``, and loses its ``--index-url``/``--extra-index-url``/``-i`` options:
    the machine that checks the downloads installs the project's pinned torch from its own
    package sources, not the CPU index the box names. Other commands are left as written.
    """
    out = []
    for command, op in split_shell(line):
        if _is_pip_install(_words(command)):
            command = _INDEX_OPTION.sub("", command)
            command = re.sub(
                r"\binstall\b",
                lambda m: f"install -c {shlex.quote(constraints)}",
                command,
                count=1,
            )
        out.append(command + op)
    return "".join(out)


_RUN_LINE = re.compile(r"python3?\s+[^-\s]")


def split_run_commands(lines: Sequence[str]) -> tuple[list[str], str]:
    """Split a box's commands into the setup lines and the line that runs the example.

    The run lines are the trailing lines that start ``python <script>`` (not ``python -m``);
    the example is run by the last of them, everything before them sets up the environment.
    Raises :class:`CheckError` when the box ends with no such line.
    """
    end = len(lines)
    while end and _RUN_LINE.match(lines[end - 1]):
        end -= 1
    if end == len(lines):
        raise CheckError("the box's commands do not end with a `python <script>` line")
    return list(lines[:end]), lines[-1]


def venv_dir(setup_lines: Sequence[str]) -> str:
    """The folder the box's ``python -m venv <dir>`` creates (the last such command), or
    ``.venv`` when the box creates none."""
    found = ".venv"
    for line in setup_lines:
        for command, _ in split_shell(line):
            words = _words(command)
            if (
                len(words) >= 4
                and re.fullmatch(r"python3?", words[0])
                and words[1:3]
                == [
                    "-m",
                    "venv",
                ]
            ):
                args = [w for w in words[3:] if not w.startswith("-")]
                if args:
                    found = args[-1]
    return found


def clean_env(base: Mapping[str, str], venv: Path | None = None) -> dict[str, str]:
    """The environment the example runs get: ``base`` without ``VGEXAMPLES_*``, ``PYTHONPATH``,
    ``PYTHONHOME`` and ``VIRTUAL_ENV``, with the site's build variables (:data:`RUN_VARIABLES`)
    and, when given, ``venv`` activated (its ``bin`` first on ``PATH``, ``VIRTUAL_ENV`` set).
    """
    env = {
        key: value
        for key, value in base.items()
        if not key.startswith("VGEXAMPLES_")
        and key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    }
    env.update(RUN_VARIABLES)
    if venv is not None:
        path = env.get("PATH", "")
        env["PATH"] = str(venv / "bin") + (os.pathsep + path if path else "")
        env["VIRTUAL_ENV"] = str(venv)
    return env


# -- comparing output -----------------------------------------------------------------------

_NUMBER = r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_TIMING = re.compile(rf"(?<![\w.]){_NUMBER} ?(?:ms|µs|μs|us|sec|seconds|s)(?:/step)?(?!\w)")
_RATIO = re.compile(rf"(<t>\s*)\({_NUMBER}x\)")
_TIME_HEADER = re.compile(r"\((?:ms|s)\)|\bms\b|\bseconds\b")
_NUMERIC_CELL = re.compile(rf"[-+]?{_NUMBER}")
_RULE = re.compile(r"[\s|+:]*[-=][-=\s|+:]*")
MASK = "<t>"


def mask_line(line: str) -> str:
    """Mask the timings in one line: a number with a time unit (``ms``, ``s``, ``µs``, ``us``,
    ``sec``, ``seconds``, optionally ``/step``) becomes ``<t>``, and a speed ratio right after
    one, ``(27.56x)``, becomes ``(<t>x)``. Other numbers are left alone."""
    line = _TIMING.sub(MASK, line)
    return _RATIO.sub(rf"\g<1>({MASK}x)", line)


def mask_tables(lines: Sequence[str]) -> list[str]:
    """Mask the timing columns of ``|``-separated tables.

    A header line is one with ``|``-separated cells, none of them a number, of which at least
    one names a time unit (``(ms)``, ``(s)``, the word ``ms`` or ``seconds``). In the lines that
    follow it with the same number of cells (rules of ``-``, ``=``, ``+`` between them are
    skipped), a numeric cell of such a column becomes ``<t>``.
    The header and those rows are rewritten with their cells stripped and joined by `` | `` (so
    that a wider timing cannot shift the alignment); every other line is returned unchanged.
    """
    out = list(lines)
    i = 0
    while i < len(out):
        cells = out[i].split("|")
        timed = [j for j, cell in enumerate(cells) if _TIME_HEADER.search(cell)]
        numeric = any(_NUMERIC_CELL.fullmatch(cell.strip()) for cell in cells)
        if len(cells) < 2 or not timed or numeric:
            i += 1
            continue
        out[i] = " | ".join(cell.strip() for cell in cells)
        i += 1
        while i < len(out):
            if _RULE.fullmatch(out[i]):  # a rule under the header: the table goes on
                i += 1
                continue
            row = out[i].split("|")
            if len(row) != len(cells):
                break
            row = [cell.strip() for cell in row]
            for j in timed:
                if _NUMERIC_CELL.fullmatch(row[j]):
                    row[j] = MASK
            out[i] = " | ".join(row)
            i += 1
    return out


def normalize(text: str) -> list[str]:
    """The lines of an output to compare: timings masked (:func:`mask_tables`, then
    :func:`mask_line`), leading and trailing whitespace removed, empty lines dropped.

    Leading whitespace is not compared because a page does not keep it: Sphinx removes the
    indentation common to all lines of an output block, so a block whose lines all start
    with a space shows them one space further left than the script printed them.
    """
    lines = [mask_line(line) for line in mask_tables(text.splitlines())]
    return [line.strip() for line in lines if line.strip()]


@dataclass
class Difference:
    """Where two normalized outputs first differ (0-based line numbers; a line is None where
    one output has no line there) and how many lines differ in all."""

    expected_line: int
    actual_line: int
    expected: str | None
    actual: str | None
    count: int

    def describe(self) -> str:
        """A short report: the first differing pair and the count of differing lines."""
        return (
            f"{self.count} line(s) differ; first at page line {self.expected_line + 1}:\n"
            f"      page: {self.expected!r}\n"
            f"       run: {self.actual!r}"
        )


def first_difference(expected: Sequence[str], actual: Sequence[str]) -> Difference | None:
    """Compare two normalized outputs line by line (None when they are identical).

    The count is of lines in the changed regions of a line diff, the larger side of each
    region, so an inserted line counts once rather than shifting every later line.
    """
    if list(expected) == list(actual):
        return None
    matcher = difflib.SequenceMatcher(a=list(expected), b=list(actual), autojunk=False)
    changes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    count = sum(max(i2 - i1, j2 - j1) for _, i1, i2, j1, j2 in changes)
    _, i1, i2, j1, j2 = changes[0]
    return Difference(
        expected_line=i1,
        actual_line=j1,
        expected=expected[i1] if i1 < i2 else None,
        actual=actual[j1] if j1 < j2 else None,
        count=count,
    )


def notebook_text(nb: Mapping) -> str:
    """What an executed notebook printed, as the page would show it.

    The first code cell must be the install cell (a line ``%pip install -r
    requirements.txt``, not commented out) and must not have failed (pip's ``ERROR`` lines);
    its output is pip's and is not compared. From every other code cell, in
    order: ``stream`` outputs named ``stdout`` and the ``text/plain`` of ``execute_result``
    outputs (each on lines of its own). Raises ValueError when the install cell is missing.
    """
    code = [cell for cell in nb.get("cells", []) if cell.get("cell_type") == "code"]
    source = _joined(code[0].get("source", "")) if code else ""
    if INSTALL_LINE not in [strip_comment(line).strip() for line in source.splitlines()]:
        raise ValueError(f"the notebook's first code cell is not the install cell ({INSTALL_LINE})")
    # IPython's %pip does not raise when pip fails: read what pip said
    for output in code[0].get("outputs", []):
        said = _joined(output.get("text", ""))
        if output.get("output_type") == "error" or re.search(r"^ERROR\b", said, re.MULTILINE):
            raise ValueError("the notebook's install cell failed:\n" + tail(said or str(output)))
    text = ""
    for cell in code[1:]:
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream" and output.get("name") == "stdout":
                text += _joined(output.get("text", ""))
            elif kind == "execute_result" and "text/plain" in output.get("data", {}):
                if text and not text.endswith("\n"):
                    text += "\n"
                text += _joined(output["data"]["text/plain"]).rstrip("\n") + "\n"
    return text


def _joined(value: str | Sequence[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


# -- downloads ------------------------------------------------------------------------------


def sha256(data: bytes) -> str:
    """The hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def group_key(requirements: bytes, wheel: bytes) -> str:
    """The key of an example's environment: examples with the same ``requirements.txt`` and the
    same wheel (byte for byte) share one. SHA-256 of both, separated by a NUL byte."""
    digest = hashlib.sha256(requirements)
    digest.update(b"\0")
    digest.update(wheel)
    return digest.hexdigest()


def parse_sha256sums(text: str) -> dict[str, str]:
    """``{file name: hex digest}`` from ``sha256sum`` output (``<hex>  <name>`` or
    ``<hex> *<name>`` per line). Raises ValueError on a line of another form."""
    sums = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = re.fullmatch(r"([0-9a-fA-F]{64}) [ *](.+)", line.strip())
        if not match:
            raise ValueError(f"line {number} is not '<sha256>  <file>': {line!r}")
        sums[match.group(2)] = match.group(1).lower()
    return sums


def check_example_zip(names: Sequence[str], stem: str) -> tuple[str | None, list[str]]:
    """Check the member names of an example's zip: exactly ``<stem>.py``, ``<stem>.ipynb``,
    ``requirements.txt`` and one ``vgexamples-<version>-py3-none-any.whl``, all at the top.

    Returns the wheel's name (None if there is not exactly one) and the problems found.
    """
    problems = []
    expected = {f"{stem}.py", f"{stem}.ipynb", "requirements.txt"}
    wheels = [name for name in names if WHEEL_PATTERN.fullmatch(name)]
    missing = sorted(expected - set(names))
    extra = sorted(set(names) - expected - set(wheels))
    if missing:
        problems.append(f"zip lacks {', '.join(missing)}")
    if extra:
        problems.append(f"zip holds unexpected files: {', '.join(extra)}")
    if len(wheels) != 1:
        problems.append(f"zip holds {len(wheels)} vgexamples wheels, expected 1")
    return (wheels[0] if len(wheels) == 1 else None), problems


def check_requirements(text: str, wheel: str) -> list[str]:
    """Check a download's ``requirements.txt``: it installs the bundled wheel (``./<wheel>``),
    gives torch as a floor (``torch>=...``), not as a pin, and pins everything else
    (``name==version``). Returns the problems found."""
    lines = [strip_comment(line).strip() for line in text.splitlines()]
    problems = []
    if f"./{wheel}" not in lines:
        problems.append(f"requirements.txt does not install ./{wheel}")
    if not any(re.fullmatch(r"torch\s*>=\s*\S+", line) for line in lines):
        problems.append("requirements.txt does not give torch as a floor (torch>=...)")
    unpinned = [
        line
        for line in lines
        if line
        and line != f"./{wheel}"
        and not line.startswith("torch")
        and not re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+!-]+", line)
    ]
    if unpinned:
        problems.append(f"requirements.txt does not pin: {', '.join(unpinned)}")
    return problems


def check_download_all(names: Sequence[str], kind: str, examples: Sequence[str]) -> list[str]:
    """Check the member names of a download-all zip of ``kind`` (``python`` or ``jupyter``).

    ``examples`` are the examples' names (``plot_01_x``). The zip must be flat, every file
    beside ``requirements.txt`` (which installs the wheel from the same folder), and hold one
    vgexamples wheel and exactly one ``.py`` (resp. ``.ipynb``) per example. Returns the
    problems found.
    """
    suffix = {"python": ".py", "jupyter": ".ipynb"}[kind]
    problems = []
    if "requirements.txt" not in names:
        problems.append("lacks requirements.txt")
    nested = [name for name in names if "/" in name]
    if nested:
        problems.append(f"holds files in subfolders, away from requirements.txt: {nested[0]}")
    wheels = [name for name in names if WHEEL_PATTERN.fullmatch(name)]
    if len(wheels) != 1:
        problems.append(f"holds {len(wheels)} vgexamples wheels, expected 1")
    held = {name[: -len(suffix)] for name in names if name.endswith(suffix) and "/" not in name}
    missing = sorted(set(examples) - held)
    extra = sorted(held - set(examples))
    if missing:
        problems.append(f"lacks {', '.join(m + suffix for m in missing)}")
    if extra:
        problems.append(f"holds files of no example page: {', '.join(e + suffix for e in extra)}")
    return problems


def cross_check_examples(examples: Sequence[str], times: Sequence[Mapping]) -> list[str]:
    """Compare the examples linked from the gallery index (site paths without ``.html``) with
    those in ``execution_times.json``. Returns the problems (each side's extras)."""
    timed = {row.get("example") for row in times}
    problems = []
    for name in sorted(timed - set(examples)):
        problems.append(f"{name} is in {TIMES} but not linked from {INDEX}")
    for name in sorted(set(examples) - timed):
        problems.append(f"{name} is linked from {INDEX} but not in {TIMES}")
    return problems


def safe_extract(archive: zipfile.ZipFile, folder: Path) -> None:
    """Unpack ``archive`` into ``folder``, refusing members that would land outside it."""
    root = folder.resolve()
    for name in archive.namelist():
        target = (root / name).resolve()
        if target != root and root not in target.parents:
            raise CheckError(f"zip member {name!r} would unpack outside its folder")
    archive.extractall(root)


def tail(text: str, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of ``text``, indented for a report."""
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


# -- the check ------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(site: Path) -> Iterator[str]:
    """Serve ``site`` on 127.0.0.1 (a free port) in a daemon thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class Run:
    """One finished process: exit status, output and seconds."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float


@dataclass
class ExampleResult:
    """What the check found for one example."""

    example: str
    page: str
    install: str = "-"
    install_seconds: float | None = None
    script_seconds: float | None = None
    notebook_seconds: float | None = None
    lines: int | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "FAIL" if self.failures else "ok"


@dataclass
class Environment:
    """An installed environment and the example that installed it."""

    venv: Path
    python: Path
    kernel_python: Path
    installed_by: str


class Checker:
    """Check a served site's downloads. ``base_url`` is the site root (ending ``/``).

    The steps that create environments and run code are methods, so that a test can replace
    the slow ones (installing torch, ipykernel) with fast stand-ins.
    """

    def __init__(
        self,
        base_url: str,
        constraints: Path,
        workdir: Path,
        timeout: float = 900,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.base_url = base_url
        self.constraints = constraints.resolve()
        self.workdir = workdir
        self.timeout = timeout
        self.log = log or functools.partial(print, flush=True)
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self.environments: dict[str, Environment] = {}
        self.failures: list[str] = []
        self.results: list[ExampleResult] = []
        self.published: tuple[str, str] | None = None  # (wheel name, sha256)
        self.missing_library_checked = False
        self.scripts_run = 0
        self.notebooks_executed = 0
        self.stopped = ""

    # -- fetching

    def url(self, path: str) -> str:
        """The URL of a site path (relative to the site root)."""
        return urllib.parse.urljoin(self.base_url, path)

    def site_path(self, url: str) -> str:
        """The site path of a URL on the served site."""
        path = urllib.parse.urlsplit(url).path
        root = urllib.parse.urlsplit(self.base_url).path
        return urllib.parse.unquote(path[len(root) :] if path.startswith(root) else path)

    def fetch(self, url: str) -> bytes:
        """Fetch ``url`` (absolute, or a site path) over HTTP; :class:`CheckError` if it fails."""
        if "://" not in url:
            url = self.url(url)
        try:
            with self.opener.open(url, timeout=60) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            raise CheckError(f"{self.site_path(url)}: HTTP {error.code}") from None
        except urllib.error.URLError as error:
            raise CheckError(f"{url}: {error.reason}") from None

    # -- site-wide checks

    def read_index(self) -> tuple[str, list[str]]:
        """Fetch the gallery index; return its URL and the example page URLs it links to."""
        index_url = self.url(INDEX)
        try:
            index = self.fetch(index_url).decode("utf-8")
        except CheckError as error:
            raise CheckError(f"{error} (build the site first: nox -s docs)") from None
        pages = [urllib.parse.urljoin(index_url, href) for href in parse_example_links(index)]
        if not pages:
            raise CheckError(f"{INDEX} links to no example page (plot_*.html)")
        self.index_url, self.index_html = index_url, index
        try:
            times = json.loads(self.fetch(TIMES))
        except (CheckError, ValueError) as error:
            self.failures.append(f"{TIMES}: {error}")
        else:
            examples = [self.site_path(page).removesuffix(".html") for page in pages]
            self.failures += cross_check_examples(examples, times)
        return index_url, pages

    def check_published_wheel(self) -> None:
        """Check the wheel in ``dist/`` against ``dist/SHA256SUMS``; remember its name and hash."""
        try:
            sums = parse_sha256sums(self.fetch(SUMS).decode("utf-8"))
        except (CheckError, ValueError) as error:
            self.failures.append(f"{SUMS}: {error}")
            return
        wheels = [name for name in sums if WHEEL_PATTERN.fullmatch(name)]
        if len(wheels) != 1:
            self.failures.append(f"{SUMS} lists {len(wheels)} vgexamples wheels, expected 1")
            return
        name = wheels[0]
        try:
            digest = sha256(self.fetch(f"dist/{name}"))
        except CheckError as error:
            self.failures.append(str(error))
            return
        if digest != sums[name]:
            self.failures.append(f"dist/{name}: sha256 {digest} but {SUMS} says {sums[name]}")
            return
        self.published = (name, digest)
        self.log(f"published wheel dist/{name}: sha256 {digest[:16]}... matches {SUMS}")
        try:
            problems = check_requirements(self.fetch(DIST_REQUIREMENTS).decode("utf-8"), name)
        except CheckError as error:
            problems = [str(error)]
        self.failures += [f"{DIST_REQUIREMENTS}: {p}" for p in problems]

    def check_download_all_zips(self, pages: Sequence[str]) -> None:
        """Check the two download-all zips linked from the gallery index."""
        examples = [PurePosixPath(self.site_path(page)).stem for page in pages]
        links = parse_download_all_links(self.index_html)
        for kind in ("python", "jupyter"):
            if kind not in links:
                self.failures.append(f"{INDEX} has no auto_examples_{kind}.zip link")
                continue
            url = urllib.parse.urljoin(self.index_url, links[kind])
            try:
                data = self.fetch(url)
                archive = zipfile.ZipFile(io.BytesIO(data))
            except (CheckError, zipfile.BadZipFile) as error:
                self.failures.append(f"auto_examples_{kind}.zip: {error}")
                continue
            names = archive.namelist()
            problems = check_download_all(names, kind, examples)
            wheels = [name for name in names if WHEEL_PATTERN.fullmatch(name)]
            if len(wheels) == 1 and self.published:
                if sha256(archive.read(wheels[0])) != self.published[1]:
                    problems.append(f"its {wheels[0]} is not the published wheel")
            self.failures += [f"auto_examples_{kind}.zip: {p}" for p in problems]
            self.log(
                f"auto_examples_{kind}.zip: {len(names)} files"
                + (f", {len(problems)} problem(s)" if problems else ", as expected")
            )

    # -- one example

    def check_example(self, page_url: str) -> ExampleResult:
        """Download, install, run and compare one example. Failures are recorded in the result;
        an environment that cannot be installed raises :class:`EnvironmentFailure`."""
        page = self.site_path(page_url)
        stem = PurePosixPath(page).stem
        result = ExampleResult(example=str(PurePosixPath(page).with_suffix("")), page=page)
        self.results.append(result)
        try:
            html_text = self.fetch(page_url).decode("utf-8")
            expected = normalize(parse_output_text(html_text))
            zip_url = urllib.parse.urljoin(page_url, parse_download_link(html_text, "zip"))
            data = self.fetch(zip_url)
        except CheckError as error:
            result.failures.append(str(error))
            return result
        try:
            setup, run_line = split_run_commands(parse_run_commands(html_text, "cpu"))
        except CheckError as error:
            result.failures.append(str(error))
            setup, run_line = [], ""
        if run_line and f"{stem}.py" not in [PurePosixPath(w).name for w in _words(run_line)]:
            result.failures.append(f"the box runs `{run_line}`, not {stem}.py")
        unpacked = self.unpack(PurePosixPath(zip_url).name, data, stem, result)
        if unpacked is None or not run_line:
            return result
        folder, key = unpacked
        if not self.missing_library_checked:
            self.missing_library_checked = True
            self.failures += self.check_missing_library(folder, f"{stem}.py")
        environment = self.environment_for(key, folder, setup, result)
        result.lines = len(expected)
        self.compare_runs(folder, stem, run_line, environment, expected, result)
        return result

    def unpack(
        self, name: str, data: bytes, stem: str, result: ExampleResult
    ) -> tuple[Path, str] | None:
        """Check an example's zip and unpack it into a new empty folder.

        Returns the folder and the environment key (:func:`group_key`), or None when the zip
        cannot be used (the reasons go to ``result``).
        """
        folder = Path(tempfile.mkdtemp(prefix=f"{stem}-", dir=self.workdir))
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            wheel, problems = check_example_zip(archive.namelist(), stem)
            result.failures += problems
            safe_extract(archive, folder)
        except (zipfile.BadZipFile, CheckError) as error:
            result.failures.append(f"{name}: {error}")
            return None
        needed = ["requirements.txt", f"{stem}.py"]
        if wheel is None or not all((folder / n).is_file() for n in needed):
            return None
        wheel_bytes = (folder / wheel).read_bytes()
        requirements = (folder / "requirements.txt").read_bytes()
        result.failures += check_requirements(requirements.decode("utf-8"), wheel)
        if self.published and (wheel, sha256(wheel_bytes)) != self.published:
            result.failures.append(
                f"the zip's {wheel} is not the published dist/{self.published[0]}"
            )
        self.log(f"  unpacked {name} into {folder}")
        return folder, group_key(requirements, wheel_bytes)

    def environment_for(
        self, key: str, folder: Path, setup: Sequence[str], result: ExampleResult
    ) -> Environment:
        """The environment of the examples with ``key``: installed now for the first of them."""
        environment = self.environments.get(key)
        if environment is not None:
            result.install = "reused"
            self.log(f"  reusing the environment of {environment.installed_by}")
            return environment
        started = time.perf_counter()
        environment = self.create_environment(folder, setup, result.example)
        result.install_seconds = time.perf_counter() - started
        result.install = f"{result.install_seconds:.1f} s"
        self.environments[key] = environment
        self.log(f"  environment installed in {result.install_seconds:.1f} s")
        return environment

    def compare_runs(
        self,
        folder: Path,
        stem: str,
        run_line: str,
        environment: Environment,
        expected: list[str],
        result: ExampleResult,
    ) -> None:
        """Run the script and the notebook; compare what each printed with ``expected``.

        The two run side by side: every example runs PyTorch on one thread
        (``vgexamples.runtime.configure``), so on two cores neither waits for the other, and
        the numbers do not depend on it.
        """
        env = clean_env(os.environ, environment.venv)
        notebook = folder / f"{stem}.ipynb"
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            script_run = pool.submit(self.run_script, folder, run_line, env)
            if notebook.is_file():  # else check_example_zip reported it
                started = time.perf_counter()
                text, error = self.run_notebook(notebook, environment, env)
                result.notebook_seconds = time.perf_counter() - started
            run = script_run.result()
        result.script_seconds = run.seconds
        if run.returncode != 0:
            result.failures.append(
                f"script: `{run_line}` exited with {run.returncode}; stderr ends:\n"
                + tail(run.stderr)
            )
        else:
            self.scripts_run += 1
            self.log(f"  script ran in {run.seconds:.1f} s")
            difference = first_difference(expected, normalize(run.stdout))
            if difference:
                result.failures.append(
                    "script output differs from the page: " + difference.describe()
                )
        if not notebook.is_file():
            return
        if error:
            result.failures.append(f"notebook: {error}")
            return
        self.notebooks_executed += 1
        self.log(f"  notebook executed in {result.notebook_seconds:.1f} s")
        difference = first_difference(expected, normalize(text))
        if difference:
            result.failures.append(
                "notebook output differs from the page: " + difference.describe()
            )

    # -- the steps that run code (replaceable in tests)

    def _run(self, args: Sequence[str], cwd: Path, env: Mapping[str, str]) -> Run:
        """Run ``args`` in its own process group; past the timeout, kill the whole group."""
        started = time.perf_counter()
        process = subprocess.Popen(
            list(args),
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            stderr += f"\n(killed after {self.timeout:.0f} s)"
            return Run(124, stdout, stderr, time.perf_counter() - started)
        return Run(process.returncode, stdout, stderr, time.perf_counter() - started)

    def create_environment(self, folder: Path, setup: Sequence[str], example: str) -> Environment:
        """Install an environment as the box says (pip lines rewritten by
        :func:`substitute_pip`), add ipykernel and check that it does not see the repository."""
        lines = [substitute_pip(line, str(self.constraints)) for line in setup]
        venv = (folder / venv_dir(setup)).resolve()
        self.log("  installing:\n" + "\n".join("    " + line for line in lines))
        run = self._run(["bash", "-e", "-c", "\n".join(lines)], folder, clean_env(os.environ, venv))
        if run.returncode != 0:
            raise EnvironmentFailure(
                f"installing the environment failed (exit {run.returncode}); output ends:\n"
                + tail(run.stdout + run.stderr)
            )
        python = venv / "bin" / "python"
        if not python.exists():
            raise EnvironmentFailure(f"the box's commands created no environment at {venv}")
        environment = Environment(venv, python, self.kernel_python(venv, folder), example)
        self.check_isolation(environment, folder)
        return environment

    def kernel_python(self, venv: Path, folder: Path) -> Path:
        """Install ipykernel into ``venv`` (a reader who opens the notebook has Jupyter) and
        return the Python the notebook kernel runs."""
        python = venv / "bin" / "python"
        run = self._run(
            [str(python), "-m", "pip", "install", "-c", str(self.constraints), "ipykernel"],
            folder,
            clean_env(os.environ, venv),
        )
        if run.returncode != 0:
            raise EnvironmentFailure(
                "installing ipykernel failed; output ends:\n" + tail(run.stdout + run.stderr)
            )
        return python

    def check_isolation(self, environment: Environment, folder: Path) -> None:
        """The environment must import ``vgexamples`` from its own site-packages."""
        run = self._run(
            [str(environment.python), "-c", "import vgexamples; print(vgexamples.__file__)"],
            folder,
            clean_env(os.environ, environment.venv),
        )
        if run.returncode != 0:
            raise EnvironmentFailure(
                "the environment cannot import vgexamples:\n" + tail(run.stderr)
            )
        location = Path(run.stdout.strip()).resolve()
        venv = environment.venv.resolve()
        if venv not in location.parents or "site-packages" not in location.parts:
            raise EnvironmentFailure(
                f"the environment imports vgexamples from {location}, not from {venv}'s "
                "site-packages"
            )
        self.log(f"  vgexamples comes from {location}")

    def run_script(self, folder: Path, run_line: str, env: Mapping[str, str]) -> Run:
        """Run the box's run line in ``folder`` with the environment activated."""
        return self._run(["bash", "-e", "-c", run_line], folder, env)

    def run_notebook(
        self, notebook: Path, environment: Environment, env: Mapping[str, str]
    ) -> tuple[str, str | None]:
        """Execute ``notebook`` in a Jupyter kernel of ``environment`` (cwd: its folder).

        Returns the text it printed (:func:`notebook_text`) and an error message, or None.
        """
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError

        kernels = Path(tempfile.mkdtemp(prefix="kernels-", dir=self.workdir))
        spec = kernels / "kernels" / KERNEL_NAME
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": [
                        str(environment.kernel_python),
                        "-m",
                        "ipykernel_launcher",
                        "-f",
                        "{connection_file}",
                    ],
                    "display_name": "vgexamples download check",
                    "language": "python",
                }
            )
        )
        nb = nbformat.read(notebook, as_version=4)
        path = os.pathsep.join(filter(None, [str(kernels), os.environ.get("JUPYTER_PATH")]))
        kernel_env = dict(env, JUPYTER_PATH=path)
        client = NotebookClient(
            nb,
            kernel_name=KERNEL_NAME,
            timeout=int(self.timeout),
            resources={"metadata": {"path": str(notebook.parent)}},
        )
        try:
            with _environ(JUPYTER_PATH=path):
                client.execute(env=kernel_env)
        except CellExecutionError as error:
            return "", _cell_error(nb, error)
        except Exception as error:  # a dead kernel, a timeout: report, go on
            return "", f"{type(error).__name__}: {error}"
        finally:
            shutil.rmtree(kernels, ignore_errors=True)
        try:
            return notebook_text(nb), None
        except ValueError as error:
            return "", str(error)

    def check_missing_library(self, folder: Path, script: str) -> list[str]:
        """Run ``script`` with a bare Python (a new venv with no packages): it must fail with
        a message naming ``pip install -r requirements.txt``, not with a traceback."""
        bare = Path(tempfile.mkdtemp(prefix="bare-", dir=self.workdir)) / "venv"
        made = self._run(
            [sys.executable, "-m", "venv", "--without-pip", str(bare)], folder, os.environ
        )
        if made.returncode != 0:
            return [f"creating a bare venv failed: {made.stderr.strip()}"]
        run = self._run([str(bare / "bin" / "python"), script], folder, clean_env(os.environ, bare))
        problems = []
        if run.returncode == 0:
            problems.append("exited with 0")
        if "Traceback" in run.stdout + run.stderr:
            problems.append("printed a traceback")
        if MISSING_LIBRARY_HINT not in run.stderr:
            problems.append(f"its stderr does not say `{MISSING_LIBRARY_HINT}`")
        if problems:
            return [
                f"{script} without its libraries: {'; '.join(problems)}; stderr ends:\n"
                + tail(run.stderr)
            ]
        self.log(f"  {script} without its libraries stops with the install hint, as it should")
        return []

    # -- everything

    def run(self, only: str | None = None) -> list[str]:
        """Run every check; return the example page URLs checked."""
        _, pages = self.read_index()
        self.check_published_wheel()
        self.check_download_all_zips(pages)
        chosen = [page for page in pages if only is None or only in self.site_path(page)]
        if not chosen:
            self.failures.append(f"--only {only!r} matches no example page")
        for number, page in enumerate(chosen, 1):
            self.log(f"[{number}/{len(chosen)}] {self.site_path(page)}")
            try:
                result = self.check_example(page)
            except EnvironmentFailure as error:
                self.results[-1].failures.append(str(error))
                self.stopped = f"stopped after {self.results[-1].example}: {error}"
                break
            for failure in result.failures:
                self.log("  FAIL " + failure.replace("\n", "\n  "))
        return chosen

    def all_failures(self) -> list[str]:
        """Every failure: site-wide ones, then each example's."""
        failures = list(self.failures)
        for result in self.results:
            failures += [f"{result.example}: {failure}" for failure in result.failures]
        return failures


def _cell_error(nb: Mapping, error: Exception) -> str:
    """Describe a failed cell: its number among the code cells, first source line, the error."""
    code = [cell for cell in nb.get("cells", []) if cell.get("cell_type") == "code"]
    for number, cell in enumerate(code, 1):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                lines = _joined(cell.get("source", "")).strip().splitlines()
                first = lines[0] if lines else ""
                return (
                    f"code cell {number} ({first}) raised "
                    f"{output.get('ename')}: {output.get('evalue')}"
                )
    ename = getattr(error, "ename", type(error).__name__)
    evalue = getattr(error, "evalue", str(error))
    return f"a cell raised {ename}: {evalue}"


# -- reporting ------------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def summary_table(results: Sequence[ExampleResult]) -> str:
    """A plain-text table: example, install (seconds or "reused"), script and notebook
    seconds, lines compared, status."""
    header = ("example", "install", "script", "notebook", "lines", "status")
    rows = [
        (
            r.example.removeprefix("auto_examples/"),
            r.install,
            _seconds(r.script_seconds),
            _seconds(r.notebook_seconds),
            "-" if r.lines is None else str(r.lines),
            r.status,
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in [header, *rows]
    )


def report(checker: Checker, wall: float) -> dict:
    """The JSON report of a finished check."""
    return {
        "examples_checked": len(checker.results),
        "scripts_run": checker.scripts_run,
        "notebooks_executed": checker.notebooks_executed,
        "environments_installed": len(checker.environments),
        "wall_seconds": round(wall, 1),
        "stopped": checker.stopped or None,
        "failures": checker.all_failures(),
        "examples": [dict(asdict(r), status=r.status) for r in checker.results],
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Serve a built site and check that every gallery example's download installs as "
            "its page says, runs, and prints the numbers the page shows (script and notebook)."
        )
    )
    parser.add_argument("--site", required=True, type=Path, help="the built HTML site folder")
    parser.add_argument(
        "--constraints",
        required=True,
        type=Path,
        help="pip constraints file every install uses (the project's pinned versions, torch too)",
    )
    parser.add_argument(
        "--only", metavar="SUBSTRING", help="check only the example pages whose path contains this"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folders (printed) for inspection"
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=Path("test-artifacts/downloads.json"),
        help="where to write the JSON report (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=900,
        help="seconds a script, an install step or a notebook cell may take (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if not args.site.is_dir():
        parser.error(f"--site {args.site}: not a folder (build the site first: nox -s docs)")
    if not args.constraints.is_file():
        parser.error(f"--constraints {args.constraints}: no such file")
    if args.timeout <= 0:
        parser.error(f"--timeout {args.timeout}: must be positive")
    return args


def _outside(folder: Path, *roots: Path) -> bool:
    folder = folder.resolve()
    return all(folder != r.resolve() and r.resolve() not in folder.parents for r in roots)


def main(argv: Sequence[str] | None = None, checker_class: type[Checker] = Checker) -> int:
    """Run the check; exit status 0 when everything passed, 1 on failures, 2 on usage errors.

    ``checker_class`` lets a test swap the slow steps (see :class:`Checker`).
    """
    args = parse_args(argv)
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="vgexamples-downloads-"))
    repository = Path(__file__).resolve().parents[2]
    if not _outside(workdir, repository, args.site):
        shutil.rmtree(workdir)
        print(
            f"error: the temporary folder {workdir} lies inside the repository or the site; "
            "set TMPDIR to a folder outside them",
            file=sys.stderr,
        )
        return 2
    try:
        with serve(args.site) as base_url:
            checker = checker_class(base_url, args.constraints, workdir, args.timeout)
            try:
                checker.run(args.only)
            except CheckError as error:
                print(f"error: --site {args.site}: {error}", file=sys.stderr)
                return 2
    finally:
        if args.keep:
            print(f"kept the downloads and environments in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    wall = time.perf_counter() - started
    data = report(checker, wall)
    print()
    print(summary_table(checker.results))
    print(
        f"\n{data['examples_checked']} examples checked, {data['scripts_run']} scripts ran, "
        f"{data['notebooks_executed']} notebooks executed, {data['environments_installed']} "
        f"environment(s) installed, {wall:.0f} s"
    )
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(data, indent=1) + "\n")
    print(f"report: {args.report}")
    if data["failures"]:
        if checker.stopped:
            print(f"\n{checker.stopped}")
        print(f"\n{len(data['failures'])} failure(s):")
        for failure in data["failures"]:
            print("- " + failure.replace("\n", "\n  "))
        return 1
    print("every download ran and printed what its page shows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
