"""Sphinx configuration of the xvcluster documentation.

Build it from the repository root with::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The notebooks in ``notebooks/`` are copied into ``docs/notebooks/`` (ignored by
git) at the start of every build and executed by myst-nb, so every output on the
site, the interactive maps included, comes from the code as it is now. The
build reads nothing from the network.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import sphinx_autosummary_accessors

import xvcluster  # registers the .vcluster accessor that the API pages document

DOCS = Path(__file__).resolve().parent

# Sphinx reads sources inside docs/ only. Copies rather than symlinks: the
# notebooks link to each other by relative paths ("quickstart.ipynb"), which
# Sphinx resolves against the real path of a symlinked file, outside docs/.
_NOTEBOOK_COPIES = DOCS / "notebooks"
_NOTEBOOK_COPIES.mkdir(exist_ok=True)
for _stale in _NOTEBOOK_COPIES.glob("*.ipynb"):
    if not (DOCS.parent / "notebooks" / _stale.name).exists():
        _stale.unlink()
for _notebook in sorted((DOCS.parent / "notebooks").glob("*.ipynb")):
    _copy = _NOTEBOOK_COPIES / _notebook.name
    if not _copy.exists() or _copy.read_bytes() != _notebook.read_bytes():
        shutil.copyfile(_notebook, _copy)

# -- Project ------------------------------------------------------------------

project = "xvcluster"
author = "xvcluster developers"
copyright = "2025, xvcluster developers"
release = xvcluster.__version__
version = ".".join(release.split(".")[:2])

# -- Extensions ---------------------------------------------------------------

extensions = [
    "myst_nb",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "sphinx_autosummary_accessors",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "images/README*"]
templates_path = ["_templates", sphinx_autosummary_accessors.templates_path]

# No intersphinx: the build must not reach the network (CI reaches only package
# registries), and a missing inventory would fail the -W build. Types named in
# docstrings (xarray.DataArray, ...) are shown as text.

# -- Autodoc, autosummary, numpydoc ------------------------------------------

autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # the numpydoc sections give the types
autodoc_member_order = "groupwise"
add_module_names = False

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# numpydoc validates every docstring the API pages render. Left out by the
# house style: an extended summary (ES01), "See Also" (SA01) and "Examples"
# (EX01) on every object; a type on parameters grouped under one entry that
# points to where they are described (PR04, e.g. "zrange, dz : see KMeans"); and
# a capital at the start of a return description that opens with a dtype
# ("int32 cluster numbers", RT04).
numpydoc_validation_checks = {"all", "ES01", "SA01", "EX01", "PR04", "RT04"}
numpydoc_validation_exclude = {
    # A frozen dataclass that find_axes builds: its fields are documented as
    # Attributes, which is what a user reads them as, not as parameters.
    r"^xvcluster\.Axes$",
    # set_options takes its options as keywords (**options) and documents each
    # one by name.
    r"^xvcluster\.set_options$",
}

# -- MyST and notebooks -------------------------------------------------------

myst_enable_extensions = ["colon_fence", "deflist", "dollarmath", "substitution"]
myst_heading_anchors = 3
myst_substitutions = {"version_text": release}

# Every notebook and MyST notebook page is executed at build time (cached
# between local builds in docs/_build/.jupyter_cache); a cell that raises
# fails the build.
nb_execution_mode = os.environ.get("XVCLUSTER_DOCS_EXECUTE", "cache")
nb_execution_timeout = 600  # seconds per cell; the slowest takes well under a minute
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_in_temp = True  # files the notebooks write stay out of the sources
nb_merge_streams = True

# The kernels that execute the pages start with kernel_startup.py (maps
# inlined, progress bars off), installed as the startup file of an IPython
# profile of the build's own, under _build, which the kernels inherit.
_IPYTHON_DIR = DOCS / "_build" / ".ipython"
_STARTUP = _IPYTHON_DIR / "profile_default" / "startup"
_STARTUP.mkdir(parents=True, exist_ok=True)
shutil.copyfile(DOCS / "kernel_startup.py", _STARTUP / "00-xvcluster-docs.py")
os.environ["IPYTHONDIR"] = str(_IPYTHON_DIR)

# Besides text/html and application/javascript, which the pages show, holoviews
# outputs carry its own mime types for JupyterLab; myst-nb reports each as
# unknown while rendering, before it picks the HTML. Nothing is lost.
suppress_warnings = ["mystnb.unknown_mime_type"]

# -- HTML ---------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"xvcluster {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 8,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
# The top-level pages have no sub-pages, so no section navigation beside them.
html_sidebars = {
    page: []
    for page in (
        "index",
        "getting-started",
        "user-guide",
        "large-models",
        "cli",
        "citing",
    )
}
html_static_path = ["_static"]
html_css_files = ["xvcluster.css"]
html_show_sourcelink = False
