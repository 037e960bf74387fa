"""Sphinx configuration of the vgexamples site.

Site-wide behaviour (local MathJax, the offline check, execution-time report, rebuild
freshness) lives in the local extension ``_ext/vgsite.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(ROOT))

import vgsite

import vgexamples
import vgexamples.results

project = "vgexamples"
author = "the vgexamples authors"
copyright = "2026, the vgexamples authors"
release = vgexamples.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
    "myst_nb",
    "sphinxcontrib.bibtex",
    "sphinx_copybutton",
    "sphinx_design",
    "vgsite",
    "vgdownloads",
    "vgaccess",
    "vgweight",
    "vgbokeh",
]

exclude_patterns = [
    "_build",
    "jupyter_execute",
    "**.ipynb_checkpoints",
    # sphinx-gallery writes a notebook next to each generated page; they are downloads,
    # not sources (myst-nb would otherwise parse them as pages).
    "auto_examples/**.ipynb",
    "auto_examples/**.py",
    "auto_examples/**.zip",
    # sphinx-gallery's back-reference files (read by the mini-galleries, not pages)
    "gen_modules",
]

# -- the gallery ---------------------------------------------------------------------------
# sphinx-gallery re-runs an example when its file changed; vgsite also re-runs it when a
# library file it imports (transitively) changed, and re-executes exactly the pages whose
# imported library files or read results changed (see vgsite.module_closure).
vgsite_package = "vgexamples"
vgsite_package_dir = str(ROOT / "vgexamples")
# every example runs vgsite.reset_example_state first, which imports this module
vgsite_example_imports = ["vgexamples.runtime"]
# the claims page loads results by names from a list: it depends on every recorded result
vgsite_all_results_docs = ["claims", "papers"]
# renamed documents: the old addresses redirect to the new pages (gallery folders named for
# their chapters; API pages of modules merged into others)
vgsite_redirects = {
    "auto_examples/activations": "auto_examples/vanishing",
    "auto_examples/deep_nets": "auto_examples/trainable",
    "api/theory": "api/propagation",
    "api/runs": "api/models",
    "api/exploding": "api/propagation",
}

sphinx_gallery_conf = {
    "examples_dirs": ["../gallery"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "subsection_order": vgsite.chapter_order(ROOT / "gallery"),
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": True,
    # jQuery/DataTables from CDNs otherwise; vgsite writes its own execution-times page.
    "write_computation_times": False,
    "min_reported_time": 0,
    "reset_modules": ("matplotlib", "vgsite.reset_example_state"),
    "reset_modules_order": "before",
    "remove_config_comments": True,
    "run_stale_examples": False,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    # the notebook installs what it needs from the files of its zip (vgdownloads)
    "first_notebook_cell": (
        "# Installs this notebook's requirements from the files unpacked beside it.\n"
        "%pip install -r requirements.txt"
    ),
    "show_memory": False,
    "show_signature": False,
    # link names in example code to their API entries, and list on each API entry the
    # examples that use it (vgsite adds the mini-galleries)
    "doc_module": ("vgexamples",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"vgexamples": None},
    # a 2x image beside each figure (srcset) for high-density screens; vgfigures' scraper
    # checks each figure's text is legible where it is shown and draws the card thumbnail
    "image_srcset": ["2x"],
    "image_scrapers": ("vgfigures.scraper",),
    "plot_gallery": "True",
    # Two worker processes (joblib/loky, spawned rather than forked, so no OpenMP state is
    # inherited): a cold build took 162 s against 195 s serially on two cores and never hung.
    # VGEXAMPLES_GALLERY_PARALLEL=0 runs the examples serially (per-example times then carry
    # no contention from the other worker).
    "parallel": int(os.environ.get("VGEXAMPLES_GALLERY_PARALLEL", str(min(2, os.cpu_count() or 1))))
    or False,
}

# Examples record their headline numbers here for the claims page (vgexamples.results).
os.environ[vgexamples.results.ENV_VAR] = str(HERE / "auto_examples" / "_results")

# -- executed Markdown pages (myst-nb) -----------------------------------------------------
# The pages' kernel draws with IPython's inline backend, so a figure becomes an output of its
# cell; the Agg backend nox sets for the examples would swallow it (the gallery sets Agg
# itself). vgexamples.plotting.use_style makes the inline figures 2x images.
os.environ.pop("MPLBACKEND", None)
nb_execution_mode = "cache"
# one cache for every build; vgsite drops a page's entry when its library or results change
nb_execution_cache_path = str(HERE / "_build" / ".jupyter_cache")
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
nb_output_stderr = "warn"  # a page that writes to stderr (a warning, say) fails the -W build
nb_render_markdown_format = "myst"  # Markdown outputs may use roles ({ref}, {doc})
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "substitution"]
myst_heading_anchors = 3

# -- citations -----------------------------------------------------------------------------
bibtex_bibfiles = ["references.bib"]
bibtex_reference_style = "author_year"
bibtex_default_style = "plain"

# -- API reference -------------------------------------------------------------------------

autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_numpy_docstring = True
napoleon_google_docstring = False

# -- math: MathJax 3 served from this site, never from a CDN --------------------------------
mathjax_path = "mathjax/tex-chtml.js"

# -- HTML ----------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "vgexamples: vanishing and exploding gradients, executed"
html_static_path = ["_static"]
html_css_files = ["vgexamples.css", "vgaccess.css"]
html_favicon = "_static/favicon.svg"
html_logo = "_static/favicon.svg"
html_context = {"default_mode": "auto"}
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 5,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
    # the navigation bar on one line at 1280 px: the short name beside the logo
    "logo": {"text": "vgexamples"},
}
html_show_sourcelink = False
# the reST/Markdown sources are not published (search previews come from the pages)
html_copy_source = False
# single pages have no section navigation: give their width to the text
html_sidebars = {
    page: []
    for page in (
        "index",
        "claims",
        "papers",
        "diagnose",
        "explorer",
        "running",
        "library",
        "glossary",
        "references",
        "chapters/*",
        # an example's code and printed tables need the width (its chapter's examples are
        # one click away, in the breadcrumbs and the previous/next links)
        "auto_examples/*/plot_*",
    )
}
html_last_updated_fmt = None
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
copybutton_exclude = ".linenos, .gp, .go"
vgsite_running_doc = "running"  # linked from every example's run-it-yourself box
# the library's wheel and the requirements go into every download (docs/_ext/vgdownloads.py)
vgdownloads_project = str(ROOT)
