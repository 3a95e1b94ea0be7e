"""Where the app's files live: in a checkout, the project folder; when installed, the user's data folder.

An installed package has no project folder around it, so its default store, uploads and conversations go
to ``$XDG_DATA_HOME/rag`` (``~/.local/share/rag``), and the files it ships (the Streamlit page, the seed
article, the Streamlit theme) are read from ``rag/_bundled/`` (pyproject.toml maps them there).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
BUNDLED = PACKAGE_DIR / "_bundled"
IN_CHECKOUT = (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "ui" / "app.py").is_file()


def data_root() -> Path:
    """The folder that holds the default store, uploads and conversations."""
    if IN_CHECKOUT:
        return PROJECT_ROOT
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "rag"


_BUNDLED_AS = {"ui": "app/ui", "seeds": "seeds", ".streamlit": "streamlit_config"}


def shipped(name: str) -> Path:
    """A folder the project ships (``ui``, ``seeds``, ``.streamlit``): the checkout's, or the installed copy."""
    if IN_CHECKOUT:
        return PROJECT_ROOT / name
    return BUNDLED / _BUNDLED_AS[name]


def ui_import_root() -> Path:
    """The folder to put on the Streamlit process's path so that ``import ui`` finds the page's package.

    Installed, that is ``rag/_bundled/app``, which holds nothing but ``ui/``: the page keeps its
    ``ui.*`` imports without a top-level ``ui`` package in site-packages.
    """
    return shipped("ui").parent
