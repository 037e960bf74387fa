"""Tests of the download check (tests/downloads/check_downloads.py).

The pure functions are tested on synthetic pages and outputs; one end-to-end test serves a tiny
fake site (one wheel with no dependencies, two examples) and runs the whole check on it, with
the notebook kernel taken from this interpreter instead of installing ipykernel.
"""

import hashlib
import importlib.util
import io
import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

_PATH = Path(__file__).parent / "downloads" / "check_downloads.py"
_spec = importlib.util.spec_from_file_location("check_downloads", _PATH)
cd = importlib.util.module_from_spec(_spec)
sys.modules["check_downloads"] = cd  # dataclasses look their module up here
_spec.loader.exec_module(cd)


# -- pages ----------------------------------------------------------------------------------


def _out(text):
    return (
        '<div class="sphx-glr-script-out highlight-none notranslate"><div class="highlight">'
        f"<pre><span></span>{text}</pre></div>\n</div>\n"
    )


def _code(cls, lines):
    """A Pygments-highlighted bash block as Sphinx writes it, with ``cls`` on its wrapper."""
    body = "\n".join(lines) + "\n"
    return (
        f'<div class="{cls} highlight-bash notranslate"><div class="highlight"><pre><span></span>'
        f"{body}</pre></div>\n</div>\n"
    )


CPU_LINES = [
    'python<span class="w"> </span>-m<span class="w"> </span>venv<span class="w"> </span>.venv'
    '<span class="w"> </span><span class="o">&amp;&amp;</span><span class="w"> </span>'
    '<span class="nb">source</span><span class="w"> </span>.venv/bin/activate',
    'pip<span class="w"> </span>install<span class="w"> </span>torch<span class="w"> </span>'
    '--index-url<span class="w"> </span>https://download.pytorch.org/whl/cpu<span class="w">   '
    '</span><span class="c1"># CPU-only build for Linux</span>',
    'pip<span class="w"> </span>install<span class="w"> </span>-r<span class="w"> </span>'
    "requirements.txt",
    'python<span class="w"> </span>plot_02_x.py<span class="w">   </span>'
    '<span class="c1"># 5.0 s on the build machine</span>',
]
GPU_LINES = [
    "python -m venv .venv &amp;&amp; source .venv/bin/activate",
    "pip install -r requirements.txt",
    "VGEXAMPLES_DEVICE=cuda python plot_02_x.py",
]


def _box(cpu=CPU_LINES, gpu=GPU_LINES):
    return (
        '<div class="admonition tip vgsite-run">\n<p class="admonition-title">Run this example '
        'yourself</p>\n<p>Download <a class="reference download internal" download="" '
        'href="../../_downloads/ffff/plot_02_x.zip"><code>plot_02_x.zip</code></a>, unpack it.</p>'
        '\n<div class="sd-tab-set docutils">\n<input checked="checked" id="sd-tab-item-0" '
        'name="sd-tab-set-0" type="radio">\n<label class="sd-tab-label" for="sd-tab-item-0">CPU '
        'laptop</label><div class="sd-tab-content docutils">\n'
        + _code("vgsite-run-cpu", cpu)
        + "<p>It took <strong>5.0 s</strong>.<br/>Really.</p>\n</div>\n"
        '<input id="sd-tab-item-1" name="sd-tab-set-0" type="radio">\n'
        '<label class="sd-tab-label" for="sd-tab-item-1">GPU machine</label>'
        '<div class="sd-tab-content docutils">\n'
        + _code("vgsite-run-gpu", gpu)
        + "</div>\n</div>\n"
        "</div>\n"
    )


def _footer(stem="plot_02_x"):
    parts = []
    for kind, suffix, digest in (("jupyter", "ipynb", "aaaa"), ("python", "py", "bbbb")):
        parts.append(
            f'<div class="sphx-glr-download sphx-glr-download-{kind} docutils container">\n'
            f'<p><a class="reference download internal" download="" href="../../_downloads/'
            f'{digest}/{stem}.{suffix}"><code class="xref download docutils literal '
            f'notranslate"><span class="pre">{stem}.{suffix}</span></code></a></p>\n</div>\n'
        )
    parts.append(
        '<div class="sphx-glr-download sphx-glr-download-zip docutils container">\n'
        f'<p><a class="reference download internal" download="" href="../../_downloads/cccc/'
        f'{stem}.zip"><code class="xref download docutils literal notranslate">'
        f'<span class="pre">Download</span> <span class="pre">zipped</span></code></a></p>\n'
        "</div>\n"
    )
    return (
        '<div class="sphx-glr-footer sphx-glr-footer-example docutils container" id="x">\n'
        + "".join(parts)
        + "</div>\n"
    )


def _page(box=True, outputs=("device: cpu\n",), stem="plot_02_x"):
    body = "<section><h1>Title</h1>\n"
    if box:
        body += _box()
    body += '<div class="highlight-Python notranslate"><div class="highlight"><pre><span></span>'
    body += '<span class="nb">print</span>(<span class="s2">&quot;code, not output&quot;</span>)'
    body += "\n</pre></div>\n</div>\n"
    for i, text in enumerate(outputs):
        if i == 1:
            body += '<img src="../../_images/x.png" alt="x" class = "sphx-glr-single-img"/>'
        body += _out(text)
    return f"<html><body>{body}{_footer(stem)}</section></body></html>"


def test_output_text_strips_tags_and_decodes_entities():
    page = _page(
        outputs=(
            "a &lt; b &amp;&amp; c &gt; d\n",
            '<span class="n">x</span> = 1\n&quot;q&quot; &#39;s&#39;\n',
            "no newline at the end",
        )
    )
    assert cd.parse_output_text(page) == (
        "a < b && c > d\nx = 1\n\"q\" 's'\nno newline at the end\n"
    )


def test_output_text_of_a_page_with_no_output_is_empty():
    assert cd.parse_output_text(_page(outputs=())) == ""


def test_download_links_by_kind():
    page = _page()
    assert cd.parse_download_link(page) == "../../_downloads/cccc/plot_02_x.zip"
    assert cd.parse_download_link(page, "jupyter") == "../../_downloads/aaaa/plot_02_x.ipynb"
    assert cd.parse_download_link(page, "python") == "../../_downloads/bbbb/plot_02_x.py"
    with pytest.raises(cd.CheckError, match=r"no download links in div\.sphx-glr-download-zip"):
        cd.parse_download_link("<html><body><p>nothing</p></body></html>")


def test_run_commands_of_the_cpu_and_gpu_blocks():
    page = _page()
    assert cd.parse_run_commands(page) == [
        "python -m venv .venv && source .venv/bin/activate",
        "pip install torch --index-url https://download.pytorch.org/whl/cpu",
        "pip install -r requirements.txt",
        "python plot_02_x.py",
    ]
    assert cd.parse_run_commands(page, "gpu")[-1] == "VGEXAMPLES_DEVICE=cuda python plot_02_x.py"


def test_run_commands_join_continuations_and_drop_prompts_and_blank_lines():
    lines = ["$ pip install \\", "  -r requirements.txt", "", "# only a comment", "python a.py"]
    page = '<div class="vgsite-run">' + _code("vgsite-run-cpu", lines) + "</div>"
    assert cd.parse_run_commands(page) == ["pip install -r requirements.txt", "python a.py"]


def test_run_commands_need_the_box():
    with pytest.raises(
        cd.CheckError, match=r"no code blocks in div\.vgsite-run > div\.vgsite-run-cpu"
    ):
        cd.parse_run_commands(_page(box=False))
    # a cpu block outside the box is not the box's
    with pytest.raises(cd.CheckError):
        cd.parse_run_commands(_code("vgsite-run-cpu", ["python a.py"]))


def test_example_links_and_download_all_links():
    index = (
        '<div class="sphx-glr-thumbcontainer"><a href="vanishing/plot_01_a.html#top">A</a>'
        '<a href="vanishing/plot_01_a.html"><img src="x.png"></a></div>'
        '<a href="vanishing/index.html">chapter</a><a href="../running.html">run</a>'
        '<a href="exploding/plot_02_b.html">B</a><a href="exploding/not_plot.html">no</a>'
        '<a href="../_downloads/1/auto_examples_python.zip">py</a>'
        '<a href="../_downloads/2/auto_examples_jupyter.zip">nb</a>'
    )
    assert cd.parse_example_links(index) == ["vanishing/plot_01_a.html", "exploding/plot_02_b.html"]
    assert cd.parse_download_all_links(index) == {
        "python": "../_downloads/1/auto_examples_python.zip",
        "jupyter": "../_downloads/2/auto_examples_jupyter.zip",
    }


# -- shell commands -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "stripped"),
    [
        ("python a.py   # 5.0 s on the build machine", "python a.py"),
        ("# all comment", ""),
        ("echo '# not a comment' \"#nor this\"", "echo '# not a comment' \"#nor this\""),
        ("pip install https://x.org/a.whl#sha256=ab", "pip install https://x.org/a.whl#sha256=ab"),
        ("echo a\\ #b", "echo a\\ #b"),
        ("echo a #b", "echo a"),
        ("echo a\\#b", "echo a\\#b"),
        ("echo 'a' #b", "echo 'a'"),
    ],
)
def test_strip_comment(line, stripped):
    assert cd.strip_comment(line) == stripped


def test_split_shell_keeps_every_character():
    line = "python -m venv .venv && source .venv/bin/activate; echo 'a && b' | cat"
    parts = cd.split_shell(line)
    assert [op for _, op in parts] == ["&&", ";", "|", ""]
    assert "".join(text + op for text, op in parts) == line


@pytest.mark.parametrize(
    ("line", "rewritten"),
    [
        (
            "pip install torch --index-url https://download.pytorch.org/whl/cpu",
            "pip install -c /c/constraints.txt torch",
        ),
        (
            "pip install --index-url=https://a/b torch --extra-index-url https://c/d",
            "pip install -c /c/constraints.txt torch",
        ),
        ("pip3 install -i 'https://a/b' torch", "pip3 install -c /c/constraints.txt torch"),
        (
            "python -m pip install -r requirements.txt",
            "python -m pip install -c /c/constraints.txt -r requirements.txt",
        ),
        (
            "python -m venv .venv && source .venv/bin/activate && pip install -r requirements.txt",
            "python -m venv .venv && source .venv/bin/activate && "
            "pip install -c /c/constraints.txt -r requirements.txt",
        ),
        ("python -m venv .venv", "python -m venv .venv"),
        ("echo pip install x", "echo pip install x"),
        ("python plot_01_install.py", "python plot_01_install.py"),
    ],
)
def test_substitute_pip(line, rewritten):
    assert cd.substitute_pip(line, "/c/constraints.txt") == rewritten


def test_substitute_pip_quotes_the_constraints_path():
    assert cd.substitute_pip("pip install x", "/a b/c.txt") == "pip install -c '/a b/c.txt' x"


def test_split_run_commands():
    setup, run = cd.split_run_commands(
        ["python -m venv .venv && source .venv/bin/activate", "pip install x", "python a.py"]
    )
    assert setup == ["python -m venv .venv && source .venv/bin/activate", "pip install x"]
    assert run == "python a.py"
    setup, run = cd.split_run_commands(["pip install x", "python -V a.py", "python a.py"])
    assert run == "python a.py" and setup == ["pip install x", "python -V a.py"]
    with pytest.raises(cd.CheckError, match="python <script>"):
        cd.split_run_commands(["python -m venv .venv", "pip install x"])


def test_venv_dir():
    assert cd.venv_dir(["python -m venv .venv && source .venv/bin/activate"]) == ".venv"
    assert cd.venv_dir(["python3 -m venv --without-pip env2"]) == "env2"
    assert cd.venv_dir(["pip install x"]) == ".venv"


def test_clean_env():
    base = {
        "PATH": "/usr/bin",
        "VGEXAMPLES_DEVICE": "cuda",
        "VGEXAMPLES_RESULTS_DIR": "/x",
        "PYTHONPATH": "/repo",
        "VIRTUAL_ENV": "/other",
        "HOME": "/root",
        "MPLBACKEND": "TkAgg",
    }
    env = cd.clean_env(base, Path("/tmp/v"))
    assert env == {
        "PATH": "/tmp/v/bin" + os.pathsep + "/usr/bin",
        "VIRTUAL_ENV": "/tmp/v",
        "HOME": "/root",
        "MPLBACKEND": "Agg",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "2",
    }
    assert "VIRTUAL_ENV" not in cd.clean_env(base) and cd.clean_env(base)["PATH"] == "/usr/bin"
    assert base["VGEXAMPLES_DEVICE"] == "cuda"  # the caller's mapping is left alone


# -- masking timings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("cpu 128x128 matmul: fp32 0.049 ms", "cpu 128x128 matmul: fp32 <t>"),
        (
            "  float16: 1.362 ms (27.56x), via fp32 0.063 ms (1.28x)",
            "  float16: <t> (<t>x), via fp32 <t> (<t>x)",
        ),
        (
            "       sigmoid: final test accuracy  10.0%, final training loss 2.303, 3.3 ms/step",
            "       sigmoid: final test accuracy  10.0%, final training loss 2.303, <t>",
        ),
        (
            "90% masked weights: 104488 B dense, 22828 B as CSR (4.6x smaller); inference with "
            "sparse CSR products 0.237 ms (dense network 0.316 ms)",
            "90% masked weights: 104488 B dense, 22828 B as CSR (4.6x smaller); inference with "
            "sparse CSR products <t> (dense network <t>)",
        ),
        ("dense: 85002 parameters, 0.949 ms", "dense: 85002 parameters, <t>"),
        ("rank  8: 9738 parameters (11.5%), 0.287 ms", "rank  8: 9738 parameters (11.5%), <t>"),
        ("took 1.5 s, then 2 seconds, 3 sec, 4µs, 5 us", "took <t>, then <t>, <t>, <t>, <t>"),
        (
            "ReLU (3 x 64), loss x 2**-18: 300 steps of 64 examples, seed 0, eps 1e-8",
            "ReLU (3 x 64), loss x 2**-18: 300 steps of 64 examples, seed 0, eps 1e-8",
        ),
        ("22828 B as CSR (4.6x smaller)", "22828 B as CSR (4.6x smaller)"),
        ("v2.1s and x1.5 ms", "v2.1s and x1.5 ms"),  # digits inside a word are no timing
    ],
)
def test_mask_line(line, masked):
    assert cd.mask_line(line) == masked


def test_masked_lines_still_see_changed_numbers():
    # rule (a): the accuracy and loss beside a timing still count
    a = "relu: final test accuracy 0.978, final training loss 2.303, 3.3 ms/step"
    b = "relu: final test accuracy 0.977, final training loss 2.303, 9.9 ms/step"
    assert cd.mask_line(a) != cd.mask_line(b)
    assert cd.mask_line(a) == cd.mask_line(b.replace("0.977", "0.978"))
    # rule (b): only a ratio right after a timing is masked, not one after another number
    c = "pruned: 22828 B (4.6x smaller), 0.2 ms (1.5x)"
    d = "pruned: 22828 B (4.7x smaller), 0.3 ms (1.9x)"
    assert cd.mask_line(c) != cd.mask_line(d)
    assert cd.mask_line(c) == cd.mask_line(d.replace("4.7x", "4.6x"))
    # a changed count of steps is not a timing
    assert cd.mask_line("300 steps") != cd.mask_line("301 steps")


TABLE = [
    "          model | params | non-zero | sparsity | saved bytes | inference (ms)",
    "          dense |  26122 |    26122 |    0.000 |      107285 |          0.316",
    "     90% pruned |  26122 |     2613 |    0.900 |       22828 |          0.237",
    "done in 0.5 s",
]


def test_mask_tables_masks_only_the_timing_column():
    masked = cd.mask_tables(TABLE)
    assert masked == [
        "model | params | non-zero | sparsity | saved bytes | inference (ms)",
        "dense | 26122 | 26122 | 0.000 | 107285 | <t>",
        "90% pruned | 26122 | 2613 | 0.900 | 22828 | <t>",
        "done in 0.5 s",  # not a row of the table: left to mask_line
    ]


def test_mask_tables_still_sees_other_columns_change():
    other = [TABLE[0], TABLE[1].replace("107285", "107286"), TABLE[2], TABLE[3]]
    assert cd.mask_tables(TABLE) != cd.mask_tables(other)
    slower = [TABLE[0], TABLE[1].replace("0.316", "10.316"), TABLE[2], TABLE[3]]
    assert cd.mask_tables(TABLE) == cd.mask_tables(slower)  # a wider timing shifts nothing


@pytest.mark.parametrize(
    "header",
    [
        "net | time (s) | acc",
        "net | step ms | acc",
        "net | seconds per epoch | acc",
    ],
)
def test_mask_tables_headers(header):
    masked = cd.mask_tables([header, "a | 1.5 | 0.9", "b | 2.5 | 0.8"])
    assert masked[1:] == ["a | <t> | 0.9", "b | <t> | 0.8"]


def test_mask_tables_skips_rules_under_the_header():
    lines = [
        "              | test MSE | solved | correct | ms/step",
        "-----------------------------------------------------",
        "T=10      RNN |   0.0392 |     no |   32.1% |     2.1",
        "T=10     mean |   0.1740 |      - |   13.8% |       -",
        "solved: test MSE < 0.0167; correct: |error| / 2 < 0.04",
        "---",
        "x | 1 | 2 | 3 | 4",
    ]
    assert cd.mask_tables(lines) == [
        " | test MSE | solved | correct | ms/step",
        lines[1],
        "T=10      RNN | 0.0392 | no | 32.1% | <t>",
        "T=10     mean | 0.1740 | - | 13.8% | -",
        *lines[4:],
    ]
    changed = [*lines[:2], lines[2].replace("32.1%", "32.2%"), *lines[3:]]
    assert cd.mask_tables(lines) != cd.mask_tables(changed)


def test_mask_tables_leaves_tables_without_timings():
    lines = [
        "                     network |  fp32 | fp16, no scaling",
        "       shallow ReLU (2 x 64) | 0.940 |            0.940",
        "   format | mantissa bits | eps      | max",
        "  float32 |            23 | 1.19e-07 | 3.403e+38",
        "a row | 3 ms | 4",  # a row with a timing is not a header: the next row is kept
        "b row | 5 | 6",
    ]
    assert cd.mask_tables(lines) == lines


def test_normalize_and_first_difference():
    page = "a 1\n\n  b 0.5 ms  \nc\n"
    run = "a 1\nb 0.7 ms\nc\n\n"
    assert cd.normalize(page) == ["a 1", "b <t>", "c"]
    # a page drops the indentation its output block's lines share: leading spaces do not count
    assert cd.first_difference(cd.normalize(page), cd.normalize(run)) is None
    assert cd.normalize("a  1") != cd.normalize("a 1")  # spaces inside a line still count
    diff = cd.first_difference(["x", "a 1", "b 2", "c"], ["x", "a 1", "b 3", "c", "d"])
    assert (diff.expected_line, diff.expected, diff.actual, diff.count) == (2, "b 2", "b 3", 2)
    assert "first at page line 3" in diff.describe()
    diff = cd.first_difference(["a", "b"], ["a"])
    assert (diff.expected, diff.actual, diff.count) == ("b", None, 1)
    diff = cd.first_difference(["a", "c", "d"], ["a", "b", "c", "d"])
    assert (diff.expected, diff.actual, diff.count) == (None, "b", 1)


# -- notebooks ------------------------------------------------------------------------------


def _executed_notebook():
    return new_notebook(
        cells=[
            new_markdown_cell("# Title"),
            new_code_cell(
                "# Installs this notebook's requirements.\n%pip install -r requirements.txt",
                outputs=[new_output("stream", name="stdout", text="Requirement already ...\n")],
            ),
            new_code_cell(
                "print('a')\nx",
                outputs=[
                    new_output("stream", name="stdout", text="a\nb"),
                    new_output("stream", name="stdout", text=" continued\n"),
                    new_output("stream", name="stderr", text="a warning\n"),
                    new_output("execute_result", data={"text/plain": "42"}, execution_count=2),
                ],
            ),
            new_code_cell(
                "plt.show()",
                outputs=[
                    new_output("display_data", data={"image/png": "AAAA", "text/plain": "<Fig>"}),
                    new_output("stream", name="stdout", text="c\n"),
                ],
            ),
        ]
    )


def test_notebook_text():
    nb = _executed_notebook()
    assert cd.notebook_text(nb) == "a\nb continued\n42\nc\n"
    # the same through a file (nbformat reads stream text back as a string)
    assert cd.notebook_text(nbformat.reads(nbformat.writes(nb), as_version=4)) == (
        "a\nb continued\n42\nc\n"
    )


def test_notebook_text_needs_the_install_cell():
    nb = _executed_notebook()
    del nb.cells[1]
    with pytest.raises(ValueError, match="install cell"):
        cd.notebook_text(nb)


def test_notebook_text_rejects_a_commented_out_install_line():
    nb = _executed_notebook()
    nb.cells[1].source = "# %pip install -r requirements.txt"
    with pytest.raises(ValueError, match="not the install cell"):
        cd.notebook_text(nb)


def test_notebook_text_reports_a_failed_install():
    # IPython's %pip prints pip's error and carries on: the check must read it
    nb = _executed_notebook()
    nb.cells[1].outputs = [
        new_output(
            "stream",
            name="stdout",
            text="ERROR: Could not open requirements file: [Errno 2] No such file\n",
        )
    ]
    with pytest.raises(ValueError, match="install cell failed"):
        cd.notebook_text(nb)


# -- downloads ------------------------------------------------------------------------------


def test_group_key():
    assert cd.group_key(b"r", b"w") == cd.group_key(b"r", b"w")
    assert cd.group_key(b"r", b"w") != cd.group_key(b"r", b"w2")
    assert cd.group_key(b"ab", b"c") != cd.group_key(b"a", b"bc")


def test_parse_sha256sums():
    digest = hashlib.sha256(b"x").hexdigest()
    text = f"{digest}  vgexamples-0.1.0-py3-none-any.whl\n{digest.upper()} *requirements.txt\n"
    assert cd.parse_sha256sums(text) == {
        "vgexamples-0.1.0-py3-none-any.whl": digest,
        "requirements.txt": digest,
    }
    with pytest.raises(ValueError, match="line 1"):
        cd.parse_sha256sums("abc  file\n")


WHEEL = "vgexamples-0.1.0-py3-none-any.whl"


def test_check_example_zip():
    names = ["plot_02_x.py", "plot_02_x.ipynb", "requirements.txt", WHEEL]
    assert cd.check_example_zip(names, "plot_02_x") == (WHEEL, [])
    wheel, problems = cd.check_example_zip(
        ["plot_02_x.py", "requirements.txt", "sub/plot_02_x.ipynb"], "plot_02_x"
    )
    assert wheel is None
    assert problems == [
        "zip lacks plot_02_x.ipynb",
        "zip holds unexpected files: sub/plot_02_x.ipynb",
        "zip holds 0 vgexamples wheels, expected 1",
    ]


def test_check_requirements():
    text = f"# comment\n./{WHEEL}\ntorch>=2.1  # built with 2.13.0\nnumpy==2.3.0\n"
    assert cd.check_requirements(text, WHEEL) == []
    assert cd.check_requirements("torch==2.13.0\n", WHEEL) == [
        f"requirements.txt does not install ./{WHEEL}",
        "requirements.txt does not give torch as a floor (torch>=...)",
    ]
    assert cd.check_requirements(f"./{WHEEL}\ntorch>=2.4\nnumpy>=2\nscipy\n", WHEEL) == [
        "requirements.txt does not pin: numpy>=2, scipy"
    ]


def test_check_download_all():
    examples = ["plot_01_a", "plot_02_b"]
    names = ["requirements.txt", WHEEL, "plot_01_a.py", "plot_02_b.py"]
    assert cd.check_download_all(names, "python", examples) == []
    assert cd.check_download_all(names, "jupyter", examples) == [
        "lacks plot_01_a.ipynb, plot_02_b.ipynb"
    ]
    assert cd.check_download_all(
        ["plot_01_a.py", "plot_02_b.py", "plot_09_c.py"], "python", examples
    ) == [
        "lacks requirements.txt",
        "holds 0 vgexamples wheels, expected 1",
        "holds files of no example page: plot_09_c.py",
    ]
    # in a subfolder, a notebook's %pip install -r requirements.txt finds no file
    nested = ["requirements.txt", WHEEL, "vanishing/plot_01_a.py", "plot_02_b.py"]
    assert cd.check_download_all(nested, "python", examples) == [
        "holds files in subfolders, away from requirements.txt: vanishing/plot_01_a.py",
        "lacks plot_01_a.py",
    ]


def test_cross_check_examples():
    times = [{"example": "auto_examples/a/plot_01_x", "seconds": 1.0}]
    assert cd.cross_check_examples(["auto_examples/a/plot_01_x"], times) == []
    problems = cd.cross_check_examples(["auto_examples/a/plot_02_y"], times)
    assert len(problems) == 2 and "plot_01_x is in" in problems[0]


def test_safe_extract_refuses_escaping_members(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("../evil.py", "x")
    with pytest.raises(cd.CheckError, match="outside"):
        cd.safe_extract(zipfile.ZipFile(buffer), tmp_path / "in")
    assert not (tmp_path / "evil.py").exists()


def test_summary_table():
    results = [
        cd.ExampleResult("auto_examples/a/plot_01_x", "p", "12.0 s", 12.0, 1.0, 2.0, 5),
        cd.ExampleResult("auto_examples/a/plot_02_y", "p", "reused", failures=["bad"]),
    ]
    lines = cd.summary_table(results).splitlines()
    assert lines[0].split() == ["example", "install", "script", "notebook", "lines", "status"]
    assert lines[1].split() == ["a/plot_01_x", "12.0", "s", "1.0", "s", "2.0", "s", "5", "ok"]
    assert lines[2].split() == ["a/plot_02_y", "reused", "-", "-", "-", "FAIL"]


def test_arguments_are_checked(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cd.parse_args(["--site", str(tmp_path / "nope"), "--constraints", str(tmp_path)])
    assert "--site" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cd.parse_args(["--site", str(tmp_path), "--constraints", str(tmp_path / "c.txt")])
    assert "--constraints" in capsys.readouterr().err


def test_a_site_without_gallery_says_to_build_it(tmp_path, capsys):
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("")
    (tmp_path / "site").mkdir()
    status = cd.main(["--site", str(tmp_path / "site"), "--constraints", str(constraints)])
    assert status == 2
    assert "build the site first: nox -s docs" in capsys.readouterr().err


# -- end to end on a fake site --------------------------------------------------------------

FAKE_WHEEL = "vgexamples-0.0.1-py3-none-any.whl"
SCRIPT = """\
try:
    import vgexamples
except ModuleNotFoundError as missing:
    raise SystemExit(f"needs {missing.name}; run: pip install -r requirements.txt") from None
import os
import time

print("value", vgexamples.VALUE)
device = os.environ.get("VGEXAMPLES_DEVICE", "unset")
print("device", device, "threads", os.environ["OMP_NUM_THREADS"])
print(f"took {time.perf_counter() % 1:.3f} ms")
"""


def _zip(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _fake_notebook():
    # The kernel here is this test's own interpreter, which must not install anything: the
    # end-to-end tests take `%pip --version` for the install line (FAKE_INSTALL_LINE).
    nb = new_notebook(
        cells=[
            new_code_cell(f"{FAKE_INSTALL_LINE}\nprint('not compared')"),
            new_code_cell("value = 42\nprint('value', value)"),
            new_code_cell(
                "import os\nprint('device', os.environ.get('VGEXAMPLES_DEVICE', 'unset'), "
                "'threads', os.environ['OMP_NUM_THREADS'])"
            ),
            new_code_cell("import time\nprint(f'took {time.perf_counter() % 1:.3f} ms')"),
        ]
    )
    return nbformat.writes(nb).encode()


def _fake_site(root, pages):
    """A site with one wheel and an example per ``pages`` item (chapter/stem -> page output)."""
    wheel = _zip(
        {
            "vgexamples/__init__.py": "VALUE = 42\n",
            "vgexamples-0.0.1.dist-info/METADATA": "Name: vgexamples\nVersion: 0.0.1\n",
        }
    )
    requirements = f"./{FAKE_WHEEL}\ntorch>=2.1\n".encode()
    (root / "dist").mkdir(parents=True)
    (root / "dist" / FAKE_WHEEL).write_bytes(wheel)
    (root / "dist" / "requirements.txt").write_bytes(requirements)
    (root / "dist" / "SHA256SUMS").write_text(
        f"{hashlib.sha256(wheel).hexdigest()}  {FAKE_WHEEL}\n"
        f"{hashlib.sha256(requirements).hexdigest()}  requirements.txt\n"
    )
    install = (
        "python -c &quot;import sysconfig, zipfile; zipfile.ZipFile(&#39;"
        + FAKE_WHEEL
        + "&#39;).extractall(sysconfig.get_paths()[&#39;purelib&#39;])&quot;"
    )
    links, every = [], {"requirements.txt": requirements, FAKE_WHEEL: wheel}
    for number, (example, output) in enumerate(pages.items()):
        chapter, stem = example.split("/")
        cpu = [
            "python -m venv --without-pip .venv &amp;&amp; source .venv/bin/activate"
            '<span class="w">  </span><span class="c1"># bare, fast</span>',
            install,
            f"python {stem}.py   # 0.1 s on the build machine",
        ]
        box = _code("vgsite-run-cpu", cpu)
        page = (
            f'<html><body><div class="admonition tip vgsite-run">{box}</div>{_out(output)}'
            f"{_footer(stem).replace('cccc', f'z{number}')}</body></html>"
        )
        folder = root / "auto_examples" / chapter
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{stem}.html").write_text(page)
        files = {
            f"{stem}.py": SCRIPT.encode(),
            f"{stem}.ipynb": _fake_notebook(),
            "requirements.txt": requirements,
            FAKE_WHEEL: wheel,
        }
        (root / "_downloads" / f"z{number}").mkdir(parents=True)
        (root / "_downloads" / f"z{number}" / f"{stem}.zip").write_bytes(_zip(files))
        every[f"{stem}.py"] = files[f"{stem}.py"]
        links.append(f'<a href="{example}.html">{stem}</a>')
    for kind, suffix in (("python", ".py"), ("jupyter", ".ipynb")):
        chosen = {k: v for k, v in every.items() if not k.endswith((".py", ".ipynb"))}
        chosen.update({k[:-3] + suffix: v for k, v in every.items() if k.endswith(".py")})
        (root / "_downloads" / kind).mkdir(parents=True)
        (root / "_downloads" / kind / f"auto_examples_{kind}.zip").write_bytes(_zip(chosen))
        links.append(f'<a href="../_downloads/{kind}/auto_examples_{kind}.zip">{kind}</a>')
    (root / "auto_examples" / "index.html").write_text(
        f"<html><body>{''.join(links)}</body></html>"
    )
    (root / "_static").mkdir()
    (root / "_static" / "execution_times.json").write_text(
        json.dumps([{"example": f"auto_examples/{e}", "seconds": 0.1} for e in pages])
    )


FAKE_INSTALL_LINE = "%pip --version"


class FastChecker(cd.Checker):
    """Runs the notebook kernel in this interpreter (which has ipykernel): no install."""

    def kernel_python(self, venv, folder):
        return Path(sys.executable)


def test_end_to_end_on_a_fake_site(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cd, "INSTALL_LINE", FAKE_INSTALL_LINE)
    _fake_site(
        tmp_path / "site",
        {
            "chap/plot_01_same": "value 42\ndevice unset threads 2\ntook 0.123 ms\n",
            "chap/plot_02_other": "value 43\ndevice unset threads 2\ntook 0.123 ms\n",
        },
    )
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("")
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    # what the site is not built with must not reach the runs (script and kernel)
    monkeypatch.setenv("VGEXAMPLES_DEVICE", "cuda")
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    (tmp_path / "tmp").mkdir()
    report = tmp_path / "out" / "downloads.json"
    status = cd.main(
        [
            "--site",
            str(tmp_path / "site"),
            "--constraints",
            str(constraints),
            "--report",
            str(report),
        ],
        checker_class=FastChecker,
    )
    out = capsys.readouterr().out
    data = json.loads(report.read_text())
    assert status == 1, out
    assert data["examples_checked"] == 2
    assert data["scripts_run"] == 2 and data["notebooks_executed"] == 2
    assert data["environments_installed"] == 1
    first, second = data["examples"]
    assert first["status"] == "ok" and first["lines"] == 3 and first["install"].endswith(" s")
    assert second["install"] == "reused"
    # the page of the second example shows 43: both runs print 42
    assert [f.split(":")[0] for f in second["failures"]] == [
        "script output differs from the page",
        "notebook output differs from the page",
    ]
    assert "'value 43'" in second["failures"][0] and "'value 42'" in second["failures"][0]
    assert data["failures"] == [
        f"auto_examples/chap/plot_02_other: {failure}" for failure in second["failures"]
    ]
    assert "without its libraries stops with the install hint" in out
    assert "vgexamples comes from" in out
    assert list((tmp_path / "tmp").iterdir()) == []  # the temporary folders are gone


def test_end_to_end_only_and_passing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cd, "INSTALL_LINE", FAKE_INSTALL_LINE)
    _fake_site(
        tmp_path / "site", {"chap/plot_01_same": "value 42\ndevice unset threads 2\ntook 0.1 ms\n"}
    )
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("")
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    monkeypatch.chdir(tmp_path)

    class ScriptOnly(FastChecker):
        def run_notebook(self, notebook, environment, env):
            return "value 42\ndevice unset threads 2\ntook 9 ms\n", None

    args = ["--site", "site", "--constraints", str(constraints), "--only", "plot_01"]
    assert cd.main(args, checker_class=ScriptOnly) == 0
    assert "every download ran" in capsys.readouterr().out
    data = json.loads((tmp_path / "test-artifacts" / "downloads.json").read_text())
    assert data["failures"] == [] and data["scripts_run"] == 1
    assert cd.main([*args[:-1], "nothing"], checker_class=ScriptOnly) == 1


def test_a_run_past_its_time_is_killed_with_its_children(tmp_path):
    checker = cd.Checker("http://127.0.0.1:1/", tmp_path / "c.txt", tmp_path, timeout=0.5)
    run = checker._run(["bash", "-c", "sleep 30 & sleep 30"], tmp_path, os.environ)
    assert run.returncode == 124 and run.seconds < 10
    assert "killed after" in run.stderr
