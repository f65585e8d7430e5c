"""Sphinx configuration for the recoverystudy documentation.

Pages are MyST markdown. Two parts are generated at build time by the local extension
``_ext/rs_docs.py``: one page per bundled instrument (from ``rs.list_instruments()`` and
``rs.load_instrument``) and the API reference (from ``recoverystudy.__all__``).

Build with warnings as errors, as the tests do::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Nothing here needs the network.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent))  # document the source tree, even without an install

import recoverystudy  # noqa: E402

project = "recoverystudy"
author = "recoverystudy developers"
copyright = "recoverystudy developers"  # noqa: A001
release = recoverystudy.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "rs_docs",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "**/.ipynb_checkpoints", "README.md"]

# -- MyST ------------------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# -- autodoc and napoleon (numpydoc docstrings) --------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autodoc_class_signature = "mixed"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False

# -- HTML ---------------------------------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"recoverystudy {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
