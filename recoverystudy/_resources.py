"""Locate the bundled data folders (``instruments/`` and ``codebooks/``).

In a wheel, the top-level folders are mapped into ``recoverystudy/_data/`` and found through
:mod:`importlib.resources`.  In a source checkout or an editable install, the top-level folders beside
the package are the source of truth and are used directly.
"""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

_KINDS = ("instruments", "codebooks")


def data_dir(kind: str) -> Traversable:
    """Return the folder holding the bundled *kind* (``"instruments"`` or ``"codebooks"``).

    >>> data_dir("instruments").is_dir()
    True
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, _KINDS))}; got {kind!r}.")
    packaged = resources.files("recoverystudy").joinpath("_data", kind)
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / kind
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"The bundled {kind} folder is missing from this installation of recoverystudy "
        f"(looked in {packaged} and {checkout}). Reinstall the package."
    )


def bundled_files(kind: str, suffix: str = ".yaml") -> dict[str, Traversable]:
    """Return ``{stem: file}`` for the bundled files of *kind* ending in *suffix*.

    >>> "es" in bundled_files("instruments")
    True
    """
    folder = data_dir(kind)
    return {
        entry.name[: -len(suffix)]: entry
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.is_file() and entry.name.endswith(suffix)
    }
