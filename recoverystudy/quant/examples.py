"""Bundled example data sets: ``rs.list_examples()`` and ``rs.load_example(name)``.

Other parts of the package (for example the synthetic six-site study) add entries with
:func:`register_example`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import pandas as pd

__all__ = ["list_examples", "load_example", "register_example"]


@dataclass(frozen=True)
class _Example:
    name: str
    description: str
    source: str
    loader: Callable[[], object]


_REGISTRY: dict[str, _Example] = {}


def register_example(name: str, loader: Callable[[], object], *, description: str, source: str) -> None:
    """Add an example data set to the registry.

    Examples
    --------
    >>> register_example("tiny", lambda: pd.DataFrame({"x": [1]}), description="one row", source="made up")
    >>> load_example("tiny").shape
    (1, 1)
    >>> _ = _REGISTRY.pop("tiny")
    """
    _REGISTRY[name] = _Example(name, description, source, loader)


def _load_example_survey() -> pd.DataFrame:
    from recoverystudy.quant.surveys import read_survey

    with resources.as_file(resources.files("recoverystudy.datasets").joinpath("example_survey.csv")) as path:
        df = read_survey(path)
    df.attrs["source_file"] = "recoverystudy/datasets/example_survey.csv"
    return df


def _load_six_sites() -> object:
    from recoverystudy import synthetic

    return synthetic.six_site_study(seed=0)


register_example(
    "example_survey",
    _load_example_survey,
    description="40 made-up service users at three sites answering the RSA (person version, with N/A and D/K "
    "answers) and the WAI-SR (with 99 = missing).",
    source="Generated with a fixed seed for recoverystudy; no real respondents.",
)
register_example(
    "six_sites",
    _load_six_sites,
    description="The synthetic six-site study (4 English, 2 Welsh sites): surveys, interviews and care plans.",
    source="recoverystudy.synthetic.six_site_study(seed=0); synthetic data only.",
)


def list_examples() -> pd.DataFrame:
    """List the bundled example data sets.

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``description``, ``source``.

    Examples
    --------
    >>> import recoverystudy as rs
    >>> "example_survey" in set(rs.list_examples()["name"])
    True
    """
    return pd.DataFrame([{"name": e.name, "description": e.description, "source": e.source}
                         for e in _REGISTRY.values()])


def load_example(name: str) -> object:
    """Load a bundled example by name (see :func:`list_examples`).

    Examples
    --------
    >>> import recoverystudy as rs
    >>> df = rs.load_example("example_survey")
    >>> df.shape
    (40, 50)
    """
    if name not in _REGISTRY:
        raise KeyError(f"No example called {name!r}; available: {', '.join(_REGISTRY)}.")
    return _REGISTRY[name].loader()
